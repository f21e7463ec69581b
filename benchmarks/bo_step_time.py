"""Wall time of one ``bo`` step (GP fit + acquisition optimisation) against history size and dimension.

For each dimension ``d`` and history size ``N`` the strategy is told ``N`` uniform random points of
the Ackley function on ``[-5, 10]^d`` (BoTorch's ``Ackley``, minimised) and asked for ``q = 1``
design with its default options; the step's ``last_step_seconds`` (fit and acquisition) are
recorded, median over ``--reps`` seeds. The meta-BO benchmark compares its per-step time with this.

    python benchmarks/bo_step_time.py                    # d = 2, 4, 6; N = 16, 32, 64; 3 reps
    python benchmarks/bo_step_time.py --dims 2 --sizes 16 --reps 1   # a quick check

Writes ``benchmarks/results/bo_step_time.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
import torch
from botorch.test_functions import Ackley

from gendesign.core.box_space import BoxSpace
from gendesign.core.objective import FunctionObjective
from gendesign.search.bo import BayesianOptimization

RESULTS = Path(__file__).resolve().parent / "results"


def step_seconds(dim: int, size: int, seed: int) -> dict[str, float]:
    problem = Ackley(dim=dim)
    space = BoxSpace([[-5.0, 10.0]] * dim)
    objective = FunctionObjective(lambda xs: problem.evaluate_true(torch.tensor(xs, dtype=torch.float64)).tolist(), directions="min")
    strategy = BayesianOptimization(space, objective.specs, seed=seed, options=BayesianOptimization.Options(initial_samples=size))
    designs = space.sample(size, np.random.default_rng(seed))
    strategy.tell(designs, objective(designs))
    strategy.ask(1)
    return dict(strategy.last_step_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 4, 6])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for dim in args.dims:
        for size in args.sizes:
            runs = [step_seconds(dim, size, seed) for seed in range(args.reps)]
            row = {
                "dim": dim,
                "points": size,
                "fit_s": statistics.median(r["fit"] for r in runs),
                "acquisition_s": statistics.median(r["acquisition"] for r in runs),
                "step_s": statistics.median(r["fit"] + r["acquisition"] for r in runs),
                "fit_cpu_s": statistics.median(r["fit_cpu"] for r in runs),
                "acquisition_cpu_s": statistics.median(r["acquisition_cpu"] for r in runs),
                "step_cpu_s": statistics.median(r["fit_cpu"] + r["acquisition_cpu"] for r in runs),
            }
            rows.append(row)
            print(json.dumps(row))
    RESULTS.mkdir(exist_ok=True)
    meta = {"threads": args.threads, "reps": args.reps, "torch": torch.__version__, "rows": rows}
    (RESULTS / "bo_step_time.json").write_text(json.dumps(meta, indent=2) + "\n")
    lines = [
        f"# `bo` step time (GP fit + qLogNEI optimisation, q = 1, default options, {args.threads} thread(s), median of {args.reps})",
        "",
        "",
        "CPU seconds of the process (what the step costs on an idle core) and wall seconds (inflated when the machine is shared).",
        "",
        "| d | N | fit CPU (s) | acquisition CPU (s) | step CPU (s) | step wall (s) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['dim']} | {r['points']} | {r['fit_cpu_s']:.2f} | {r['acquisition_cpu_s']:.2f} | {r['step_cpu_s']:.2f} | {r['step_s']:.2f} |"
        for r in rows
    ]
    (RESULTS / "bo_step_time.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
