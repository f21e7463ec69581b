"""Pareto maths against brute force, closed forms and an independent hypervolume algorithm."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gendesign.core.errors import ConfigError
from gendesign.core.objective import ObjectiveSpec, canonical_values
from gendesign.core.pareto import (
    ParetoArchive,
    crowding_distance,
    dominates,
    dominates_mixed,
    hypervolume,
    hypervolume_contributions,
    igd,
    igd_plus,
    non_dominated_sort,
    nsga2_rank,
    pareto_mask,
    reference_point,
)

NAN = math.nan


def _grid_points(k: int, max_n: int = 12, hi: int = 4) -> st.SearchStrategy[torch.Tensor]:
    """Small integer-valued point sets: many ties and duplicates, the cases that break dominance code."""
    row = st.lists(st.integers(0, hi), min_size=k, max_size=k)
    return st.lists(row, min_size=0, max_size=max_n).map(lambda rows: torch.tensor(rows, dtype=torch.float32).reshape(-1, k))


def _brute_dominates(a: list[float], b: list[float]) -> bool:
    return all(x >= y for x, y in zip(a, b)) and any(x > y for x, y in zip(a, b))


def _brute_front(rows: list[list[float]], alive: list[int]) -> list[int]:
    return [i for i in alive if not any(_brute_dominates(rows[j], rows[i]) for j in alive if j != i)]


def _grid_hv(Y: torch.Tensor, hi: int) -> int:
    """Exact HV w.r.t. ref 0 of integer points in [0, hi]^K: count unit cells ``[c, c+1]`` under some point."""
    k = Y.shape[1]
    count = 0
    for cell in itertools.product(range(hi), repeat=k):
        top = torch.tensor(cell, dtype=torch.float32) + 1
        if bool((Y >= top).all(dim=-1).any()):
            count += 1
    return count


# ----- dominance -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(_grid_points(3))
def test_dominates_matches_pairwise_loop(Y):
    rows = Y.tolist()
    D = dominates(Y.unsqueeze(1), Y.unsqueeze(0))
    for i, j in itertools.product(range(len(rows)), repeat=2):
        assert bool(D[i, j]) == _brute_dominates(rows[i], rows[j])


def test_dominates_ties_and_nan():
    a = torch.tensor([1.0, 2.0])
    assert not bool(dominates(a, a)), "a point must not dominate itself"
    assert bool(dominates(a, torch.tensor([1.0, 1.0])))
    assert not bool(dominates(torch.tensor([1.0, 1.0]), a))
    assert not bool(dominates(torch.tensor([NAN, 3.0]), torch.tensor([0.0, 0.0])))
    assert not bool(dominates(torch.tensor([3.0, 3.0]), torch.tensor([NAN, 0.0])))
    with pytest.raises(ConfigError, match="same K"):
        dominates(torch.zeros(2), torch.zeros(3))


@settings(max_examples=40, deadline=None)
@given(_grid_points(3), st.lists(st.sampled_from(["max", "min"]), min_size=3, max_size=3))
def test_dominates_mixed_equals_flipped_canonical(Y, directions):
    specs = [ObjectiveSpec(name=f"y{i}", direction=d) for i, d in enumerate(directions)]
    C = canonical_values(Y, specs)
    mixed = dominates_mixed(Y.unsqueeze(1), Y.unsqueeze(0), directions)
    assert torch.equal(mixed, dominates(C.unsqueeze(1), C.unsqueeze(0)))
    rows = Y.tolist()
    for i, j in itertools.product(range(len(rows)), repeat=2):
        a = [v if d == "max" else -v for v, d in zip(rows[i], directions)]
        b = [v if d == "max" else -v for v, d in zip(rows[j], directions)]
        assert bool(mixed[i, j]) == _brute_dominates(a, b)


def test_dominates_mixed_rejects_bad_directions():
    with pytest.raises(ConfigError, match="maximize"):
        dominates_mixed(torch.zeros(2), torch.zeros(2), ["max", "maximize"])
    with pytest.raises(ConfigError, match="2 directions"):
        dominates_mixed(torch.zeros(3), torch.zeros(3), ["max", "min"])


# ----- fronts ----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(_grid_points(2), _grid_points(3))
def test_pareto_mask_matches_brute_force(Y2, Y3):
    for Y in (Y2, Y3):
        rows = Y.tolist()
        expected = set(_brute_front(rows, list(range(len(rows)))))
        got = set(torch.nonzero(pareto_mask(Y)).flatten().tolist())
        assert got == expected


def test_pareto_mask_keeps_duplicates_and_drops_nan():
    Y = torch.tensor([[1.0, 2.0], [2.0, 1.0], [1.0, 2.0], [NAN, 9.0], [0.0, 0.0], [9.0, NAN]])
    assert pareto_mask(Y).tolist() == [True, True, True, False, False, False]
    assert pareto_mask(torch.empty(0, 3)).shape == (0,)


@pytest.mark.parametrize(("k", "matrix_max_rows"), [(2, 1500), (3, 1500), (4, 10_000), (4, 10)])
def test_pareto_mask_and_sort_match_full_pairwise_matrix_and_ignore_row_order(monkeypatch, k, matrix_max_rows):
    import gendesign.core.pareto_sweeps as sweeps

    monkeypatch.setattr(sweeps, "_RANK_MATRIX_ROWS", matrix_max_rows)
    g = torch.Generator().manual_seed(0)
    Y = torch.randint(0, 8, (300, k), generator=g).float()
    D = dominates(Y.unsqueeze(1), Y.unsqueeze(0))
    assert torch.equal(pareto_mask(Y), ~D.any(dim=0))
    counts, alive, expected = D.sum(dim=0), torch.ones(300, dtype=torch.bool), []
    while bool(alive.any()):
        front = alive & (counts == 0)
        expected.append(torch.nonzero(front).flatten().tolist())
        counts = counts - D[front].sum(dim=0)
        alive &= ~front
    assert [f.tolist() for f in non_dominated_sort(Y)] == expected
    perm = torch.randperm(300, generator=g)
    assert torch.equal(pareto_mask(Y[perm]), pareto_mask(Y)[perm])


@settings(max_examples=50, deadline=None)
@given(_grid_points(3, max_n=14))
def test_non_dominated_sort_matches_repeated_brute_front(Y):
    rows = Y.tolist()
    alive = list(range(len(rows)))
    expected = []
    while alive:
        front = _brute_front(rows, alive)
        expected.append(front)
        alive = [i for i in alive if i not in front]
    got = [f.tolist() for f in non_dominated_sort(Y)]
    assert got == expected


def test_non_dominated_sort_puts_nan_rows_last_and_partitions():
    Y = torch.tensor([[NAN, 1.0], [0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [0.0, NAN]])
    fronts = non_dominated_sort(Y)
    assert [f.tolist() for f in fronts] == [[2, 3], [1], [0, 4]]
    rank, crowd = nsga2_rank(Y)
    assert rank.tolist() == [2, 1, 0, 0, 2]
    assert crowd[0] == 0 and crowd[4] == 0
    assert non_dominated_sort(torch.empty(0, 2)) == []


def test_crowding_distance_hand_computed():
    # Column 0 range 4, column 1 range 8.
    Y = torch.tensor([[0.0, 8.0], [1.0, 6.0], [3.0, 2.0], [4.0, 0.0]])
    cd = crowding_distance(Y)
    assert math.isinf(cd[0]) and math.isinf(cd[3])
    assert cd[1].item() == pytest.approx((3 - 0) / 4 + (8 - 2) / 8)
    assert cd[2].item() == pytest.approx((4 - 1) / 4 + (6 - 0) / 8)
    # Row order must not matter.
    perm = torch.tensor([2, 0, 3, 1])
    assert torch.equal(crowding_distance(Y[perm]), cd[perm])


def test_crowding_distance_small_sets_and_constant_columns():
    assert torch.isinf(crowding_distance(torch.tensor([[1.0, 2.0], [2.0, 1.0]]))).all()
    Y = torch.tensor([[0.0, 5.0], [1.0, 5.0], [3.0, 5.0]])
    cd = crowding_distance(Y)
    assert math.isinf(cd[0]) and math.isinf(cd[2])
    assert cd[1].item() == pytest.approx(3 / 3), "a zero-range column must add nothing, not NaN"


def test_nsga2_rank_crowding_is_within_front():
    Y = torch.tensor([[0.0, 3.0], [1.0, 2.0], [3.0, 0.0], [0.0, 2.0], [1.0, 1.0], [2.0, 0.0]])
    rank, crowd = nsga2_rank(Y)
    assert rank.tolist() == [0, 0, 0, 1, 1, 1]
    assert crowd[1].item() == pytest.approx(3 / 3 + 3 / 3)
    assert crowd[4].item() == pytest.approx(2 / 2 + 2 / 2)


# ----- hypervolume -----------------------------------------------------------------------------


def test_hypervolume_closed_forms():
    assert hypervolume(torch.tensor([[1.0, 1.0]]), [0.0, 0.0]) == pytest.approx(1.0)
    assert hypervolume(torch.tensor([[1.0, 2.0], [2.0, 1.0]]), [0.0, 0.0]) == pytest.approx(3.0)
    assert hypervolume(torch.tensor([[1.0, 2.0, 3.0]]), [0.0, 0.0, 0.0]) == pytest.approx(6.0)
    assert hypervolume(torch.tensor([[2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]]), [0, 0, 0]) == pytest.approx(4.0)
    assert hypervolume(torch.tensor([[0.5], [3.0], [NAN]]), [1.0]) == pytest.approx(2.0)
    assert hypervolume(torch.tensor([[0.5], [0.2]]), [1.0]) == 0.0
    assert hypervolume(torch.empty(0, 2), [0.0, 0.0]) == 0.0


def test_hypervolume_ignores_points_not_strictly_better_than_ref():
    ref = [0.0, 0.0]
    base = torch.tensor([[1.0, 1.0]])
    for extra in ([5.0, 0.0], [0.0, 5.0], [-1.0, 9.0], [NAN, 9.0]):
        Y = torch.cat([base, torch.tensor([extra])])
        assert hypervolume(Y, ref) == pytest.approx(1.0), extra
    with pytest.raises(ConfigError, match="ref_point has 3"):
        hypervolume(base, [0.0, 0.0, 0.0])


@settings(max_examples=40, deadline=None)
@given(_grid_points(2, hi=5), _grid_points(3, max_n=8, hi=3))
def test_hypervolume_equals_grid_count(Y2, Y3):
    assert hypervolume(Y2, [0.0, 0.0]) == pytest.approx(_grid_hv(Y2, 5))
    assert hypervolume(Y3, [0.0, 0.0, 0.0]) == pytest.approx(_grid_hv(Y3, 3))


def test_hypervolume_matches_independent_hso_on_random_sets():
    from botorch.utils.multi_objective.hypervolume import Hypervolume

    g = torch.Generator().manual_seed(1)
    for k in (2, 3, 4):
        Y = torch.rand(25, k, generator=g, dtype=torch.float64)
        Y = Y / Y.norm(dim=-1, keepdim=True)
        ref = torch.full((k,), 0.1, dtype=torch.float64)
        front = Y[pareto_mask(Y) & (Y > ref).all(-1)]
        assert hypervolume(Y, ref) == pytest.approx(Hypervolume(ref).compute(front), rel=1e-9)


def test_hypervolume_matches_monte_carlo_in_3d():
    g = torch.Generator().manual_seed(2)
    Y = torch.rand(10, 3, generator=g, dtype=torch.float64)
    samples = torch.rand(200_000, 3, generator=g, dtype=torch.float64)
    covered = (Y.unsqueeze(0) >= samples.unsqueeze(1)).all(-1).any(-1).double().mean().item()
    assert hypervolume(Y, [0.0, 0.0, 0.0]) == pytest.approx(covered, abs=4 * math.sqrt(0.25 / 200_000))


@settings(max_examples=40, deadline=None)
@given(_grid_points(3, max_n=10), st.lists(st.integers(0, 4), min_size=3, max_size=3))
def test_hypervolume_monotone_and_unchanged_by_dominated_points(Y, new):
    ref = [0.0, 0.0, 0.0]
    before = hypervolume(Y, ref)
    point = torch.tensor([new], dtype=torch.float32)
    after = hypervolume(torch.cat([Y, point]), ref)
    assert after >= before - 1e-12
    if Y.shape[0]:
        below = (Y[:1] - 1.0).clamp_min(0.0)
        assert hypervolume(torch.cat([Y, below]), ref) == pytest.approx(before)


def test_min_direction_equivalence():
    g = torch.Generator().manual_seed(3)
    Y = torch.rand(30, 2, generator=g)
    specs_min = [ObjectiveSpec("a", "min", bounds=(0.0, 1.0)), ObjectiveSpec("b", "min", bounds=(0.0, 1.0))]
    specs_max = [ObjectiveSpec("a", "max", bounds=(-1.0, 0.0)), ObjectiveSpec("b", "max", bounds=(-1.0, 0.0))]
    C_min = canonical_values(Y, specs_min)
    C_max = canonical_values(-Y, specs_max)
    assert torch.equal(C_min, C_max)
    assert torch.equal(reference_point(specs_min), reference_point(specs_max))
    assert torch.equal(pareto_mask(C_min), pareto_mask(C_max))
    assert hypervolume(C_min, reference_point(specs_min)) == pytest.approx(hypervolume(C_max, reference_point(specs_max)))
    # In raw minimisation terms the front is the lower-left staircase.
    expected = [i for i in range(30) if not any(bool((Y[j] <= Y[i]).all() and (Y[j] < Y[i]).any()) for j in range(30))]
    assert torch.nonzero(pareto_mask(C_min)).flatten().tolist() == expected


@settings(max_examples=30, deadline=None)
@given(_grid_points(2, hi=6), _grid_points(3, max_n=8, hi=4))
def test_hypervolume_contributions_match_leave_one_out(Y2, Y3):
    for Y in (Y2, Y3):
        ref = [0.0] * Y.shape[1]
        total = hypervolume(Y, ref)
        contrib = hypervolume_contributions(Y, ref)
        for i in range(Y.shape[0]):
            rest = torch.cat([Y[:i], Y[i + 1 :]])
            assert contrib[i].item() == pytest.approx(total - hypervolume(rest, ref), abs=1e-9)


def test_hypervolume_contributions_closed_form_2d():
    Y = torch.tensor([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [1.0, 1.0], [2.0, 2.0]])
    c = hypervolume_contributions(Y, [0.0, 0.0])
    assert c.tolist() == [1.0, 0.0, 1.0, 0.0, 0.0]
    c = hypervolume_contributions(Y[:3], [0.0, 0.0])
    assert c.tolist() == [1.0, 1.0, 1.0]


# ----- reference point -------------------------------------------------------------------------


def test_reference_point_from_bounds_uses_worst_canonical_bound():
    specs = [ObjectiveSpec("a", "max", bounds=(-2.0, 5.0)), ObjectiveSpec("b", "min", bounds=(1.0, 3.0))]
    ref = reference_point(specs, torch.tensor([[100.0, -100.0]]))
    assert ref.tolist() == [-2.0, -3.0], "bounds fix the point; data must not move it"


def test_reference_point_from_data_is_nadir_minus_ten_percent_of_range():
    specs = [ObjectiveSpec("a", "max"), ObjectiveSpec("b", "min", bounds=(0.0, 10.0))]
    Y = torch.tensor([[1.0, 2.0], [3.0, 6.0], [0.0, 9.0], [NAN, 0.0]])
    # Canonical: (1,-2) (3,-6) (0,-9 dominated by (1,-2)); front nadir (1,-6), ideal (3,-2).
    ref = reference_point(specs, Y)
    assert ref.tolist() == pytest.approx([1.0 - 0.2, -6.0 - 0.4])
    single = reference_point([ObjectiveSpec("a"), ObjectiveSpec("b")], torch.tensor([[4.0, 0.5]]))
    assert single.tolist() == pytest.approx([4.0 - 0.4, 0.5 - 0.1])
    with pytest.raises(ConfigError, match=r"\['a'\]"):
        reference_point([ObjectiveSpec("a"), ObjectiveSpec("b", bounds=(0, 1))])
    with pytest.raises(ConfigError, match="no valid"):
        reference_point([ObjectiveSpec("a")], torch.tensor([[NAN]]))


# ----- IGD -------------------------------------------------------------------------------------


def test_igd_and_igd_plus_closed_forms():
    Y = torch.tensor([[0.0, 0.0], [NAN, 5.0]])
    Z = torch.tensor([[3.0, 4.0], [0.0, 1.0]])
    assert igd(Y, Z) == pytest.approx((5.0 + 1.0) / 2)
    assert igd(Z, Z) == 0.0
    assert igd_plus(torch.tensor([[2.0, 0.0]]), torch.tensor([[1.0, 1.0]])) == pytest.approx(1.0)
    assert igd(torch.tensor([[2.0, 0.0]]), torch.tensor([[1.0, 1.0]])) == pytest.approx(math.sqrt(2))
    assert igd_plus(torch.tensor([[5.0, 5.0]]), Z) == 0.0, "points beyond the front are not penalised by IGD+"
    assert math.isinf(igd(torch.tensor([[NAN, NAN]]), Z))


# ----- archive ---------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    st.lists(_grid_points(2, max_n=6, hi=8), min_size=1, max_size=5),
    st.integers(1, 6),
    st.sampled_from(["crowding", "hypervolume"]),
)
def test_archive_invariants_under_random_insertions(batches, capacity, prune):
    archive = ParetoArchive(2, capacity=capacity, prune=prune, ref_point=[-1.0, -1.0])
    counter = itertools.count()
    inserted = []
    for Y in batches:
        keys = [next(counter) for _ in range(Y.shape[0])]
        accepted = archive.add(Y, keys)
        inserted.append(Y)
        assert accepted.shape == (Y.shape[0],)
        V = archive.values
        assert len(archive) <= capacity
        assert len(set(archive.keys)) == len(archive)
        assert bool(pareto_mask(V).all()), "archive must stay mutually non-dominated"
        assert set(k for k, a in zip(keys, accepted.tolist()) if a) <= set(archive.keys)
        everything = torch.cat(inserted)
        if everything.shape[0] <= capacity:
            # Nothing was ever pruned, so the archive is exactly the front of everything inserted
            # (once rows are pruned, a later point may be dominated only by a forgotten one).
            assert sorted(archive.keys) == torch.nonzero(pareto_mask(everything)).flatten().tolist()


def test_archive_without_pruning_equals_global_front():
    g = torch.Generator().manual_seed(4)
    Y = torch.rand(60, 3, generator=g)
    archive = ParetoArchive(3, capacity=1000)
    for start in range(0, 60, 7):
        archive.add(Y[start : start + 7], list(range(start, min(start + 7, 60))))
    assert sorted(archive.keys) == torch.nonzero(pareto_mask(Y)).flatten().tolist()


def test_archive_pruning_keeps_extremes_and_drops_crowded_or_small_contributors():
    Y = torch.tensor([[0.0, 10.0], [1.0, 8.9], [1.1, 8.8], [5.0, 5.0], [10.0, 0.0]])
    crowd = ParetoArchive(2, capacity=4, prune="crowding")
    crowd.add(Y, ["a", "b", "c", "d", "e"])
    assert "a" in crowd.keys and "e" in crowd.keys and "d" in crowd.keys
    assert len({"b", "c"} & set(crowd.keys)) == 1
    hv = ParetoArchive(2, capacity=4, prune="hypervolume", ref_point=[-1.0, -1.0])
    accepted = hv.add(Y, ["a", "b", "c", "d", "e"])
    contrib = hypervolume_contributions(Y, [-1.0, -1.0])
    worst = ["a", "b", "c", "d", "e"][int(torch.argmin(contrib))]
    assert worst not in hv.keys and len(hv) == 4
    assert accepted.tolist() == [k != worst for k in "abcde"]


def test_archive_skips_duplicate_keys_nan_and_dominated():
    archive = ParetoArchive(2, capacity=10)
    archive.add(torch.tensor([[1.0, 1.0]]), ["x"])
    accepted = archive.add(torch.tensor([[5.0, 5.0], [NAN, 9.0], [0.0, 0.0], [2.0, 0.5]]), ["x", "n", "d", "y"])
    assert accepted.tolist() == [False, False, False, True]
    assert archive.keys == ["x", "y"]
    accepted = archive.add(torch.tensor([[3.0, 3.0]]), ["z"])
    assert accepted.tolist() == [True] and archive.keys == ["z"]


def test_archive_state_dict_round_trip():
    g = torch.Generator().manual_seed(5)
    a = ParetoArchive(3, capacity=5, prune="crowding")
    a.add(torch.rand(40, 3, generator=g), [f"k{i}" for i in range(40)])
    b = ParetoArchive(3)
    b.load_state_dict(a.state_dict())
    assert b.keys == a.keys and torch.equal(b.values, a.values) and b.capacity == 5
    more = torch.rand(10, 3, generator=g)
    assert torch.equal(a.add(more, list(range(10))), b.add(more, list(range(10))))
    assert b.keys == a.keys
    with pytest.raises(ConfigError, match="K=3"):
        ParetoArchive(2).load_state_dict(a.state_dict())


def test_archive_config_errors():
    with pytest.raises(ConfigError, match="ref_point"):
        ParetoArchive(2, prune="hypervolume")
    with pytest.raises(ConfigError, match="capacity=0"):
        ParetoArchive(2, capacity=0)
    assert ParetoArchive(2, ref_point=[0.0, 0.0]).prune == "hypervolume"
    assert ParetoArchive(3, ref_point=[0.0, 0.0, 0.0]).prune == "crowding"


def test_docs_pareto_examples_run():
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "pareto.md"
    examples = re.findall(r"```python\n(.*?)```", doc.read_text(), re.S)
    assert len(examples) == 2
    for example in examples:
        assert example.count("assert ") >= 2, "each docs example must check its own results"
        exec(compile(example, str(doc), "exec"), {"__name__": "docs_example"})


def test_archive_rejects_a_batch_it_dominates_and_stays_unchanged():
    archive = ParetoArchive(2, capacity=4)
    archive.add(torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64), ["a", "b"])
    accepted = archive.add(torch.tensor([[0.5, 0.0], [0.0, 0.5], [0.9, 0.0]], dtype=torch.float64), ["c", "d", "e"])
    assert accepted.tolist() == [False, False, False]
    assert archive.keys == ["a", "b"]
    accepted = archive.add(torch.tensor([[0.5, 0.0], [0.6, 0.6]], dtype=torch.float64), ["f", "g"])
    assert accepted.tolist() == [False, True]
    assert sorted(archive.keys) == ["a", "b", "g"]


# ----- ParetoFront -----------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.lists(_grid_points(3, max_n=10), min_size=1, max_size=6))
def test_pareto_front_equals_batch_front_and_hypervolume(batches):
    from gendesign.core.pareto import ParetoFront

    tracker = ParetoFront(3)
    seen = torch.empty(0, 3)
    for batch in batches:
        tracker.add(batch)
        seen = torch.cat([seen, batch])
        expected = torch.unique(seen[pareto_mask(seen)].double(), dim=0)
        assert torch.equal(tracker.values, expected)
        assert tracker.hypervolume([0.0, 0.0, 0.0]) == hypervolume(seen, [0.0, 0.0, 0.0])
        assert tracker.hypervolume([1.0, 0.0, 0.0]) == hypervolume(seen, [1.0, 0.0, 0.0])


def test_pareto_front_merges_a_long_queue_and_ignores_nan(monkeypatch):
    import gendesign.core.pareto as pareto

    monkeypatch.setattr(pareto, "_QUEUE_ROWS", 4)
    tracker = pareto.ParetoFront(2)
    t = torch.linspace(0, 1, 4, dtype=torch.float64)
    tracker.add(torch.stack([t, 1 - t], -1))
    assert tracker._queued_rows == 4
    tracker.add(torch.tensor([[0.1, 0.1], [NAN, 5.0]]))
    assert tracker._queued_rows == 0 and tracker._front.shape == (4, 2)
    assert tracker.hypervolume([0.0, 0.0]) == pytest.approx(hypervolume(torch.stack([t, 1 - t], -1), [0.0, 0.0]))
    with pytest.raises(ConfigError, match="K=3"):
        tracker.add(torch.zeros(1, 3))
