"""Desirability and value transforms: exact values that catch sign, centre, steepness and edge bugs."""

from __future__ import annotations

import math

import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.core.objective import FunctionObjective, ObjectiveSpec
from gendesign.objectives.transforms import (
    Clip,
    DoubleSigmoid,
    Gaussian,
    MinMax,
    Negate,
    Ramp,
    ReverseSigmoid,
    Sigmoid,
    Step,
    TargetRamp,
    Transformed,
    ZScore,
    parse_transform,
)
from gendesign.testing.objectives import ObjectiveConformance

T = torch.tensor


def test_sigmoid_centre_steepness_and_sign():
    s = Sigmoid(low=2.0, high=6.0, k=0.5)
    # centre 4, slope 10 k / (high - low) = 1.25 decades per unit.
    x = T([4.0, 5.0, 3.0, 6.0])
    expected = [0.5, 1 / (1 + 10**-1.25), 1 / (1 + 10**1.25), 1 / (1 + 10**-2.5)]
    assert s(x).tolist() == pytest.approx(expected, rel=1e-5)
    steeper = Sigmoid(low=2.0, high=6.0, k=1.0)
    assert steeper(T([5.0])).item() > s(T([5.0])).item() > 0.5
    r = ReverseSigmoid(low=2.0, high=6.0, k=0.5)
    assert (s(x) + r(x)).tolist() == pytest.approx([1.0] * 4)
    assert r(T([5.0])).item() < 0.5


def test_double_sigmoid_plateau_and_edges():
    d = DoubleSigmoid(low=2.0, high=8.0, k_low=2.0, k_high=2.0)
    x = T([-5.0, 2.0, 5.0, 8.0, 15.0])
    y = d(x)
    assert y[2].item() == pytest.approx(1.0, abs=1e-5)
    assert y[1].item() == pytest.approx(0.5, abs=1e-4) and y[3].item() == pytest.approx(0.5, abs=1e-4)
    assert y[0].item() < 1e-6 and y[4].item() < 1e-6
    # The falling edge is governed by k_high alone.
    soft = DoubleSigmoid(low=2.0, high=8.0, k_low=2.0, k_high=0.2)
    assert soft(T([9.0])).item() == pytest.approx(1 / (1 + 10**-14) - 1 / (1 + 10**-0.2), abs=1e-5)
    assert bool((DoubleSigmoid(low=0.0, high=1.0, k_low=5.0, k_high=0.1)(torch.linspace(-20, 20, 81)) >= 0).all())


def test_step_is_inclusive_at_both_ends():
    x = T([2.999, 3.0, 5.0, 7.0, 7.001, math.nan])
    assert Step(low=3.0, high=7.0)(x)[:5].tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert Step(low=3.0)(x)[:5].tolist() == [0.0, 1.0, 1.0, 1.0, 1.0]
    assert Step(high=3.0)(x)[:5].tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert math.isnan(Step(low=3.0)(x)[5].item()), "NaN must not become a 0/1 desirability"
    with pytest.raises(ConfigError, match="low, high or both"):
        Step()


def test_gaussian_centre_and_width():
    g = Gaussian(mu=3.0, sigma=2.0)
    assert g(T([3.0, 5.0, 1.0, 7.0])).tolist() == pytest.approx([1.0, math.exp(-0.5), math.exp(-0.5), math.exp(-2.0)], rel=1e-6)
    with pytest.raises(ConfigError, match="sigma"):
        Gaussian(mu=0.0, sigma=0.0)


def test_ramp_up_down_and_exponent():
    up = Ramp(low=2.0, high=6.0)
    assert up(T([0.0, 2.0, 3.0, 5.0, 6.0, 9.0])).tolist() == pytest.approx([0, 0, 0.25, 0.75, 1, 1])
    down = Ramp(low=2.0, high=6.0, direction="down")
    assert down(T([0.0, 2.0, 3.0, 5.0, 6.0, 9.0])).tolist() == pytest.approx([1, 1, 0.75, 0.25, 0, 0])
    sq = Ramp(low=2.0, high=6.0, exponent=2.0)
    assert sq(T([3.0, 4.0])).tolist() == pytest.approx([0.0625, 0.25])
    root = Ramp(low=0.0, high=1.0, exponent=0.5)
    assert root(T([0.25])).item() == pytest.approx(0.5)


