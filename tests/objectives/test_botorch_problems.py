"""BoTorch multi-objective problems: values, reference points and maximum hypervolumes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from botorch.test_functions import multi_objective as mo

from gendesign.core.pareto import pareto_mask, reference_point
from gendesign.objectives.botorch_problems import DTLZ2, ZDT1, ZDT2, ZDT3, BoTorchProblem, BraninCurrin
from gendesign.testing.objectives import ObjectiveConformance

CASES = [
    (lambda: BraninCurrin(), lambda: mo.BraninCurrin()),
    (lambda: DTLZ2(dim=6, num_objectives=2), lambda: mo.DTLZ2(dim=6, num_objectives=2)),
    (lambda: DTLZ2(dim=5, num_objectives=3), lambda: mo.DTLZ2(dim=5, num_objectives=3)),
    (lambda: ZDT1(dim=4), lambda: mo.ZDT1(dim=4)),
    (lambda: ZDT2(dim=3), lambda: mo.ZDT2(dim=3)),
    (lambda: ZDT3(dim=5), lambda: mo.ZDT3(dim=5)),
]


class TestDTLZ2Conformance(ObjectiveConformance):
    def make_objective(self) -> DTLZ2:
        return DTLZ2(dim=4)

    def make_designs(self) -> list[tuple[float, ...]]:
        return self.make_objective().default_space().sample(5, np.random.default_rng(0))


@pytest.mark.parametrize(("ours", "theirs"), CASES)
def test_values_equal_botorch_evaluate_true(ours, theirs) -> None:
    problem: BoTorchProblem = ours()
    reference = theirs()
    x = problem.default_space().sample(64, np.random.default_rng(0))
    expected = reference.evaluate_true(torch.tensor(x, dtype=torch.float64))
    scores = problem(x)
    assert bool(scores.valid.all())
    assert torch.allclose(scores.values, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("ours", "theirs"), CASES)
def test_reference_point_max_hv_and_directions(ours, theirs) -> None:
    problem: BoTorchProblem = ours()
    reference = theirs()
    assert problem.ref_point.tolist() == pytest.approx(reference.ref_point.tolist())
    assert problem.max_hv == pytest.approx(reference.max_hv)
    assert all(s.direction == "min" for s in problem.specs)
    assert [s.bounds[1] for s in problem.specs] == pytest.approx(reference.ref_point.tolist())
    assert reference_point(problem.specs).tolist() == pytest.approx((-problem.ref_point).tolist())
    space = problem.default_space()
    assert space.dim == reference.dim
    assert np.allclose(np.stack([space.low, space.high]), reference.bounds.numpy())


def test_zdt1_dense_front_hypervolume_approaches_max() -> None:
    problem = ZDT1(dim=4)
    f0 = torch.linspace(0, 1, 2001, dtype=torch.float64)
    front = torch.stack([f0, 1 - f0.sqrt()], -1)
    hv = problem.hypervolume(front)
    assert hv <= problem.max_hv + 1e-9
    assert hv == pytest.approx(problem.max_hv, rel=1e-4)
    assert problem.max_hv == pytest.approx(121 - 1 / 3)


def test_zdt_fronts_from_optimal_inputs() -> None:
    for cls in (ZDT1, ZDT2, ZDT3):
        problem = cls(dim=3)
        x0 = np.linspace(0, 1, 1201)
        designs = [(float(t), 0.0, 0.0) for t in x0]
        values = problem(designs).values.to(torch.float64)
        values = values[pareto_mask(-values)]
        hv = problem.hypervolume(values)
        assert hv <= problem.max_hv + 1e-6
        assert hv == pytest.approx(problem.max_hv, rel=1e-3)


@pytest.mark.parametrize("m", [2, 3])
def test_dtlz2_front_lies_on_sphere_and_max_hv_closed_form(m: int) -> None:
    problem = DTLZ2(dim=m + 3, num_objectives=m)
    front = problem.pareto_front(500)
    assert torch.allclose(front.norm(dim=-1), torch.ones(front.shape[0], dtype=torch.float64), atol=1e-9)
    assert problem.max_hv == pytest.approx(1.1**m - math.pi ** (m / 2) / math.gamma(m / 2 + 1) / 2**m)


def test_dtlz2_dense_front_hypervolume_approaches_max() -> None:
    problem = DTLZ2(dim=6, num_objectives=2)
    angle = torch.linspace(0, math.pi / 2, 4001, dtype=torch.float64)
    front = torch.stack([angle.cos(), angle.sin()], -1)
    hv = problem.hypervolume(front)
    assert hv <= problem.max_hv + 1e-9
    assert hv == pytest.approx(problem.max_hv, rel=1e-3)
    x = [(float(t), 0.5, 0.5, 0.5, 0.5, 0.5) for t in np.linspace(0, 1, 11)]
    assert torch.allclose(problem(x).values.double().norm(dim=-1), torch.ones(11, dtype=torch.float64), atol=1e-6)


def test_branin_currin_dense_grid_hypervolume_approaches_max() -> None:
    problem = BraninCurrin()
    hvs = []
    for n in (101, 401):
        grid = torch.linspace(0, 1, n, dtype=torch.float64)
        hvs.append(problem.hypervolume(problem.problem.evaluate_true(torch.cartesian_prod(grid, grid))))
    assert hvs[0] < hvs[1] <= problem.max_hv + 1e-6
    assert hvs[1] > 0.985 * problem.max_hv
    with pytest.raises(Exception, match="no closed-form Pareto front"):
        problem.pareto_front(10)


def test_bad_dimensions() -> None:
    with pytest.raises(Exception, match="dim > num_objectives"):
        DTLZ2(dim=2, num_objectives=2)
    with pytest.raises(Exception, match="dim >= 2"):
        ZDT1(dim=1)


def test_core_plugin_registers_benchmark_objectives() -> None:
    from gendesign.core.plugins import PluginSystem

    system = PluginSystem(entry_points=False)
    owners = {e.name: e.plugin for e in system.objectives}
    for name in ("ehrlich", "branin_currin", "dtlz2", "zdt1", "zdt2", "zdt3"):
        assert owners[name] == "gendesign.plugins.core_parts"
    built = system.objectives.build("zdt2", {"dim": 3})
    assert isinstance(built, ZDT2) and built.dim == 3
    ehrlich = system.objectives.build("ehrlich", {"length": 16, "num_motifs": 2, "motif_length": 2, "objectives": "motifs"})
    assert len(ehrlich.specs) == 2
