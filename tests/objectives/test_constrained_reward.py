"""Constrained composite rewards with learned multipliers (issue 14, item 2)."""

from __future__ import annotations

import json

import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.core.objective import FunctionObjective
from gendesign.core.protocols import OnlineReward, conforms
from gendesign.objectives.constrained_reward import ConstrainedReward

torch.set_num_threads(1)


def _x(name, fn=lambda x: x, direction="max"):
    return FunctionObjective(lambda xs: torch.tensor([fn(float(x)) for x in xs], dtype=torch.float64), names=name, directions=direction)


def _reward(modes=("ge",), **kw):
    cons = [(_x(f"c{i}"), 0.5, m) for i, m in enumerate(modes)]
    return ConstrainedReward(_x("primary"), cons, **kw)


@pytest.mark.parametrize("squash", ["sigmoid", "tanh", "none"])
def test_sign_weights_fall_above_threshold_and_rise_below(squash):
    for mean, direction in ((0.9, -1), (0.1, 1)):
        r = _reward(squash=squash, lr=0.1, init=0.3)
        before = r.weights().clone()
        r.step_multipliers(torch.tensor([mean]))
        after = r.weights()
        assert float(torch.sign(after - before)) == direction, f"mean {mean}: weight moved {before} -> {after}"


def test_eq_weights_change_sign_and_ge_raw_multipliers_stay_nonnegative():
    eq = _reward(("eq",), lr=0.5)
    assert eq.squashes == ["tanh"]
    for _ in range(20):
        eq.step_multipliers(torch.tensor([2.0]))
    assert float(eq.weights()[0]) < 0, "an 'eq' component persistently above target must get a negative weight"
    raw = _reward(squash="none", lr=0.5, init=0.1)
    for _ in range(5):
        raw.step_multipliers(torch.tensor([3.0]))
    assert float(raw.lam[0]) == 0.0


def test_score_and_advantage_mix_and_direction():
    cost = _x("cost", direction="min")
    r = ConstrainedReward(_x("primary"), [(cost, -0.5, "ge")], init=0.0, auto_update=False)  # cost <= 0.5
    out = r([1.0, 3.0])
    w = 0.5  # sigmoid(0)
    comps = torch.tensor([[1.0, -1.0], [3.0, -3.0]], dtype=torch.float64)
    assert torch.allclose(out.info["components"], comps)
    assert out.values[:, 0].tolist() == pytest.approx([(1 - w) * 1.0 + w * -1.0, (1 - w) * 3.0 + w * -3.0])
    adv = torch.tensor([[2.0, 4.0]], dtype=torch.float64)
    assert r.mix_advantages(adv).item() == pytest.approx((1 - w) * 2.0 + w * 4.0)
    assert float(r.thresholds[0]) == 0.5, "a minimised column's threshold is flipped into the maximise view"


def test_auto_update_steps_once_per_scored_batch_and_ignores_invalid_rows():
    r = _reward(lr=0.1)
    r([0.9, 0.8, float("nan")])
    assert r.steps == 1 and float(r.weights()[0]) < 0.5
    frozen = _reward(auto_update=False)
    frozen([0.9])
    assert frozen.steps == 0 and conforms(frozen, OnlineReward)


def test_state_dict_round_trip_resumes_bit_identically():
    a = _reward(("ge", "eq"), lr=0.3, momentum=0.5)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        a(torch.rand(8, generator=g).tolist())
    state = json.loads(json.dumps(a.state_dict()))
    b = _reward(("ge", "eq"), lr=0.3, momentum=0.5)
    b.load_state_dict(state)
    for _ in range(4):
        batch = torch.rand(8, generator=g).tolist()
        assert torch.equal(a(batch).values, b(batch).values)
    assert torch.equal(a.lam, b.lam) and torch.equal(a.velocity, b.velocity)


@pytest.mark.parametrize("init", [-3.0, 0.0, 3.0])
def test_closed_loop_gaussian_policy_settles_on_the_threshold(init):
    """Policy x ~ N(mu, 0.3): primary -(x - 3)^2 wants mu = 3; the constraint -x >= -1 (x <= 1) binds."""
    reward = ConstrainedReward(_x("p"), [(_x("c"), -1.0, "ge")], lr=1.0, momentum=0.1, init=init, auto_update=False)
    mu = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([mu], lr=0.1)
    g = torch.Generator().manual_seed(0)
    means = []
    for it in range(400):
        x = mu + 0.3 * torch.randn(64, generator=g, dtype=torch.float64)
        comps = torch.stack([-((x - 3.0) ** 2), -x], dim=1)
        loss = -reward.combine(comps).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        reward.step_multipliers(comps[:, 1:].detach().mean(dim=0))
        if it >= 300:
            means.append(float(comps[:, 1].detach().mean()))
    assert abs(sum(means) / len(means) - (-1.0)) < 0.03


def test_config_errors_name_the_fix():
    with pytest.raises(ConfigError, match="at least one constraint"):
        ConstrainedReward(_x("p"), [])
    with pytest.raises(ConfigError, match="mode="):
        ConstrainedReward(_x("p"), [(_x("c"), 0.0, "le")])
    with pytest.raises(ConfigError, match="no plugin system"):
        ConstrainedReward(_x("p"), [{"objective": {"name": "x"}, "threshold": 1.0}])