def test_target_ramp_two_sided():
    t = TargetRamp(low=0.0, target=2.0, high=10.0, exponent_low=1.0, exponent_high=2.0)
    x = T([-1.0, 0.0, 1.0, 2.0, 6.0, 10.0, 11.0])
    assert t(x).tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0, 0.25, 0.0, 0.0])
    with pytest.raises(ConfigError, match="low < target < high"):
        TargetRamp(low=0.0, target=0.0, high=1.0)


def test_desirabilities_stay_in_unit_interval_and_are_monotone_where_they_should_be():
    x = torch.linspace(-50, 50, 2001)
    for t in (Sigmoid(low=-3, high=4), Ramp(low=-1, high=1, exponent=0.3), Ramp(low=-1, high=1, exponent=3.0)):
        y = t(x)
        assert bool((y >= 0).all() and (y <= 1).all()), t
        assert bool((y[1:] >= y[:-1]).all()), f"{t} must be non-decreasing"
    for t in (ReverseSigmoid(low=-3, high=4), Ramp(low=-1, high=1, direction="down")):
        y = t(x)
        assert bool((y[1:] <= y[:-1]).all()), f"{t} must be non-increasing"
    for t in (Gaussian(mu=1, sigma=3), TargetRamp(low=-5, target=1, high=20), DoubleSigmoid(low=-2, high=2)):
        y = t(x)
        assert bool((y >= 0).all() and (y <= 1).all()), t


def test_transforms_are_differentiable_with_finite_gradients():
    x = T([-1.0, 0.0, 0.5, 1.0, 2.0], requires_grad=True)
    for t in (
        Sigmoid(low=0, high=1),
        ReverseSigmoid(low=0, high=1),
        DoubleSigmoid(low=0, high=1),
        Gaussian(mu=0.5, sigma=1),
        Ramp(low=0, high=1, exponent=0.5),
        TargetRamp(low=0, target=0.5, high=1, exponent_low=0.3, exponent_high=0.7),
        ZScore(mean=1.0, std=2.0),
        MinMax(low=0.0, high=4.0),
    ):
        (g,) = torch.autograd.grad(t(x).sum(), x)
        assert bool(torch.isfinite(g).all()), f"{t}: gradient {g.tolist()}"
    inner = T([-1.0, 0.5, 0.75, 2.0], requires_grad=True)
    (g,) = torch.autograd.grad(Ramp(low=0, high=1, exponent=2.0)(inner).sum(), inner)
    assert g.tolist() == pytest.approx([0.0, 1.0, 1.5, 0.0]), "d/dx x^2 on the ramp, zero outside"
    (g,) = torch.autograd.grad(Gaussian(mu=0.0, sigma=1.0)(x).sum(), x)
    assert g[2].item() == pytest.approx(-0.5 * math.exp(-0.125))


def test_affine_transforms_and_clip():
    x = T([1.0, 3.0, 5.0])
    assert Negate()(x).tolist() == [-1.0, -3.0, -5.0]
    assert ZScore(mean=3.0, std=2.0)(x).tolist() == [-1.0, 0.0, 1.0]
    assert MinMax(low=1.0, high=5.0)(T([0.0, 2.0, 6.0])).tolist() == [0.0, 0.25, 1.0]
    assert MinMax(low=1.0, high=5.0, clip=False)(T([0.0, 6.0])).tolist() == [-0.25, 1.25]
    assert Clip(low=2.0, high=4.0)(x).tolist() == [2.0, 3.0, 4.0]
    assert Clip(high=2.0)(x).tolist() == [1.0, 2.0, 2.0]


def test_output_specs_follow_the_transform():
    spec = ObjectiveSpec("logp", "min", bounds=(-2.0, 6.0))
    assert Sigmoid(low=0, high=1).output_spec(spec) == ObjectiveSpec("logp", "max", bounds=(0.0, 1.0))
    neg = Negate().output_spec(spec)
    assert (neg.direction, neg.bounds) == ("max", (-6.0, 2.0))
    z = ZScore(mean=2.0, std=4.0).output_spec(spec)
    assert (z.direction, z.bounds) == ("min", (-1.0, 1.0))
    mm = MinMax().bind(spec)
    assert (mm.low, mm.high) == (-2.0, 6.0)
    assert mm.output_spec(spec).bounds == (0.0, 1.0) and mm.output_spec(spec).direction == "min"
    con = ObjectiveSpec("tox", "min", kind="constraint", threshold=0.3)
    assert Negate().output_spec(con).threshold == -0.3 and Negate().output_spec(con).direction == "max"
    with pytest.raises(ConfigError, match="constraint column 'tox'"):
        Sigmoid(low=0, high=1).output_spec(con)
    with pytest.raises(ConfigError, match="no bounds"):
        MinMax().bind(ObjectiveSpec("x"))
    assert Clip(high=4.0).output_spec(spec).bounds == (-2.0, 4.0)


