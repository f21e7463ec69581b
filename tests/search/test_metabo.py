"""The ``metabo`` strategy: optimum finding, the GP fallback guard, kriging-believer batches, resume, acquisitions."""

from __future__ import annotations

import json
import math

import pytest
import torch

import gendesign
from gendesign.core.box_space import BoxSpace
from gendesign.core.campaign import Campaign
from gendesign.core.errors import ConfigError
from gendesign.core.objective import ObjectiveSpec, Scores
from gendesign.core.pareto import hypervolume
from gendesign.core.protocols import Posterior
from gendesign.core.sequence_space import SequenceSpace
from gendesign.search.gp_surrogate import GPSurrogate
from gendesign.search.metabo import MetaBO, MetaBOOptions
from gendesign.search.metabo_acquisition import expected_improvement, hypercell_bounds, mc_hypervolume_improvement
from gendesign.search.metabo_guard import check_shift
from gendesign.testing.generators import SurrogateConformance
from gendesign.testing.strategies import SearchStrategyConformance

torch.set_num_threads(1)

FIXED_GP = {"name": "gp", "options": {"fit": False, "lengthscale": 0.15}}
FAST = {"gp_fit": False, "pool_size": 256, "local_pool": 64, "refine_steps": 10}


def wavy(designs):
    x = torch.tensor(designs, dtype=torch.float64)[:, 0]
    return -(torch.sin(3 * x) + x**2 - 0.7 * x)


