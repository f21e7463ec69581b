"""``gendesign compare-objectives A B --designs FILE|RUN_DIR``: how far apart two objectives are on the same designs.

Both objectives are built through the plugin registry and score the same designs; one column of
each, in its maximise view, is compared with :func:`gendesign.objectives.starc.compare_rewards`
(STARC distance, Spearman, Kendall, top-``k`` overlap), and a scatter plot can be written.

Designs come from

* a text file: one design per line, read as the space's JSON form (``space.to_json``) when the line
  is JSON, otherwise as the design's plain text (``ACDEF`` for a sequence space);
* a ``.csv`` file with a header: the ``design`` column, read the same way, and the context column
  named by ``--context-column``;
* a run directory: the designs its campaign scored successfully, read from its ledger with
  ``space.from_json``; ``--context-column`` then names a column of its ``evaluations.csv``.

The space is ``--space NAME`` (built with default options) or objective A's ``default_space()``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import click

from gendesign.core.errors import ConfigError

BATCH = 256
"""Designs scored per objective call."""


def _json_option(text: str | None, flag: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{flag} {text!r} is not JSON ({exc}); give an object such as '{{\"dim\": 4}}'") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{flag} {text!r} must be a JSON object of options, e.g. '{{\"dim\": 4}}'")
    return value


def _parse_design(space: Any, text: str, where: str) -> Any:
    from gendesign.core.errors import InvalidDesignError

    try:
        json.loads(text)
    except ValueError:
        reader = space.validate
    else:
        reader = space.from_json
    try:
        return reader(text)
    except InvalidDesignError as exc:
        raise ConfigError(f"{where}: design {text!r} is not in the space: {exc}") from None


def _designs_from_file(path: Path, space: Any, context_column: str | None) -> tuple[list[Any], list[str] | None]:
    if path.suffix.lower() != ".csv":
        if context_column is not None:
            raise ConfigError(f"--context-column {context_column!r} needs a .csv designs file or a run directory; {path} is one design per line")
        lines = [(i, line.strip()) for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)]
        return [_parse_design(space, text, f"{path}:{i}") for i, text in lines if text], None
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    columns = list(rows[0]) if rows else []
    for needed in ("design", context_column):
        if needed is not None and needed not in columns:
            raise ConfigError(f"{path} has no column {needed!r}; its columns are {columns}")
    designs = [_parse_design(space, row["design"], f"{path}:{i}") for i, row in enumerate(rows, 2)]
    return designs, None if context_column is None else [row[context_column] for row in rows]


def _designs_from_run(run_dir: Path, space: Any, context_column: str | None) -> tuple[list[Any], list[str] | None]:
    from gendesign.core.campaign import LEDGER_NAME, RUN_FILE
    from gendesign.core.ledger import Ledger
    from gendesign.core.report import load_run

    run_id, ledger_path = None, run_dir / LEDGER_NAME
    if (run_dir / RUN_FILE).is_file():
        info = json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8"))
        run_id = info["run_id"]
        ledger_path = Path(info["ledger"]) if info.get("ledger") else ledger_path
    if not ledger_path.is_file():
        raise ConfigError(f"--designs {run_dir} has no {LEDGER_NAME} (nor a run.json naming a ledger); give a campaign's run directory or a designs file")
    with Ledger(ledger_path) as ledger:
        data = load_run(ledger, run_id)
    rows = [e.evaluation for i, e in enumerate(data.entries) if bool(data.valid[i]) and bool(data.scored[i])]
    designs = [space.from_json(e.design) for e in rows]
    if context_column is None:
        return designs, None
    table = run_dir / "evaluations.csv"
    if not table.is_file():
        raise ConfigError(f"--context-column needs {table}; run `gendesign report {run_dir}` to write it")
    with table.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if context_column not in (reader.fieldnames or []):
            raise ConfigError(f"{table} has no column {context_column!r}; its columns are {reader.fieldnames}")
        by_key = {row["key"]: row[context_column] for row in reader}
    return designs, [by_key[e.key] for e in rows]


def _column(objective: Any, name: str | None, label: str) -> int:
    names = [s.name for s in objective.specs]
    if name is not None:
        if name not in names:
            raise ConfigError(f"--column-{label} {name!r} is not a column of objective {label.upper()}; its columns are {names}")
        return names.index(name)
    optimised = [k for k, s in enumerate(objective.specs) if s.kind == "objective"]
    if len(optimised) != 1:
        raise ConfigError(f"objective {label.upper()} has columns {names}; choose one with --column-{label} NAME")
    return optimised[0]


def _score(objective: Any, designs: list[Any], column: int, direction: str | None) -> tuple[Any, Any]:
    """Maximise-view values `[N]` (float64 numpy) of one column and the `[N]` valid mask."""
    import numpy as np

    from gendesign.core.objective import Scores

    scores = Scores.cat([objective(designs[i : i + BATCH]) for i in range(0, len(designs), BATCH)])
    spec = objective.specs[column]
    sign = {"max": 1.0, "min": -1.0}[direction or spec.direction]
    values = scores.values[:, column].detach().cpu().double().numpy() * sign
    return values, scores.valid.cpu().numpy() & np.isfinite(values)


def _plot(path: Path, a: Any, b: Any, labels: tuple[str, str], result: Any) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from gendesign.core.atomic import atomic_open

    fig = Figure(figsize=(5.0, 4.5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(a, b, s=10, alpha=0.7)
    ax.set_xlabel(f"{labels[0]} (maximise view)")
    ax.set_ylabel(f"{labels[1]} (maximise view)")
    ax.set_title(f"STARC {result.distance:.3f}, Spearman {result.spearman:.3f}, Kendall {result.kendall:.3f}, top-{result.k} {result.top_k_overlap:.2f}", fontsize=8)
    fig.tight_layout()
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png")


@click.command(name="compare-objectives")
@click.argument("objective_a")
@click.argument("objective_b")
@click.option("--designs", "source", required=True, type=click.Path(exists=True), help="A file (one design per line, or a .csv with a 'design' column) or a run directory.")
@click.option("--options-a", help="JSON options of objective A, e.g. '{\"dim\": 4}'.")
@click.option("--options-b", help="JSON options of objective B.")
@click.option("--column-a", help="The column of A to compare (default: its only objective column).")
@click.option("--column-b", help="The column of B to compare.")
@click.option("--direction-a", type=click.Choice(["max", "min"]), help="Override the direction of A's column (the maximise view follows it).")
@click.option("--direction-b", type=click.Choice(["max", "min"]), help="Override the direction of B's column.")
@click.option("--space", "space_name", help="Design space name (default: objective A's default_space()).")
@click.option("--context-column", help="Column giving each design's context (e.g. its prompt); centring is per context. Default: one context.")
@click.option("--top-k", type=click.IntRange(min=1), default=10, show_default=True, help="k of the top-k overlap.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write a scatter plot PNG here.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def compare_objectives_command(
    objective_a: str,
    objective_b: str,
    source: str,
    options_a: str | None,
    options_b: str | None,
    column_a: str | None,
    column_b: str | None,
    direction_a: str | None,
    direction_b: str | None,
    space_name: str | None,
    context_column: str | None,
    top_k: int,
    plot: str | None,
    as_json: bool,
) -> None:
    """Compare two objectives on the same designs: STARC distance, Spearman, Kendall, top-k overlap."""
    from gendesign.core.plugins import get_plugins
    from gendesign.objectives.starc import compare_rewards

    objectives = get_plugins().registry("objectives")
    a = objectives.build(objective_a, _json_option(options_a, "--options-a"))
    b = objectives.build(objective_b, _json_option(options_b, "--options-b"))
    space = get_plugins().registry("spaces").build(space_name) if space_name else a.default_space()
    if space is None:
        raise ConfigError(f"objective {objective_a!r} has no default space; name one with --space NAME")
    path = Path(source)
    designs, contexts = (_designs_from_run if path.is_dir() else _designs_from_file)(path, space, context_column)
    if len(designs) < 2:
        raise ConfigError(f"--designs {source} holds {len(designs)} design(s); comparing rankings needs at least 2")
    col_a, col_b = _column(a, column_a, "a"), _column(b, column_b, "b")
    values_a, valid_a = _score(a, designs, col_a, direction_a)
    values_b, valid_b = _score(b, designs, col_b, direction_b)
    keep = valid_a & valid_b
    if int(keep.sum()) < 2:
        raise ConfigError(f"{source}: only {int(keep.sum())} of {len(designs)} designs are valid under both objectives; give at least 2")
    kept_contexts = None if contexts is None else [c for c, k in zip(contexts, keep.tolist()) if k]
    result = compare_rewards(values_a[keep], values_b[keep], kept_contexts, top_k=top_k)
    labels = (f"A {objective_a}.{a.specs[col_a].name}", f"B {objective_b}.{b.specs[col_b].name}")
    if plot is not None:
        _plot(Path(plot), values_a[keep], values_b[keep], labels, result)
    report = {"a": labels[0][2:], "b": labels[1][2:], "designs": len(designs), "dropped": len(designs) - result.n, **result.to_dict(), "plot": plot}
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{labels[0]}  vs  {labels[1]}: {result.n} designs ({report['dropped']} dropped as invalid), {result.contexts} context(s)")
    click.echo(f"  STARC distance {result.distance:.4f}  (0 = same ranking up to scale and per-context shift, 2 = reversed)")
    click.echo(f"  Spearman {result.spearman:.4f}  Kendall {result.kendall:.4f}  top-{result.k} overlap {result.top_k_overlap:.2f}")
    if plot is not None:
        click.echo(f"  plot: {plot}")
