"""The fast sweeps of ``core.pareto`` against the original implementations in ``core.pareto_reference``.

Fronts with duplicates, ties in one coordinate, rows outside the reference box and NaN rows, for
K = 1..5 and N from 0 to a few hundred (past every size threshold of the sweeps), plus closed forms.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gendesign.core.pareto_sweeps as sweeps
from gendesign.core.pareto import hypervolume, hypervolume_contributions, non_dominated_sort, pareto_mask
from gendesign.core.pareto_reference import (
    hypervolume_contributions_reference,
    hypervolume_reference,
    non_dominated_sort_reference,
    pareto_mask_reference,
)

REL = 1e-12


@pytest.fixture(autouse=True, params=["python", "moocore"])
def backend(request, monkeypatch):
    """Every check runs on the kernels written here and on moocore (when installed)."""
    if request.param == "moocore":
        pytest.importorskip("moocore")
    monkeypatch.setenv("GENDESIGN_PARETO_BACKEND", request.param)
    return request.param


def _front_like(n: int, k: int, seed: int, *, ties: bool, duplicates: bool, nan: bool) -> torch.Tensor:
    """Points on the positive unit sphere scaled into [0.5, 1] (many on the front), some of them
    snapped to a shared value in column 0, copied, or set to NaN; a tenth lie below the reference 0.1."""
    g = torch.Generator().manual_seed(seed)
    Y = torch.randn(n, k, generator=g, dtype=torch.float64).abs()
    Y = Y / Y.norm(dim=-1, keepdim=True).clamp_min(1e-12) * (0.5 + 0.5 * torch.rand(n, 1, generator=g, dtype=torch.float64))
    if n >= 4:
        if ties:
            Y[::3, 0] = Y[0, 0]
        if duplicates:
            Y[1::4] = Y[: len(range(1, n, 4))]
        Y[::10, -1] = 0.05
        if nan:
            Y[2, 0] = math.nan
    return Y


def _assert_same(Y: torch.Tensor, ref: list[float]) -> None:
    assert torch.equal(pareto_mask(Y), pareto_mask_reference(Y))
    assert [f.tolist() for f in non_dominated_sort(Y)] == [f.tolist() for f in non_dominated_sort_reference(Y)]
    expected = hypervolume_reference(Y, ref)
    assert hypervolume(Y, ref) == pytest.approx(expected, rel=REL, abs=1e-300)
    contrib = hypervolume_contributions(Y, ref)
    expected_c = hypervolume_contributions_reference(Y, ref)
    assert contrib.dtype == torch.float64
    assert torch.allclose(contrib, expected_c, rtol=REL, atol=REL * max(expected, 1e-300))


@pytest.mark.parametrize(
    ("k", "sizes"),
    [(1, [0, 1, 7, 60]), (2, [0, 1, 2, 30, 120, 400]), (3, [1, 2, 30, 100, 300]), (4, [2, 40, 120]), (5, [3, 40])],
)
@pytest.mark.parametrize("variant", [0, 1, 2])
def test_fast_equals_reference_on_random_fronts(k, sizes, variant):
    for n in sizes:
        Y = _front_like(n, k, seed=100 * k + n + variant, ties=variant != 1, duplicates=variant != 2, nan=variant == 2)
        _assert_same(Y, [0.1] * k)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda k: st.tuples(
            st.just(k),
            st.lists(st.lists(st.integers(-1, 4), min_size=k, max_size=k), min_size=0, max_size=70 if k <= 3 else 25),
        )
    )
)
def test_fast_equals_reference_on_integer_grids(case):
    """Small integers: ties in every column, exact duplicates, rows on and below the reference 0."""
    k, rows = case
    Y = torch.tensor(rows, dtype=torch.float32).reshape(-1, k)
    _assert_same(Y, [0.0] * k)


def test_kernels_agree_across_size_thresholds(monkeypatch):
    """Each size switch (pairwise/sweep mask, list/matrix/sweep HV3D, matrix/peeled ranks) is exact on either side."""
    Y = _front_like(200, 3, seed=7, ties=True, duplicates=True, nan=False)
    Y4 = _front_like(120, 4, seed=8, ties=True, duplicates=True, nan=False)
    expected = [
        (hypervolume_reference(Y, [0.1] * 3), pareto_mask_reference(Y), [f.tolist() for f in non_dominated_sort_reference(Y4)])
    ]
    for pairwise, hv_list, hv_matrix, ranks in [(0, 0, 0, 0), (10_000, 10_000, 10_000, 10_000), (48, 0, 10_000, 10)]:
        monkeypatch.setattr(sweeps, "_PAIRWISE_ROWS", pairwise)
        monkeypatch.setattr(sweeps, "_HV3D_LIST_ROWS", hv_list)
        monkeypatch.setattr(sweeps, "_HV3D_MATRIX_ROWS", hv_matrix)
        monkeypatch.setattr(sweeps, "_RANK_MATRIX_ROWS", ranks)
        hv, mask, fronts = expected[0]
        assert hypervolume(Y, [0.1] * 3) == pytest.approx(hv, rel=REL)
        assert torch.equal(pareto_mask(Y), mask)
        assert [f.tolist() for f in non_dominated_sort(Y4)] == fronts


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_single_point_is_its_box(k):
    p = torch.tensor([[0.5, 2.0, 1.5, 3.0, 1.25][:k]], dtype=torch.float64)
    box = float(torch.prod(p - 0.25))
    assert hypervolume(p, [0.25] * k) == pytest.approx(box, rel=REL)
    assert hypervolume_contributions(p, [0.25] * k).tolist() == pytest.approx([box], rel=REL)


@pytest.mark.parametrize("n", [1, 5, 300])
def test_staircase_closed_form(n):
    """Points ``(i, n + 1 - i)``, ``i = 1..n``, w.r.t. 0: HV ``= sum_i (n + 1 - i) = n (n + 1) / 2``,
    every contribution 1; lifted to 3-D with a third column ``c`` both scale by ``c``."""
    i = torch.arange(1, n + 1, dtype=torch.float64)
    Y = torch.stack([i, n + 1 - i], dim=-1)
    assert hypervolume(Y, [0.0, 0.0]) == n * (n + 1) / 2
    assert hypervolume_contributions(Y, [0.0, 0.0]).tolist() == [1.0] * n
    Y3 = torch.cat([Y, torch.full((n, 1), 3.0, dtype=torch.float64)], dim=-1)
    assert hypervolume(Y3, [0.0, 0.0, 0.0]) == pytest.approx(3 * n * (n + 1) / 2, rel=REL)
    assert hypervolume_contributions(Y3, [0.0, 0.0, 0.0]).tolist() == pytest.approx([3.0] * n, rel=REL)
    ranks = sweeps.nondominated_ranks(np.concatenate([Y.numpy(), Y.numpy() - 0.5]))
    assert ranks.tolist() == [0] * n + [1] * n


def test_3d_staircase_of_cubes():
    """Seven boxes forming a 3-D staircase on the integer grid; the volume is counted cell by cell."""
    pts = torch.tensor([[4, 1, 1], [1, 4, 1], [1, 1, 4], [3, 3, 1], [3, 1, 3], [1, 3, 3], [2, 2, 2]], dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(*[torch.arange(4) + 0.5] * 3, indexing="ij"), dim=-1).reshape(-1, 3)
    cells = int((pts.unsqueeze(0) >= grid.unsqueeze(1)).all(-1).any(-1).sum())
    assert hypervolume(pts, [0.0, 0.0, 0.0]) == cells
    assert (
        hypervolume_contributions(pts, [0.0, 0.0, 0.0]).tolist()
        == hypervolume_contributions_reference(pts, [0.0, 0.0, 0.0]).tolist()
    )
