"""Campaign outputs, computed from the ledger alone: CSV tables, ``summary.json`` and PNG plots.

``gendesign report RUN_DIR`` and the end of every campaign both call :func:`write_outputs`, so a
report regenerated later is identical to the one the run wrote. Files:

* ``evaluations.csv`` - every design of the run in order of first appearance, with values, validity,
  feasibility, error, round and whether it was paid for by this run or served from the cache;
* ``pareto.csv`` - the feasible non-dominated designs (objective columns only, directions
  respected), with the space's ``describe()`` columns;
* ``summary.json`` - budget, evaluations, raw calls, invalid counts, hypervolume (``null`` when it overflows float64) and its reference
  point, best per objective, wall time split into objective, strategy (ask/tell) and engine time
  (the rest: validation, keys, ledger, checkpoints);
* ``pareto_front.png`` (K = 2, or the three pairwise panels for K = 3), ``hypervolume.png`` (K >= 2)
  and ``best.png`` (best value of each objective against evaluations);
* with held-out evaluation objectives (:mod:`gendesign.core.evaluate`): ``eval:<column>`` columns
  in both CSV tables, an ``evaluate`` section in ``summary.json`` (per column: when it was
  computed, how many designs it scored, its statistics on the Pareto set, its best design, and
  the Spearman correlation with every guide column) and ``guide_vs_evaluate.png``, a grid with
  one scatter per (guide, evaluation) column pair.

Hypervolume follows :func:`gendesign.core.pareto.reference_point`: the specs' bounds when every
objective column has them, otherwise a point inferred from the run's own feasible front. The point
used is written into ``summary.json`` in natural units and in the canonical (maximise) view.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

from gendesign.core.atomic import atomic_open, atomic_write_text
from gendesign.core.designs import DesignSpace
from gendesign.core.ledger import Ledger, TrajectoryEntry
from gendesign.core.lock import outputs_lock
from gendesign.core.objective import ObjectiveSpec, canonical_values, constraint_satisfied
from gendesign.core.pareto import ParetoFront, hypervolume, pareto_mask, reference_point

OUTPUT_FILES = ("evaluations.csv", "pareto.csv", "summary.json", "pareto_front.png", "hypervolume.png", "best.png", "guide_vs_evaluate.png")


def specs_to_json(specs: Sequence[ObjectiveSpec]) -> list[dict[str, Any]]:
    return [asdict(s) for s in specs]


def specs_from_json(data: Sequence[dict[str, Any]]) -> tuple[ObjectiveSpec, ...]:
    return tuple(ObjectiveSpec(**{**d, "bounds": tuple(d["bounds"]) if d.get("bounds") is not None else None}) for d in data)


@dataclass
class RunData:
    """One run's history as read from the ledger.

    Attributes:
        run_id: the run.
        specs: the ``K`` objective column specs.
        entries: the run's designs in order of first appearance.
        values: `[N, K]` float64 natural values (NaN where invalid).
        valid: `[N]` scored successfully.
        feasible: `[N]` valid and every constraint column satisfied.
        scored: `[N]` the objective saw the design (the space did not reject it); these count
            toward the budget.
        meta: the run's metadata (strategy, budget, objective name, counters, ...).
        eval_specs: the ``E`` held-out evaluation column specs (:mod:`gendesign.core.evaluate`).
        eval_values: `[N, E]` float64 evaluation values; NaN where a design was not evaluated (default `[N, 0]`).
        eval_when: ``"final"`` or ``"batch"`` per evaluation column.
    """

    run_id: str
    specs: tuple[ObjectiveSpec, ...]
    entries: list[TrajectoryEntry]
    values: Tensor
    valid: Tensor
    feasible: Tensor
    scored: Tensor
    meta: dict[str, Any] = field(default_factory=dict)
    eval_specs: tuple[ObjectiveSpec, ...] = ()
    eval_values: Tensor | None = None
    eval_when: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.eval_values is None:
            self.eval_values = torch.empty(len(self.entries), 0, dtype=torch.float64)

    @property
    def objective_columns(self) -> list[int]:
        return [k for k, s in enumerate(self.specs) if s.kind == "objective"]

    @property
    def objective_specs(self) -> list[ObjectiveSpec]:
        return [self.specs[k] for k in self.objective_columns]

    def objective_canonical(self) -> Tensor:
        """`[N, K_obj]` maximise view of the objective columns; NaN rows for infeasible designs."""
        cols = self.objective_columns
        canon = canonical_values(self.values[:, cols], self.objective_specs)
        return torch.where(self.feasible.unsqueeze(-1), canon, torch.full_like(canon, math.nan))

    def evaluation_index(self) -> Tensor:
        """`[N]` 1-based count of scored designs up to and including each row (the x axis of the plots)."""
        return torch.cumsum(self.scored.long(), 0)


def load_run(ledger: Ledger, run_id: str | None = None) -> RunData:
    """Read ``run_id`` (default: the run recorded in the ledger's ``run_id`` metadata) from ``ledger``."""
    from gendesign.core.errors import CampaignError

    run_id = run_id or ledger.get_meta("run_id")
    if run_id is None:
        raise CampaignError("the ledger records no run; pass run_id or use the ledger of a campaign run")
    meta = ledger.get_meta(f"run:{run_id}")
    if meta is None:
        raise CampaignError(f"the ledger has no metadata for run {run_id!r}; known runs: {ledger.runs()}")
    specs = specs_from_json(meta["specs"])
    entries = ledger.trajectory(run_id)
    k = len(specs)
    if entries:
        values = torch.tensor([list(e.evaluation.values) for e in entries], dtype=torch.float64).reshape(len(entries), k)
    else:
        values = torch.empty(0, k, dtype=torch.float64)
    valid = torch.tensor([e.evaluation.valid for e in entries], dtype=torch.bool)
    scored = torch.tensor([e.evaluation.source == "objective" for e in entries], dtype=torch.bool)
    feasible = valid & constraint_satisfied(values, specs) if entries else valid
    meta = {**meta, "counters": ledger.get_meta(f"counters:{run_id}", {}), "strategy_report": ledger.get_meta(f"strategy_report:{run_id}")}
    eval_specs: list[ObjectiveSpec] = []
    eval_when: list[str] = []
    eval_blocks: list[Tensor] = []
    keys = [e.evaluation.key for e in entries]
    for held in meta.get("evaluate", []):
        held_specs = specs_from_json(held["specs"])
        found = ledger.lookup(held["fingerprint"], keys, run_id=None if held.get("deterministic", True) else run_id)
        block = torch.full((len(entries), len(held_specs)), math.nan, dtype=torch.float64)
        for i, key in enumerate(keys):
            if key in found and found[key].valid:
                block[i] = torch.tensor(found[key].values, dtype=torch.float64)
        eval_specs += held_specs
        eval_when += [held["when"]] * len(held_specs)
        eval_blocks.append(block)
    eval_values = torch.cat(eval_blocks, dim=1) if eval_blocks else torch.empty(len(entries), 0, dtype=torch.float64)
    return RunData(run_id, specs, entries, values, valid, feasible, scored, meta, tuple(eval_specs), eval_values, tuple(eval_when))


def front_indices(Y: Tensor, chunk: int = 2048) -> list[int]:
    """Indices (ascending) of the non-dominated rows of canonical values ``Y`` `[N, K]`; NaN rows never qualify.

    Equal to ``pareto_mask(Y)``, computed incrementally: the front of the first ``i`` rows is merged
    with the next chunk and filtered again. Dominance is transitive, so a row dropped early is
    dominated by a row that stays; the cost is ``O(N * (F + chunk))`` for a front of size ``F``
    instead of ``O(N^2)``.
    """
    if Y.shape[0] == 0:
        return []
    keep = torch.empty(0, dtype=torch.long)
    for start in range(0, Y.shape[0], chunk):
        idx = torch.cat([keep, torch.arange(start, min(start + chunk, Y.shape[0]))])
        keep = idx[pareto_mask(Y[idx])]
    return keep.tolist()


def pareto_indices(data: RunData) -> list[int]:
    """Rows of feasible designs that are non-dominated on the objective columns."""
    if not data.entries or not data.objective_columns:
        return []
    return front_indices(data.objective_canonical())


def run_reference_point(data: RunData) -> Tensor | None:
    """`[K_obj]` canonical reference point (``None`` when ``K_obj < 2`` or nothing is feasible and bounds are missing)."""
    specs = data.objective_specs
    if len(specs) < 2:
        return None
    if all(s.bounds is not None for s in specs):
        return reference_point(specs).double()
    front = pareto_indices(data)
    if not front:
        return None
    return reference_point(specs, data.values[front][:, data.objective_columns]).double()


def hypervolume_trace(data: RunData, ref: Tensor, max_points: int = 200) -> tuple[list[int], list[float]]:
    """Hypervolume of the feasible front after each of up to ``max_points`` evenly spaced evaluation counts."""
    canon = data.objective_canonical()
    index = data.evaluation_index()
    n_eval = int(index[-1]) if len(index) else 0
    if n_eval == 0:
        return [], []
    marks = sorted({max(1, round(n_eval * i / max_points)) for i in range(1, max_points + 1)})
    xs, hvs = [], []
    front = ParetoFront(canon.shape[1])
    start = 0
    for mark in marks:
        stop = int(torch.searchsorted(index, torch.tensor(mark), right=True))
        front.add(canon[start:stop])
        start = stop
        xs.append(mark)
        hvs.append(front.hypervolume(ref))
    return xs, hvs


def best_trace(data: RunData) -> tuple[list[int], Tensor]:
    """Best feasible natural value of each objective column after each scored design.

    Returns:
        ``(evaluations, best)``: the evaluation counts `[M]` and best values `[M, K_obj]` (NaN
        until the first feasible design).
    """
    canon = data.objective_canonical()[data.scored]
    if canon.shape[0] == 0:
        return [], torch.empty(0, len(data.objective_columns), dtype=torch.float64)
    filled = torch.nan_to_num(canon, nan=-math.inf)
    best = torch.cummax(filled, dim=0).values
    best = torch.where(torch.isinf(best), torch.full_like(best, math.nan), best)
    signs = torch.tensor([s.sign for s in data.objective_specs], dtype=torch.float64)
    return list(range(1, canon.shape[0] + 1)), best * signs


class _Describer:
    """Display text and extra columns of a stored design, through the space when one is available."""

    def __init__(self, space: DesignSpace | None) -> None:
        self.space = space

    def __call__(self, text: str, scored: bool) -> tuple[str, dict[str, Any]]:
        if self.space is None or not scored:
            try:
                plain = json.loads(text)
            except ValueError:
                return text, {}
            return (plain if isinstance(plain, str) else text), {}
        design = self.space.from_json(text)
        return self.space.display(design), self.space.describe(design)


def _fmt(x: float) -> str:
    return "" if math.isnan(x) else repr(float(x))


def _eval_names(data: RunData) -> list[str]:
    from gendesign.core.evaluate import EVAL_PREFIX

    return [EVAL_PREFIX + s.name for s in data.eval_specs]


def spearman(a: Tensor, b: Tensor) -> float | None:
    """Spearman rank correlation of `[n]` ``a`` and ``b`` (average ranks for ties); ``None`` below 3 points or for a constant input."""
    from scipy.stats import spearmanr

    if a.numel() < 3 or bool((a == a[0]).all()) or bool((b == b[0]).all()):
        return None
    return float(spearmanr(a.numpy(), b.numpy()).statistic)


def summarize_evaluate(data: RunData, front: Sequence[int]) -> dict[str, Any]:
    """The ``evaluate`` section of ``summary.json``: per evaluation column, coverage, Pareto statistics, best and guide correlations."""
    out: dict[str, Any] = {}
    front_t = torch.as_tensor(list(front), dtype=torch.long)
    for e, (name, spec) in enumerate(zip(_eval_names(data), data.eval_specs)):
        col = data.eval_values[:, e]
        done = ~torch.isnan(col)
        on_front = col[front_t] if len(front) else col[:0]
        on_front = on_front[~torch.isnan(on_front)]
        best = None
        if bool(done.any()):
            signed = torch.where(done, col * spec.sign, torch.full_like(col, -math.inf))
            row = int(torch.argmax(signed))
            best = {"value": float(col[row]), "key": data.entries[row].evaluation.key, "evaluation": int(data.evaluation_index()[row])}
        correlations: dict[str, float | None] = {}
        for g in data.objective_columns:
            both = done & data.feasible
            correlations[data.specs[g].name] = spearman(data.values[both, g], col[both])
        out[name] = {
            "when": data.eval_when[e],
            "direction": spec.direction,
            "designs_evaluated": int(done.sum()),
            "pareto": {
                "n": int(on_front.numel()),
                "mean": float(on_front.mean()) if on_front.numel() else None,
                "min": float(on_front.min()) if on_front.numel() else None,
                "max": float(on_front.max()) if on_front.numel() else None,
            },
            "best": best,
            "spearman_with_guide": correlations,
        }
    return out


def summarize(data: RunData, space: DesignSpace | None = None) -> dict[str, Any]:
    """The ``summary.json`` content."""
    counters = dict(data.meta.get("counters", {}))
    describe = _Describer(space)
    n_scored = int(data.scored.sum())
    best: dict[str, Any] = {}
    for col, spec in zip(data.objective_columns, data.objective_specs):
        mask = data.feasible
        if not bool(mask.any()):
            best[spec.name] = None
            continue
        column = data.values[:, col] * spec.sign
        column = torch.where(mask, column, torch.full_like(column, -math.inf))
        row = int(torch.argmax(column))
        entry = data.entries[row]
        best[spec.name] = {
            "value": float(data.values[row, col]),
            "design": describe(entry.evaluation.design, True)[0],
            "key": entry.evaluation.key,
            "evaluation": int(data.evaluation_index()[row]),
        }
    ref = run_reference_point(data)
    front = pareto_indices(data)
    hv = None
    if ref is not None:
        hv = hypervolume(data.objective_canonical()[front], ref) if front else 0.0
        if not math.isfinite(hv):
            hv = None  # the front spans more than float64 holds (e.g. values near 1e300 in two columns)
    wall = float(counters.get("wall_seconds", 0.0))
    obj_s = float(counters.get("objective_seconds", 0.0))
    strategy_s = float(counters.get("strategy_seconds", 0.0))
    engine = max(wall - obj_s - strategy_s, 0.0)
    signs = [s.sign for s in data.objective_specs]
    summary = {
        "run_id": data.run_id,
        "objective": data.meta.get("objective"),
        "fingerprint": data.meta.get("fingerprint"),
        "strategy": data.meta.get("strategy"),
        "budget": data.meta.get("budget"),
        "evaluations": n_scored,
        "paid_evaluations": int(sum(1 for e, s in zip(data.entries, data.scored.tolist()) if s and e.evaluation.run_id == data.run_id)),
        "cache_hits": int(sum(1 for e, s in zip(data.entries, data.scored.tolist()) if s and e.evaluation.run_id != data.run_id)),
        "raw_calls": int(counters.get("raw_calls", n_scored)),
        "duplicates": int(counters.get("duplicates", 0)),
        "invalid": {
            "rejected_by_space": int((~data.scored).sum()),
            "objective_failed": int((data.scored & ~data.valid).sum()),
            "infeasible_constraints": int((data.valid & ~data.feasible).sum()),
        },
        "rounds": int(counters.get("round", max((e.round for e in data.entries), default=0))),
        "stop_reason": counters.get("stop_reason"),
        "objectives": specs_to_json(data.specs),
        "pareto_size": len(front),
        "hypervolume": hv,
        "reference_point": None if ref is None else {
            "canonical": ref.tolist(),
            "natural": [r * s for r, s in zip(ref.tolist(), signs)],
            "rule": "spec bounds" if all(s.bounds is not None for s in data.objective_specs) else "inferred from the run's front (nadir - 0.1 * range)",
        },
        "best": best,
        "evaluate": summarize_evaluate(data, front),
        "time": {
            "wall_seconds": wall,
            "objective_seconds": obj_s,
            "strategy_seconds": strategy_s,
            "engine_seconds": engine,
            "engine_ms_per_evaluation": 1000.0 * engine / n_scored if n_scored else None,
        },
    }
    if data.meta.get("strategy_report"):
        summary["strategy_report"] = data.meta["strategy_report"]
    return summary


def write_evaluations_csv(path: Path, data: RunData, space: DesignSpace | None = None) -> None:
    describe = _Describer(space)
    has_std = any(e.evaluation.std is not None for e in data.entries)
    names = [s.name for s in data.specs]
    header = ["evaluation", "seq", "round", "design", *names]
    if has_std:
        header += [f"{n}_std" for n in names]
    header += _eval_names(data)
    header += ["valid", "feasible", "source", "paid_by_this_run", "error", "strategy", "objective_seconds", "key"]
    index = data.evaluation_index().tolist()
    with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i, entry in enumerate(data.entries):
            e = entry.evaluation
            scored = bool(data.scored[i])
            row: list[Any] = [index[i] if scored else "", entry.seq, entry.round, describe(e.design, scored and e.valid)[0]]
            row += [_fmt(v) for v in e.values]
            if has_std:
                row += [_fmt(v) for v in e.std] if e.std is not None else [""] * len(names)
            row += [_fmt(v) for v in data.eval_values[i].tolist()]
            row += [int(e.valid), int(bool(data.feasible[i])), e.source, int(e.run_id == data.run_id), e.error or "", e.strategy or "", f"{e.seconds:.6g}", e.key]
            writer.writerow(row)


def write_pareto_csv(path: Path, data: RunData, space: DesignSpace | None = None) -> list[int]:
    describe = _Describer(space)
    front = pareto_indices(data)
    rows = []
    extra_cols: dict[str, None] = {}
    for i in front:
        text, extra = describe(data.entries[i].evaluation.design, True)
        extra_cols.update(dict.fromkeys(extra))
        rows.append((i, text, extra))
    names = [s.name for s in data.specs]
    first = data.objective_columns[0] if data.objective_columns else 0
    sign = data.specs[first].sign if data.specs else 1.0
    rows.sort(key=lambda r: -sign * float(data.values[r[0], first]))
    with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["design", *extra_cols, *names, *_eval_names(data), "evaluation", "round", "key"])
        index = data.evaluation_index().tolist()
        for i, text, extra in rows:
            entry = data.entries[i]
            writer.writerow([
                text,
                *(extra.get(c, "") for c in extra_cols),
                *(_fmt(v) for v in entry.evaluation.values),
                *(_fmt(v) for v in data.eval_values[i].tolist()),
                index[i],
                entry.round,
                entry.evaluation.key,
            ])
    return front


