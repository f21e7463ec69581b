"""ORPO's χ² occupancy regularisation on a 10-item categorical (issue 14, item 3)."""

from __future__ import annotations

import pytest
import torch

from gendesign.core.objective import FunctionObjective
from gendesign.objectives.chi_squared import ChiSquaredPenalty, chi_squared_estimate, chi_squared_penalized

torch.set_num_threads(1)


def _setup(seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(10, generator=g, dtype=torch.float64)
    ref = torch.softmax(torch.randn(10, generator=g, dtype=torch.float64), 0)
    reward = torch.randn(10, generator=g, dtype=torch.float64)
    return logits, ref, reward


def test_monte_carlo_chi2_matches_the_closed_form():
    logits, ref, _ = _setup()
    p = torch.softmax(logits, 0)
    exact = float((p**2 / ref).sum() - 1)
    g = torch.Generator().manual_seed(1)
    x = torch.multinomial(p, 20000, replacement=True, generator=g)
    log_ratio = torch.log(p[x]) - torch.log(ref[x])
    est = chi_squared_estimate(log_ratio, trim=0.0)
    w = torch.exp(log_ratio)
    se = float(w.std() / len(w) ** 0.5)
    assert abs(float(est) - exact) < 4 * se


@pytest.mark.parametrize("lam", [0.0, 0.3, 2.0])
def test_penalised_reward_policy_gradient_equals_the_autograd_gradient(lam):
    logits, ref, reward = _setup(2)
    theta = logits.clone().requires_grad_(True)
    p = torch.softmax(theta, 0)
    chi2 = (p**2 / ref).sum() - 1
    objective = (p * reward).sum() - lam * chi2.sqrt()
    (autograd,) = torch.autograd.grad(objective, theta)
    with torch.no_grad():
        p = torch.softmax(logits, 0)
        log_ratio = torch.log(p) - torch.log(ref)
        r_pen = chi_squared_penalized(reward, log_ratio, lam, chi2=(p**2 / ref).sum() - 1)
        grad_log_p = torch.eye(10, dtype=torch.float64) - p  # row x: d log p(x) / d logits
        exact_pg = (p.unsqueeze(1) * r_pen.unsqueeze(1) * grad_log_p).sum(0)
    assert torch.allclose(exact_pg, autograd, atol=1e-12)
    if lam > 0:
        wrong_sign = (p.unsqueeze(1) * (2 * reward - r_pen).unsqueeze(1) * grad_log_p).sum(0)
        assert not torch.allclose(wrong_sign, autograd, atol=1e-6)


def test_trim_drops_the_largest_ratios_and_the_wrapper_penalises_off_reference_samples():
    log_ratio = torch.log(torch.tensor([1.0, 1.0, 1.0, 101.0], dtype=torch.float64))
    assert float(chi_squared_estimate(log_ratio, trim=0.25)) == 0.0
    assert float(chi_squared_estimate(log_ratio, trim=0.0)) == pytest.approx(25.0)
    proxy = FunctionObjective(lambda xs: torch.ones(len(xs), dtype=torch.float64), names="r")
    ratios = {0: 0.0, 1: 0.0, 2: 2.0}
    obj = ChiSquaredPenalty(proxy, lambda xs: torch.tensor([ratios[x] for x in xs], dtype=torch.float64), lam=1.0)
    out = obj([0, 1, 2])
    assert out.values[2, 0] < out.values[0, 0] == out.values[1, 0]
    assert out.info["chi2"] > 0
