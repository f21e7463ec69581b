"""Reward strategies: OP-TB pairwise/listwise losses, preference pairs, power, preference conditioning, KL(U || P_B)."""

import math

import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.core.objective import ObjectiveSpec
from gendesign.generators.gflownet import GFlowNetOptions, GFlowNetTrainer, HyperGridEnv
from gendesign.generators.gflownet.metrics import exact_terminal_distribution
from gendesign.generators.gflownet.rewards import (
    OrderPreservingReward,
    PowerReward,
    PreferenceReward,
    backward_kl_to_uniform,
    listwise_order_loss,
    pairwise_order_loss,
    thermometer,
)


def test_pairwise_op_gradient_matches_hand_computation():
    r = torch.tensor([0.3, -0.2, 1.1], requires_grad=True)
    utility = torch.tensor([1.0, 3.0, 3.0])
    partner = torch.tensor([1, 2, 0])
    loss = pairwise_order_loss(r, utility, partner)
    loss.backward()
    a, b, c = 0.3, -0.2, 1.1
    d = [a - b, b - c, c - a]
    y = [0.0, 0.5, 1.0]
    sig = [1 / (1 + math.exp(-x)) for x in d]
    expected_loss = sum(-yk * math.log(s) - (1 - yk) * math.log(1 - s) for yk, s in zip(y, sig)) / 3
    g = [(s - yk) / 3 for s, yk in zip(sig, y)]
    assert loss.item() == pytest.approx(expected_loss, rel=1e-6)
    assert r.grad.tolist() == pytest.approx([g[0] - g[2], -g[0] + g[1], -g[1] + g[2]], rel=1e-5)


def test_pairwise_invalid_ranks_below_valid_and_invalid_pairs_carry_no_order():
    r = torch.zeros(2, requires_grad=True)
    loss = pairwise_order_loss(r, torch.tensor([-math.inf, 0.5]), torch.tensor([1, 0]))
    loss.backward()
    assert r.grad.tolist() == pytest.approx([0.5, -0.5])
    r2 = torch.tensor([0.7, -0.3], requires_grad=True)
    pairwise_order_loss(r2, torch.tensor([-math.inf, -math.inf]), torch.tensor([1, 0])).backward()
    assert r2.grad.tolist() == pytest.approx([0.0, 0.0])
    r3 = torch.tensor([0.3, -0.4, 0.0], requires_grad=True)
    loss3 = pairwise_order_loss(r3, torch.tensor([-math.inf, -math.inf, 1.0]), torch.tensor([1, 2, 0]))
    d1, d2 = -0.4 - 0.0, 0.0 - 0.3
    expected = (math.log1p(math.exp(d1)) + math.log1p(math.exp(-d2))) / 2
    assert loss3.item() == pytest.approx(expected, rel=1e-6)


def test_listwise_target_is_uniform_over_batch_non_dominated_set():
    canonical = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.2], [0.5, 0.4], [math.nan, math.nan]])
    r = torch.zeros(6, requires_grad=True)
    listwise_order_loss(r, canonical).backward()
    target = torch.softmax(r.detach(), 0) - r.grad
    assert target.tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0.0, 0.0, 0.0], abs=1e-6)
    r2 = torch.tensor([2.0, 0.0, -1.0, 0.5, 0.0, 0.0], requires_grad=True)
    loss = listwise_order_loss(r2, canonical)
    expected = -torch.log_softmax(r2.detach(), 0)[:3].mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_op_tb_gradient_leaves_log_z_untouched_and_matches_chain_rule():
    env = HyperGridEnv(ndim=2, height=4)
    specs = (ObjectiveSpec("a"), ObjectiveSpec("b"))
    trainer = GFlowNetTrainer(
        env, specs, GFlowNetOptions(reward="order_preserving", hidden=16, layers=1), torch.Generator().manual_seed(0)
    )
    trajs = trainer.sample(8, epsilon=0.5)
    values = torch.rand(8, 2, generator=torch.Generator().manual_seed(1)).double()
    valid = torch.ones(8, dtype=torch.bool)
    loss, parts = trainer.loss(trajs, values, valid)
    trainer.policy.zero_grad()
    loss.backward()
    assert trainer.policy.log_z_param.grad.item() == pytest.approx(0.0, abs=1e-5)
    assert parts["balance"] == 0.0
    from gendesign.generators.gflownet.sampler import score_trajectories

    scores = score_trajectories(env, trainer.policy, trajs)
    r_hat = scores.log_reward_hat()
    expected = listwise_order_loss(r_hat, values)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_preference_pairs_train_toward_the_preferred_item():
    env = HyperGridEnv(ndim=2, height=4)
    trainer = GFlowNetTrainer(
        env,
        (ObjectiveSpec("u"),),
        GFlowNetOptions(reward="order_preserving", hidden=32, layers=2, lr=3e-3),
        torch.Generator().manual_seed(0),
    )
    preferred = torch.tensor([[1, 2]])
    others = env.all_terminal_states()
    others = others[(others != preferred).any(dim=1)]
    winners = preferred.repeat(others.shape[0], 1)
    before = exact_terminal_distribution(env, trainer.policy)
    idx = int(env.terminal_index(preferred))
    trainer.train_preferences(winners, others, steps=60)
    after = exact_terminal_distribution(env, trainer.policy)
    assert after[idx] > 5 * before[idx]
    assert int(after.argmax()) == idx


