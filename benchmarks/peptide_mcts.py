"""Multi-objective AMP design at equal oracle budgets: MCTS vs best-of-N MDLM sampling, evolution, random.

Problem: the default main job (``examples/peptide_amp.toml``): space ``peptide`` with all 63
monomers, 10-30 residues; objectives ``amp_probability`` (max), ``hemolysis_proxy`` (min),
``solubility_proxy`` (max), all bounded in [0, 1], so the hypervolume reference point is the worst
corner ``(0, 1, 0)`` (canonical ``(0, -1, 0)``) for every run.

Strategies, each given the same budget of unique evaluated designs per seed:

* ``mcts``: :class:`~gendesign.search.mcts.MCTS` over the shipped peptide MDLM (options of the main job);
* ``best_of_n``: ancestral samples of the same MDLM (same 16-step grid, lengths from its histogram
  restricted to 10-30), de-duplicated; the Pareto front of the N samples;
* ``evolution``: the built-in NSGA-II (``gendesign.search.evolution``) with the space's operators;
* ``random``: uniform random peptides from the space.

Reported per strategy and budget (mean and per-seed): hypervolume of the Pareto front of all
evaluated designs; validity of proposals (the fraction of MCTS rollouts / MDLM samples that are
admissible designs); wall time split into model (MDLM calls), objectives, and search overhead
(everything else inside ask/tell). Writes ``benchmarks/results/peptide_mcts.json`` and ``.md``.

Run: ``nice -n 10 python benchmarks/peptide_mcts.py --budgets 500 --seeds 0 1 2``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from gendesign.core.objective import Scores
from gendesign.core.pareto import hypervolume, pareto_mask, reference_point
from gendesign.core.strategy import SearchStrategy
from gendesign.generators.mdlm.model import MaskedDiffusionLM
from gendesign.generators.mdlm.sampler import Sampler
from gendesign.plugins.peptides.objectives import AMPProbability, PropertyProxy
from gendesign.plugins.peptides.space import PeptideSpace
from gendesign.search.evolution import Evolution
from gendesign.search.mcts import MCTS, MCTSOptions
from gendesign.search.random import RandomSearch

RESULTS = Path(__file__).resolve().parent / "results"
BATCH = 50


class Problem:
    def __init__(self) -> None:
        self.space = PeptideSpace(monomers="all", min_length=10, max_length=30, c_caps=["NH2", "OH"])
        self.objectives = [AMPProbability(), PropertyProxy("hemolysis_proxy"), PropertyProxy("solubility_proxy")]
        self.specs = tuple(s for o in self.objectives for s in o.specs)
        self.ref = reference_point(self.specs)

    def __call__(self, designs: list[Any]) -> Scores:
        parts = [o(designs) for o in self.objectives]
        valid = parts[0].valid & parts[1].valid & parts[2].valid
        return Scores(values=torch.cat([p.values for p in parts], 1), valid=valid, specs=self.specs)


class BestOfN(SearchStrategy):
    """Independent MDLM samples, de-duplicated: best-of-N sampling at the campaign's budget."""

    def __init__(self, space: PeptideSpace, specs: Any, *, seed: int, model: MaskedDiffusionLM, steps: int) -> None:
        super().__init__(space, specs, seed=seed)
        self.model = model
        self.sampler = Sampler(model, steps=steps)
        probs = model.length_counts.clone().double()
        probs[: space.min_length] = 0
        probs[space.max_length + 1 :] = 0
        self.length_probs = probs / probs.sum()
        self.seen: set[str] = set()
        self.model_s = 0.0
        self.samples = 0
        self.valid_samples = 0

    def ask(self, n: int) -> list[Any]:
        out: list[Any] = []
        for _ in range(20):
            lengths = torch.multinomial(self.length_probs, n, replacement=True, generator=self.torch_generator)
            start = time.perf_counter()
            ids = self.sampler.sample(n, lengths=lengths, generator=self.torch_generator)
            self.model_s += time.perf_counter() - start
            for d in self.space.decode(ids):
                self.samples += 1
                if not self.space.is_valid(d):
                    continue
                self.valid_samples += 1
                key = self.space.key(d)
                if key not in self.seen and len(out) < n:
                    self.seen.add(key)
                    out.append(self.space.validate(d))
            if len(out) >= n:
                break
        return out

    def tell(self, designs: Any, scores: Scores) -> None:
        return None


