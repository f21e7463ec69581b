"""``gendesign score FILE.smi --objective qed --objective sa``: score a SMILES file with registered objectives, write a CSV.

The input is a SMILES file (the first whitespace-separated field of each line is the SMILES, a
second field is kept as ``name``; blank lines, ``#`` comments and a ``smiles`` header line are
skipped) or a ``.csv`` file with a ``smiles`` column (``--column`` names another). Each objective
is built through the plugin registry with the options given by ``--options NAME=JSON``.

The output CSV has one row per input molecule, in file order: ``line`` (its line number in the
input), ``smiles`` (as written), ``name``, one column per objective column, ``valid`` and
``error``. A molecule RDKit cannot parse, or that an objective cannot score, is kept with
``valid = false`` and an error that names the file, the line and the objective; a summary goes to
standard error. A file with no valid molecule is an error.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from gendesign.core.errors import ConfigError


@dataclass(frozen=True)
class Row:
    """An input molecule: its line number, SMILES as written and optional name."""

    line: int
    smiles: str
    name: str


def read_rows(path: Path, column: str | None) -> list[Row]:
    """The molecules of a ``.smi``/text file or of a ``.csv`` file's SMILES column, with their line numbers."""
    if not path.is_file():
        raise ConfigError(f"SMILES file {str(path)!r} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text: {exc}") from None
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        fields = reader.fieldnames or []
        wanted = column or "smiles"
        if wanted not in fields:
            raise ConfigError(f"{path} has no column {wanted!r}; its columns are {fields}; name the SMILES column with --column")
        name_field = "name" if "name" in fields else None
        return [Row(i, (r[wanted] or "").strip(), (r[name_field] or "") if name_field else "") for i, r in enumerate(reader, start=2)]
    if column is not None:
        raise ConfigError(f"--column {column!r} needs a .csv file; {path} is a SMILES file (SMILES first on each line)")
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split(maxsplit=1)
        if not fields or fields[0].startswith("#") or (number == 1 and fields[0].lower() == "smiles"):
            continue
        rows.append(Row(number, fields[0], fields[1].strip() if len(fields) > 1 else ""))
    return rows


def parse_options(pairs: tuple[str, ...], objectives: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``{objective: options}`` from ``NAME=JSON`` pairs; each NAME must be one of ``objectives``."""
    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise ConfigError(f"--options {pair!r} must be NAME=JSON, e.g. similarity='{{\"references\": [\"CCO\"]}}'")
        if name not in objectives:
            raise ConfigError(f"--options {pair!r} names {name!r}, which is not one of the --objective names {list(objectives)}")
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"--options for {name!r}: {text!r} is not JSON ({exc})") from None
        if not isinstance(value, dict):
            raise ConfigError(f"--options for {name!r}: {text!r} must be a JSON object of options")
        out[name] = value
    return out


def score_rows(rows: list[Row], objectives: list[tuple[str, Any]], source: str, workers: int) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the output table (see the module docstring)."""
    from gendesign.core.executor import InlineExecutor, ProcessPoolExecutor
    from gendesign.core.objective import Scores

    columns = [spec.name for _, obj in objectives for spec in obj.specs]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ConfigError(f"objective columns {repeated} appear twice; give the objectives distinct names (e.g. --options similarity='{{\"name\": \"sim_a\"}}')")
    from gendesign.plugins.molecules.mols import parse_smiles

    errors: list[list[str]] = [[] for _ in rows]
    for i, row in enumerate(rows):
        problem = parse_smiles(row.smiles)[1]
        if problem is not None:
            errors[i].append(f"{source}:{row.line}: {problem}")
    todo = [i for i in range(len(rows)) if not errors[i]]
    values: list[list[Any]] = [[""] * len(columns) for _ in rows]
    executor = ProcessPoolExecutor(workers) if workers > 1 else InlineExecutor()
    try:
        start = 0
        for name, objective in objectives:
            width = len(objective.specs)
            if todo:
                chunks = sorted(executor.chunks(objective, [rows[i].smiles for i in todo]), key=lambda c: c.start)
                scores = Scores.cat([c.scores for c in chunks])
                for j, i in enumerate(todo):
                    if bool(scores.valid[j]):
                        values[i][start : start + width] = [float(v) for v in scores.values[j].tolist()]
                    else:
                        errors[i].append(f"{source}:{rows[i].line}: objective {name!r}: {scores.errors[j] or 'invalid'}")
            start += width
    finally:
        executor.close()
    header = ["line", "smiles", "name", *columns, "valid", "error"]
    table = [
        [row.line, row.smiles, row.name, *values[i], "false" if errors[i] else "true", "; ".join(errors[i])] for i, row in enumerate(rows)
    ]
    return header, table


@click.command(name="score")
@click.argument("smiles_file", type=click.Path(dir_okay=False))
@click.option("--objective", "-O", "objective_names", multiple=True, required=True, help="A registered objective (repeat for several), e.g. qed, sa, osimertinib_mpo.")
@click.option("--options", "option_pairs", multiple=True, help="NAME=JSON options of one objective, e.g. similarity='{\"references\": [\"CCO\"]}'.")
@click.option("--column", help="SMILES column of a .csv input (default 'smiles').")
@click.option("--out", "-o", type=click.Path(dir_okay=False), help="Write the CSV here (default: standard output).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Score in this many processes (for slow objectives such as docking).")
def score_command(smiles_file: str, objective_names: tuple[str, ...], option_pairs: tuple[str, ...], column: str | None, out: str | None, workers: int) -> None:
    """Score the molecules of a SMILES file with registered objectives and write a CSV."""
    from gendesign.core.errors import GendesignError, UnknownNameError
    from gendesign.core.plugins import get_plugins

    if len(set(objective_names)) != len(objective_names):
        raise ConfigError(f"--objective names repeat: {list(objective_names)}; give each once")
    options = parse_options(option_pairs, objective_names)
    registry = get_plugins().registry("objectives")
    objectives = []
    for name in objective_names:
        try:
            objectives.append((name, registry.build(name, options.get(name, {}))))
        except UnknownNameError as exc:
            raise ConfigError(f"--objective {name!r}: {exc}") from None
        except GendesignError as exc:
            raise ConfigError(f"--objective {name!r} with options {options.get(name, {})}: {exc}") from None
    path = Path(smiles_file)
    rows = read_rows(path, column)
    if not rows:
        raise ConfigError(f"{smiles_file} holds no SMILES lines")
    header, table = score_rows(rows, objectives, smiles_file, workers)
    bad = [r for r in table if r[-2] == "false"]
    if len(bad) == len(table):
        raise ConfigError(f"{smiles_file}: none of its {len(table)} molecules could be scored; first: {bad[0][-1]}")
    handle = open(out, "w", newline="", encoding="utf-8") if out else sys.stdout  # noqa: SIM115 - stdout is not closed
    try:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(table)
    finally:
        if out:
            handle.close()
    summary = f"scored {len(table)} molecules of {smiles_file} on {len(header) - 5} columns; {len(bad)} invalid"
    if bad:
        summary += ": " + "; ".join(str(r[-1]) for r in bad[:5]) + ("; ..." if len(bad) > 5 else "")
    click.echo(summary + (f"; wrote {out}" if out else ""), err=True)
