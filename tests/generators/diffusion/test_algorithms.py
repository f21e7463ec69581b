"""Each algorithm raises a weight-free reward on a tiny model; gradients reach only LoRA parameters."""

from __future__ import annotations

import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.generators.diffusion.alignprop import AlignProp, AlignPropOptions
from gendesign.generators.diffusion.backbone import DiffusionBackbone, TinyBackboneConfig
from gendesign.generators.diffusion.ddpo import DDPO, DDPOOptions, PerPromptStatTracker
from gendesign.generators.diffusion.draft import DRaFT, DRaFTOptions
from gendesign.generators.diffusion.trainer import generate
from gendesign.objectives.image_rewards import Brightness, JpegCompressibility

PROMPTS = ["a", "b"] * 4


def heldout_brightness(ctx, n=8):
    cond = ctx.backbone.encode_prompts(["a", "b"] * (n // 2))
    images = generate(ctx.backbone, cond, ctx.sampler, torch.Generator().manual_seed(123))
    return float(Brightness()(list(images)).values.mean())


@pytest.mark.parametrize(
    ("algorithm", "eta", "steps"),
    [
        (DRaFT(DRaFTOptions(k=1)), 0.0, 10),
        (AlignProp(AlignPropOptions(strategy="uniform", k_low=1, k_high=4)), 0.0, 8),
    ],
    ids=["draft", "alignprop"],
)
def test_algorithm_raises_brightness_on_a_fixed_seed(context_factory, pixel_backbone, algorithm, eta, steps):
    ctx = context_factory(pixel_backbone, Brightness(), eta=eta)
    algorithm.check(ctx)
    before = heldout_brightness(ctx)
    history = [algorithm.step(ctx, PROMPTS)["reward_mean"] for _ in range(steps)]
    after = heldout_brightness(ctx)
    assert after > before + 0.02, (before, after, history)
    assert sum(history[-3:]) / 3 > sum(history[:3]) / 3


@pytest.mark.slow
def test_ddpo_raises_brightness_on_a_fixed_seed(context_factory):
    backbone = DiffusionBackbone.build_tiny(TinyBackboneConfig(kind="pixel", image_size=16, prompts=["a", "b"]))
    ctx = context_factory(backbone, Brightness(), eta=1.0, num_steps=6, image_size=16)
    algorithm = DDPO(DDPOOptions(clip_range=0.2, minibatch_size=8, min_count=4))
    before = heldout_brightness(ctx)
    history = [algorithm.step(ctx, PROMPTS)["reward_mean"] for _ in range(20)]
    after = heldout_brightness(ctx)
    assert after > before + 0.02, (before, after, history)
    assert sum(history[-5:]) / 5 > sum(history[:5]) / 5


def test_ddpo_update_raises_the_likelihood_of_high_advantage_trajectories(context_factory, pixel_backbone):
    from gendesign.generators.diffusion.sampling import ddim_step, gaussian_log_prob, sample_trajectory

    ctx = context_factory(pixel_backbone, Brightness(), eta=1.0, lr=1e-3)
    cond = pixel_backbone.encode_prompts(PROMPTS)
    traj = sample_trajectory(pixel_backbone, cond, ctx.sampler, torch.Generator().manual_seed(5))
    adv = torch.tensor([1.0, -1.0] * 4)

    def weighted_log_likelihood():
        total = torch.zeros(8)
        with torch.no_grad():
            for j, t in enumerate(traj.timesteps):
                x = traj.latents[j]
                _, mean, sigma = ddim_step(pixel_backbone, pixel_backbone.predict_noise(x, t, cond), x, t, 1.0, None)
                total += gaussian_log_prob(traj.latents[j + 1], mean, sigma)
        return float((adv * total).sum())

    before = weighted_log_likelihood()
    stats = DDPO(DDPOOptions(clip_range=0.2, minibatch_size=8)).update(ctx, traj, cond, adv)
    assert stats["approx_kl"][0] < 1e-10 and stats["clipfrac"][0] == 0.0
    assert weighted_log_likelihood() > before


def test_gradients_reach_only_lora_parameters(context_factory, pixel_backbone):
    ctx = context_factory(pixel_backbone, Brightness())
    seen = {}
    original = ctx.optimizer_step

    def capture():
        for name, p in pixel_backbone.named_parameters():
            seen[name] = None if p.grad is None else float(p.grad.abs().sum())
        return original()

    ctx.optimizer_step = capture
    DRaFT(DRaFTOptions(k=2)).step(ctx, PROMPTS)
    lora = {n: g for n, g in seen.items() if "lora_" in n}
    base = {n: g for n, g in seen.items() if "lora_" not in n}
    assert lora and all(g is not None for g in lora.values())
    assert sum(g for g in lora.values()) > 0
    assert base and all(g is None for g in base.values())


def test_backprop_methods_refuse_a_black_box_reward(context_factory, pixel_backbone):
    ctx = context_factory(pixel_backbone, JpegCompressibility())
    with pytest.raises(ConfigError, match="not differentiable"):
        DRaFT().check(ctx)
    ctx.sampler = ctx.sampler.model_copy(update={"eta": 0.0})
    with pytest.raises(ConfigError, match="eta"):
        DDPO().check(ctx)


def test_alignprop_truncation_draws():
    g = torch.Generator().manual_seed(0)
    assert {AlignProp(AlignPropOptions(strategy="fixed", k_mean=3)).draw_k(8, g) for _ in range(20)} == {3}
    uniform = [AlignProp(AlignPropOptions(strategy="uniform", k_low=2, k_high=4)).draw_k(8, g) for _ in range(300)]
    assert set(uniform) == {2, 3, 4}
    gauss = [AlignProp(AlignPropOptions(strategy="gaussian", k_mean=8, k_std=5)).draw_k(10, g) for _ in range(2000)]
    assert min(gauss) == 1 and max(gauss) == 10
    inner = [k for k in gauss if 1 < k < 10]
    assert abs(sum(inner) / len(inner) - 6.0) < 1.0


def test_per_prompt_stat_tracker_normalises_per_prompt_once_enough_rewards():
    tracker = PerPromptStatTracker(buffer_size=4, min_count=2)
    r = torch.tensor([1.0, 3.0, 10.0, 30.0])
    adv = tracker.update(["a", "a", "b", "b"], r)
    torch.testing.assert_close(adv, torch.tensor([-1.0, 1.0, -1.0, 1.0]), atol=1e-5, rtol=0)
    early = PerPromptStatTracker(buffer_size=4, min_count=3).update(["a", "b"], torch.tensor([0.0, 2.0]))
    torch.testing.assert_close(early, torch.tensor([-1.0, 1.0]), atol=1e-5, rtol=0)
    nan = tracker.update(["a", "b"], torch.tensor([float("nan"), 30.0]))
    assert nan[0] == 0 and len(tracker.buffers["a"]) == 2
    state = tracker.state_dict()
    clone = PerPromptStatTracker(4, 2)
    clone.load_state_dict(state)
    assert {k: list(v) for k, v in clone.buffers.items()} == {k: list(v) for k, v in tracker.buffers.items()}


def test_kl_penalty_is_zero_before_training_and_grows_after(context_factory, pixel_backbone):
    ctx = context_factory(pixel_backbone, Brightness())
    ctx.kl_weight = 0.1
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    cond = pixel_backbone.encode_prompts(["a", "b"])
    with torch.no_grad():
        eps = pixel_backbone.predict_noise(x, 500, cond)
    assert float(ctx.kl_penalty(x, 500, cond, eps).max()) == 0.0
    for _ in range(3):
        metrics = DRaFT().step(ctx, PROMPTS)
    assert "kl" in metrics
    with torch.no_grad():
        eps = pixel_backbone.predict_noise(x, 500, cond)
    assert float(ctx.kl_penalty(x, 500, cond, eps).min()) > 0.0


@pytest.mark.slow
def test_instructvideo_raises_a_lifted_reward_on_a_tiny_video_model(context_factory):
    from gendesign.generators.diffusion.data import DataSettings, load_training_data
    from gendesign.generators.diffusion.instructvideo import InstructVideo, InstructVideoOptions
    from gendesign.objectives.video_rewards import SegmentalVideoReward

    backbone = DiffusionBackbone.build_tiny(TinyBackboneConfig(kind="video", image_size=8, num_frames=4, block_out_channels=(8, 16)))
    data = load_training_data(DataSettings(num_items=8), 8, 4)
    reward = SegmentalVideoReward(Brightness(), num_segments=2, tar_lambda=1.0, normalize=True)
    ctx = context_factory(backbone, reward, num_steps=5, lr=5e-2, data=data)
    algo = InstructVideo(InstructVideoOptions(tau=0.6, grad_steps=1))
    algo.check(ctx)
    history = [algo.step(ctx, ["x", "y", "x", "y"])["reward_mean"] for _ in range(20)]
    assert sum(history[-3:]) / 3 > sum(history[:3]) / 3 + 0.005, history


def test_instructvideo_noises_to_t_noi_and_backpropagates_through_the_last_step_only(context_factory):
    from gendesign.generators.diffusion.data import DataSettings, load_training_data
    from gendesign.generators.diffusion.instructvideo import InstructVideo, InstructVideoOptions
    from gendesign.objectives.video_rewards import SegmentalVideoReward

    backbone = DiffusionBackbone.build_tiny(TinyBackboneConfig(kind="video", image_size=8, num_frames=4, block_out_channels=(8, 16)))
    data = load_training_data(DataSettings(num_items=4), 8, 4)
    reward = SegmentalVideoReward(Brightness(), num_segments=2)
    ctx = context_factory(backbone, reward, num_steps=10, data=data)
    calls = []
    predict = ctx.predict

    def spy(x, t, cond):
        calls.append((int(t), torch.is_grad_enabled()))
        return predict(x, t, cond)

    ctx.predict = spy
    ctx.gradient_checkpointing = False
    metrics = InstructVideo(InstructVideoOptions(tau=0.6, grad_steps=1)).step(ctx, ["x", "y"])
    assert metrics["t_noise"] == 501
    assert [t for t, _ in calls] == [501, 401, 301, 201, 101, 1]
    assert [g for _, g in calls] == [False] * 5 + [True]


def test_draft_on_a_latent_text_model_with_guidance_trains_only_unet_lora(context_factory):
    backbone = DiffusionBackbone.build_tiny(TinyBackboneConfig(kind="latent", image_size=8, block_out_channels=(8, 16)))
    ctx = context_factory(backbone, Brightness())
    ctx.sampler = ctx.sampler.model_copy(update={"guidance_scale": 2.0})
    grads = {}
    original = ctx.optimizer_step

    def capture():
        grads.update({n: p.grad for n, p in backbone.named_parameters()})
        return original()

    ctx.optimizer_step = capture
    rewards = []
    reward_scores = ctx.reward_scores

    def record(images, cond, *, grad):
        values, scores = reward_scores(images, cond, grad=grad)
        rewards.append(values.detach())
        return values, scores

    ctx.reward_scores = record
    metrics = DRaFT(DRaFTOptions(k=2)).step(ctx, ["a cat", "a dog"])
    (values,) = rewards
    assert values.shape == (2,) and bool(torch.isfinite(values).all())
    assert metrics["reward_mean"] == pytest.approx(float(values.mean()), rel=1e-6), "reward_mean is the mean reward of the step's samples"
    with_grad = [n for n, g in grads.items() if g is not None]
    assert with_grad and all(n.startswith("unet.") and "lora_" in n for n in with_grad)
    assert all(torch.isfinite(grads[n]).all() for n in with_grad)
    assert sum(float(grads[n].abs().sum()) for n in with_grad) > 0


def test_a_condition_map_reward_needs_a_controlnet_backbone(context_factory, pixel_backbone):
    from gendesign.objectives.image_rewards import SobelEdgeAgreement

    ctx = context_factory(pixel_backbone, SobelEdgeAgreement())
    with pytest.raises(ConfigError, match="condition maps"):
        DRaFT().check(ctx)
