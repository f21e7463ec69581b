"""Ctrl-U: the uncertainty weighting, the lambda ramp, the shared-noise pair of timesteps, and a reward gain."""

from __future__ import annotations

import math

import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.generators.diffusion.backbone import DiffusionBackbone, TinyBackboneConfig
from gendesign.generators.diffusion.ctrl_u import CtrlU, CtrlUOptions, ramp, uncertainty_weighted_loss
from gendesign.generators.diffusion.data import DataSettings, load_training_data
from gendesign.generators.diffusion.sampling import alpha_bar
from gendesign.objectives.image_rewards import Brightness, SobelEdgeAgreement


def test_uncertainty_weighting_is_exact():
    ell = torch.tensor([[[0.5, 1.0]], [[2.0, 4.0]], [[9.0, 9.0]]])
    u = torch.tensor([[[0.0, math.log(2)]], [[math.log(4), 0.0]], [[1.0, 1.0]]])
    mask = torch.tensor([True, True, False])
    weighted, penalty = uncertainty_weighted_loss(ell, u, mask)
    assert float(weighted) == pytest.approx((0.5 + 0.5 + 0.5 + 4.0) / 4)
    assert float(penalty) == pytest.approx((math.log(2) + math.log(4)) / 4)
    zero_w, zero_p = uncertainty_weighted_loss(ell, u, torch.zeros(3, dtype=torch.bool))
    assert float(zero_w) == 0.0 and float(zero_p) == 0.0
    u_var = u.clone().requires_grad_(True)
    w, p = uncertainty_weighted_loss(ell, u_var, mask)
    (w + p).backward()
    # d/dU [exp(-U) l + U] = 1 - exp(-U) l, divided by the 4 masked pixels; unmasked pixels get nothing
    expected = (1 - torch.exp(-u) * ell) / 4
    expected[2] = 0
    torch.testing.assert_close(u_var.grad, expected)


def test_lambda_ramp_is_linear_then_flat():
    assert ramp(0.5, 0, 0) == 0.5
    assert [ramp(1.0, s, 4) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


@pytest.fixture
def controlnet_context(context_factory):
    backbone = DiffusionBackbone.build_tiny(TinyBackboneConfig(kind="controlnet", image_size=8, block_out_channels=(8, 16)))
    data = load_training_data(DataSettings(num_items=8, seed=1), 8, None)
    return context_factory(backbone, SobelEdgeAgreement(), data=data, lr=1e-2)


def test_ctrl_u_uses_the_same_noise_at_adjacent_timesteps(controlnet_context):
    ctx = controlnet_context
    calls = []
    predict = ctx.predict

    def spy(x, t, cond):
        calls.append((x.detach().clone(), t.clone()))
        return predict(x, t, cond)

    ctx.predict = spy
    ctx.gradient_checkpointing = False
    CtrlU(CtrlUOptions(max_reward_timestep=1000)).step(ctx, ["p"] * 4)
    (x1, t1), (x2, t2) = calls
    torch.testing.assert_close(t2, (t1 + 1).clamp(max=999))
    a1 = alpha_bar(ctx.backbone, t1).view(-1, 1, 1, 1)
    a2 = alpha_bar(ctx.backbone, t2).view(-1, 1, 1, 1)
    # x_t = sqrt(a) z0 + sqrt(1 - a) eps with one eps: solve both for (z0, eps) and check consistency
    det = a1.sqrt() * (1 - a2).sqrt() - a2.sqrt() * (1 - a1).sqrt()
    z0 = (x1 * (1 - a2).sqrt() - x2 * (1 - a1).sqrt()) / det
    eps = (x1 - a1.sqrt() * z0) / (1 - a1).sqrt()
    items = ctx.backbone.encode(ctx.data)
    matches = [min(float((z - item).abs().max()) for item in items) for z in z0]
    assert max(matches) < 1e-2
    assert abs(float(eps.std()) - 1.0) < 0.3


def test_ctrl_u_requires_a_dense_reward(context_factory):
    backbone = DiffusionBackbone.build_tiny(TinyBackboneConfig(kind="controlnet", image_size=8, block_out_channels=(8, 16)))
    ctx = context_factory(backbone, Brightness(), data=load_training_data(DataSettings(num_items=2), 8, None))
    with pytest.raises(ConfigError, match="dense reward"):
        CtrlU().check(ctx)


@pytest.mark.slow
def test_ctrl_u_lowers_the_edge_loss_of_one_step_predictions(controlnet_context):
    ctx = controlnet_context
    reward: SobelEdgeAgreement = ctx.reward
    algo = CtrlU(CtrlUOptions(max_reward_timestep=400, reward_weight=1.0, diffusion_loss_weight=0.1))
    g = torch.Generator().manual_seed(7)
    images = ctx.data
    control = reward.condition_of(images)
    z0 = ctx.backbone.encode(images)
    t = torch.full((len(images),), 200)
    noise = torch.randn(z0.shape, generator=g)

    def edge_loss():
        with torch.no_grad():
            from gendesign.generators.diffusion.sampling import add_noise

            cond = ctx.backbone.encode_prompts(["p"] * len(images), control=control)
            x = add_noise(ctx.backbone, z0, noise, t)
            a = alpha_bar(ctx.backbone, t).view(-1, 1, 1, 1)
            x0 = (x - (1 - a).sqrt() * ctx.predict(x, t, cond)) / a.sqrt()
            return float(reward.pixel_loss(reward.predict(ctx.backbone.decode(x0)), control).mean())

    before = edge_loss()
    for _ in range(25):
        algo.step(ctx, ["p"] * 4)
    assert edge_loss() < before - 0.005
