"""Multi-objective AMP design at equal oracle budgets: MCTS vs best-of-N MDLM sampling, evolution, random.

Problem: the default main job (``gendesign/examples_data/default.toml``, the same as
``examples/peptide_amp.toml``): space ``peptide`` with all 63 monomers, 10-30 residues;
objectives ``amp_probability`` (max), ``hemolysis_proxy`` (min), ``protease_resistance_proxy``
(max), all bounded in [0, 1].

Two hypervolumes of the Pareto front of all evaluated designs are reported:

* ``corner``: reference point at the worst corner ``(0, 1, 0)`` of the bounds (canonical
  ``(0, -1, 0)``). Every strategy gets within a few per cent of the maximum 1 here: the classifier
  reaches ``P(AMP) ~ 1`` and the hemolysis proxy ~ 0 on many designs, so this number cannot
  separate strategies;
* ``lead``: reference point at the objective values of magainin 2 (``GIGKFLHSAKKFGKAFVGEIMNS``,
  the natural AMP from which the clinical candidate pexiganan was derived), i.e. the volume of
  objective space in which designs beat the lead on all three objectives at once. BoTorch's advice
  for the reference point is the least acceptable value of each objective; for lead optimisation
  that is the lead itself.

Strategies, each given the same budget of unique evaluated designs per seed:

* ``mcts``: :class:`~gendesign.search.mcts.MCTS` over the shipped peptide MDLM (the main job's options);
* ``best_of_n``: ancestral samples of the same MDLM (same 16-step grid, lengths from its histogram
  restricted to 10-30), de-duplicated; the Pareto front of the N samples;
* ``evolution``: the built-in NSGA-II (``gendesign.search.evolution``) with the space's operators;
* ``random``: uniform random peptides from the space.

Reported per strategy and budget (mean and per-seed): hypervolume of the Pareto front of all
evaluated designs; validity of proposals (the fraction of MCTS rollouts / MDLM samples that are
admissible designs); wall time split into model (MDLM calls), objectives, and search overhead
(everything else inside ask/tell). Writes ``benchmarks/results/peptide_mcts.json`` and ``.md``.

Run: ``nice -n 10 python benchmarks/peptide_mcts.py --budgets 500 2000 --seeds 0 1 2``.
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
LEAD = ("magainin 2", "GIGKFLHSAKKFGKAFVGEIMNS")


class Problem:
    def __init__(self) -> None:
        import tomllib
        from importlib.resources import files

        cfg = tomllib.loads(files("gendesign.examples_data").joinpath("default.toml").read_text())
        self.space = PeptideSpace(**cfg["space"]["options"])
        names = [o["name"] for o in cfg["objectives"]]
        if names != ["amp_probability", "hemolysis_proxy", "protease_resistance_proxy"]:
            raise SystemExit(f"the default job's objectives changed to {names}; update this benchmark")
        self.mcts_options = MCTSOptions(**cfg["strategy"]["options"])
        self.objectives = [AMPProbability(), PropertyProxy("hemolysis_proxy"), PropertyProxy("protease_resistance_proxy")]
        self.specs = tuple(s for o in self.objectives for s in o.specs)
        self.ref = reference_point(self.specs)
        self.lead = self([self.space.validate(LEAD[1])]).canonical()[0].double()

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
        probs = model.length_counts.detach().cpu().double()
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
            options=problem.mcts_options,
            model=model,
            device=model.device,
        )
    elif name == "best_of_n":
        strat = BestOfN(problem.space, problem.specs, seed=seed, model=model, steps=16)
    elif name == "evolution":
        strat = Evolution(problem.space, problem.specs, seed=seed)
    else:
        strat = RandomSearch(problem.space, problem.specs, seed=seed)
    seen: set[str] = set()
    values: list[torch.Tensor] = []
    kept: list[Any] = []
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
        kept.extend(d for d, ok in zip(fresh, scores.valid.tolist()) if ok)
    wall = time.perf_counter() - t0
    Y = torch.cat(values).double()
    front = Y[pareto_mask(Y)]
    hv = hypervolume(front, problem.ref.double())
    beyond = front[(front > problem.lead).all(-1)]
    hv_lead = hypervolume(beyond, problem.lead) if len(beyond) else 0.0
    winners = [kept[i] for i in torch.nonzero((Y > problem.lead).all(-1)).flatten().tolist()]
    model_s = strat.timing["model_s"] if isinstance(strat, MCTS) else getattr(strat, "model_s", 0.0)
    rec: dict[str, Any] = {
        "strategy": name,
        "budget": budget,
        "seed": seed,
        "evaluated": len(seen),
        "hypervolume": hv,
        "hypervolume_lead": hv_lead,
        "beat_lead": len(winners),
        **distribution_shift(problem, model, winners),
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


def distribution_shift(problem: Problem, model: MaskedDiffusionLM, designs: list[Any]) -> dict[str, float | None]:
    """Share of non-canonical residues, and mean MDLM naturalness (-NELBO per residue, nats), of ``designs``."""
    if not designs:
        return {"beat_lead_noncanonical": None, "beat_lead_naturalness": None}
    from gendesign.generators.mdlm.likelihood import nelbo_per_design
    from gendesign.plugins.peptides.notation import parse_peptide

    residues = [c for d in designs for c in parse_peptide(d).residues]
    x0 = problem.space.encode(designs).to(model.device)
    lengths = (x0 != model.pad_id).sum(-1)
    nat = -nelbo_per_design(model, x0, num_samples=8).cpu() / lengths.cpu()
    return {"beat_lead_noncanonical": sum(len(c) > 1 for c in residues) / len(residues), "beat_lead_naturalness": float(nat.mean())}


def _mean(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return sum(vals) / len(vals) if vals else None


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
            "hypervolume_lead_mean": sum(r["hypervolume_lead"] for r in rs) / n,
            "hypervolume_lead_per_seed": [round(r["hypervolume_lead"], 5) for r in rs],
            "beat_lead_mean": sum(r["beat_lead"] for r in rs) / n,
            "beat_lead_noncanonical": _mean([r["beat_lead_noncanonical"] for r in rs]),
            "beat_lead_naturalness": _mean([r["beat_lead_naturalness"] for r in rs]),
            "wall_s_mean": sum(r["wall_s"] for r in rs) / n,
            "model_fraction": sum(r["model_s"] for r in rs) / sum(r["wall_s"] for r in rs),
            "objective_fraction": sum(r["objective_s"] for r in rs) / sum(r["wall_s"] for r in rs),
            "overhead_fraction": sum(r["overhead_s"] for r in rs) / sum(r["wall_s"] for r in rs),
            "validity": (sum(r["validity"] for r in rs) / n) if "validity" in rs[0] else None,
        }
    return summary


def _fmt(x: float | None, spec: str) -> str:
    return "" if x is None else format(x, spec)


def write(records: list[dict[str, Any]], budgets: list[int], problem: Problem, tag: str = "", device: str = "cpu") -> None:
    summary = summarise(records)
    RESULTS.mkdir(parents=True, exist_ok=True)
    lead = [round(float(v), 4) for v in problem.lead]
    (RESULTS / f"peptide_mcts{tag}.json").write_text(
        json.dumps({"lead": {"name": LEAD[0], "sequence": LEAD[1], "canonical_values": lead}, "mcts_options": problem.mcts_options.model_dump(), "summary": summary, "runs": records}, indent=2)
    )
    opts = problem.mcts_options
    lines = [
        "# Multi-objective AMP design: MCTS vs best-of-N MDLM sampling, evolution, random",
        "",
        "Objectives (the default main job): amp_probability (max), hemolysis_proxy (min), protease_resistance_proxy (max); space `peptide` (63 monomers, 10-30 residues).",
        f"MCTS options (from the main job): steps {opts.steps}, children {opts.num_children} ({opts.anchored_children} anchored, landing at depths {opts.anchored_depths or 'next'}), c_puct {opts.c_puct}, widening_c {opts.widening_c}, selection {opts.selection}, lengths {opts.num_lengths}.",
        "HV corner: reference (0, 1, 0) from the spec bounds (max 1). "
        f"HV lead: reference = {LEAD[0]} ({LEAD[1]}), canonical values {lead} (P(AMP), -hemolysis, protease resistance); "
        "'beat lead' counts evaluated designs better than the lead on all three.",
        f"MDLM on {device}; timings from a machine shared with other jobs: compare fractions and ratios, not absolute seconds.",
        "",
        "'non-canonical' and 'naturalness' describe the designs that beat the lead: the share of non-canonical residues and the mean -NELBO per residue (nats) under the shipped peptide MDLM (higher is more like its training peptides).",
        "",
        "| strategy | budget | HV lead mean | HV lead per seed | beat lead | non-canonical | naturalness | HV corner mean | HV corner per seed | wall s | model | objectives | search overhead | validity |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, s in summary.items():
        name, budget = key.split("@")
        val = "" if s["validity"] is None else f"{s['validity']:.3f}"
        lines.append(
            f"| {name} | {budget} | {s['hypervolume_lead_mean']:.5f} | {s['hypervolume_lead_per_seed']} | {s['beat_lead_mean']:.0f} | "
            f"{_fmt(s['beat_lead_noncanonical'], '.2f')} | {_fmt(s['beat_lead_naturalness'], '.2f')} | "
            f"{s['hypervolume_mean']:.4f} | {s['hypervolume_per_seed']} | {s['wall_s_mean']:.1f} | "
            f"{s['model_fraction']:.1%} | {s['objective_fraction']:.1%} | {s['overhead_fraction']:.1%} | {val} |"
        )
    lines.append("")
    for b in budgets:
        m, n = summary.get(f"mcts@{b}"), summary.get(f"best_of_n@{b}")
        if m and n:
            lines.append(
                f"Budget {b}: MCTS / best-of-N hypervolume = {m['hypervolume_lead_mean'] / n['hypervolume_lead_mean']:.3f} (lead reference; target >= 1.2), "
                f"{m['hypervolume_mean'] / n['hypervolume_mean']:.3f} (corner reference)."
            )
    (RESULTS / f"peptide_mcts{tag}.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[500])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strategies", nargs="+", default=["mcts", "best_of_n", "evolution", "random"])
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--device", default="cpu", help="where the MDLM runs (cpu, cuda); objectives stay on the CPU")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from gendesign.plugins.peptides.train_mdlm import shipped_path

    problem = Problem()
    model = MaskedDiffusionLM.from_pretrained(shipped_path(), device=args.device).eval()
    records = []
    for budget in args.budgets:
        for seed in args.seeds:
            for name in args.strategies:
                rec = run_one(problem, name, budget, seed, model)
                records.append(rec)
                print(json.dumps({k: v for k, v in rec.items() if k != "counts"}), flush=True)
                write(records, args.budgets, problem, args.tag, args.device)


if __name__ == "__main__":
    main()
