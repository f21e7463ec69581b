"""Constrained composite rewards and x̂0 step rewards inside DDPO and DRaFT (issue 14, items 2 and 5)."""

from __future__ import annotations

import torch

from gendesign.generators.diffusion.ddpo import DDPO, DDPOOptions
from gendesign.generators.diffusion.draft import DRaFT, DRaFTOptions
from gendesign.objectives.constrained_reward import ConstrainedReward
from gendesign.objectives.image_rewards import Brightness, Contrast

torch.set_num_threads(1)
PROMPTS = ["a", "b"] * 4


def _capture(algorithm):
    seen = {}
    original = algorithm.update

    def update(ctx, traj, cond, adv):
        seen["adv"] = adv.detach().cpu().clone()
        return original(ctx, traj, cond, adv)

    algorithm.update = update
    return seen


def test_ddpo_mixes_per_component_advantages_and_steps_the_multipliers(context_factory, pixel_backbone):
    reward = ConstrainedReward(Brightness(), [(Contrast(), 0.3, "ge")], lr=0.5, init=1.0, auto_update=False)
    ctx = context_factory(pixel_backbone, reward, eta=1.0)
    algo = DDPO(DDPOOptions(clip_range=0.2, minibatch_size=8, per_prompt_stat_tracking=False))
    seen = _capture(algo)
    w_before = float(reward.weights()[0])
    original = ctx.reward_scores

    def reward_scores(images, cond, *, grad):
        values, scores = original(images, cond, grad=grad)
        seen["components"] = scores.info["components"].double()
        return values, scores

    ctx.reward_scores = reward_scores
    algo.step(ctx, PROMPTS)
    comps = seen["components"]
    z = (comps - comps.mean(0)) / (comps.std(0, unbiased=False) + 1e-6)
    expect = (1 - w_before) * z[:, 0] + w_before * z[:, 1]
    assert torch.allclose(seen["adv"].double(), expect.clamp(-5, 5), atol=1e-4)
    assert reward.steps == 1
    direction = 1.0 if float(comps[:, 1].mean()) < 0.3 else -1.0
    assert (float(reward.weights()[0]) - w_before) * direction > 0


def test_ddpo_step_rewards_are_per_step_and_the_gate_closes_them(context_factory, pixel_backbone):
    ctx = context_factory(pixel_backbone, Brightness(), eta=1.0)
    algo = DDPO(DDPOOptions(clip_range=0.2, minibatch_size=8, per_prompt_stat_tracking=False, step_rewards="delta"))
    seen = _capture(algo)
    metrics = algo.step(ctx, PROMPTS)
    assert tuple(seen["adv"].shape) == (8, ctx.sampler.num_steps) and metrics["step_gate_open"] == 1.0
    assert not torch.allclose(seen["adv"][:, 0], seen["adv"][:, 1])
    closed = DDPO(DDPOOptions(clip_range=0.2, minibatch_size=8, per_prompt_stat_tracking=False, step_rewards="clip", step_gate=10.0))
    seen = _capture(closed)
    assert closed.step(ctx, PROMPTS)["step_gate_open"] == 0.0
    adv = seen["adv"]
    assert torch.equal(adv, adv[:, :1].expand_as(adv)), "a closed gate must leave only the outcome advantage"


def test_draft_trains_through_the_constrained_score_and_updates_multipliers(context_factory, pixel_backbone):
    reward = ConstrainedReward(Brightness(), [(Contrast(), 10.0, "ge")], lr=0.5, auto_update=False)
    ctx = context_factory(pixel_backbone, reward)
    metrics = DRaFT(DRaFTOptions(k=1)).step(ctx, PROMPTS)
    assert metrics["grad_norm"] > 0 and reward.steps == 1
    assert float(reward.weights()[0]) > 0.5, "an unmet constraint must gain weight"


def test_ddpo_chi2_log_ratio_is_zero_at_the_base_model_and_grows_after_training(context_factory, pixel_backbone):
    from gendesign.generators.diffusion.sampling import sample_trajectory

    ctx = context_factory(pixel_backbone, Brightness(), eta=1.0, lr=5e-2)
    algo = DDPO(DDPOOptions(clip_range=0.2, minibatch_size=8, per_prompt_stat_tracking=False, chi2_weight=0.5))
    cond = ctx.encode(PROMPTS)
    traj = sample_trajectory(ctx.backbone, cond, ctx.sampler, torch.Generator().manual_seed(0), ctx.predict)
    assert float(algo.trajectory_log_ratio(ctx, traj, cond).abs().max()) < 1e-5, "fresh LoRA adapters are the base model"
    for _ in range(2):
        metrics = algo.step(ctx, PROMPTS)
    traj = sample_trajectory(ctx.backbone, cond, ctx.sampler, torch.Generator().manual_seed(0), ctx.predict)
    assert float(algo.trajectory_log_ratio(ctx, traj, cond).abs().max()) > 1e-4
    assert "chi2" in metrics