def _figure(ncols: int = 1, width: float = 5.0, height: float = 4.0) -> tuple[Any, list[Any]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), dpi=110)
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def _save_figure(fig: Any, path: Path) -> None:
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png")


def plot_pareto_front(path: Path, data: RunData) -> bool:
    """Scatter of all feasible designs with the front highlighted (K = 2), or the three pairs (K = 3)."""
    cols = data.objective_columns
    if len(cols) not in (2, 3):
        return False
    pairs = [(0, 1)] if len(cols) == 2 else [(0, 1), (0, 2), (1, 2)]
    fig, axes = _figure(len(pairs))
    feas = data.feasible
    front = torch.zeros(len(data.entries), dtype=torch.bool)
    front[pareto_indices(data)] = True
    for ax, (a, b) in zip(axes, pairs):
        ca, cb = cols[a], cols[b]
        ax.scatter(data.values[feas & ~front, ca], data.values[feas & ~front, cb], s=8, c="0.7", label="evaluated")
        fa, fb = data.values[front, ca], data.values[front, cb]
        order = torch.argsort(fa)
        ax.scatter(fa, fb, s=18, c="tab:red", label="Pareto front", zorder=3)
        if len(cols) == 2:
            ax.plot(fa[order], fb[order], c="tab:red", lw=0.8, zorder=2)
        sa, sb = data.specs[ca], data.specs[cb]
        ax.set_xlabel(f"{sa.name} ({sa.direction})")
        ax.set_ylabel(f"{sb.name} ({sb.direction})")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="best", fontsize="small")
    fig.suptitle(f"Pareto front: {int(front.sum())} of {int(feas.sum())} feasible designs")
    fig.tight_layout()
    _save_figure(fig, path)
    return True


