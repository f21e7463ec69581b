"""Scalarisers: closed forms, zero propagation, and Chebyshev reaching a concave front."""

from __future__ import annotations

import math

import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.core.objective import FunctionObjective, ObjectiveSpec
from gendesign.core.pareto import pareto_mask
from gendesign.objectives.scalarize import (
    Scalarized,
    augmented_chebyshev,
    canonical_bounds,
    normalize_canonical,
    normalize_weights,
    weighted_geometric_mean,
    weighted_sum,
)
from gendesign.objectives.transforms import Ramp, Transformed
from gendesign.testing.objectives import ObjectiveConformance

T = torch.tensor


def test_weighted_sum_closed_form_and_weight_normalisation():
    Y = T([[1.0, 2.0], [3.0, -1.0]])
    assert weighted_sum(Y, [1.0, 3.0]).tolist() == pytest.approx([0.25 + 1.5, 0.75 - 0.75])
    assert weighted_sum(Y, [2.0, 6.0]).tolist() == pytest.approx(weighted_sum(Y, [1.0, 3.0]).tolist())
    assert weighted_sum(Y).tolist() == pytest.approx([1.5, 1.0])
    assert math.isnan(weighted_sum(T([[math.nan, 1.0]]))[0].item())
    with pytest.raises(ConfigError, match="3 weights"):
        weighted_sum(Y, [1.0, 1.0, 1.0])
    with pytest.raises(ConfigError, match=">= 0"):
        normalize_weights([1.0, -1.0], 2)


def test_geometric_mean_closed_form_and_zero_propagation():
    Y = T([[0.25, 1.0], [0.5, 0.5], [0.0, 1.0], [1e-12, 1.0]])
    D = weighted_geometric_mean(Y, [1.0, 1.0])
    assert D[0].item() == pytest.approx(0.5)
    assert D[1].item() == pytest.approx(0.5)
    assert D[2].item() == 0.0, "one zero desirability must zero the overall desirability"
    assert D[3].item() == pytest.approx(math.sqrt(1e-8), rel=1e-4), "positive values below the floor are floored at 1e-8"
    # Weights are exponents: D = 0.25^(1/4) * 1^(3/4).
    assert weighted_geometric_mean(T([[0.25, 1.0]]), [1.0, 3.0]).item() == pytest.approx(0.25**0.25)
    # A zero in a column with zero weight is ignored.
    assert weighted_geometric_mean(T([[0.0, 0.64]]), [0.0, 1.0]).item() == pytest.approx(0.64)
    with pytest.raises(ConfigError, match=">= 0"):
        weighted_geometric_mean(T([[-0.1, 1.0]]))


def test_geometric_mean_gradient_is_finite_at_zero():
    Y = T([[0.0, 0.5], [0.25, 1.0]], requires_grad=True)
    (g,) = torch.autograd.grad(weighted_geometric_mean(Y).sum(), Y)
    assert bool(torch.isfinite(g).all())
    assert g[1, 0].item() == pytest.approx(0.5 * 0.5 / 0.25), "dD/dd1 = w1 D / d1"


def test_augmented_chebyshev_closed_form():
    Y = T([[0.2, 0.9], [0.6, 0.6]])
    s = augmented_chebyshev(Y, [1.0, 1.0], ideal=[1.0, 1.0], rho=0.1)
    g0 = max(0.5 * 0.8, 0.5 * 0.1) + 0.1 * (0.5 * 0.8 + 0.5 * 0.1)
    g1 = 0.5 * 0.4 + 0.1 * (0.5 * 0.4 + 0.5 * 0.4)
    assert s.tolist() == pytest.approx([-g0, -g1])
    assert augmented_chebyshev(T([[1.0, 1.0]])).item() == 0.0, "the ideal point scores 0, the maximum"
    with pytest.raises(ConfigError, match="rho"):
        augmented_chebyshev(Y, rho=-1.0)


def _concave_front(n: int = 101) -> torch.Tensor:
    """Maximisation front ``(1 - y1)^2 + (1 - y2)^2 = 1``: bulging towards the origin (concave)."""
    t = torch.linspace(0, math.pi / 2, n, dtype=torch.float64)
    return torch.stack([1 - torch.cos(t), 1 - torch.sin(t)], dim=-1)


def test_chebyshev_reaches_a_concave_front_point_the_weighted_sum_misses():
    Y = _concave_front()
    assert bool(pareto_mask(Y).all())
    middle = 50
    extremes = {0, Y.shape[0] - 1}
    for w1 in torch.linspace(0.0, 1.0, 21).tolist():
        w = [w1, 1.0 - w1]
        if 0 < w1 < 1:
            assert int(torch.argmax(weighted_sum(Y, w))) in extremes, f"weighted sum with weights {w} must pick an extreme point"
    picked = int(torch.argmax(augmented_chebyshev(Y, [0.5, 0.5], ideal=[1.0, 1.0], rho=0.01)))
    assert picked == middle
    # Every weight vector gives a Pareto-optimal Chebyshev optimum, and some are interior.
    interior = set()
    for w1 in torch.linspace(0.05, 0.95, 19).tolist():
        i = int(torch.argmax(augmented_chebyshev(Y, [w1, 1 - w1], rho=0.01)))
        interior.add(i)
    assert len(interior - extremes) >= 15


