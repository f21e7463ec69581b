"""Multi-objective molecule benchmark: GuacaMol MPOs split into their desirability components.

A GuacaMol multi-property objective (Brown et al., "GuacaMol: benchmarking models for de novo
molecular design", J. Chem. Inf. Model. 59, 2019) is a geometric mean of desirabilities in
``[0, 1]``; here each desirability is its own column and the problem is the Pareto front over
them, scored by the hypervolume with the fixed reference point 0 (every desirability lies in
``[0, 1]``, so the largest possible hypervolume is 1):

* ``osimertinib`` (4): FCFP4 similarity clipped at 0.8, ECFP6 similarity MinGaussian(0.85, 0.1),
  TPSA MaxGaussian(100, 10), logP MinGaussian(1, 1);
* ``fexofenadine`` (3): atom-pair similarity clipped at 0.8, TPSA MaxGaussian(90, 10), logP
  MinGaussian(4, 1);
* ``ranolazine`` (4): atom-pair similarity clipped at 0.7, logP MaxGaussian(7, 1), TPSA
  MaxGaussian(95, 20), fluorine count Gaussian(1, 1);
* ``qed_sa`` (2): QED (Bickerton et al. 2012) and the synthetic-accessibility desirability
  ``(10 - SA) / 9`` (Ertl & Schuffenhauer 2009; SA runs from 1, easy, to 10).

The components are the PMO oracles' own (``components = true`` on the task's objective). Each run
reports the hypervolume of the distinct molecules scored within the first ``checkpoints`` calls
(1,000 and 10,000 by default). Strategies and their options are the PMO harness's
(:func:`gendesign.plugins.molecules.pmo.recipes`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from gendesign.core.atomic import atomic_write_text
from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective

MO_PROBLEMS: dict[str, str] = {
    "osimertinib": "osimertinib_mpo",
    "fexofenadine": "fexofenadine_mpo",
    "ranolazine": "ranolazine_mpo",
    "qed_sa": "qed + (10 - sa) / 9",
}
"""Problem name -> what it is built from (a PMO task split into components, or QED with SA)."""


def build_problem(name: str) -> Objective:
    """The objective of problem ``name``: one desirability column per component, all maximised in ``[0, 1]``."""
    from gendesign.core.plugins import get_plugins
    from gendesign.objectives.compose import Stacked
    from gendesign.objectives.transforms import Ramp, Transformed

    if name not in MO_PROBLEMS:
        raise ConfigError(f"unknown multi-objective molecule problem {name!r}; choose from {sorted(MO_PROBLEMS)}")
    objectives = get_plugins().objectives
    if name == "qed_sa":
        return Stacked([objectives.build("qed", {}), Transformed(objectives.build("sa", {}), {"sa": Ramp(low=1.0, high=10.0, direction="down")})])
    return objectives.build(MO_PROBLEMS[name], {"components": True})


def hypervolume_at(values: Sequence[Sequence[float]], calls: int) -> float:
    """Hypervolume (reference point 0) of the first ``calls`` rows of `[N, K]` desirabilities (NaN rows count as calls, add nothing)."""
    import torch

    from gendesign.core.pareto import hypervolume, pareto_mask

    Y = torch.tensor([list(v) for v in values[:calls]], dtype=torch.float64)
    if Y.numel() == 0:
        return 0.0
    Y = Y[torch.isfinite(Y).all(dim=1)]
    if Y.shape[0] == 0:
        return 0.0
    front = Y[pareto_mask(Y)]
    return hypervolume(front, torch.zeros(Y.shape[1], dtype=torch.float64))


def run_one(problem: str, strategy: str, seed: int, budget: int, checkpoints: Sequence[int], pool: str | None, device: str = "cpu") -> dict[str, Any]:
    """Run ``strategy`` on ``problem`` for ``budget`` distinct molecules; hypervolume at each checkpoint."""
    import torch

    from gendesign.plugins.molecules.pmo import recipes, run_campaign

    torch.set_num_threads(1)
    table = recipes(pool)
    if strategy not in table:
        raise ConfigError(f"unknown strategy {strategy!r}; choose from {sorted(table)}")
    objective = build_problem(problem)
    t0 = time.perf_counter()
    result = run_campaign(objective, table[strategy], budget=budget, seed=seed, device=device)
    names = [s.name for s in objective.specs]
    rows = [[float(r.values[n]) if r.valid else float("nan") for n in names] for r in result.history][:budget]
    return {
        "problem": problem,
        "strategy": strategy,
        "seed": seed,
        "budget": budget,
        "calls": len(rows),
        "objectives": names,
        "hypervolume": {str(c): hypervolume_at(rows, c) for c in checkpoints if c <= budget},
        "wall_s": time.perf_counter() - t0,
    }


def _path(out: Path, problem: str, strategy: str, seed: int) -> Path:
    return out / "runs" / strategy / problem / f"seed{seed}.json"


def _worker(problem: str, strategy: str, seed: int, budget: int, checkpoints: Sequence[int], pool: str | None, device: str, out: str) -> dict[str, Any]:
    row = run_one(problem, strategy, seed, budget, checkpoints, pool, device)
    path = _path(Path(out), problem, strategy, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(row, indent=1))
    return row


def run_mo(
    out: str | Path,
    *,
    problems: Sequence[str] = tuple(MO_PROBLEMS),
    strategies: Sequence[str] = ("evolution", "mdlm_sample", "mcts", "gflownet"),
    seeds: Sequence[int] = (0, 1, 2),
    budget: int = 10_000,
    checkpoints: Sequence[int] = (1_000, 10_000),
    workers: int = 1,
    pool_size: int = 10_000,
    device: str = "cpu",
    echo: Any = None,
) -> list[dict[str, Any]]:
    """Run every (problem, strategy, seed) not yet in ``out``; returns all runs there (see :func:`run_one`)."""
    from gendesign.plugins.molecules.pmo import recipes, write_pool

    unknown = sorted(set(problems) - set(MO_PROBLEMS)) + sorted(set(strategies) - set(recipes(None)))
    if unknown:
        raise ConfigError(f"unknown problems or strategies {unknown}; problems: {sorted(MO_PROBLEMS)}, strategies: {sorted(recipes(None))}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pool_path = out / "pool.smi"
    if not pool_path.is_file():
        write_pool(pool_path, pool_size)
    jobs = [(p, s, seed) for s in strategies for p in problems for seed in seeds if not _path(out, p, s, seed).is_file()]
    args = (budget, tuple(checkpoints), str(pool_path), device, str(out))

    def told(row: dict[str, Any]) -> None:
        if echo:
            hv = ", ".join(f"HV@{c} {v:.3f}" for c, v in row["hypervolume"].items())
            echo(f"{row['strategy']:>16} {row['problem']:<13} seed {row['seed']}: {hv} ({row['calls']} calls, {row['wall_s']:.0f} s)")

    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            told(_worker(*job, *args))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as ex:
            for fut in as_completed([ex.submit(_worker, *job, *args) for job in jobs]):
                told(fut.result())
    return [json.loads(_path(out, p, s, seed).read_text()) for s in strategies for p in problems for seed in seeds if _path(out, p, s, seed).is_file()]


def write_mo_report(out: str | Path, rows: Sequence[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    """Write ``molecules_mo.json`` and ``molecules_mo.md`` (mean and std of the hypervolume over seeds)."""
    import numpy as np

    out = Path(out)
    cells: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        cells.setdefault((row["strategy"], row["problem"]), []).append(row)
    checkpoints = sorted({int(c) for row in rows for c in row["hypervolume"]})
    summary = {
        f"{s}/{p}": {str(c): {"mean": float(np.mean([r["hypervolume"][str(c)] for r in runs])), "std": float(np.std([r["hypervolume"][str(c)] for r in runs])), "seeds": len(runs)} for c in checkpoints}
        for (s, p), runs in cells.items()
    }
    report = {"settings": settings, "summary": summary, "runs": list(rows)}
    atomic_write_text(out / "molecules_mo.json", json.dumps(report, indent=1))
    problems = [p for p in MO_PROBLEMS if any(p == q for _, q in cells)]
    strategies = list(dict.fromkeys(s for s, _ in cells))
    lines = ["# Multi-objective molecule benchmark: hypervolume (reference point 0), mean ± std over seeds", ""]
    lines.append("| strategy | " + " | ".join(f"{p} @{c}" for p in problems for c in checkpoints) + " |")
    lines.append("|---|" + "---|" * (len(problems) * len(checkpoints)))
    for s in strategies:
        row = []
        for p in problems:
            for c in checkpoints:
                cell = summary.get(f"{s}/{p}", {}).get(str(c))
                row.append(f"{cell['mean']:.3f} ± {cell['std']:.3f}" if cell else "")
        lines.append(f"| {s} | " + " | ".join(row) + " |")
    atomic_write_text(out / "molecules_mo.md", "\n".join(lines) + "\n")
    return report
