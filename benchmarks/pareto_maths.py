"""Pareto maths speed: the sweeps of ``core.pareto`` against the reference implementation and moocore.

Fronts: ``N`` points on the positive unit sphere (all mutually non-dominated) for hypervolume and
contributions; the same points plus ``N`` dominated copies scaled towards the origin for the
non-dominated mask and sort. Reference point 0. ``K`` = 2, 3, 4; ``N`` = 100 to 10,000. Every
timing is the median of repeated calls in this one process, so the ratios to moocore
(``ours / moocore``) compare like with like on a shared machine. The reference implementation
(``core.pareto_reference``) is timed only up to sizes where one call stays near a few seconds, and
contributions only up to 1,000 points. moocore (LGPL, not a dependency) is used when installed:
``pip install moocore``.

Writes ``benchmarks/results/pareto_maths.json`` and ``.md``.

Usage::

    python benchmarks/pareto_maths.py [--sizes 100 1000 10000] [--objectives 2 3 4] [--budget 0.3] [--tag SUFFIX]

"ours" is :mod:`gendesign.core.pareto` with its default backend (moocore when installed); run with
``GENDESIGN_PARETO_BACKEND=python`` to time the sweeps written here instead.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gendesign.core import pareto, pareto_reference

RESULTS = Path(__file__).resolve().parent / "results"

# Largest N at which one reference call stays within a few seconds (measured on a 2-core machine).
REFERENCE_MAX = {
    ("hypervolume", 2): 10_000,
    ("hypervolume", 3): 300,
    ("hypervolume", 4): 100,
    ("contributions", 2): 1_000,
    ("contributions", 3): 100,
    ("contributions", 4): 30,
    ("mask", 2): 3_000,
    ("mask", 3): 3_000,
    ("mask", 4): 3_000,
    ("sort", 2): 1_000,
    ("sort", 3): 1_000,
    ("sort", 4): 1_000,
}
# Largest N for our own slower cases (contributions and K = 4 hypervolume grow faster than N log N).
OURS_MAX = {("contributions", 2): 10_000, ("contributions", 3): 1_000, ("contributions", 4): 300, ("hypervolume", 4): 1_000}


def sphere_front(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    Y = np.abs(rng.standard_normal((n, k)))
    return Y / np.linalg.norm(Y, axis=1, keepdims=True)


def timed(fn: Callable[[], Any], budget: float) -> float:
    """Median seconds of one call over as many calls as fit in ``budget`` seconds (at least 3, or 1 if slow)."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    if first > budget:
        return first
    times = []
    for _ in range(max(3, min(200, int(budget / max(first, 1e-6))))):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cases(moocore: Any, Y: np.ndarray, mixed: np.ndarray) -> dict[str, dict[str, Callable[[], Any]]]:
    k = Y.shape[1]
    ref = np.zeros(k)
    T, M = torch.from_numpy(Y), torch.from_numpy(mixed)
    out: dict[str, dict[str, Callable[[], Any]]] = {
        "hypervolume": {
            "ours": lambda: pareto.hypervolume(T, ref),
            "reference": lambda: pareto_reference.hypervolume_reference(T, ref),
        },
        "contributions": {
            "ours": lambda: pareto.hypervolume_contributions(T, ref),
            "reference": lambda: pareto_reference.hypervolume_contributions_reference(T, ref),
        },
        "mask": {"ours": lambda: pareto.pareto_mask(M), "reference": lambda: pareto_reference.pareto_mask_reference(M)},
        "sort": {
            "ours": lambda: pareto.non_dominated_sort(M),
            "reference": lambda: pareto_reference.non_dominated_sort_reference(M),
        },
    }
    if moocore is not None:
        out["hypervolume"]["moocore"] = lambda: moocore.hypervolume(Y, ref=ref, maximise=True)
        out["contributions"]["moocore"] = lambda: moocore.hv_contributions(Y, ref=ref, maximise=True)
        out["mask"]["moocore"] = lambda: moocore.is_nondominated(mixed, maximise=True)
        out["sort"]["moocore"] = lambda: moocore.pareto_rank(mixed, maximise=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000, 3000, 10_000])
    parser.add_argument("--objectives", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--budget", type=float, default=0.3, help="seconds of repeated calls per timing")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    args = parser.parse_args()
    torch.set_num_threads(1)
    try:
        import moocore
    except ImportError:
        moocore = None
        print("moocore is not installed (pip install moocore): timing ours and the reference only")
    rows = []
    for k in args.objectives:
        for n in args.sizes:
            rng = np.random.default_rng(1000 * k + n)
            Y = sphere_front(n, k, rng)
            mixed = np.concatenate([Y, Y * rng.uniform(0.2, 0.99, (n, 1))])
            for op, fns in cases(moocore, Y, mixed).items():
                if n > OURS_MAX.get((op, k), 10**9):
                    continue
                row: dict[str, Any] = {"op": op, "K": k, "N": n if op in ("hypervolume", "contributions") else 2 * n}
                for impl, fn in fns.items():
                    if impl == "reference" and n > REFERENCE_MAX[(op, k)]:
                        continue
                    row[f"{impl}_ms"] = timed(fn, args.budget) * 1e3
                if "moocore_ms" in row:
                    row["ours_over_moocore"] = row["ours_ms"] / row["moocore_ms"]
                if "reference_ms" in row:
                    row["reference_over_ours"] = row["reference_ms"] / row["ours_ms"]
                if op == "hypervolume" and moocore is not None:
                    ours = pareto.hypervolume(torch.from_numpy(Y), np.zeros(k))
                    row["relative_difference_to_moocore"] = (
                        abs(ours - moocore.hypervolume(Y, ref=np.zeros(k), maximise=True)) / ours
                    )
                rows.append(row)
                print(
                    f"{op:<13} K={k} N={row['N']:>6}  ours {row['ours_ms']:9.3f} ms"
                    + (
                        f"  moocore {row['moocore_ms']:8.3f} ms  ratio {row['ours_over_moocore']:6.1f}x"
                        if "moocore_ms" in row
                        else ""
                    )
                    + (f"  reference {row['reference_ms']:10.1f} ms" if "reference_ms" in row else ""),
                    flush=True,
                )
    meta = {
        "benchmark": "pareto_maths",
        "target": "hypervolume within 2x of moocore",
        "moocore": getattr(moocore, "__version__", None) if moocore is not None else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "machine": platform.machine(),
        "load_average_1_5_15min_at_end": list(os.getloadavg()),
        "command": "python benchmarks/pareto_maths.py "
        + " ".join(f"--{k} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in vars(args).items()),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta["backend"] = os.environ.get("GENDESIGN_PARETO_BACKEND", "auto")
    (RESULTS / f"pareto_maths{args.tag}.json").write_text(json.dumps({**meta, "rows": rows}, indent=2))
    fmt = lambda v, spec: format(v, spec) if v is not None else "-"  # noqa: E731
    lines = [
        "# Pareto maths: sweeps vs the reference implementation vs moocore",
        "",
        f"Median wall time per call, one process, 1 torch thread, Python {meta['python']}, numpy {meta['numpy']}, "
        f"moocore {meta['moocore'] or 'not installed'}; load average at the end {meta['load_average_1_5_15min_at_end'][0]:.1f} "
        "on a shared machine, so compare the ratios, measured side by side, rather than absolute times. Hypervolume and "
        "contributions: N points on the positive unit sphere, reference 0. Mask and sort: those N points plus N dominated "
        "copies (the N column counts both). '-' = not run (the reference would take too long).",
        "",
        "| operation | K | N | ours ms | moocore ms | ours / moocore | reference ms | reference / ours |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['op']} | {r['K']} | {r['N']} | {r['ours_ms']:.3f} | {fmt(r.get('moocore_ms'), '.3f')} | "
            f"{fmt(r.get('ours_over_moocore'), '.1f')} | {fmt(r.get('reference_ms'), '.1f')} | {fmt(r.get('reference_over_ours'), '.0f')} |"
        )
    lines += ["", f"Command: `{meta['command']}`", ""]
    (RESULTS / f"pareto_maths{args.tag}.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