def branin(designs):
    x = torch.tensor(designs, dtype=torch.float64)
    x1, x2 = x[:, 0], x[:, 1]
    return (x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * torch.cos(x1) + 10


def run(objective, space, budget, batch_size=1, seed=0, directions="max", **options):
    return gendesign.optimize(objective, space, "metabo", budget=budget, batch_size=batch_size, seed=seed, progress=False, plots=False, directions=directions, **options)


class TestGPSurrogate(SurrogateConformance):
    def make_surrogate(self):
        return GPSurrogate(fit=False, lengthscale=0.3, noise=1e-8)


def test_gp_leave_one_out_matches_refitting_without_the_point():
    torch.manual_seed(0)
    X = torch.rand(9, 2, dtype=torch.float64)
    y = torch.sin(4 * X.sum(-1, keepdim=True))
    gp = GPSurrogate(fit=False, lengthscale=0.3, noise=1e-3)
    gp.condition(X, y)
    mean, var = gp.leave_one_out()
    z = (y - gp.y_mean) / gp.y_std  # the full-data standardisation the closed form uses
    for i in (0, 4, 8):
        keep = [j for j in range(9) if j != i]
        k = torch.exp(-0.5 * torch.cdist(X, X).pow(2) / 0.3**2)
        A = k[keep][:, keep] + 1e-3 * torch.eye(8, dtype=torch.float64)
        ks = k[keep][:, i]
        m = ks @ torch.linalg.solve(A, z[keep, 0])
        v = 1.0 - ks @ torch.linalg.solve(A, ks) + 1e-3
        assert mean[i, 0].item() == pytest.approx((m * gp.y_std + gp.y_mean).item(), rel=1e-6, abs=1e-8)
        assert var[i, 0].item() == pytest.approx((v * gp.y_std**2).item(), rel=1e-5)


def test_expected_improvement_matches_monte_carlo():
    mean, var = torch.tensor([0.3, -1.0], dtype=torch.float64), torch.tensor([0.5, 2.0], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    draws = mean + var.sqrt() * torch.randn(400_000, 2, generator=g, dtype=torch.float64)
    mc = (draws - 0.5).clamp_min(0).mean(0)
    assert torch.allclose(expected_improvement(mean, var, 0.5), mc, rtol=1e-2)


def test_hypervolume_improvement_of_a_certain_point_is_the_exact_gain():
    front = torch.tensor([[1.0, 3.0], [2.0, 2.0], [3.0, 0.5]], dtype=torch.float64)
    ref = torch.zeros(2, dtype=torch.float64)
    cand = torch.tensor([[2.5, 2.5], [0.5, 0.5], [4.0, 1.0]], dtype=torch.float64)
    cells = hypercell_bounds(front, ref)
    hvi = mc_hypervolume_improvement(cand, torch.zeros_like(cand), cells, torch.randn(8, 2, dtype=torch.float64))
    base = hypervolume(front, ref)
    exact = torch.tensor([hypervolume(torch.cat([front, c.unsqueeze(0)]), ref) - base for c in cand], dtype=torch.float64)
    assert torch.allclose(hvi, exact)


def test_finds_the_optimum_of_a_one_dimensional_function():
    res = run(wavy, BoxSpace([[-1.0, 2.0]]), 14, generator=FIXED_GP, initial_points=4, guard=False, **FAST)
    xs = torch.linspace(-1, 2, 200_001, dtype=torch.float64).unsqueeze(1)
    best = wavy(xs.tolist()).max().item()
    assert res.best["f"].values["f"] == pytest.approx(best, abs=1e-3)


def test_finds_the_optimum_of_branin():
    res = run(branin, BoxSpace([[-5.0, 10.0], [0.0, 15.0]]), 20, directions="min", generator={"name": "gp", "options": {"fit": True}}, guard=False, **FAST)
    assert res.best["f"].values["f"] < 0.397887 + 0.05  # the minimum; random search needs ~1000 evaluations for this


def test_kriging_believer_batches_are_distinct_and_spread():
    space = BoxSpace([[-1.0, 2.0]])
    strategy = MetaBO(space, [ObjectiveSpec("f")], seed=1, options=MetaBOOptions(initial_points=4, guard=False, restarts=0, **FAST), model=GPSurrogate(fit=False, lengthscale=0.15))
    designs = space.sample(4, strategy.rng)
    strategy.tell(designs, Scores(values=wavy(designs).float().unsqueeze(-1), valid=torch.ones(4, dtype=torch.bool), specs=strategy.specs))
    batch = strategy.ask(4)
    x = torch.tensor(batch, dtype=torch.float64)[:, 0]
    assert len({space.key(d) for d in batch}) == 4
    gaps = (x.unsqueeze(0) - x.unsqueeze(1)).abs() + torch.eye(4, dtype=torch.float64) * 10
    # a fantasy at the first pick flattens EI there, so the rest lie at least a few lengthscales' fraction away
    assert gaps.min().item() > 0.02


def test_resume_is_exact(tmp_path):
    kwargs = dict(generator=FIXED_GP, initial_points=3, guard=False, **FAST)
    whole = run(wavy, BoxSpace([[-1.0, 2.0]]), 10, batch_size=2, run_dir=tmp_path / "whole", **kwargs)
    run(wavy, BoxSpace([[-1.0, 2.0]]), 6, batch_size=2, run_dir=tmp_path / "split", **kwargs)
    resumed = run(wavy, BoxSpace([[-1.0, 2.0]]), 10, batch_size=2, run_dir=tmp_path / "split", **kwargs)
    assert [r.key for r in resumed.history] == [r.key for r in whole.history]


class WrongSurrogate:
    """A confidently wrong model: it predicts 50 with tiny variance everywhere."""

    def condition(self, X, y):
        self.k = 1 if y.ndim == 1 else y.shape[1]

    def posterior(self, X):
        return Posterior(torch.full((len(X), self.k), 50.0, dtype=torch.float64), torch.full((len(X), self.k), 1e-4, dtype=torch.float64))


def test_guard_falls_back_to_the_gp_and_reports_it(tmp_path, caplog):
    space = BoxSpace([[-1.0, 2.0]])
    obj = gendesign.FunctionObjective(wavy, names="f")
    with caplog.at_level("WARNING", logger="gendesign.search.metabo"):
        strategy = MetaBO(space, obj.specs, options=MetaBOOptions(initial_points=4, guard_every=1, **FAST), model=WrongSurrogate())
        campaign = Campaign(obj, space, strategy, budget=8, batch_size=1, progress=False, plots=False, run_dir=tmp_path / "run")
        res = campaign.run()
        campaign.close()
    report = json.loads((tmp_path / "run" / "summary.json").read_text())["strategy_report"]["metabo"]
    assert report["guard_fallbacks"] == report["guard_checks"] == 4 and report["steps_on_gp_fallback"] == 4
    assert report["first_fallback_step"] == 1 and report["last_guard"]["model_nll"] > report["last_guard"]["gp_nll"]
    assert "falling back to the GP" in caplog.text
    assert res.best["f"].values["f"] > 0.3  # the GP, not the wrong model, chose the points


def test_guard_keeps_an_exact_model():
    torch.manual_seed(0)
    X = torch.rand(12, 1, dtype=torch.float64)
    Y = torch.sin(6 * X)
    result = check_shift(GPSurrogate(fit=False, lengthscale=0.2, noise=1e-6), GPSurrogate(fit=False, lengthscale=0.2, noise=1e-6), X, Y, max_points=12, margin=0.05, generator=torch.Generator().manual_seed(0))
    # the same GP differs from its own closed form only by re-standardising the outputs without the held-out point
    assert not result.fallback and result.model_nll == pytest.approx(result.gp_nll, abs=0.05)


def test_multi_objective_beats_random_hypervolume():
    from gendesign.objectives.botorch_problems import BraninCurrin

    obj = BraninCurrin()
    space = obj.default_space()
    kwargs = dict(budget=20, batch_size=2, seed=0, progress=False, plots=False)
    res = gendesign.optimize(obj, space, "metabo", generator={"name": "gp", "options": {"fit": False, "lengthscale": 0.25}}, guard=False, initial_points=6, mc_samples=32, **FAST, **kwargs)
    rnd = gendesign.optimize(obj, space, "random", **kwargs)
    assert res.summary["hypervolume"] > rnd.summary["hypervolume"]
    assert res.summary["strategy_report"]["metabo"]["reference_point"] is not None


def test_discrete_space_uses_a_pool_and_improves():
    space = SequenceSpace("ACGT", length=8)

    def count_a(designs):
        return torch.tensor([[float(str(d).count("A"))] for d in designs])

    res = gendesign.optimize(count_a, space, "metabo", budget=24, batch_size=4, seed=0, progress=False, plots=False,
                             generator={"name": "gp", "options": {"fit": False, "lengthscale": 2.0}}, guard=False, projection_dim=None, gp_fit=False, pool_size=128, local_pool=64)
    first = max(r.values["f"] for r in res.history[:5])
    assert res.best["f"].values["f"] >= first + 2


def test_options_reject_typos_and_bad_reference_points():
    with pytest.raises(ConfigError, match="pool_sise"):
        gendesign.optimize(wavy, BoxSpace([[0.0, 1.0]]), "metabo", budget=2, progress=False, generator=FIXED_GP, pool_sise=3)
    with pytest.raises(ConfigError, match="reference_point"):
        MetaBO(BoxSpace([[0.0, 1.0]]), [ObjectiveSpec("f")], options=MetaBOOptions(reference_point=[0.0, 1.0]), model=GPSurrogate())


class TestMetaBOConformance(SearchStrategyConformance):
    batch_size = 3
    rounds = 3

    def make_space(self):
        return BoxSpace([[-1.0, 2.0], [0.0, 1.0]])

    def make_objective(self, space):
        return gendesign.FunctionObjective(lambda d: wavy(d), names="f")

    def make_strategy(self, space, specs, seed):
        return MetaBO(space, specs, seed=seed, options=MetaBOOptions(initial_points=3, guard=False, **FAST), model=GPSurrogate(fit=False, lengthscale=0.2))
