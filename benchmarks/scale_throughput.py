"""Throughput of the executors and of asynchronous campaigns, each against a baseline run in the same process.

(a) **Parallel efficiency.** A 100 ms sleep oracle, ``--designs`` designs, scored through a
    campaign on the process pool with 1 and with 2 workers (one design per chunk):
    ``efficiency = T(1 worker) / (2 · T(2 workers))``. Target >= 0.9.
(b) **Async against sync under lognormal latency.** The oracle sleeps ``exp(N(log m, σ²))`` seconds
    (σ = 1, seeded per design), ``--workers`` workers, equal budget: wall time of
    ``mode = "async"`` (``max_in_flight = workers``) over ``mode = "sync"`` (``batch_size =
    workers``). Target <= 0.75. The same ratio from the virtual-clock executor
    (:class:`gendesign.testing.executors.VirtualClockExecutor`, no sleeping) at 2 to 256 workers
    is the extrapolation to many machines.
(c) **Ray overhead per design.** A trivial oracle, ``--ray-designs`` designs through a sync
    campaign on Ray tasks (local cluster, ``workers`` CPUs) and on the process pool, at several chunk
    sizes: wall milliseconds per design and their ratio.

Writes ``benchmarks/results/scale_throughput.json`` and ``.md``.

Usage::

    python benchmarks/scale_throughput.py [--designs 40] [--workers 2] [--lognormal-designs 64] [--median-ms 100] [--ray] [--ray-designs 2000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import time
from pathlib import Path

from gendesign import optimize
from gendesign.core.campaign import Campaign
from gendesign.core.executor import ProcessPoolExecutor
from gendesign.core.objective import FunctionObjective
from gendesign.core.sequence_space import SequenceSpace
from gendesign.core.strategy import SearchStrategy, StrategyOptions
from gendesign.testing.executors import VirtualClockExecutor

RESULTS = Path(__file__).resolve().parent / "results"
SPACE = SequenceSpace("ACDEFGHIKL", length=8)


class Replay(SearchStrategy):
    """Hands out a fixed list of designs in order (no strategy cost, identical work for every variant)."""

    class Options(StrategyOptions):
        designs: list[str] = []

    def __init__(self, space, specs, *, seed=0, device="cpu", options=None) -> None:
        super().__init__(space, specs, seed=seed, device=device, options=options)
        self.position = 0

    def ask(self, n):
        out = self.options.designs[self.position : self.position + n]
        self.position += len(out)
        return out

    def tell(self, designs, scores) -> None:
        pass


def designs(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < n:
        out["".join(rng.choice("ACDEFGHIKL") for _ in range(8))] = None
    return list(out)


class SleepOracle:
    """Sleeps ``seconds(design)`` per design, then returns the count of 'A'."""

    def __init__(self, median_s: float, sigma: float) -> None:
        self.median_s = median_s
        self.sigma = sigma

    def seconds(self, design: str) -> float:
        if self.sigma == 0:
            return self.median_s
        return self.median_s * math.exp(random.Random(f"latency:{design}").gauss(0.0, self.sigma))

    def __call__(self, xs):
        for x in xs:
            time.sleep(self.seconds(x))
        return [x.count("A") for x in xs]


def timed_campaign(oracle: SleepOracle, pool: ProcessPoolExecutor, items: list[str], *, mode: str, workers: int) -> float:
    obj = FunctionObjective(oracle, names="a")
    strategy = Replay(SPACE, obj.specs, options=Replay.Options(designs=items))
    campaign = Campaign(obj, SPACE, strategy, budget=len(items), batch_size=workers, executor=pool, mode=mode, max_in_flight=workers, progress=False)
    start = time.perf_counter()
    campaign.run()
    return time.perf_counter() - start


def warm_pool(workers: int) -> ProcessPoolExecutor:
    pool = ProcessPoolExecutor(workers=workers, chunk_size=1)
    obj = FunctionObjective(SleepOracle(0.2, 0.0), names="a")
    for f in [pool.submit(obj, ["AAAAAAAA"]) for _ in range(workers)]:
        f.result()
    return pool


def efficiency(n: int) -> dict:
    oracle = SleepOracle(0.1, 0.0)
    items = designs(n, 1)
    times = {}
    for w in (1, 2):
        pool = warm_pool(w)
        try:
            times[w] = timed_campaign(oracle, pool, items, mode="sync", workers=w)
        finally:
            pool.close()
    return {"designs": n, "oracle_ms": 100, "seconds_1_worker": times[1], "seconds_2_workers": times[2], "parallel_efficiency": times[1] / (2 * times[2])}


def async_vs_sync(n: int, workers: int, median_ms: float) -> dict:
    oracle = SleepOracle(median_ms / 1000, 1.0)
    items = designs(n, 2)
    pool = warm_pool(workers)
    try:
        sync = timed_campaign(oracle, pool, items, mode="sync", workers=workers)
        asynchronous = timed_campaign(oracle, pool, items, mode="async", workers=workers)
    finally:
        pool.close()
    serial = sum(oracle.seconds(d) for d in items)
    return {
        "designs": n,
        "workers": workers,
        "median_latency_ms": median_ms,
        "sigma": 1.0,
        "sum_of_latencies_s": serial,
        "sync_s": sync,
        "async_s": asynchronous,
        "async_over_sync": asynchronous / sync,
    }


def simulated(n: int, median_ms: float, worker_counts: list[int]) -> list[dict]:
    oracle = SleepOracle(median_ms / 1000, 1.0)
    rows = []
    for w in worker_counts:
        items = designs(max(n, 8 * w), 3)
        obj = FunctionObjective(lambda xs: [x.count("A") for x in xs], names="a")
        clocks = {}
        for mode in ("sync", "async"):
            executor = VirtualClockExecutor(oracle.seconds, workers=w)
            strategy = Replay(SPACE, obj.specs, options=Replay.Options(designs=items))
            Campaign(obj, SPACE, strategy, budget=len(items), batch_size=w, executor=executor, mode=mode, progress=False).run()
            clocks[mode] = executor.now
        ideal = sum(oracle.seconds(d) for d in items) / w
        rows.append({"workers": w, "designs": len(items), "sync_s": clocks["sync"], "async_s": clocks["async"], "async_over_sync": clocks["async"] / clocks["sync"], "async_efficiency": ideal / clocks["async"]})
    return rows


def ray_overhead(n: int, workers: int, chunks: list[int]) -> list[dict]:
    from gendesign.core.ray_executor import RayExecutor

    obj = FunctionObjective(lambda xs: [x.count("A") for x in xs], names="a")
    items = designs(n, 4)
    rows = []
    ray_executor = RayExecutor(workers=workers, num_cpus=workers)
    try:
        for chunk in chunks:
            row = {"designs": n, "workers": workers, "chunk_size": chunk}
            for name in ("process", "ray"):
                executor = ProcessPoolExecutor(workers, chunk) if name == "process" else ray_executor
                executor.chunk_size = chunk
                optimize(obj, SPACE, Replay, budget=8, batch_size=8, executor=executor, progress=False, designs=items[:8])  # warm-up
                start = time.perf_counter()
                optimize(obj, SPACE, Replay, budget=n, batch_size=256, executor=executor, progress=False, designs=items)
                row[f"{name}_ms_per_design"] = (time.perf_counter() - start) / n * 1e3
                if name == "process":
                    executor.close()
            row["ray_over_process"] = row["ray_ms_per_design"] / row["process_ms_per_design"]
            rows.append(row)
            print(row)
    finally:
        ray_executor.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--designs", type=int, default=40, help="designs for the parallel-efficiency runs")
    parser.add_argument("--workers", type=int, default=2, help="workers for the async/sync comparison")
    parser.add_argument("--lognormal-designs", type=int, default=64)
    parser.add_argument("--median-ms", type=float, default=100.0)
    parser.add_argument("--simulate", type=int, nargs="+", default=[2, 8, 32, 128, 256], help="worker counts on the virtual clock")
    parser.add_argument("--ray", action="store_true", help="also measure Ray's overhead per design (needs the ray extra)")
    parser.add_argument("--ray-designs", type=int, default=2000)
    parser.add_argument("--ray-chunks", type=int, nargs="+", default=[1, 16, 128])
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    out: dict = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    out["parallel_efficiency"] = efficiency(args.designs)
    print(out["parallel_efficiency"])
    out["async_vs_sync"] = async_vs_sync(args.lognormal_designs, args.workers, args.median_ms)
    print(out["async_vs_sync"])
    out["simulated_async_vs_sync"] = simulated(args.lognormal_designs, args.median_ms, args.simulate)
    for row in out["simulated_async_vs_sync"]:
        print(row)
    if args.ray:
        out["ray_overhead"] = ray_overhead(args.ray_designs, args.workers, args.ray_chunks)
    out["load_average_at_end"] = list(os.getloadavg())
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"scale_throughput{args.tag}.json").write_text(json.dumps(out, indent=2))
    pe, av = out["parallel_efficiency"], out["async_vs_sync"]
    lines = [
        "# Scale: executor throughput and asynchronous campaigns",
        "",
        f"Python {out['python']} on {out['cpus']} CPUs; load average at the end {out['load_average_at_end'][0]:.1f}. "
        "Every ratio compares runs made one after the other in one process.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| parallel efficiency, 100 ms oracle, {pe['designs']} designs, 1 vs 2 process workers | {pe['parallel_efficiency']:.3f} ({pe['seconds_1_worker']:.2f} s vs {pe['seconds_2_workers']:.2f} s) | >= 0.90 |",
        f"| async / sync wall time, lognormal latency (median {av['median_latency_ms']:.0f} ms, sigma 1), {av['designs']} designs, {av['workers']} workers | {av['async_over_sync']:.3f} ({av['async_s']:.2f} s vs {av['sync_s']:.2f} s) | <= 0.75 |",
        "",
        "Virtual clock (same latency model, no sleeping; the extrapolation to many workers):",
        "",
        "| workers | designs | sync s | async s | async / sync | async efficiency |",
        "|---|---|---|---|---|---|",
        *[f"| {r['workers']} | {r['designs']} | {r['sync_s']:.1f} | {r['async_s']:.1f} | {r['async_over_sync']:.3f} | {r['async_efficiency']:.3f} |" for r in out["simulated_async_vs_sync"]],
    ]
    if "ray_overhead" in out:
        lines += ["", "Ray tasks against the process pool (trivial oracle, sync campaign, batches of 256):", "", "| chunk size | process ms/design | Ray ms/design | Ray / process |", "|---|---|---|---|"]
        lines += [f"| {r['chunk_size']} | {r['process_ms_per_design']:.3f} | {r['ray_ms_per_design']:.3f} | {r['ray_over_process']:.2f} |" for r in out["ray_overhead"]]
    (RESULTS / f"scale_throughput{args.tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
