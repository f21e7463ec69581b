"""Engine overhead per evaluated design: what the campaign loop costs on top of the objective.

A trivial objective (token counts of a sequence, microseconds per batch) is scored in batches of
256, once through a bare loop that calls the objective directly and once through
:class:`gendesign.core.campaign.Campaign` (validation, keys, de-duplication, ledger writes,
per-round checkpoints, ``tell``). A replay strategy hands out pre-sampled unique designs so that
strategy cost is near zero; its ask/tell time is measured and subtracted anyway.

    engine overhead per design = (campaign wall - objective time - strategy time) / evaluations

Target: under 1 ms per design, so the engine never dominates a real oracle. Variants: in-memory
ledger, on-disk WAL ledger with checkpoints, and K = 1, 2 or 3 objectives (``--objectives``).

Writes ``benchmarks/results/engine_overhead.json`` and ``.md``.

Usage::

    python benchmarks/engine_overhead.py [--designs 20480] [--batch 256] [--repeats 3] [--objectives 1 2] [--tag SUFFIX]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gendesign.core.campaign import Campaign
from gendesign.core.objective import FunctionObjective
from gendesign.core.sequence_space import SequenceSpace
from gendesign.core.strategy import SearchStrategy

RESULTS = Path(__file__).resolve().parent / "results"
ALPHABET = "ACDEFGHIKLMNPQRSTVWY"


def counts(k: int):
    def f(xs: list[str]) -> list[list[float]]:
        return [[x.count("A"), x.count("C"), x.count("D")][:k] for x in xs]

    f.__qualname__ = f"counts_k{k}"
    return f


class Replay(SearchStrategy):
    """Hands out a fixed list of designs in order and times its own ask/tell."""

    designs: list[str] = []

    def __init__(self, space, specs, *, seed=0, device="cpu", options=None) -> None:
        super().__init__(space, specs, seed=seed, device=device, options=options)
        self.position = 0
        self.seconds = 0.0

    def ask(self, n: int) -> list[str]:
        start = time.perf_counter()
        out = self.designs[self.position : self.position + n]
        self.position += len(out)
        self.seconds += time.perf_counter() - start
        return out

    def tell(self, designs, scores) -> None:
        start = time.perf_counter()
        self.seconds += time.perf_counter() - start

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.position = state["position"]


def unique_designs(space: SequenceSpace, n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out: dict[str, None] = {}
    while len(out) < n:
        for d in space.sample(n, rng):
            out[d] = None
    return list(out)[:n]


def bare_loop(objective: FunctionObjective, designs: list[str], batch: int) -> tuple[float, float]:
    """Wall and CPU (process) seconds of calling the objective directly on every batch."""
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(designs), batch):
        objective(designs[i : i + batch])
    return time.perf_counter() - start, time.process_time() - cpu


def campaign_run(objective: FunctionObjective, space: SequenceSpace, designs: list[str], batch: int, on_disk: bool, report: bool = False) -> dict[str, float]:
    """One campaign; ``wall`` is the ask/tell loop (the run's counters), ``total`` adds the final outputs and history;
    with ``report`` (on disk only), ``report`` is the wall time of ``gendesign report`` (tables, summary and plots) on the finished run."""
    Replay.designs = designs
    strategy = Replay(space, objective.specs)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run" if on_disk else None
        campaign = Campaign(objective, space, strategy, budget=len(designs), batch_size=batch, run_dir=run_dir, progress=False, plots=False)
        start, cpu = time.perf_counter(), time.process_time()
        campaign.run()
        total, cpu_total = time.perf_counter() - start, time.process_time() - cpu
        c = campaign.counters
        campaign.close()
        report_seconds = math.nan
        if report and run_dir is not None:
            from gendesign.api import report_run

            start = time.perf_counter()
            report_run(run_dir, plots=True)
            report_seconds = time.perf_counter() - start
    return {
        "wall": c.wall_seconds,
        "total": total,
        "cpu_total": cpu_total,
        "objective": c.objective_seconds,
        "strategy": strategy.seconds,
        "evaluations": c.evaluations,
        "report": report_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--designs", type=int, default=20480)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--objectives", type=int, nargs="+", default=[1, 2], choices=[1, 2, 3], help="K values to run")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--report", action="store_true", help="also time `gendesign report` (with plots) on each on-disk run")
    parser.add_argument("--ledgers", nargs="+", default=["memory", "file"], choices=["memory", "file"], help="ledger variants to run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = SequenceSpace(ALPHABET, length=12)
    rows = []
    for k in args.objectives:
        for on_disk in [kind == "file" for kind in args.ledgers]:
            runs, bares, bare_cpus = [], [], []
            for r in range(args.repeats):
                designs = unique_designs(space, args.designs, seed=100 * k + r)
                objective = FunctionObjective(counts(k), names=[f"c{i}" for i in range(k)])
                bare_wall, bare_cpu = bare_loop(objective, designs, args.batch)
                bares.append(bare_wall)
                bare_cpus.append(bare_cpu)
                runs.append(campaign_run(objective, space, designs, args.batch, on_disk, args.report))
            n = runs[0]["evaluations"]
            overhead = [(x["wall"] - x["objective"] - x["strategy"]) / x["evaluations"] * 1e3 for x in runs]
            row = {
                "objectives": k,
                "ledger": "file (WAL) + checkpoints" if on_disk else "in memory",
                "designs": n,
                "batch": args.batch,
                "bare_loop_ms_per_design": statistics.median(b / n * 1e3 for b in bares),
                "campaign_wall_ms_per_design": statistics.median(x["wall"] / n * 1e3 for x in runs),
                "objective_ms_per_design_in_campaign": statistics.median(x["objective"] / n * 1e3 for x in runs),
                "strategy_ms_per_design": statistics.median(x["strategy"] / n * 1e3 for x in runs),
                "engine_overhead_ms_per_design": statistics.median(overhead),
                "engine_overhead_ms_per_design_all_repeats": overhead,
                "cpu_overhead_incl_outputs_ms_per_design": statistics.median(
                    (x["cpu_total"] - b) / n * 1e3 for x, b in zip(runs, bare_cpus)
                ),
                "with_final_outputs_ms_per_design": statistics.median((x["total"] - x["objective"] - x["strategy"]) / n * 1e3 for x in runs),
            }
            row["campaign_over_bare_ratio"] = row["campaign_wall_ms_per_design"] / row["bare_loop_ms_per_design"]
            if on_disk and args.report:
                row["report_seconds"] = statistics.median(x["report"] for x in runs)
            rows.append(row)
            print(
                f"K={k} {row['ledger']:<26} bare {row['bare_loop_ms_per_design']:.4f} ms/design  campaign {row['campaign_wall_ms_per_design']:.4f}  "
                f"engine overhead {row['engine_overhead_ms_per_design']:.4f} ms/design  (x{row['campaign_over_bare_ratio']:.1f} of bare)"
                + (f"  report {row['report_seconds']:.1f} s" if "report_seconds" in row else "")
            )
    meta = {
        "benchmark": "engine_overhead",
        "target_ms_per_design": 1.0,
        "target_met": all(r["engine_overhead_ms_per_design"] < 1.0 for r in rows),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "threads": torch.get_num_threads(),
        "load_average_1_5_15min_at_end": list(os.getloadavg()),
        "space": "SequenceSpace(20 amino acids, length 12)",
        "repeats": args.repeats,
        "command": "python benchmarks/engine_overhead.py " + " ".join(
            f"--{k} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in vars(args).items() if v != ""
        ),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"engine_overhead{args.tag}.json").write_text(json.dumps({**meta, "rows": rows}, indent=2))
    lines = [
        "# Engine overhead per evaluated design",
        "",
        f"Trivial objective (token counts), {rows[0]['designs']} unique designs in batches of {args.batch}, median of {args.repeats} repeats, "
        f"1 torch thread, Python {meta['python']}, torch {meta['torch']}. Overhead = (ask/tell loop wall - objective time - strategy time) / designs; the last column adds "
        "writing the final outputs (CSV tables, summary; no plots) and building the result's history. The CPU-time column is "
        "(process CPU seconds of the campaign - those of the bare loop) / designs, which is robust to other processes on a shared machine.",
        "",
        "| K | ledger | bare loop ms/design | campaign ms/design | engine overhead ms/design | campaign / bare | overhead incl. outputs | CPU-time overhead incl. outputs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['objectives']} | {r['ledger']} | {r['bare_loop_ms_per_design']:.4f} | {r['campaign_wall_ms_per_design']:.4f} | "
            f"{r['engine_overhead_ms_per_design']:.4f} | {r['campaign_over_bare_ratio']:.1f}x | {r['with_final_outputs_ms_per_design']:.4f} | {r['cpu_overhead_incl_outputs_ms_per_design']:.4f} |"
        )
    lines += ["", f"Target < 1 ms per design: {'met' if meta['target_met'] else 'NOT met'}.", "", f"Command: `{meta['command']}`", ""]
    (RESULTS / f"engine_overhead{args.tag}.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
