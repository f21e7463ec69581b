"""Benchmark 13b: hypervolume after 200 evaluations on BraninCurrin and DTLZ2, `evolution` against `random`.

Hypervolumes use BoTorch's reference points (BraninCurrin ``(18, 6)``, DTLZ2 ``(1.1, 1.1)``) and
are reported with the problems' maximum hypervolumes. Runs go through ``gendesign.optimize``
(in memory), batch size 20; `evolution` uses ``population_size=20`` (NSGA-II survival, SBX
crossover and Gaussian mutation of :class:`~gendesign.core.box_space.BoxSpace`).

Usage::

    nice -n 10 python benchmarks/mo_problems.py       # writes benchmarks/results/mo_problems.{json,md}
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

import gendesign
from gendesign.objectives.botorch_problems import DTLZ2, BoTorchProblem, BraninCurrin

RESULTS = Path(__file__).resolve().parent / "results"
STRATEGY_OPTIONS: dict[str, dict[str, Any]] = {"evolution": {"population_size": 20}, "random": {}}


def run_one(problem: BoTorchProblem, strategy: str, seed: int, budget: int, batch_size: int) -> dict[str, Any]:
    start = time.perf_counter()
    result = gendesign.optimize(
        problem,
        None,
        strategy,
        budget=budget,
        batch_size=batch_size,
        seed=seed,
        progress=False,
        plots=False,
        **STRATEGY_OPTIONS[strategy],
    )
    values = result.values()
    valid = ~torch.isnan(values).any(dim=-1)
    hv = problem.hypervolume(values[valid])
    return {
        "strategy": strategy,
        "seed": seed,
        "evaluations": int(values.shape[0]),
        "hypervolume": hv,
        "seconds": round(time.perf_counter() - start, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    problems: dict[str, BoTorchProblem] = {"BraninCurrin": BraninCurrin(), "DTLZ2 (d=6, M=2)": DTLZ2(dim=6, num_objectives=2)}
    runs: dict[str, list[dict[str, Any]]] = {}
    for name, problem in problems.items():
        for strategy in ("evolution", "random"):
            for seed in args.seeds:
                row = run_one(problem, strategy, seed, args.budget, args.batch_size)
                runs.setdefault(name, []).append(row)
                print(
                    f"{name} {strategy:9s} seed={seed} HV={row['hypervolume']:.4f} ({row['evaluations']} evals, {row['seconds']}s)",
                    flush=True,
                )
    lines = [
        f"# Multi-objective benchmark: hypervolume after {args.budget} evaluations",
        "",
        f"Command: `nice -n 10 python benchmarks/mo_problems.py`; batch size {args.batch_size}; seeds {args.seeds}; "
        "evolution with population_size=20.",
        "",
        "| problem | max HV | strategy | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean | mean / max HV |",
        "|---|---|---|" + "---|" * len(args.seeds) + "---|---|",
    ]
    summary: dict[str, dict[str, float]] = {}
    for name, problem in problems.items():
        for strategy in ("evolution", "random"):
            hvs = [r["hypervolume"] for r in runs[name] if r["strategy"] == strategy]
            mean = statistics.fmean(hvs)
            summary.setdefault(name, {})[strategy] = mean
            lines.append(
                f"| {name} | {problem.max_hv:.4f} | {strategy} | "
                + " | ".join(f"{h:.4f}" for h in hvs)
                + f" | {mean:.4f} | {mean / problem.max_hv:.3f} |"
            )
    lines.append("")
    for name, means in summary.items():
        lines.append(f"- {name}: evolution / random mean hypervolume = {means['evolution'] / means['random']:.3f}")
    table = "\n".join(lines) + "\n"
    print()
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "budget": args.budget,
        "batch_size": args.batch_size,
        "seeds": args.seeds,
        "max_hv": {n: p.max_hv for n, p in problems.items()},
        "ref_point": {n: p.ref_point.tolist() for n, p in problems.items()},
        "runs": runs,
    }
    (RESULTS / "mo_problems.json").write_text(json.dumps(payload, indent=1))
    (RESULTS / "mo_problems.md").write_text(table)


if __name__ == "__main__":
    main()
