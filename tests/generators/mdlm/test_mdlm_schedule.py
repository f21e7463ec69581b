"""Masking schedules: closed forms, NELBO weights and empirical masking rates."""

import math

import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.generators.mdlm.model import MaskedDiffusionLM
from gendesign.generators.mdlm.schedule import LogLinearSchedule, PolynomialSchedule, StateDependentSchedule

T = torch.tensor([0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0], dtype=torch.float64)


def test_log_linear_closed_form():
    eps = 1e-3
    sch = LogLinearSchedule(eps)
    assert torch.allclose(sch.alpha(T), 1 - (1 - eps) * T)
    assert torch.allclose(sch.sigma(T), -torch.log1p(-(1 - eps) * T))
    assert torch.allclose(sch.weight(T), 1 / T)
    generic = -sch.alpha_prime(T) / (1 - sch.alpha(T))
    assert torch.allclose(generic, 1 / T)


@pytest.mark.parametrize("power", [0.5, 1.0, 3.0])
def test_polynomial_weight_is_power_over_t_and_matches_finite_difference(power):
    sch = PolynomialSchedule(power, eps=1e-3)
    assert torch.allclose(sch.weight(T), power / T)
    h = 1e-6
    t = T[:-1]
    fd = (sch.alpha(t + h) - sch.alpha(t - h)) / (2 * h)
    assert torch.allclose(sch.alpha_prime(t), fd, rtol=1e-5)
    assert torch.allclose(-sch.alpha_prime(t) / (1 - sch.alpha(t)), power / t, rtol=1e-10)


def test_unmask_probability_is_t_minus_s_over_t_for_log_linear_without_eps():
    sch = LogLinearSchedule(eps=0.0)
    t = torch.tensor([1.0, 0.5, 0.3])
    s = torch.tensor([0.75, 0.1, 0.0])
    assert torch.allclose(sch.unmask_probability(t, s), (t - s) / t)


def test_state_dependent_selects_per_token():
    sd = StateDependentSchedule(6, LogLinearSchedule(1e-3), PolynomialSchedule(3.0, 1e-3), flagged_ids=[1, 3])
    x = torch.tensor([[0, 1, 2, 3]])
    t = torch.tensor([[0.5]])
    expected = torch.tensor([[1 - 0.999 * 0.5, 1 - 0.999 * 0.125, 1 - 0.999 * 0.5, 1 - 0.999 * 0.125]])
    assert torch.allclose(sd.alpha(x, t), expected)
    assert torch.allclose(sd.weight(x, t), torch.tensor([[2.0, 6.0, 2.0, 6.0]]))
    cw = sd.class_weights(torch.tensor([0.5]))
    assert torch.allclose(cw, torch.tensor([[2.0, 6.0, 2.0, 6.0, 2.0, 2.0]]))


def test_bad_schedule_options_raise():
    with pytest.raises(ConfigError, match="power"):
        PolynomialSchedule(0.0)
    with pytest.raises(ConfigError, match="eps"):
        LogLinearSchedule(1.0)
    with pytest.raises(ConfigError, match="without a schedule"):
        StateDependentSchedule(4, LogLinearSchedule(), None, [1])


@pytest.mark.parametrize("t", [0.1, 0.5, 0.9])
def test_empirical_masking_rates_match_schedule(t):
    model = MaskedDiffusionLM(4, 64, d_model=8, n_layers=1, n_heads=2, flagged_tokens=[1], flag_power=3.0)
    n_rows = 400
    x0 = torch.randint(0, 4, (n_rows, 64), generator=torch.Generator().manual_seed(0))
    x0[:, 60:] = model.pad_id
    xt = model.q_xt(x0, torch.full((n_rows,), t), torch.Generator().manual_seed(1))
    masked = xt == model.mask_id
    assert not bool(masked[x0 == model.pad_id].any())
    assert bool((xt[~masked] == x0[~masked]).all())
    for flagged, expect in ((False, (1 - 1e-3) * t), (True, (1 - 1e-3) * t**3)):
        sel = (x0 == 1) if flagged else ((x0 != 1) & (x0 != model.pad_id))
        n = int(sel.sum())
        rate = masked[sel].float().mean().item()
        se = math.sqrt(expect * (1 - expect) / n)
        assert abs(rate - expect) < 4 * se + 1e-9, (flagged, rate, expect)