def test_power_reward_closed_form_with_bounds_and_invalid():
    specs = (ObjectiveSpec("cost", "min", bounds=(0.0, 10.0)),)
    reward = PowerReward(specs, beta=3.0, min_log_reward=-20.0)
    canonical = torch.tensor([[-2.0], [-10.0], [-5.0]])
    valid = torch.tensor([True, True, False])
    out = reward.log_rewards(canonical, valid)
    assert out[0].item() == pytest.approx(3 * math.log(0.8), rel=1e-6)
    assert out[1].item() == -20.0
    assert out[2].item() == -20.0
    with pytest.raises(ConfigError, match="preference"):
        PowerReward((ObjectiveSpec("a"), ObjectiveSpec("b")))


def test_thermometer_round_trip_and_preference_reward():
    specs = (ObjectiveSpec("a", bounds=(0.0, 1.0)), ObjectiveSpec("b", bounds=(0.0, 2.0)))
    reward = PreferenceReward(specs, alpha=1.5, bins=16, beta=2.0)
    w = reward.sample_weights(20000, torch.Generator().manual_seed(0))
    assert torch.allclose(w.sum(1), torch.ones(20000))
    assert w.mean(0).tolist() == pytest.approx([0.5, 0.5], abs=0.01)
    assert w[:, 0].var().item() == pytest.approx(1.5 * 1.5 / (3.0**2 * 4.0), rel=0.05)
    cond = reward.encode(w[:5])
    assert torch.allclose(reward.decode(cond), w[:5], atol=1e-6)
    canonical = torch.tensor([[0.5, 1.0]])
    out = reward.log_rewards(canonical, torch.tensor([True]), reward.encode(torch.tensor([[0.25, 0.75]])))
    assert out.item() == pytest.approx(2 * math.log(0.25 * 0.5 + 0.75 * 0.5), rel=1e-5)
    assert thermometer(torch.tensor([0.0, 0.5, 1.0]), 3).tolist() == [[0, 0, 0], [1, 0, 0], [1, 1, 0]]


def test_kl_to_uniform_closed_form():
    p = torch.tensor([[0.5, 0.25, 0.25], [0.9, 0.1, 0.0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    log_p = torch.log(p.clamp_min(1e-30))
    kl = backward_kl_to_uniform(log_p, mask)
    k1 = sum(1 / 3 * (math.log(1 / 3) - math.log(x)) for x in [0.5, 0.25, 0.25])
    k2 = sum(0.5 * (math.log(0.5) - math.log(x)) for x in [0.9, 0.1])
    assert kl.item() == pytest.approx((k1 + k2) / 2, rel=1e-5)
    assert backward_kl_to_uniform(torch.log(torch.full((1, 2), 0.5)), torch.ones(1, 2, dtype=torch.bool)).item() == pytest.approx(
        0.0, abs=1e-7
    )


def test_kl_regulariser_pulls_learned_backward_policy_to_uniform():
    env = HyperGridEnv(ndim=2, height=4)
    options = GFlowNetOptions(reward="order_preserving", learned_backward=True, kl_weight=1.0, hidden=16, layers=1, lr=1e-2)
    trainer = GFlowNetTrainer(env, (ObjectiveSpec("u"),), options, torch.Generator().manual_seed(0))
    with torch.no_grad():
        trainer.policy.head.bias[env.n_actions : env.n_actions + 2] = torch.tensor([3.0, -3.0])
    trajs = trainer.sample(64)
    values, valid = torch.rand(64, 1).double(), torch.ones(64, dtype=torch.bool)
    _, before = trainer.loss(trajs, values, valid)
    for _ in range(40):
        loss, _ = trainer.loss(trajs, values, valid)
        trainer.step(loss)
    _, after = trainer.loss(trajs, values, valid)
    assert after["kl_pb"] < 0.2 * before["kl_pb"]


def test_order_options_are_checked():
    with pytest.raises(ConfigError, match="listwise"):
        OrderPreservingReward((ObjectiveSpec("a"), ObjectiveSpec("b")), order="pairwise")
    assert OrderPreservingReward((ObjectiveSpec("a"),)).order == "pairwise"


def test_unknown_reward_names_and_options_are_config_errors():
    from gendesign.generators.gflownet.rewards import build_reward

    with pytest.raises(ConfigError, match="order_preserving"):
        build_reward("powr", (ObjectiveSpec("a"),))
    with pytest.raises(ConfigError, match="beta"):
        build_reward("power", (ObjectiveSpec("a"),), betta=2.0)