def test_chebyshev_optimum_is_non_dominated_among_random_points():
    g = torch.Generator().manual_seed(0)
    Y = torch.rand(200, 3, generator=g)
    front = pareto_mask(Y)
    for _ in range(20):
        w = torch.rand(3, generator=g) + 0.05
        i = int(torch.argmax(augmented_chebyshev(Y, w, rho=0.05)))
        assert bool(front[i]), "rho > 0 must select a (strictly) Pareto-optimal point"


def test_canonical_bounds_and_normalisation():
    specs = [ObjectiveSpec("a", "max", bounds=(0.0, 4.0)), ObjectiveSpec("b", "min", bounds=(1.0, 3.0))]
    assert canonical_bounds(specs).tolist() == [[0.0, -3.0], [4.0, -1.0]]
    raw = T([[1.0, 1.0], [4.0, 3.0], [2.0, 2.0]])
    canon = raw * T([1.0, -1.0])
    assert normalize_canonical(canon, specs).tolist() == [[0.25, 1.0], [1.0, 0.0], [0.5, 0.5]]
    with pytest.raises(ConfigError, match=r"\['c'\]"):
        canonical_bounds([ObjectiveSpec("c")])


def _two_columns(designs):
    return [[float(d[0]), float(d[1])] if d[0] >= 0 else [math.nan, math.nan] for d in designs]


def _raw():
    return FunctionObjective(
        _two_columns,
        specs=[ObjectiveSpec("yield", "max", bounds=(0.0, 10.0)), ObjectiveSpec("cost", "min", bounds=(0.0, 5.0))],
    )


def test_scalarized_uses_canonical_view_and_normalisation():
    designs = [(10.0, 0.0), (0.0, 5.0), (5.0, 2.5), (-1.0, 0.0)]
    ws = Scalarized(_raw(), "weighted_sum", [1.0, 1.0], normalize=True)
    assert ws.specs == (ObjectiveSpec("score", "max", bounds=(0.0, 1.0), description="weighted_sum of yield, cost"),)
    out = ws(designs)
    assert out.values[:3, 0].tolist() == pytest.approx([1.0, 0.0, 0.5]), "cost is minimised: low cost must score high"
    assert out.valid.tolist() == [True, True, True, False] and math.isnan(out.values[3, 0].item())
    raw_sum = Scalarized(_raw(), "weighted_sum", {"yield": 1.0, "cost": 3.0})
    assert raw_sum(designs).values[:3, 0].tolist() == pytest.approx([2.5, -3.75, 1.25 - 1.875])
    cheb = Scalarized(_raw(), "chebyshev", [1.0, 1.0], rho=0.0)
    assert cheb(designs).values[:3, 0].tolist() == pytest.approx([0.0, -0.5, -0.25])
    assert cheb.specs[0].bounds == (-0.5, 0.0)


def test_scalarized_geometric_mean_requires_desirabilities():
    with pytest.raises(ConfigError, match="Transformed"):
        Scalarized(_raw(), "geometric_mean")
    desir = Transformed(_raw(), {"yield": Ramp(low=0.0, high=10.0), "cost": Ramp(low=0.0, high=5.0, direction="down")})
    gm = Scalarized(desir, "geometric_mean")
    out = gm([(10.0, 0.0), (2.5, 0.0), (10.0, 5.0)])
    assert out.values[:, 0].tolist() == pytest.approx([1.0, 0.5, 0.0])


def test_scalarized_keeps_constraint_columns_and_weighted_sum_std():
    from gendesign.core.objective import Objective, Scores

    class WithConstraint(Objective):
        specs = (ObjectiveSpec("a"), ObjectiveSpec("b"), ObjectiveSpec("tox", "min", kind="constraint", threshold=0.5))

        def evaluate(self, designs):
            v = torch.tensor([[float(d), 1.0, 0.1 * d] for d in designs])
            std = torch.tensor([[3.0, 4.0, 0.0]] * len(designs))
            return Scores(values=v, valid=torch.ones(len(designs), dtype=torch.bool), specs=self.specs, std=std)

    s = Scalarized(WithConstraint(), "weighted_sum", [1.0, 1.0], name="total")
    assert [x.name for x in s.specs] == ["total", "tox"]
    out = s([2, 8])
    assert out.values.flatten().tolist() == pytest.approx([1.5, 0.2, 4.5, 0.8])
    assert out.feasible().tolist() == [True, False]
    assert out.std[:, 0].tolist() == pytest.approx([2.5, 2.5]), "sqrt(0.25 * 9 + 0.25 * 16)"
    with pytest.raises(ConfigError, match="clashes"):
        Scalarized(WithConstraint(), name="tox")


class TestScalarizedConformance(ObjectiveConformance):
    expect_invalid = True

    def make_objective(self):
        return Scalarized(_raw(), "chebyshev", [2.0, 1.0])

    def make_designs(self):
        return [(1.0, 2.0), (-1.0, 0.0), (7.0, 4.0), (3.0, 0.5)]
