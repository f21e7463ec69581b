"""Benchmark 13a: how reliably `evolution` (at its defaults, through `gendesign.optimize`) solves Ehrlich functions.

Tasks (v = 32):

* ``L32``: (L=32, c=2, k=4, q=4), budget 10,000 evaluations; targets: warm start >= 95 % of
  seeds solved with a median of at most 3,000 evaluations to solve, cold start >= 80 % solved.
* ``L128``: (L=128, c=4, k=4, q=4), budget 50,000 evaluations.

Starts: ``warm`` proposes the instance's feasible ``initial_solution()`` first (the protocol of the
Ehrlich paper's GA baseline); ``cold`` gives no design, so the search starts from its own random
samples (a uniform random sequence is feasible with probability about 5e-4 at L=32).

References: ``ours`` is :class:`gendesign.objectives.ehrlich.Ehrlich`; ``holo`` is pytorch-holo's
``Ehrlich`` (the reference implementation, not a gendesign dependency) wrapped as a callable with
``-inf`` for infeasible sequences, so it needs a Python where ``holo`` is importable (see below).
Both build the same instance for the same seed (``benchmarks/ehrlich_semantics.py`` checks it).

Seed ``s`` uses the instance ``random_seed=s`` and the strategy seed ``s``. A run stops at the first
design with f = 1 (evaluations to solve = the number of unique designs evaluated up to and including
it) or at the budget. Quantiles of evaluations to solve are over all seeds, an unsolved seed counting
as more than the budget (so a median exists only when at least half the seeds are solved).

Usage::

    # development (2 cores): a few seeds
    nice -n 10 python benchmarks/ehrlich.py --seeds 10 --tasks L32 --starts warm cold --workers 2 --out ehrlich_dev
    # the full run (30 seeds, both starts; 16 cores)
    python benchmarks/ehrlich.py --seeds 30 --workers 16 --tasks L32 L128 --starts warm cold --out ehrlich
    # the same against holo: its wheel and pooch's (pure Python) go to a separate folder, not the project venv;
    # torch, botorch, pandas and the rest come from the project venv (holo's numpy<2 pin is metadata only)
    pip install --no-deps --target /tmp/holo_site .whl/pytorch_holo-0.0.5-py3-none-any.whl .whl/pooch-1.9.0-py3-none-any.whl
    PYTHONPATH=src:/tmp/holo_site python benchmarks/ehrlich.py --reference holo --seeds 30 --workers 16 \
        --tasks L32 L128 --starts warm cold --out ehrlich_holo

Writes ``benchmarks/results/<out>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

RESULTS = Path(__file__).resolve().parent / "results"
TASKS: dict[str, tuple[dict[str, int], int]] = {
    "L32": ({"length": 32, "num_motifs": 2, "motif_length": 4, "quantization": 4}, 10_000),
    "L128": ({"length": 128, "num_motifs": 4, "motif_length": 4, "quantization": 4}, 50_000),
}
NUM_STATES = 32


class Solved(BaseException):
    """Raised from inside the objective at the first optimum; ends the run (not an evaluation failure)."""


def make_objective(reference: str, instance: dict[str, int], seed: int) -> tuple[Any, Any, str]:
    """(objective, space, initial solution text) for one instance of ``reference``."""
    from gendesign.core.objective import FunctionObjective, ObjectiveSpec
    from gendesign.objectives.ehrlich import ALPHABET, Ehrlich

    ours = Ehrlich(num_states=NUM_STATES, random_seed=seed, **instance)
    if reference == "ours":
        return ours, ours.default_space(), ours.initial_solution()
    from holo.test_functions.closed_form import Ehrlich as HoloEhrlich

    holo = HoloEhrlich(
        num_states=NUM_STATES,
        dim=instance["length"],
        num_motifs=instance["num_motifs"],
        motif_length=instance["motif_length"],
        quantization=instance["quantization"],
        random_seed=seed,
    )

    def holo_values(designs: list[Any]) -> list[float]:
        ids = torch.tensor([[ALPHABET.index(ch) for ch in str(d)] for d in designs], dtype=torch.long)
        return holo(ids).double().tolist()

    spec = ObjectiveSpec("ehrlich", "max", bounds=(0.0, 1.0))
    initial = "".join(ALPHABET[t] for t in holo.initial_solution().tolist())
    return FunctionObjective(holo_values, specs=[spec]), ours.default_space(), initial


def run_one(job: tuple[str, str, str, int, int]) -> dict[str, Any]:
    reference, task, start, seed, budget = job
    torch.set_num_threads(1)
    import gendesign
    from gendesign.core.objective import Objective, Scores

    instance, _ = TASKS[task]
    inner, space, initial = make_objective(reference, instance, seed)
    trace: dict[str, Any] = {"evaluations": 0, "solved_at": None, "best": -math.inf, "invalid": 0, "best_at": {}}

    class StopAtOptimum(Objective):
        specs = inner.specs
        device = torch.device("cpu")

        def evaluate(self, designs: list[Any]) -> Scores:
            scores = inner(designs)
            for value, ok in zip(scores.values[:, 0].tolist(), scores.valid.tolist(), strict=True):
                trace["evaluations"] += 1
                if not ok:
                    trace["invalid"] += 1
                    continue
                if value > trace["best"]:
                    trace["best"] = value
                    trace["best_at"][trace["evaluations"]] = value
                if value >= 1.0:
                    trace["solved_at"] = trace["evaluations"]
                    raise Solved
            return scores

    started = time.perf_counter()
    try:
        gendesign.optimize(
            StopAtOptimum(),
            space,
            "evolution",
            budget=budget,
            batch_size=50,
            seed=seed,
            progress=False,
            plots=False,
            initial_designs=[initial] if start == "warm" else [],
        )
    except Solved:
        pass
    curve = sorted(trace["best_at"].items())
    return {
        "reference": reference,
        "task": task,
        "start": start,
        "seed": seed,
        "budget": budget,
        "solved_at": trace["solved_at"],
        "evaluations": trace["evaluations"],
        "best": trace["best"] if trace["best"] > -math.inf else None,
        "best_at_10k": max((v for e, v in curve if e <= 10_000), default=None),
        "invalid_fraction": trace["invalid"] / max(trace["evaluations"], 1),
        "improvements": curve,
        "seconds": round(time.perf_counter() - started, 1),
    }


def quantile(solved_at: list[int | None], q: float) -> float:
    """Nearest-rank ``q`` quantile of evaluations to solve, unsolved counting as ``inf``."""
    values = sorted(math.inf if s is None else s for s in solved_at)
    return values[max(0, math.ceil(q * len(values)) - 1)]


def finite(x: float) -> float | None:
    """``None`` for an unsolved quantile (JSON has no infinity)."""
    return None if math.isinf(x) else x


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    solved = [r["solved_at"] for r in rows]
    unsolved_best = sorted(r["best"] for r in rows if r["solved_at"] is None and r["best"] is not None)
    return {
        "seeds": len(rows),
        "solved": sum(s is not None for s in solved),
        "rate": sum(s is not None for s in solved) / len(rows),
        "median": finite(quantile(solved, 0.5)),
        "p90": finite(quantile(solved, 0.9)),
        "unsolved_best": unsolved_best,
        "invalid_fraction": sum(r["invalid_fraction"] for r in rows) / len(rows),
        "seconds": sum(r["seconds"] for r in rows),
    }


def fmt(x: float | None, budget: int) -> str:
    return f"> {budget}" if x is None else str(int(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", choices=["ours", "holo"], default="ours")
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=["L32"])
    parser.add_argument("--starts", nargs="+", choices=["warm", "cold"], default=["warm", "cold"])
    parser.add_argument("--seeds", type=int, default=30, help="seeds 0..N-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="ehrlich", help="results file stem under benchmarks/results/ ('' writes nothing)")
    args = parser.parse_args()
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    jobs = [(args.reference, t, s, seed, TASKS[t][1]) for t in args.tasks for s in args.starts for seed in seeds]
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        for row in pool.imap_unordered(run_one, jobs):
            rows.append(row)
            print(
                f"{row['reference']} {row['task']} {row['start']} seed={row['seed']} solved_at={row['solved_at']} "
                f"best={row['best']} invalid={row['invalid_fraction']:.3f} {row['seconds']}s",
                flush=True,
            )
    wall = time.perf_counter() - started
    rows.sort(key=lambda r: (r["task"], r["start"], r["seed"]))
    summary = {
        f"{t}/{s}": summarize([r for r in rows if r["task"] == t and r["start"] == s]) for t in args.tasks for s in args.starts
    }
    lines = [
        f"# Ehrlich benchmark (v = 32), reference `{args.reference}`",
        "",
        f"Command: `python benchmarks/ehrlich.py {' '.join(sys.argv[1:])}`; `evolution` at its defaults through "
        f"`gendesign.optimize`, batch size 50; seeds {seeds[0]}-{seeds[-1]} (instance seed = strategy seed).",
        f"Machine: {platform.processor() or platform.machine()}, {args.workers} worker(s), torch {torch.__version__}, "
        f"1 thread per run; wall time {wall:.0f} s, CPU time in runs {sum(r['seconds'] for r in rows):.0f} s.",
        "",
        "| task | start | budget | solved | rate | median evals to solve | 90th percentile | best f of unsolved | invalid fraction |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in args.tasks:
        for s in args.starts:
            m = summary[f"{t}/{s}"]
            budget = TASKS[t][1]
            lines.append(
                f"| {t} | {s} | {budget} | {m['solved']}/{m['seeds']} | {m['rate']:.0%} | {fmt(m['median'], budget)} | "
                f"{fmt(m['p90'], budget)} | {', '.join(f'{b:g}' for b in m['unsolved_best']) or '-'} | {m['invalid_fraction']:.3f} |"
            )
    lines += ["", "Evaluations to solve per seed:", ""]
    for t in args.tasks:
        for s in args.starts:
            cells = [str(r["solved_at"]) if r["solved_at"] else f"- ({r['best']})" for r in rows if r["task"] == t and r["start"] == s]
            lines.append(f"* {t} {s}: " + ", ".join(cells))
    table = "\n".join(lines) + "\n"
    print()
    print(table)
    if args.out:
        RESULTS.mkdir(parents=True, exist_ok=True)
        payload = {"reference": args.reference, "seeds": seeds, "argv": sys.argv[1:], "summary": summary, "runs": rows}
        (RESULTS / f"{args.out}.json").write_text(json.dumps(payload, indent=1))
        (RESULTS / f"{args.out}.md").write_text(table)


if __name__ == "__main__":
    main()
