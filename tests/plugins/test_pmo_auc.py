"""PMO's AUC of the top-K mean on call traces whose areas are computed by hand."""

from __future__ import annotations

import pytest

from gendesign.core.errors import ConfigError
from gendesign.plugins.molecules.pmo_auc import first_occurrences, pmo_auc, top_k_curve


def test_top_k_curve_means_the_k_best_so_far_and_all_of_them_below_k() -> None:
    values = [0.2, 0.5, 0.1, 0.9, 0.4]
    # c=1: mean of [0.2]; c=3: best two of [0.2, 0.5, 0.1]; c=5: best two of all.
    assert top_k_curve(values, 2, [1, 3, 5]) == pytest.approx([0.2, 0.35, 0.7])


def test_full_trace_is_the_trapezoid_over_readings_starting_from_zero() -> None:
    # budget 4, readings every 2 calls: m_1(2) = 0.5, m_1(4) = 0.9.
    # area = 2 (0 + 0.5) / 2 + 2 (0.5 + 0.9) / 2 = 0.5 + 1.4 = 1.9, over 4 calls.
    assert pmo_auc([0.2, 0.5, 0.1, 0.9], top_k=1, budget=4, log_every=2) == pytest.approx(1.9 / 4)


def test_early_stop_carries_the_last_reading_forward_to_the_budget() -> None:
    # The same four calls under a budget of 6: the reading 0.9 at call 4 holds for calls 4..6.
    assert pmo_auc([0.2, 0.5, 0.1, 0.9], top_k=1, budget=6, log_every=2) == pytest.approx((1.9 + 2 * 0.9) / 6)


def test_a_final_partial_period_is_read_at_the_last_call() -> None:
    # Readings at 2 (m=0.5) and at the last call 3 (m=0.5), then carried to 4.
    # area = 2 (0 + 0.5) / 2 + 1 (0.5 + 0.5) / 2 + 1 * 0.5 = 0.5 + 0.5 + 0.5.
    assert pmo_auc([0.2, 0.5, 0.1], top_k=1, budget=4, log_every=2) == pytest.approx(1.5 / 4)


def test_top_k_mean_uses_all_values_while_fewer_than_k() -> None:
    # K = 3, readings every 2 of 4 calls: m(2) = (1 + 0) / 2 = 0.5, m(4) = (1 + 1 + 0.5) / 3.
    m4 = 2.5 / 3
    expected = (2 * 0.5 / 2 + 2 * (0.5 + m4) / 2) / 4
    assert pmo_auc([1.0, 0.0, 0.5, 1.0], top_k=3, budget=4, log_every=2) == pytest.approx(expected)


def test_duplicates_are_free_and_do_not_enter_the_trace() -> None:
    keys = ["CCO", "CCN", "CCO", "CCC", "CCN", "CCCl"]
    values = [0.1, 0.3, 0.1, 0.6, 0.3, 0.2]
    trace = first_occurrences(keys, values)
    assert trace == [0.1, 0.3, 0.6, 0.2]
    # Four distinct calls, budget 4, readings every 2: m_1(2) = 0.3, m_1(4) = 0.6.
    assert pmo_auc(trace, top_k=1, budget=4, log_every=2) == pytest.approx((2 * 0.3 / 2 + 2 * 0.9 / 2) / 4)


def test_calls_past_the_budget_are_ignored() -> None:
    assert pmo_auc([0.2, 0.5, 0.1, 0.9, 1.0, 1.0], top_k=1, budget=4, log_every=2) == pytest.approx(1.9 / 4)


def test_an_optimum_at_the_first_call_scores_one_minus_half_a_period() -> None:
    # PMO's protocol starts the curve at 0, so even a perfect run loses the first half period.
    assert pmo_auc([1.0] * 10_000, top_k=10) == pytest.approx(1.0 - 100 / (2 * 10_000))
    assert pmo_auc([1.0], top_k=1) == pytest.approx(1.0 - 1 / (2 * 10_000))


def test_empty_trace_and_bad_arguments() -> None:
    assert pmo_auc([], top_k=10) == 0.0
    with pytest.raises(ConfigError, match="top_k"):
        pmo_auc([0.5], top_k=0)
    with pytest.raises(ConfigError, match="budget"):
        pmo_auc([0.5], top_k=1, budget=0)


@pytest.mark.parametrize("n", [1, 99, 100, 250, 1000])
def test_matches_a_brute_force_reference_on_random_traces(n: int) -> None:
    import numpy as np

    values = np.random.default_rng(n).random(n).tolist()
    for k in (1, 10, 100):
        readings = [*range(100, n, 100), n]
        curve = [float(np.mean(sorted(values[:c], reverse=True)[:k])) for c in readings]
        area = sum((c - b) * (m + a) / 2 for (b, a), (c, m) in zip([(0, 0.0), *zip(readings, curve)], zip(readings, curve)))
        area += (1000 - n) * curve[-1]
        assert pmo_auc(values, top_k=k, budget=1000) == pytest.approx(area / 1000)