def run_one(problem: Problem, name: str, budget: int, seed: int, model: MaskedDiffusionLM) -> dict[str, Any]:
    torch.manual_seed(seed)
    if name == "mcts":
        strat: SearchStrategy = MCTS(
            problem.space,
            problem.specs,
            seed=seed,
            options=MCTSOptions(steps=16, num_children=8, c_puct=0.5, archive_size=128, num_lengths=6),
            model=model,
        )
    elif name == "best_of_n":
        strat = BestOfN(problem.space, problem.specs, seed=seed, model=model, steps=16)
    elif name == "evolution":
        strat = Evolution(problem.space, problem.specs, seed=seed)
    else:
        strat = RandomSearch(problem.space, problem.specs, seed=seed)
    seen: set[str] = set()
    values: list[torch.Tensor] = []
    t_obj = t_strategy = 0.0
    t0 = time.perf_counter()
    stalls = 0
    while len(seen) < budget and stalls < 20:
        start = time.perf_counter()
        designs = strat.ask(min(BATCH, budget - len(seen)))
        t_strategy += time.perf_counter() - start
        fresh = []
        for d in designs:
            k = problem.space.key(d)
            if k not in seen:
                seen.add(k)
                fresh.append(d)
        if not fresh:
            stalls += 1
            continue
        start = time.perf_counter()
        scores = problem(fresh)
        t_obj += time.perf_counter() - start
        start = time.perf_counter()
        strat.tell(fresh, scores)
        t_strategy += time.perf_counter() - start
        values.append(scores.canonical()[scores.valid])
    wall = time.perf_counter() - t0
    Y = torch.cat(values).double()
    hv = hypervolume(Y[pareto_mask(Y)], problem.ref.double())
    model_s = strat.timing["model_s"] if isinstance(strat, MCTS) else getattr(strat, "model_s", 0.0)
    rec: dict[str, Any] = {
        "strategy": name,
        "budget": budget,
        "seed": seed,
        "evaluated": len(seen),
        "hypervolume": hv,
        "front_size": int(pareto_mask(Y).sum()),
        "wall_s": wall,
        "model_s": model_s,
        "objective_s": t_obj,
        "overhead_s": max(t_strategy - model_s, 0.0),
    }
    if isinstance(strat, MCTS):
        c = strat.counts
        rec["validity"] = 1.0 - c["invalid_rollouts"] / max(c["rollouts"], 1)
        rec["counts"] = dict(c)
        rec["archive_size"] = len(strat.archive)
    elif isinstance(strat, BestOfN):
        rec["validity"] = strat.valid_samples / max(strat.samples, 1)
    return rec


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in records:
        key = f"{r['strategy']}@{r['budget']}"
        out.setdefault(key, []).append(r)
    summary = {}
    for key, rs in out.items():
        n = len(rs)
        summary[key] = {
            "hypervolume_mean": sum(r["hypervolume"] for r in rs) / n,
            "hypervolume_per_seed": [round(r["hypervolume"], 4) for r in rs],
            "wall_s_mean": sum(r["wall_s"] for r in rs) / n,
            "model_fraction": sum(r["model_s"] for r in rs) / sum(r["wall_s"] for r in rs),
            "objective_fraction": sum(r["objective_s"] for r in rs) / sum(r["wall_s"] for r in rs),
            "overhead_fraction": sum(r["overhead_s"] for r in rs) / sum(r["wall_s"] for r in rs),
            "validity": (sum(r["validity"] for r in rs) / n) if "validity" in rs[0] else None,
        }
    return summary


def write(records: list[dict[str, Any]], budgets: list[int]) -> None:
    summary = summarise(records)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "peptide_mcts.json").write_text(json.dumps({"summary": summary, "runs": records}, indent=2))
    lines = [
        "# Multi-objective AMP design: MCTS vs best-of-N MDLM sampling, evolution, random",
        "",
        "Objectives: amp_probability (max), hemolysis_proxy (min), solubility_proxy (max); space `peptide` (63 monomers, 10-30 residues).",
        "Hypervolume of the Pareto front of all evaluated designs, reference point (0, 1, 0) from the spec bounds (max possible 1).",
        "Timings from a 2-core CPU shared with other jobs: compare fractions and ratios, not absolute seconds.",
        "",
        "| strategy | budget | HV mean | 1 - HV (gap to ideal) | HV per seed | wall s | model | objectives | search overhead | validity |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, s in summary.items():
        name, budget = key.split("@")
        val = "" if s["validity"] is None else f"{s['validity']:.3f}"
        lines.append(
            f"| {name} | {budget} | {s['hypervolume_mean']:.4f} | {1 - s['hypervolume_mean']:.4f} | {s['hypervolume_per_seed']} | {s['wall_s_mean']:.1f} | "
            f"{s['model_fraction']:.1%} | {s['objective_fraction']:.1%} | {s['overhead_fraction']:.1%} | {val} |"
        )
    lines.append("")
    for b in budgets:
        m, n = summary.get(f"mcts@{b}"), summary.get(f"best_of_n@{b}")
        if m and n:
            lines.append(
                f"Budget {b}: MCTS / best-of-N hypervolume = {m['hypervolume_mean'] / n['hypervolume_mean']:.3f} (target >= 1.2)."
            )
    (RESULTS / "peptide_mcts.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[500])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strategies", nargs="+", default=["mcts", "best_of_n", "evolution", "random"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    from gendesign.plugins.peptides.train_mdlm import shipped_path

    problem = Problem()
    model = MaskedDiffusionLM.from_pretrained(shipped_path()).eval()
    problem(["GLWSKIKEVGK"])
    records = []
    for budget in args.budgets:
        for seed in args.seeds:
            for name in args.strategies:
                rec = run_one(problem, name, budget, seed, model)
                records.append(rec)
                print(json.dumps({k: v for k, v in rec.items() if k != "counts"}), flush=True)
                write(records, args.budgets)


if __name__ == "__main__":
    main()