def plot_hypervolume(path: Path, data: RunData) -> bool:
    ref = run_reference_point(data)
    if ref is None:
        return False
    xs, hvs = hypervolume_trace(data, ref)
    if not xs:
        return False
    fig, (ax,) = _figure()
    ax.plot(xs, hvs, c="tab:blue")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("hypervolume")
    ax.set_title(f"reference point (canonical) {[round(r, 4) for r in ref.tolist()]}", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save_figure(fig, path)
    return True


def plot_best(path: Path, data: RunData) -> bool:
    xs, best = best_trace(data)
    if not xs:
        return False
    specs = data.objective_specs
    fig, axes = _figure(len(specs), width=4.5)
    for k, (ax, spec) in enumerate(zip(axes, specs)):
        ax.plot(xs, best[:, k].tolist(), c="tab:green", drawstyle="steps-post")
        ax.set_xlabel("evaluations")
        ax.set_ylabel(f"best {spec.name} ({spec.direction})")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    _save_figure(fig, path)
    return True


def plot_guide_vs_evaluate(path: Path, data: RunData) -> bool:
    """Grid of scatters, one per (evaluation column row, guide column) pair, over the designs each evaluation scored; Pareto designs in red."""
    if not data.eval_specs or not data.objective_columns:
        return False
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    guide = data.objective_columns
    rows, cols = len(data.eval_specs), len(guide)
    fig = Figure(figsize=(4.0 * cols, 3.5 * rows), dpi=100)
    FigureCanvasAgg(fig)
    front = torch.zeros(len(data.entries), dtype=torch.bool)
    front[pareto_indices(data)] = True
    names = _eval_names(data)
    for r in range(rows):
        done = ~torch.isnan(data.eval_values[:, r]) & data.feasible
        for c, g in enumerate(guide):
            ax = fig.add_subplot(rows, cols, r * cols + c + 1)
            rest, top = done & ~front, done & front
            ax.scatter(data.values[rest, g], data.eval_values[rest, r], s=8, c="0.6", label="evaluated")
            ax.scatter(data.values[top, g], data.eval_values[top, r], s=16, c="tab:red", label="Pareto set", zorder=3)
            rho = spearman(data.values[done, g], data.eval_values[done, r])
            ax.set_title("" if rho is None else f"Spearman {rho:.2f}", fontsize="small")
            ax.set_xlabel(f"{data.specs[g].name} (guide, {data.specs[g].direction})")
            ax.set_ylabel(f"{names[r]} ({data.eval_specs[r].direction})")
            ax.grid(alpha=0.3)
    fig.axes[0].legend(loc="best", fontsize="small")
    fig.tight_layout()
    _save_figure(fig, path)
    return True


def write_outputs(
    run_dir: str | Path,
    ledger: Ledger,
    run_id: str | None = None,
    *,
    space: DesignSpace | None = None,
    plots: bool = True,
    extensions: Mapping[str, ReportExtension] | None = None,
) -> dict[str, Any]:
    """Write the CSV tables, ``summary.json`` and (with ``plots``) the PNG plots into ``run_dir``.

    Each of ``extensions`` (name -> :class:`ReportExtension`) then writes its own files; its summary
    entry goes under its name. An extension that raises costs only its own outputs: the error is
    recorded under ``summary["report_errors"][name]``.

    The run is read in one ledger read transaction, so every file describes the same snapshot even
    while a campaign keeps writing; each file is replaced atomically, and the whole set is written
    under :func:`~gendesign.core.lock.outputs_lock`, so concurrent writers (a ``report`` during a
    run) leave the set of the newest snapshot, never a mix.

    Returns:
        The summary dictionary (also written to ``summary.json``).
    """
    out = Path(run_dir)
    with outputs_lock(out):
        with ledger.snapshot():
            data = load_run(ledger, run_id)
        write_evaluations_csv(out / "evaluations.csv", data, space)
        front = write_pareto_csv(out / "pareto.csv", data, space)
        summary = summarize(data, space)
        written = ["evaluations.csv", "pareto.csv", "summary.json"]
        if plots:
            for name, fn in (
                ("pareto_front.png", plot_pareto_front),
                ("hypervolume.png", plot_hypervolume),
                ("best.png", plot_best),
                ("guide_vs_evaluate.png", plot_guide_vs_evaluate),
            ):
                if fn(out / name, data):
                    written.append(name)
        for name, extension in (extensions or {}).items():
            try:
                section = extension.write(out, data, front, space, plots)
            except Exception as exc:  # noqa: BLE001 - an extension's failure must not cost the run's core outputs
                summary.setdefault("report_errors", {})[name] = f"{type(exc).__name__}: {exc}"
                continue
            summary[name] = section.summary
            written += section.files
        summary["files"] = written
        atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, allow_nan=False, default=_json_default))
    return summary


@dataclass
class ReportSection:
    """What a report extension adds: an entry of ``summary.json`` and the files it wrote (names in the run directory)."""

    summary: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


@runtime_checkable
class ReportExtension(Protocol):
    """Extra outputs for a run, e.g. a grid of Pareto molecules; registered through ``register_report_extensions``.

    A design space names the extensions every run on it writes (:attr:`DesignSpace.report_extensions`);
    a config adds more with ``[[reports]]``. :func:`write_outputs` calls each after the core files.
    """

    def write(self, run_dir: Path, data: RunData, front: Sequence[int], space: DesignSpace | None, plots: bool) -> ReportSection:
        """Write files into ``run_dir`` for the run ``data`` whose Pareto rows are ``front``; return the summary entry."""
        ...


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Tensor):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
