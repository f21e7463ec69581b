"""The PMO benchmark harness: 20 RDKit-only tasks, 10,000 oracle calls, AUC of the top-1/10/100 mean.

Gao, Fu, Coley & Sun, "Sample efficiency matters: a benchmark for practical molecular
optimization", NeurIPS 2022 (arXiv 2206.12411). Each run is one (task, strategy, seed): an
in-memory campaign (:func:`run_campaign`) on the task's oracle (the objective registered under the task's
PMO name) with a budget of distinct molecules; the run's trace is the oracle value of each distinct
molecule in the order it was first scored (a repeated molecule is served from the ledger and is
free, as in PMO; a molecule whose oracle failed counts as a call of value 0). The AUCs are
:func:`~gendesign.plugins.molecules.pmo_auc.pmo_auc` of that trace.

Runs are independent, so they go to a process pool (``workers``); each finished run is written to
``OUT/runs/STRATEGY/TASK/seedN.json`` at once (with its whole trace, so any AUC can be recomputed),
and a rerun skips the runs already there (resume). :func:`write_report` writes ``pmo.json`` (every
run without its trace, per-task means) and ``pmo.md`` (mean top-10
AUC per task and strategy beside the published numbers in :data:`PUBLISHED`).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from gendesign.core.atomic import atomic_write_text
from gendesign.core.errors import ConfigError
from gendesign.plugins.molecules.pmo_auc import pmo_auc

PMO_TASKS: tuple[str, ...] = (
    "albuterol_similarity",
    "amlodipine_mpo",
    "celecoxib_rediscovery",
    "deco_hop",
    "fexofenadine_mpo",
    "isomers_c7h8n2o2",
    "isomers_c9h10n2o2pf2cl",
    "median1",
    "median2",
    "mestranol_similarity",
    "osimertinib_mpo",
    "perindopril_mpo",
    "qed",
    "ranolazine_mpo",
    "scaffold_hop",
    "sitagliptin_mpo",
    "thiothixene_rediscovery",
    "troglitazone_rediscovery",
    "valsartan_smarts",
    "zaleplon_mpo",
)
"""The 20 PMO tasks that need RDKit alone (PMO's 23 without ``drd2``, ``gsk3b`` and ``jnk3``)."""

_PUBLISHED_ROWS = {
    # task: (REINVENT, Graph GA, GP BO, Genetic GFN, Mol GA)
    "albuterol_similarity": (0.882, 0.838, 0.898, 0.949, 0.896),
    "amlodipine_mpo": (0.635, 0.661, 0.583, 0.761, 0.688),
    "celecoxib_rediscovery": (0.713, 0.630, 0.723, 0.802, 0.567),
    "deco_hop": (0.666, 0.619, 0.629, 0.733, 0.649),
    "fexofenadine_mpo": (0.784, 0.760, 0.722, 0.856, 0.825),
    "isomers_c7h8n2o2": (0.852, 0.862, 0.680, 0.969, 0.878),
    "isomers_c9h10n2o2pf2cl": (0.642, 0.719, 0.469, 0.897, 0.865),
    "median1": (0.356, 0.294, 0.301, 0.379, 0.257),
    "median2": (0.276, 0.273, 0.297, 0.294, 0.301),
    "mestranol_similarity": (0.618, 0.579, 0.627, 0.708, 0.591),
    "osimertinib_mpo": (0.837, 0.831, 0.787, 0.860, 0.844),
    "perindopril_mpo": (0.537, 0.538, 0.493, 0.595, 0.547),
    "qed": (0.941, 0.940, 0.937, 0.942, 0.941),
    "ranolazine_mpo": (0.760, 0.728, 0.735, 0.819, 0.804),
    "scaffold_hop": (0.560, 0.517, 0.548, 0.615, 0.527),
    "sitagliptin_mpo": (0.021, 0.433, 0.186, 0.634, 0.582),
    "thiothixene_rediscovery": (0.534, 0.479, 0.559, 0.583, 0.519),
    "troglitazone_rediscovery": (0.441, 0.390, 0.410, 0.511, 0.427),
    "valsartan_smarts": (0.178, 0.000, 0.000, 0.135, 0.000),
    "zaleplon_mpo": (0.358, 0.346, 0.221, 0.552, 0.519),
}
PUBLISHED_METHODS: tuple[str, ...] = ("REINVENT", "Graph GA", "GP BO", "Genetic GFN", "Mol GA")
PUBLISHED: dict[str, dict[str, float]] = {
    method: {task: row[j] for task, row in _PUBLISHED_ROWS.items()} for j, method in enumerate(PUBLISHED_METHODS)
}
"""Published mean AUC top-10 (5 seeds, 10,000 calls) per method and task.

REINVENT, Graph GA and GP BO: the PMO leaderboard (pmo-benchmark.github.io, from the authors'
``Mol_Opt.xlsx``, truncated to 3 decimals). Genetic GFN (Kim et al., "Genetic-guided GFlowNets for
sample efficient molecular optimization", NeurIPS 2024) and Mol GA (Tripp & Hernández-Lobato,
"Genetic algorithms are strong baselines for molecule generation", 2023), same protocol: as
collected in ``references/reference_pmo.csv`` of invirtuolabs/InVirtuoGen_public.
"""


@dataclass(frozen=True)
class Recipe:
    """How one strategy is run on every task: a space and a strategy, both by registered name with options."""

    space: str
    space_options: dict[str, Any]
    strategy: str
    strategy_options: dict[str, Any]
    batch_size: int = 100
    doc: str = ""


MOSES_MODEL = "selfies_mdlm_moses"


def recipes(pool: str | None) -> dict[str, Recipe]:
    """The strategies of the harness, each with the options it runs every task with (nothing is tuned per task).

    Args:
        pool: SMILES file the initial designs are drawn from (the harness writes a MOSES sample);
            ``None``: each space's default pool.
    """
    selfies = {"model": MOSES_MODEL, **({"pool": pool} if pool else {})}
    smiles = {"pool": pool} if pool else {}
    return {
        "evolution": Recipe(
            "smiles",
            smiles,
            "evolution",
            {"population_size": 120, "crossover_rate": 0.8, "mean_mutations": 1.0, "mutation_after_crossover": 0.3},
            doc="graph GA (Jensen 2019 operators on the molecular graph), mu + lambda survival",
        ),
        "mdlm_sample": Recipe(
            "selfies",
            selfies,
            "mdlm_sample",
            {"oversample": 1, "rank_by": "none"},
            doc="samples of the MOSES SELFIES MDLM, no feedback (a learned-prior screening baseline)",
        ),
        "mcts": Recipe(
            "selfies",
            selfies,
            "mcts",
            {"steps": 16, "num_children": 8, "anchored_children": 6, "c_puct": 0.1, "widening_c": 2.0, "num_lengths": 6, "torch_threads": 1},
            doc="MCTS over the reverse process of the MOSES SELFIES MDLM",
        ),
        "gflownet": Recipe(
            "selfies",
            {**selfies, "max_length": 40},
            "gflownet",
            {"reward": "order_preserving", "loss": "tb", "hidden": 128, "layers": 2, "lr": 1e-3, "train_steps": 4, "initial_random": 100, "ask_epsilon": 0.05},
            doc="GFlowNet writing SELFIES symbols left to right",
        ),
        "evolution_infill": Recipe(
            "infill",
            {"base": {"name": "selfies", "options": selfies}, "generator": {"name": "mdlm", "path": MOSES_MODEL}, "mask_fraction": 0.15},
            "evolution",
            {"population_size": 120, "crossover_rate": 0.3, "mean_mutations": 1.0, "mutation_after_crossover": 0.3, "learn_feasibility": False},
            doc="GA over SELFIES whose mutation re-samples masked symbols with the MOSES SELFIES MDLM",
        ),
    }


DEFAULT_STRATEGIES: tuple[str, ...] = ("evolution", "mdlm_sample", "mcts", "gflownet")


def run_campaign(objective: Any, recipe: Recipe, *, budget: int, seed: int, device: str = "cpu") -> Any:
    """Build the recipe's space and strategy through the plugin registries and run an in-memory campaign.

    Returns the :class:`~gendesign.core.campaign.CampaignResult` (``history`` in call order).
    """
    from gendesign.core.campaign import Campaign
    from gendesign.core.generator import generator_context
    from gendesign.core.plugins import get_plugins

    system = get_plugins()
    recipe = _resolve_recipe(recipe)

    def build(kind: str, name: str, options: dict[str, Any], **context: Any) -> Any:
        registry = system.registry(kind)
        context.update(generator_context(system, registry.get(name).factory, options, space=context.get("space"), device=device, needed_by=f"{registry.kind} {name!r}"))
        return registry.build(name, options, **{k: v for k, v in context.items() if k not in options})

    space = build("spaces", recipe.space, dict(recipe.space_options), seed=seed, device=device)
    objective.check_space(space)
    strategy = build("strategies", recipe.strategy, dict(recipe.strategy_options), space=space, specs=objective.specs, seed=seed, device=device)
    campaign = Campaign(objective, space, strategy, budget=budget, batch_size=min(recipe.batch_size, budget), progress=False, plots=False, strategy_name=recipe.strategy)
    try:
        return campaign.run()
    finally:
        campaign.close()


def _resolve_recipe(recipe: Recipe) -> Recipe:
    """Shipped model names in a recipe become directories (the infill space reads a ``path``)."""
    from gendesign.plugins.molecules.selfies_space import shipped_model_path

    gen = recipe.space_options.get("generator")
    if not gen:
        return recipe
    options = {**recipe.space_options, "generator": {**gen, "path": str(shipped_model_path(gen["path"]))}}
    return Recipe(recipe.space, options, recipe.strategy, recipe.strategy_options, recipe.batch_size, recipe.doc)


def write_pool(path: Path, size: int, seed: int = 0) -> Path:
    """A SMILES file of ``size`` molecules drawn without replacement from the MOSES training split (``molsets`` wheel)."""
    import gzip

    import numpy as np

    from gendesign.generators.mdlm.train_config import resolve_corpus_path

    try:
        source = resolve_corpus_path("package:moses/dataset/data/train.csv.gz")
    except ConfigError as exc:
        raise ConfigError(f"{exc}; the MOSES pool comes from the molsets wheel: pip install --no-deps molsets") from None
    with gzip.open(source, "rt") as fh:
        next(fh)
        lines = [line.split(",")[0].strip() for line in fh]
    picks = np.random.default_rng(seed).choice(len(lines), size=min(size, len(lines)), replace=False)
    atomic_write_text(path, "".join(lines[i] + "\n" for i in sorted(picks)))
    return path


@dataclass
class RunResult:
    """One (task, strategy, seed) run: its AUCs, calls and cost."""

    task: str
    strategy: str
    seed: int
    budget: int
    calls: int
    auc: dict[str, float]
    best: float
    top10_final: float
    wall_s: float
    cpu_s: float
    best_design: str
    trace: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_one(task: str, strategy: str, seed: int, budget: int, pool: str | None, device: str = "cpu") -> RunResult:
    """Run ``strategy`` on PMO task ``task`` for ``budget`` distinct molecules and score the trace."""
    import numpy as np
    import torch

    from gendesign.core.plugins import get_plugins

    torch.set_num_threads(1)
    table = recipes(pool)
    if strategy not in table:
        raise ConfigError(f"unknown PMO strategy {strategy!r}; choose from {sorted(table)}")
    objective = get_plugins().objectives.build(task, {})
    if len(objective.specs) != 1:
        raise ConfigError(f"PMO task {task!r} must be one objective column, got {[s.name for s in objective.specs]}")
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_campaign(objective, table[strategy], budget=budget, seed=seed, device=device)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    name = objective.specs[0].name
    trace = [float(r.values[name]) if r.valid and math.isfinite(float(r.values[name])) else 0.0 for r in result.history][:budget]
    best_i = int(np.argmax(trace)) if trace else -1
    return RunResult(
        task=task,
        strategy=strategy,
        seed=seed,
        budget=budget,
        calls=len(trace),
        auc={f"top{k}": pmo_auc(trace, k, budget=budget) for k in (1, 10, 100)},
        best=max(trace, default=0.0),
        top10_final=float(np.mean(sorted(trace, reverse=True)[:10])) if trace else 0.0,
        wall_s=wall,
        cpu_s=cpu,
        best_design=str(result.history[best_i].design) if trace else "",
        trace=[round(v, 6) for v in trace],
    )


def _run_path(out: Path, task: str, strategy: str, seed: int) -> Path:
    return out / "runs" / strategy / task / f"seed{seed}.json"


def _worker(task: str, strategy: str, seed: int, budget: int, pool: str | None, device: str, out: str) -> dict[str, Any]:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    row = run_one(task, strategy, seed, budget, pool, device).to_json()
    _run_path(Path(out), task, strategy, seed).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(_run_path(Path(out), task, strategy, seed), json.dumps(row, indent=1))
    return row


def run_pmo(
    out: str | Path,
    *,
    tasks: Sequence[str] = PMO_TASKS,
    strategies: Sequence[str] = DEFAULT_STRATEGIES,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    budget: int = 10_000,
    workers: int = 1,
    pool_size: int = 10_000,
    device: str = "cpu",
    echo: Any = None,
) -> list[dict[str, Any]]:
    """Run every (task, strategy, seed) not yet in ``out`` and return all runs there.

    Args:
        out: output directory (``runs/``, ``pool.smi``, ``pmo.json``, ``pmo.md``).
        tasks: PMO task names (objectives registered under these names).
        strategies: names from :func:`recipes`.
        seeds: seeds per (task, strategy).
        budget: distinct molecules per run (PMO: 10,000).
        workers: processes running runs at once.
        pool_size: MOSES molecules in the shared initial pool.
        device: where model-backed strategies run.
        echo: ``callable(str)`` told about each finished run.
    """
    unknown = sorted(set(strategies) - set(recipes(None)))
    if unknown:
        raise ConfigError(f"unknown PMO strategies {unknown}; choose from {sorted(recipes(None))}")
    if budget < 1 or workers < 1 or not seeds:
        raise ConfigError(f"need budget >= 1, workers >= 1 and at least one seed, got budget={budget}, workers={workers}, seeds={list(seeds)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pool_path = out / "pool.smi"
    if not pool_path.is_file():
        write_pool(pool_path, pool_size)
    jobs = [(t, s, seed) for s in strategies for t in tasks for seed in seeds if not _run_path(out, t, s, seed).is_file()]
    args = (budget, str(pool_path), device, str(out))
    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            row = _worker(*job, *args)
            if echo:
                echo(_line(row))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_worker, *job, *args) for job in jobs]
            for fut in as_completed(futures):
                row = fut.result()
                if echo:
                    echo(_line(row))
    rows = []
    for s in strategies:
        for t in tasks:
            for seed in seeds:
                path = _run_path(out, t, s, seed)
                if path.is_file():
                    rows.append(json.loads(path.read_text()))
    return rows


