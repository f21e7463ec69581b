"""DDPO: denoising diffusion policy optimisation with PPO-style clipping (Black et al., ICLR 2024).

Denoising is an ``S``-step MDP whose policy is the DDIM Gaussian ``π_θ(x_{t'} | x_t, c)`` (``η > 0``).
Each outer step samples trajectories with the current model, scores the final images with any
(black-box) reward, normalises rewards per prompt into advantages ``A`` and then runs ``E`` inner epochs
of the clipped importance-sampling objective (DDPO_IS)

``L(θ) = E_{i, t} [ max(-A_i ρ_{i,t}, -A_i clip(ρ_{i,t}, 1 - ε, 1 + ε)) ]``,
``ρ_{i,t} = π_θ(x_{t'} | x_t) / π_old(x_{t'} | x_t)``,

over a random ``timestep_fraction`` of the steps of each trajectory, accumulating gradients over the
timesteps of a minibatch before each optimiser step. Per-prompt normalisation keeps a buffer of the
last ``buffer_size`` rewards per prompt and uses the batch statistics until ``min_count`` are seen.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import torch
from pydantic import Field
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.generators.diffusion.algorithm import AlgorithmOptions, RewardAlgorithm, TrainContext, reward_stats
from gendesign.generators.diffusion.backbone import Conditioning
from gendesign.generators.diffusion.sampling import Trajectory, ddim_step, gaussian_log_prob, sample_trajectory


class DDPOOptions(AlgorithmOptions):
    """DDPO hyper-parameters; defaults follow ``ddpo-pytorch`` except where tiny models need more signal.

    Attributes:
        clip_range: PPO ``ε`` (DDPO uses 1e-4 for Stable Diffusion).
        adv_clip_max: advantages are clipped to ``[-a, a]``.
        inner_epochs: passes ``E`` over each batch of trajectories.
        minibatch_size: trajectories per optimiser step.
        timestep_fraction: share of the ``S`` steps trained on per trajectory.
        per_prompt_stat_tracking: normalise per prompt (else over the batch).
        buffer_size: rewards remembered per prompt.
        min_count: rewards needed before a prompt's own statistics are used.
    """

    clip_range: float = Field(1e-4, gt=0)
    adv_clip_max: float = Field(5.0, gt=0)
    inner_epochs: int = Field(1, ge=1)
    minibatch_size: int = Field(4, ge=1)
    timestep_fraction: float = Field(1.0, gt=0, le=1)
    per_prompt_stat_tracking: bool = True
    buffer_size: int = Field(16, ge=1)
    min_count: int = Field(16, ge=1)


class PerPromptStatTracker:
    """Running per-prompt reward statistics for advantage normalisation (DDPO's stat tracker).

    ``A_i = (r_i - μ_p) / (σ_p + 1e-6)`` with ``μ_p, σ_p`` over the last ``buffer_size`` rewards of the
    prompt ``p`` of sample ``i`` (including this batch), or over the whole batch while the prompt has
    fewer than ``min_count`` rewards.
    """

    def __init__(self, buffer_size: int, min_count: int) -> None:
        self.buffer_size = buffer_size
        self.min_count = min_count
        self.buffers: dict[str, deque[float]] = {}

    def update(self, prompts: list[str], rewards: Tensor) -> Tensor:
        """`[B]` advantages of `[B]` rewards (NaN rewards get advantage 0 and are not recorded)."""
        finite = torch.isfinite(rewards)
        adv = torch.zeros_like(rewards)
        if not bool(finite.any()):
            return adv
        batch_mean, batch_std = rewards[finite].mean(), rewards[finite].std(unbiased=False)
        for p in dict.fromkeys(prompts):
            idx = torch.tensor([i for i, q in enumerate(prompts) if q == p and bool(finite[i])], dtype=torch.long)
            if len(idx) == 0:
                continue
            buf = self.buffers.setdefault(p, deque(maxlen=self.buffer_size))
            buf.extend(rewards[idx].tolist())
            if len(buf) < self.min_count:
                mean, std = batch_mean, batch_std
            else:
                hist = torch.tensor(list(buf), dtype=rewards.dtype)
                mean, std = hist.mean(), hist.std(unbiased=False)
            adv[idx] = (rewards[idx] - mean) / (std + 1e-6)
        return adv

    def state_dict(self) -> dict[str, Any]:
        return {"buffers": {k: list(v) for k, v in self.buffers.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.buffers = {k: deque(v, maxlen=self.buffer_size) for k, v in state["buffers"].items()}


class DDPO(RewardAlgorithm):
    """PPO-clip over the DDIM denoising MDP with per-prompt reward normalisation (any reward)."""

    name = "ddpo"
    Options = DDPOOptions

    def __init__(self, options: DDPOOptions | None = None) -> None:
        super().__init__(options)
        o = self.options
        self.tracker = PerPromptStatTracker(o.buffer_size, o.min_count)

    def check(self, ctx: TrainContext) -> None:
        super().check(ctx)
        if ctx.sampler.eta <= 0:
            raise ConfigError(f"DDPO needs a stochastic sampler for log-probabilities; sampler.eta={ctx.sampler.eta}, use eta > 0 (DDPO uses 1.0)")

    def step(self, ctx: TrainContext, prompts: list[str]) -> dict[str, float]:
        o = self.options
        cond = ctx.encode(prompts)
        traj = sample_trajectory(ctx.backbone, cond, ctx.sampler, ctx.generator, ctx.predict)
        with torch.no_grad():
            images = ctx.backbone.decode(traj.final)
        rewards, _ = ctx.reward_scores(images, cond, grad=False)
        rewards = rewards.cpu()
        if o.per_prompt_stat_tracking:
            adv = self.tracker.update(prompts, rewards)
        else:
            finite = torch.isfinite(rewards)
            adv = torch.zeros_like(rewards)
            if bool(finite.any()):
                adv[finite] = (rewards[finite] - rewards[finite].mean()) / (rewards[finite].std(unbiased=False) + 1e-6)
        adv = adv.clamp(-o.adv_clip_max, o.adv_clip_max).to(ctx.device)
        stats = self.update(ctx, traj, cond, adv)
        metrics = {k: sum(v) / len(v) for k, v in stats.items() if v}
        metrics.update(reward_stats(rewards))
        return metrics

    def update(self, ctx: TrainContext, traj: Trajectory, cond: Conditioning, adv: Tensor) -> dict[str, list[float]]:
        """The PPO-clip inner epochs on sampled trajectories with advantages ``adv`` `[B]`; returns per-update stats."""
        o = self.options
        b = len(cond.prompts)
        s = len(traj.timesteps)
        n_train = max(1, int(round(s * o.timestep_fraction)))
        stats: dict[str, list[float]] = {"loss": [], "clipfrac": [], "approx_kl": [], "kl": [], "grad_norm": []}
        for _ in range(o.inner_epochs):
            order = torch.randperm(b, generator=ctx.generator)
            for start in range(0, b, o.minibatch_size):
                mb = order[start : start + o.minibatch_size]
                steps = torch.randperm(s, generator=ctx.generator)[:n_train]
                sub = cond.select(mb)
                for j in steps.tolist():
                    t = traj.timesteps[j]
                    x, x_next = traj.latents[j][mb.to(ctx.device)], traj.latents[j + 1][mb.to(ctx.device)]
                    eps = ctx.predict(x, t, sub)
                    _, mean, sigma = ddim_step(ctx.backbone, eps, x, t, ctx.sampler.eta, None)
                    log_prob = gaussian_log_prob(x_next, mean, sigma)
                    old = traj.log_probs[j][mb.to(ctx.device)]
                    ratio = torch.exp(log_prob - old)
                    a = adv[mb.to(ctx.device)]
                    unclipped = -a * ratio
                    clipped = -a * ratio.clamp(1 - o.clip_range, 1 + o.clip_range)
                    loss = torch.maximum(unclipped, clipped).mean()
                    if ctx.kl_weight > 0:
                        kl = ctx.kl_penalty(x, t, sub, eps).mean()
                        loss = loss + ctx.kl_weight * kl
                        stats["kl"].append(float(kl.detach()))
                    ctx.backward(loss / n_train)
                    stats["loss"].append(float(loss.detach()))
                    with torch.no_grad():
                        stats["clipfrac"].append(float(((ratio - 1).abs() > o.clip_range).float().mean()))
                        stats["approx_kl"].append(float(0.5 * ((log_prob - old) ** 2).mean()))
                stats["grad_norm"].append(ctx.optimizer_step())
        return stats

    def state_dict(self) -> dict[str, Any]:
        return {"tracker": self.tracker.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.tracker.load_state_dict(state["tracker"])
