"""Benchmark: meta-BO (`metabo` with the shipped TNP, and its NAP variant) against GP BO (`bo`), `evolution` and `random`.

Three parts, side by side in one run (``--parts a b c``):

(a) **Held-out single-objective families** at dimensions 2/4/6, maximised after a random affine
    change (never used to train the TNP, whose priors are GP/HEBO draws):

    * ``gp``: GP sample paths (random Fourier features of an RBF kernel, 512 features) with
      lengthscales in ``[0.12, 0.3]`` and seeds outside the training streams;
    * ``branin`` (d=2), ``hartmann3`` (d=3, reported under d=4's neighbour as its own row),
      ``hartmann6`` (d=6), ``ackley`` and ``levy`` (d=2/4/6): BoTorch test functions whose inputs
      are translated by up to 10 % of the range and whose outputs are scaled by ``U(0.5, 2)``.

    Normalised regret at budget ``T`` is ``(f* - best_T) / (f* - f_min)``, with ``f*`` and
    ``f_min`` the max and min over 8192 Sobol points, the known optimum (BoTorch functions) and
    every value any method observed. Average rank: per (function, seed) the methods are ranked by
    regret (ties averaged), then averaged. Wall time per BO step: the strategy's own seconds
    (``summary.json`` ``time.strategy_seconds``) divided by the model-driven steps.
(b) **Multi-objective**: BraninCurrin, DTLZ2 (d=6, 2 objectives) and ZDT1 (d=6) at 50 and 100
    evaluations, batch 5: hypervolume (BoTorch's reference points) of `metabo`, `bo` (qLogNEHVI),
    `evolution` and `random`.
(c) **Discrete**: Ehrlich (L=32, 32 states, 2 motifs of length 4) with pool-based `bo` (one-hot,
    Hamming kernel) and `metabo` (one-hot projected to 8 dimensions for the TNP) against
    `evolution` and `random`, all seeded with the instance's feasible ``initial_solution()``; best value after ``--ehrlich-budget`` evaluations, batch 8.

Usage (reduced size here; the full size is ``--seeds 20 --workers 16``)::

    nice -n 10 python benchmarks/metabo.py --seeds 2 --workers 2 --budget 32 --parts a b c
    python benchmarks/metabo.py --seeds 20 --workers 16          # full: every family, T=16/32/64

Writes ``benchmarks/results/metabo.{json,md}`` (``--tag`` adds a suffix).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
FAMILIES = {"gp": (2, 4, 6), "branin": (2,), "hartmann3": (3,), "hartmann6": (6,), "ackley": (2, 4, 6), "levy": (2, 4, 6)}
INITIAL = 4


# -- part (a): problems ------------------------------------------------------------------------


def make_function(family: str, dim: int, seed: int) -> tuple[Any, list[list[float]], float | None]:
    """``(f, bounds, known_max)``: a maximised function of `[B, d]` float64 inputs, its box, and its optimum when known."""
    import torch
    from botorch.test_functions import Ackley, Branin, Hartmann, Levy

    g = torch.Generator().manual_seed(10_000 + 97 * seed + dim)  # held-out streams: the TNP's priors use other seeds
    if family == "gp":
        ls = 0.12 + 0.18 * torch.rand((), generator=g, dtype=torch.float64)
        w = torch.randn(512, dim, generator=g, dtype=torch.float64) / ls
        b = 2 * math.pi * torch.rand(512, generator=g, dtype=torch.float64)
        a = torch.randn(512, generator=g, dtype=torch.float64) * math.sqrt(2.0 / 512)
        return (lambda x: torch.cos(x @ w.T + b) @ a), [[0.0, 1.0]] * dim, None
    problem = {"branin": lambda: Branin(), "hartmann3": lambda: Hartmann(dim=3), "hartmann6": lambda: Hartmann(dim=6),
               "ackley": lambda: Ackley(dim=dim), "levy": lambda: Levy(dim=dim)}[family]()
    lo, hi = problem.bounds[0].double(), problem.bounds[1].double()
    shift = (torch.rand(len(lo), generator=g, dtype=torch.float64) - 0.5) * 0.2 * (hi - lo)
    scale = 0.5 + 1.5 * torch.rand((), generator=g, dtype=torch.float64)

    def f(x):
        z = (x - shift).clamp(lo, hi)
        return -scale * problem.evaluate_true(z)

    known = -scale.item() * problem.optimal_value
    return f, torch.stack([lo, hi], 1).tolist(), known


def method_options(method: str, args: argparse.Namespace, *, multi: bool = False, discrete: bool = False) -> tuple[str, dict[str, Any]]:
    tnp = {"name": "tnp", "path": args.tnp}
    if method == "metabo":
        opts: dict[str, Any] = {"generator": tnp, "initial_points": INITIAL, "gp_fit": True}
        if discrete:
            opts["projection_dim"] = 8
        return "metabo", opts
    if method == "nap":
        return "metabo", {"generator": {"name": "nap", "path": args.nap}, "acquisition": "nap", "initial_points": INITIAL, "horizon": args.budget, "restarts": 0}
    if method == "bo":
        return "bo", {"initial_samples": INITIAL}
    if method == "evolution":
        return "evolution", {"population_size": 10 if not discrete else 16}
    return "random", {}


def run_single(job: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    import gendesign
    from gendesign.core.box_space import BoxSpace

    args = argparse.Namespace(**job["args"])
    f, bounds, known = make_function(job["family"], job["dim"], job["seed"])
    name, opts = method_options(job["method"], args)
    start = time.perf_counter()
    res = gendesign.optimize(lambda d: f(torch.tensor(d, dtype=torch.float64)), BoxSpace(bounds), name, budget=args.budget, batch_size=1,
                             seed=job["seed"], progress=False, plots=False, **opts)
    values = [r.values["f"] for r in res.history]
    steps = max(len(values) - INITIAL, 1)
    return {**{k: job[k] for k in ("family", "dim", "seed", "method")}, "values": values, "known_max": known,
            "seconds": time.perf_counter() - start, "step_seconds": res.summary["time"]["strategy_seconds"] / steps,
            "report": res.summary.get("strategy_report")}


def reference_range(family: str, dim: int, seed: int) -> tuple[float, float]:
    import torch

    f, bounds, known = make_function(family, dim, seed)
    b = torch.tensor(bounds, dtype=torch.float64)
    u = torch.quasirandom.SobolEngine(dim, scramble=True, seed=seed).draw(8192, dtype=torch.float64)
    y = f(b[:, 0] + u * (b[:, 1] - b[:, 0]))
    top = float(y.max()) if known is None else max(float(y.max()), known)
    return top, float(y.min())


# -- part (b) and (c) ----------------------------------------------------------------------------


def run_multi(job: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    import gendesign
    from gendesign.objectives.botorch_problems import DTLZ2, ZDT1, BraninCurrin

    args = argparse.Namespace(**job["args"])
    problem = {"branin_currin": lambda: BraninCurrin(), "dtlz2": lambda: DTLZ2(dim=6), "zdt1": lambda: ZDT1(dim=6)}[job["problem"]]()
    name, opts = method_options(job["method"], args, multi=True)
    start = time.perf_counter()
    res = gendesign.optimize(problem, None, name, budget=max(args.mo_budgets), batch_size=5, seed=job["seed"], progress=False, plots=False, **opts)
    values = res.values()
    out = {}
    for budget in args.mo_budgets:
        v = values[:budget]
        ok = ~torch.isnan(v).any(-1)
        out[str(budget)] = problem.hypervolume(v[ok]) / problem.max_hv
    return {**{k: job[k] for k in ("problem", "seed", "method")}, "hv_fraction": out, "seconds": time.perf_counter() - start}


def run_ehrlich(job: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    import gendesign
    from gendesign.objectives.ehrlich import Ehrlich

    args = argparse.Namespace(**job["args"])
    objective = Ehrlich(num_states=32, length=32, num_motifs=2, motif_length=4, random_seed=job["seed"])
    name, opts = method_options(job["method"], args, discrete=True)
    opts["initial_designs"] = [objective.initial_solution()]  # every strategy starts from the instance's feasible seed
    if name == "metabo":
        opts.update(pool_size=256, local_pool=256)
    start = time.perf_counter()
    res = gendesign.optimize(objective, None, name, budget=args.ehrlich_budget, batch_size=8, seed=job["seed"], progress=False, plots=False, **opts)
    values = [v for r in res.history for v in r.values.values() if r.valid]
    return {"seed": job["seed"], "method": job["method"], "best": max(values) if values else None, "seconds": time.perf_counter() - start}


# -- reporting -----------------------------------------------------------------------------------


def _ranks(scores: dict[str, float]) -> dict[str, float]:
    items = sorted(scores.items(), key=lambda kv: kv[1])
    ranks: dict[str, float] = {}
    i = 0
    while i < len(items):
        j = i
        while j + 1 < len(items) and items[j + 1][1] == items[i][1]:
            j += 1
        for k in range(i, j + 1):
            ranks[items[k][0]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def summarise_a(rows: list[dict[str, Any]], budgets: list[int], ranges: dict[str, tuple[float, float]]) -> dict[str, Any]:
    by_task: dict[tuple[str, int, int], dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_task.setdefault((r["family"], r["dim"], r["seed"]), {})[r["method"]] = r
    regrets: dict[tuple[str, int, str, int], list[float]] = {}
    ranks: dict[tuple[str, int], list[float]] = {}
    for (family, dim, seed), methods in by_task.items():
        top, bottom = ranges[f"{family}/{dim}/{seed}"]
        top = max([top] + [max(m["values"]) for m in methods.values()])
        bottom = min([bottom] + [min(m["values"]) for m in methods.values()])
        for T in budgets:
            per = {name: (top - max(m["values"][:T])) / max(top - bottom, 1e-12) for name, m in methods.items()}
            for name, reg in per.items():
                regrets.setdefault((family, dim, name, T), []).append(reg)
            for name, rank in _ranks(per).items():
                ranks.setdefault((name, T), []).append(rank)
    table = {f"{f}/{d}/{m}/T{T}": statistics.fmean(v) for (f, d, m, T), v in regrets.items()}
    methods = sorted({r["method"] for r in rows})
    overall = {f"{m}/T{T}": statistics.fmean([statistics.fmean(v) for (f, d, mm, TT), v in regrets.items() if mm == m and TT == T]) for m in methods for T in budgets}
    avg_rank = {f"{m}/T{T}": statistics.fmean(v) for (m, T), v in ranks.items()}
    step = {m: statistics.median([r["step_seconds"] for r in rows if r["method"] == m]) for m in methods}
    fallbacks = sum(1 for r in rows if r["method"] == "metabo" and r["report"] and r["report"]["metabo"]["guard_fallbacks"])
    return {"regret": table, "mean_regret": overall, "average_rank": avg_rank, "median_step_seconds": step,
            "metabo_runs_with_a_gp_fallback": fallbacks, "metabo_runs": sum(1 for r in rows if r["method"] == "metabo")}


def markdown(result: dict[str, Any]) -> str:
    lines = [f"# meta-BO benchmark ({result['config']['hardware']})", "", f"Command: `{result['config']['command']}`", ""]
    if "a" in result:
        a, budgets = result["a"]["summary"], result["config"]["budgets"]
        methods = sorted({k.split("/")[0] for k in a["mean_regret"]})
        lines += ["## (a) Held-out families: mean normalised regret (lower is better)", "",
                  "| family/dim | " + " | ".join(f"{m} T={T}" for m in methods for T in budgets) + " |",
                  "|---|" + "---|" * (len(methods) * len(budgets))]
        cells = sorted({tuple(k.split("/")[:2]) for k in a["regret"]}, key=lambda t: (t[0], int(t[1])))
        for f, d in cells:
            lines.append(f"| {f}/{d} | " + " | ".join(f"{a['regret'].get(f'{f}/{d}/{m}/T{T}', float('nan')):.3g}" for m in methods for T in budgets) + " |")
        lines.append("| **mean** | " + " | ".join(f"**{a['mean_regret'][f'{m}/T{T}']:.3g}**" for m in methods for T in budgets) + " |")
        lines.append("| **avg rank** | " + " | ".join(f"{a['average_rank'][f'{m}/T{T}']:.2f}" for m in methods for T in budgets) + " |")
        lines += ["", "Median strategy wall time per BO step (s): " + ", ".join(f"{m} {s:.3f}" for m, s in a["median_step_seconds"].items())
                  + f"; metabo runs whose guard fell back to the GP at least once: {a['metabo_runs_with_a_gp_fallback']}/{a['metabo_runs']}.", ""]
    if "b" in result:
        lines += ["## (b) Multi-objective: hypervolume / max hypervolume (mean ± sd over seeds)", "", "| problem | evals | " + " | ".join(result["b"]["methods"]) + " |", "|---|---|" + "---|" * len(result["b"]["methods"])]
        for key, per in result["b"]["summary"].items():
            p, n = key.split("/")
            lines.append(f"| {p} | {n} | " + " | ".join(f"{per[m][0]:.3f} ± {per[m][1]:.3f}" if m in per else "-" for m in result["b"]["methods"]) + " |")
        lines.append("")
    if "c" in result:
        lines += ["## (c) Ehrlich L=32: best value (mean ± sd over seeds; 1 is optimal)", "", "| method | best | seconds |", "|---|---|---|"]
        for m, (mu, sd, sec) in result["c"]["summary"].items():
            lines.append(f"| {m} | {mu:.3f} ± {sd:.3f} | {sec:.0f} |")
        lines.append("")
    return "\n".join(lines)


def _stats(v: list[float]) -> tuple[float, float]:
    return statistics.fmean(v), statistics.pstdev(v) if len(v) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", default=["a", "b", "c"], choices=["a", "b", "c"])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 0))
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--dims", nargs="+", type=int, default=[2, 3, 4, 6])
    parser.add_argument("--budget", type=int, default=64, help="(a): evaluations per run; regret is read at 16/32/64 up to it")
    parser.add_argument("--methods", nargs="+", default=["metabo", "nap", "bo", "random"])
    parser.add_argument("--mo-problems", nargs="+", default=["branin_currin", "dtlz2", "zdt1"])
    parser.add_argument("--mo-budgets", nargs="+", type=int, default=[50, 100])
    parser.add_argument("--mo-methods", nargs="+", default=["metabo", "bo", "evolution", "random"])
    parser.add_argument("--ehrlich-budget", type=int, default=256)
    parser.add_argument("--ehrlich-methods", nargs="+", default=["metabo", "bo", "evolution", "random"])
    parser.add_argument("--tnp", default=None, help="TNP directory (default: the shipped model)")
    parser.add_argument("--nap", default=None, help="NAP policy directory (trained with gendesign train examples/nap_*.toml); without it NAP is skipped")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    if args.tnp is None:
        from gendesign.generators.tnp.model import shipped_model_dir

        args.tnp = str(shipped_model_dir())
    methods = [m for m in args.methods if m != "nap" or args.nap]
    budgets = [T for T in (16, 32, 64) if T <= args.budget]
    shared = {k: v for k, v in vars(args).items()}
    result: dict[str, Any] = {"config": {**shared, "budgets": budgets, "hardware": f"{os.cpu_count()} CPU cores, {args.workers} workers, torch 1 thread per run",
                                         "command": "python benchmarks/metabo.py " + " ".join(os.sys.argv[1:])}}
    start = time.perf_counter()
    stem = f"metabo{('_' + args.tag) if args.tag else ''}"

    def save() -> None:
        """Write what is done so far (after every part, so a later failure loses nothing)."""
        result["config"]["total_seconds"] = time.perf_counter() - start
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=1, default=float))
        (RESULTS / f"{stem}.md").write_text(markdown(result))

    with ProcessPoolExecutor(args.workers) as pool:
        if "a" in args.parts:
            tasks = [(f, d) for f, dims in FAMILIES.items() if f in args.families for d in dims if d in args.dims]
            jobs = [{"family": f, "dim": d, "seed": s, "method": m, "args": shared} for f, d in tasks for s in range(args.seeds) for m in methods]
            rows = list(pool.map(run_single, jobs))
            ranges = dict(zip([f"{f}/{d}/{s}" for f, d in tasks for s in range(args.seeds)],
                              pool.map(reference_range, *zip(*[(f, d, s) for f, d in tasks for s in range(args.seeds)]))))
            result["a"] = {"rows": rows, "summary": summarise_a(rows, budgets, ranges)}
            save()
        if "b" in args.parts:
            jobs = [{"problem": p, "seed": s, "method": m, "args": shared} for p in args.mo_problems for s in range(args.seeds) for m in args.mo_methods]
            rows = list(pool.map(run_multi, jobs))
            summary = {f"{p}/{n}": {m: _stats([r["hv_fraction"][str(n)] for r in rows if r["problem"] == p and r["method"] == m]) for m in args.mo_methods}
                       for p in args.mo_problems for n in args.mo_budgets}
            result["b"] = {"rows": rows, "summary": summary, "methods": args.mo_methods}
            save()
        if "c" in args.parts:
            jobs = [{"seed": s, "method": m, "args": shared} for s in range(args.seeds) for m in args.ehrlich_methods]
            rows = list(pool.map(run_ehrlich, jobs))
            result["c"] = {"rows": rows, "summary": {m: (*_stats([r["best"] for r in rows if r["method"] == m]), statistics.fmean([r["seconds"] for r in rows if r["method"] == m])) for m in args.ehrlich_methods}}
    save()
    print(markdown(result))


if __name__ == "__main__":
    main()
