"""Benchmark 13a: `evolution` against `random` on Ehrlich functions with v = 32.

* (L=32, c=2, k=4, q=4): evaluations until f = 1.0 within a budget of 10,000 (target: every seed).
* (L=128, c=4, k=4, q=4): best f after 10,000 and 50,000 evaluations.

Each seed ``s`` uses the Ehrlich instance ``random_seed=s`` and the strategy seed ``s``. Both
strategies start from the instance's feasible ``initial_solution()`` (the protocol of the Ehrlich
paper's GA baseline); everything after that is the strategy's own proposals. Runs go through
``gendesign.optimize`` (the campaign engine, in memory), so budgets count unique designs.

Usage::

    nice -n 10 python benchmarks/ehrlich.py            # full run, writes benchmarks/results/ehrlich.{json,md}
    python benchmarks/ehrlich.py --quick               # smoke run with small budgets (not written)
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path
from typing import Any

import torch

import gendesign
from gendesign.objectives.ehrlich import Ehrlich

RESULTS = Path(__file__).resolve().parent / "results"


def run_one(instance: dict[str, int], strategy: str, seed: int, budget: int, batch_size: int) -> dict[str, Any]:
    f = Ehrlich(num_states=32, random_seed=seed, **instance)
    start = time.perf_counter()
    result = gendesign.optimize(
        f,
        None,
        strategy,
        budget=budget,
        batch_size=batch_size,
        seed=seed,
        progress=False,
        plots=False,
        initial_designs=[f.initial_solution()],
    )
    seconds = time.perf_counter() - start
    curve: list[tuple[int, float]] = []
    best = -math.inf
    solved_at = None
    invalid = 0
    for record in result.history:
        if record.evaluation is None:
            continue
        if not record.valid:
            invalid += 1
            continue
        value = record.values["ehrlich"]
        if value > best:
            best = value
            curve.append((record.evaluation, value))
        if value >= 1.0 and solved_at is None:
            solved_at = record.evaluation
    evaluations = sum(r.evaluation is not None for r in result.history)

    def best_at(n: int) -> float | None:
        vals = [v for e, v in curve if e <= n]
        return max(vals) if vals else None

    return {
        "strategy": strategy,
        "seed": seed,
        "evaluations": evaluations,
        "invalid_fraction": invalid / max(evaluations, 1),
        "feasible_found": evaluations - invalid,
        "solved_at": solved_at,
        "best": best if best > -math.inf else None,
        "best_at_10k": best_at(10_000),
        "best_at_50k": best_at(50_000),
        "improvements": curve,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small budgets, results not written")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    small_budget, large_budget = (2_000, 4_000) if args.quick else (10_000, 50_000)
    tasks = [
        ("L32", {"length": 32, "num_motifs": 2, "motif_length": 4, "quantization": 4}, small_budget),
        ("L128", {"length": 128, "num_motifs": 4, "motif_length": 4, "quantization": 4}, large_budget),
    ]
    runs: dict[str, list[dict[str, Any]]] = {}
    for name, instance, budget in tasks:
        for strategy in ("evolution", "random"):
            for seed in args.seeds:
                row = run_one(instance, strategy, seed, budget, args.batch_size)
                runs.setdefault(name, []).append(row)
                print(
                    f"{name} {strategy:9s} seed={seed} evals={row['evaluations']} solved_at={row['solved_at']} "
                    f"best={row['best']} best@10k={row['best_at_10k']} invalid={row['invalid_fraction']:.3f} {row['seconds']}s",
                    flush=True,
                )
    lines = [
        "# Ehrlich benchmark (v = 32)",
        "",
        f"Command: `nice -n 10 python benchmarks/ehrlich.py{' --quick' if args.quick else ''}`; batch size {args.batch_size}; "
        f"seeds {args.seeds} (instance seed = strategy seed); both strategies start from `initial_solution()`.",
        f"Machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread.",
        "",
        f"## (L=32, c=2, k=4, q=4): evaluations to reach f = 1.0 (budget {small_budget})",
        "",
        "| strategy | " + " | ".join(f"seed {s}" for s in args.seeds) + " | solved |",
        "|---|" + "---|" * len(args.seeds) + "---|",
    ]
    for strategy in ("evolution", "random"):
        rows = [r for r in runs["L32"] if r["strategy"] == strategy]
        cells = [str(r["solved_at"]) if r["solved_at"] is not None else f"not solved (best {r['best']})" for r in rows]
        lines.append(f"| {strategy} | " + " | ".join(cells) + f" | {sum(r['solved_at'] is not None for r in rows)}/{len(rows)} |")
    lines += [
        "",
        f"## (L=128, c=4, k=4, q=4): best f after 10k and {large_budget // 1000}k evaluations",
        "",
        "| strategy | seed | best f @ 10k | best f @ end | evaluations to f = 1 | feasible designs evaluated | invalid fraction |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs["L128"]:
        lines.append(
            f"| {r['strategy']} | {r['seed']} | {r['best_at_10k']} | {r['best']} | {r['solved_at'] or '-'} | {r['feasible_found']} | "
            f"{r['invalid_fraction']:.4f} |"
        )
    lines += [
        "",
        "Feasible designs evaluated include the seed `initial_solution()`; when that is the only one, the best f reported is the",
        "seed's own value (a uniform random sequence is feasible with probability about (25/32)^(L-1)).",
    ]
    table = "\n".join(lines) + "\n"
    print()
    print(table)
    if not args.quick:
        RESULTS.mkdir(parents=True, exist_ok=True)
        payload = {
            "batch_size": args.batch_size,
            "seeds": args.seeds,
            "budgets": {"L32": small_budget, "L128": large_budget},
            "runs": runs,
        }
        (RESULTS / "ehrlich.json").write_text(json.dumps(payload, indent=1))
        (RESULTS / "ehrlich.md").write_text(table)


if __name__ == "__main__":
    main()
