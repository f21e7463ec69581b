"""STARC distance and rank agreement: invariances, metric axioms, closed forms, brute force, and the CLI."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from gendesign.core.errors import ConfigError
from gendesign.objectives.starc import canonicalize, compare_rewards, standardize, starc_distance, top_k_overlap


def _rewards(rng: np.random.Generator, n: int = 12) -> np.ndarray:
    return rng.normal(size=n)


def test_positive_scale_and_per_context_shift_leave_the_distance_at_zero():
    rng = np.random.default_rng(0)
    contexts = np.repeat([0, 1, 2], 4)
    for _ in range(20):
        r = _rewards(rng)
        a = rng.uniform(0.01, 100.0)
        shift = rng.normal(size=3)[contexts] * 50
        assert starc_distance(r, a * r + shift, contexts) == pytest.approx(0.0, abs=1e-9)
    # A per-context shift is not invisible when all designs are one context: the global mean cannot absorb it.
    r = _rewards(rng)
    assert starc_distance(r, r + np.array([0.0, 5.0])[np.repeat([0, 1], 6)]) > 0.1


def test_negation_is_at_distance_two_and_degenerate_rewards_at_one():
    rng = np.random.default_rng(1)
    contexts = ["p", "q"] * 6
    r = _rewards(rng)
    assert starc_distance(r, -r, contexts) == pytest.approx(2.0)
    assert starc_distance(r, -3 * r + 7) == pytest.approx(2.0)
    constant = np.full(12, 0.1)
    assert np.all(standardize(constant) == 0.0)
    assert starc_distance(constant, r) == pytest.approx(1.0)
    assert starc_distance(constant, 2 * constant + 1) == 0.0
    per_context = np.array([1.0, 4.0] * 6)
    assert starc_distance(per_context, r, contexts) == pytest.approx(1.0)


def test_symmetry_range_and_triangle_inequality_on_random_triples():
    rng = np.random.default_rng(2)
    for trial in range(200):
        n = int(rng.integers(2, 15))
        contexts = rng.integers(0, 3, size=n) if trial % 2 else None
        x, y, z = (rng.normal(size=n) for _ in range(3))
        dxy, dyz, dxz = starc_distance(x, y, contexts), starc_distance(y, z, contexts), starc_distance(x, z, contexts)
        assert dxy == pytest.approx(starc_distance(y, x, contexts), abs=1e-12)
        assert 0.0 <= dxy <= 2.0
        assert dxz <= dxy + dyz + 1e-12


def test_a_hand_computed_example_and_the_correlation_identity():
    # Contexts {0,1} and {2,3}: a centres to [-1, 1, -2, 2] (norm sqrt(10)), b to [1, -1, -1, 1] (norm 2).
    a, b, ctx = [1.0, 3.0, 0.0, 4.0], [5.0, 3.0, 1.0, 3.0], ["x", "x", "y", "y"]
    assert canonicalize(a, ctx).tolist() == [-1.0, 1.0, -2.0, 2.0]
    sa = np.array([-1, 1, -2, 2]) / math.sqrt(10)
    sb = np.array([1, -1, -1, 1]) / 2
    assert starc_distance(a, b, ctx) == pytest.approx(float(np.linalg.norm(sa - sb)))
    rho = float(sa @ sb)  # = 2 / (2 sqrt(10))
    assert rho == pytest.approx(1 / math.sqrt(10))
    assert starc_distance(a, b, ctx) == pytest.approx(math.sqrt(2 * (1 - rho)))


def test_top_k_overlap_matches_brute_force_over_subsets():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(1, 9))
        a, b = rng.permutation(n).astype(float), rng.normal(size=n)
        for k in range(1, n + 1):
            # brute force: the k-subset with the largest sum is the top-k set (distinct values)
            best = [max(itertools.combinations(range(n), k), key=lambda s, v=v: sum(v[i] for i in s)) for v in (a, b)]
            assert top_k_overlap(a, b, k) == len(set(best[0]) & set(best[1])) / k
    assert top_k_overlap([1.0, 1.0, 0.0], [0.0, 1.0, 1.0], 1) == 0.0  # ties go to the earlier design
    assert top_k_overlap([3.0, 2.0], [2.0, 3.0], 10) == 1.0


def test_compare_rewards_reports_correlations_and_rejects_bad_input():
    r = np.arange(8, dtype=float) ** 2
    same = compare_rewards(r, 2 * r + 1, top_k=3)
    assert [same.distance, same.spearman, same.kendall, same.top_k_overlap] == pytest.approx([0.0, 1.0, 1.0, 1.0])
    assert (same.k, same.n, same.contexts) == (3, 8, 1)
    flipped = compare_rewards(r, -r, top_k=3)
    assert [flipped.distance, flipped.spearman, flipped.kendall, flipped.top_k_overlap] == pytest.approx([2.0, -1.0, -1.0, 0.0])
    assert compare_rewards(r, np.ones(8)).to_dict()["spearman"] is None
    with pytest.raises(ConfigError, match="not finite"):
        starc_distance([1.0, math.nan], [1.0, 2.0])
    with pytest.raises(ConfigError, match="score the same designs"):
        starc_distance([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ConfigError, match="one context label per design"):
        starc_distance([1.0, 2.0], [1.0, 2.0], ["a"])