def test_parse_transform_from_config_tables():
    t = parse_transform({"kind": "double_sigmoid", "low": 1, "high": 3, "k_low": 2})
    assert isinstance(t, DoubleSigmoid) and t.k_low == 2.0 and t.k_high == 1.0
    assert parse_transform(t) is t
    with pytest.raises(ConfigError, match="hgh"):
        parse_transform({"kind": "sigmoid", "low": 1, "hgh": 2})
    with pytest.raises(ConfigError, match="unknown transform kind 'sigmod'"):
        parse_transform({"kind": "sigmod", "low": 1, "high": 2})
    with pytest.raises(ConfigError, match="low < high"):
        Sigmoid(low=3.0, high=2.0)


def _lengths_and_charges(designs):
    return [[float(len(d)), float(d.count("K") - d.count("D"))] if d else [math.nan, math.nan] for d in designs]


def _base():
    return FunctionObjective(
        _lengths_and_charges,
        specs=[ObjectiveSpec("length", "min", bounds=(0.0, 20.0)), ObjectiveSpec("charge", "max", bounds=(-10.0, 10.0))],
    )


def test_transformed_maps_named_columns_and_keeps_the_rest():
    obj = Transformed(_base(), {"length": [Clip(high=10.0), Ramp(low=2.0, high=10.0, direction="down")]})
    assert obj.specs[0] == ObjectiveSpec("length", "max", bounds=(0.0, 1.0))
    assert obj.specs[1] == _base().specs[1]
    scores = obj(["KK", "KKDDKKDD", "", "A" * 14])
    assert scores.values[:, 0].tolist()[:2] == pytest.approx([1.0, (10 - 8) / 8])
    assert scores.values[3, 0].item() == 0.0
    assert scores.values[:, 1].tolist()[:2] == [2.0, 0.0]
    assert scores.valid.tolist() == [True, True, False, True]
    with pytest.raises(ConfigError, match="no column 'size'"):
        Transformed(_base(), {"size": Negate()})
    by_index = Transformed(_base(), {1: {"kind": "negate"}})
    assert by_index.specs[1].direction == "min"


def test_transformed_std_scales_for_affine_and_drops_otherwise():
    from gendesign.core.objective import Objective, Scores

    class Noisy(Objective):
        specs = (ObjectiveSpec("a"), ObjectiveSpec("b"))

        def evaluate(self, designs):
            v = torch.tensor([[float(d), 2.0 * d] for d in designs])
            return Scores(values=v, valid=torch.ones(len(designs), dtype=torch.bool), specs=self.specs, std=torch.ones_like(v))

    affine = Transformed(Noisy(), {"a": ZScore(mean=0.0, std=4.0), "b": Negate()})
    assert affine([1, 2]).std.tolist() == [[0.25, 1.0], [0.25, 1.0]]
    assert Transformed(Noisy(), {"a": Sigmoid(low=0, high=1)})([1]).std is None


def test_transformed_fingerprint_depends_on_parameters():
    a = Transformed(_base(), {"length": Ramp(low=2.0, high=10.0)})
    b = Transformed(_base(), {"length": Ramp(low=2.0, high=11.0)})
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == Transformed(_base(), {"length": Ramp(low=2.0, high=10.0)}).fingerprint()


class TestTransformedConformance(ObjectiveConformance):
    expect_invalid = True

    def make_objective(self):
        return Transformed(_base(), {"length": Gaussian(mu=4.0, sigma=2.0), "charge": Sigmoid(low=-2.0, high=2.0)})

    def make_designs(self):
        return ["KKDA", "DDDDDDD", "", "K"]


class TestDifferentiableTransformedConformance(ObjectiveConformance):
    def make_objective(self):
        fn = FunctionObjective(lambda xs: torch.stack([x.sum() for x in xs]), names="s", differentiable=True)
        return Transformed(fn, {"s": [ZScore(mean=1.0, std=2.0), Sigmoid(low=-1.0, high=1.0)]})

    def make_designs(self):
        return [torch.tensor([0.5, 0.25]), torch.tensor([2.0, -1.0]), torch.tensor([3.0, 3.0])]