def _line(row: dict[str, Any]) -> str:
    return (
        f"{row['strategy']:>16} {row['task']:<26} seed {row['seed']}: top-10 AUC {row['auc']['top10']:.3f}, best {row['best']:.3f}, "
        f"{row['calls']} calls in {row['wall_s']:.0f} s ({1000 * row['cpu_s'] / max(row['calls'], 1):.1f} CPU ms/call)"
    )


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation over seeds of each AUC per (strategy, task), and per-strategy sums over tasks."""
    import numpy as np

    table: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        table.setdefault(row["strategy"], {}).setdefault(row["task"], {"runs": []})["runs"].append(row)
    summary: dict[str, Any] = {}
    for strategy, tasks in table.items():
        per_task = {}
        for task, cell in tasks.items():
            runs = cell["runs"]
            per_task[task] = {
                "seeds": [r["seed"] for r in runs],
                **{f"auc_{k}": float(np.mean([r["auc"][k] for r in runs])) for k in ("top1", "top10", "top100")},
                "auc_top10_std": float(np.std([r["auc"]["top10"] for r in runs])),
                "best": float(np.max([r["best"] for r in runs])),
                "cpu_ms_per_call": float(1000 * sum(r["cpu_s"] for r in runs) / max(1, sum(r["calls"] for r in runs))),
            }
        summary[strategy] = {
            "tasks": per_task,
            "sum_auc_top10": float(sum(v["auc_top10"] for v in per_task.values())),
            "num_tasks": len(per_task),
        }
    return summary


def write_report(out: str | Path, rows: Sequence[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    """Write ``pmo.json`` and ``pmo.md`` into ``out``; returns the JSON content."""
    out = Path(out)
    summary = summarize(rows)
    tasks = [t for t in PMO_TASKS if any(t in s["tasks"] for s in summary.values())]
    published_sums = {m: float(sum(PUBLISHED[m][t] for t in tasks)) for m in PUBLISHED_METHODS}
    runs = [{k: v for k, v in row.items() if k != "trace"} for row in rows]
    report = {"settings": settings, "summary": summary, "published_top10": {m: {t: PUBLISHED[m][t] for t in tasks} for m in PUBLISHED_METHODS}, "published_sums": published_sums, "runs": runs}
    atomic_write_text(out / "pmo.json", json.dumps(report, indent=1))
    strategies = list(summary)
    lines = [
        "# PMO benchmark: AUC top-10 (mean over seeds)",
        "",
        f"Budget {settings.get('budget')} distinct molecules per run, seeds {settings.get('seeds')}; ours are measured, "
        "the published columns are 5 seeds at 10,000 calls (sources in `gendesign.plugins.molecules.pmo.PUBLISHED`).",
        "",
        "| task | " + " | ".join(strategies) + " | " + " | ".join(PUBLISHED_METHODS) + " |",
        "|---|" + "---|" * (len(strategies) + len(PUBLISHED_METHODS)),
    ]
    for t in tasks:
        ours = [f"{summary[s]['tasks'][t]['auc_top10']:.3f}" if t in summary[s]["tasks"] else "" for s in strategies]
        theirs = [f"{PUBLISHED[m][t]:.3f}" for m in PUBLISHED_METHODS]
        lines.append(f"| {t} | " + " | ".join(ours + theirs) + " |")
    lines.append(
        f"| **sum ({len(tasks)} tasks)** | "
        + " | ".join(f"**{summary[s]['sum_auc_top10']:.3f}**" for s in strategies)
        + " | "
        + " | ".join(f"**{published_sums[m]:.3f}**" for m in PUBLISHED_METHODS)
        + " |"
    )
    lines += ["", "| strategy | AUC top-1 sum | AUC top-100 sum | CPU ms per call |", "|---|---|---|---|"]
    for s in strategies:
        cells = summary[s]["tasks"].values()
        cpu = float(sum(c["cpu_ms_per_call"] for c in cells) / max(1, len(cells)))
        lines.append(f"| {s} | {sum(c['auc_top1'] for c in cells):.3f} | {sum(c['auc_top100'] for c in cells):.3f} | {cpu:.1f} |")
    atomic_write_text(out / "pmo.md", "\n".join(lines) + "\n")
    return report
