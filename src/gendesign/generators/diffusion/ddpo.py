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

A composite reward (:class:`~gendesign.objectives.constrained_reward.AdvantageMixer`, e.g.
``constrained_reward``) has each component normalised on its own and the advantages mixed,
``A = (N - Σ w_i) A_0 + Σ w_i A_i`` (Moskovitz et al. 2023); its multipliers then learn from the batch.

Step rewards (``step_rewards = "clip" | "delta"``): the reward also scores the predicted clean image
``x̂0 = (x_t - sqrt(1 - ᾱ_t) ε_θ) / sqrt(ᾱ_t)`` at every state of the chain; these values are refined
(:mod:`gendesign.objectives.step_rewards`: Clip ``min(r - η, 0)`` or Delta ``r_t - r_{t+1}``), summed
into returns-to-go ``G_t``, standardised over the batch per step and added to the outcome advantage:
``A_{i,t} = A_i + w g_i z(G_{·,t})_i`` with the G-RA gate ``g_i = 1[r_i >= τ]`` (``step_gate``), so
the dense terms never lift a sample whose final reward fails. It costs one extra model and reward
call per step.

χ² regularisation (``chi2_weight = λ > 0``, ORPO; :mod:`gendesign.objectives.chi_squared`): each
trajectory's log-ratio to the frozen base model is ``Σ_t log π_θ(x_{t'} | x_t) - log π_ref(x_{t'} | x_t)``
with the per-step Gaussian log-densities averaged over dimensions as everywhere in DDPO (a tempered
ratio); rewards become ``r - λ (w - 1) / sqrt(χ̂²)`` before normalisation. One extra reference
model call per step.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import partial
from typing import Any, Literal

import torch
from pydantic import Field
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Scores
from gendesign.core.protocols import conforms
from gendesign.generators.diffusion.algorithm import AlgorithmOptions, RewardAlgorithm, TrainContext, reward_stats
from gendesign.generators.diffusion.backbone import Conditioning
from gendesign.generators.diffusion.sampling import Trajectory, alpha_bar, ddim_step, gaussian_log_prob, sample_trajectory
from gendesign.objectives.chi_squared import chi_squared_estimate, chi_squared_penalized
from gendesign.objectives.constrained_reward import AdvantageMixer
from gendesign.objectives.step_rewards import StepValues, refine_steps, returns_to_go


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
        step_rewards: refine x̂0 rewards along the chain with ``"clip"`` or ``"delta"`` (``"none"``: outcome only).
        step_eta: Clip's ``η``.
        step_weight: ``w``, the weight of the standardised step returns in the advantage.
        step_gate: G-RA's ``τ``: step terms count only for samples whose final reward is ``>= τ``.
        chi2_weight: ``λ`` of ORPO's χ² regulariser against the frozen base model (0 disables it).
        chi2_trim: share of the largest likelihood ratios left out of ``χ̂²``.
    """

    clip_range: float = Field(1e-4, gt=0)
    adv_clip_max: float = Field(5.0, gt=0)
    inner_epochs: int = Field(1, ge=1)
    minibatch_size: int = Field(4, ge=1)
    timestep_fraction: float = Field(1.0, gt=0, le=1)
    per_prompt_stat_tracking: bool = True
    buffer_size: int = Field(16, ge=1)
    min_count: int = Field(16, ge=1)
    step_rewards: Literal["none", "clip", "delta"] = "none"
    step_eta: float = 0.0
    step_weight: float = Field(1.0, ge=0)
    step_gate: float | None = None
    chi2_weight: float = Field(0.0, ge=0)
    chi2_trim: float = Field(0.01, ge=0, lt=0.5)


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
        self.component_trackers: list[PerPromptStatTracker] = []

    def check(self, ctx: TrainContext) -> None:
        super().check(ctx)
        if ctx.sampler.eta <= 0:
            raise ConfigError(f"DDPO needs a stochastic sampler for log-probabilities; sampler.eta={ctx.sampler.eta}, use eta > 0 (DDPO uses 1.0)")

    def step(self, ctx: TrainContext, prompts: list[str]) -> dict[str, float]:
        return self.learn(ctx, self.rollout(ctx, prompts))

    def rollout(self, ctx: TrainContext, prompts: list[str]) -> DDPORollout:
        """Sample trajectories for ``prompts`` and score their final images."""
        cond = ctx.encode(prompts)
        traj = sample_trajectory(ctx.backbone, cond, ctx.sampler, ctx.generator, ctx.predict)
        with torch.no_grad():
            images = ctx.backbone.decode(traj.final)
        rewards, scores = ctx.reward_scores(images, cond, grad=False)
        components = scores.info.get("components") if conforms(ctx.reward, AdvantageMixer) else None
        return DDPORollout(list(prompts), rewards.cpu(), cond, traj, scores.detach(), None if components is None else components.cpu())

    def cat_rollouts(self, parts: list[Any]) -> DDPORollout:
        return DDPORollout.cat(parts)

    def learn(self, ctx: TrainContext, rollout: Any) -> dict[str, float]:
        """Advantages and the PPO-clip update on sampled trajectories (:meth:`step` without the sampling)."""
        o = self.options
        prompts, cond, traj, scores = rollout.prompts, rollout.cond, rollout.traj, rollout.scores
        rewards = rollout.rewards
        metrics_extra: dict[str, float] = {}
        penalize: Callable[[Tensor], Tensor] = torch.clone
        if o.chi2_weight > 0:
            log_ratio = self.trajectory_log_ratio(ctx, traj, cond).cpu()
            chi2 = chi_squared_estimate(log_ratio, o.chi2_trim)
            metrics_extra["chi2"] = float(chi2)
            penalize = partial(chi_squared_penalized, log_ratio=log_ratio, lam=o.chi2_weight, chi2=chi2)
            rewards = penalize(rewards)
        if rollout.components is not None:
            comps = rollout.components.clone()
            comps[:, 0] = penalize(comps[:, 0])  # the χ² term belongs to the primary objective
            while len(self.component_trackers) < comps.shape[1]:
                self.component_trackers.append(PerPromptStatTracker(o.buffer_size, o.min_count))
            per = torch.stack([self._advantages(prompts, comps[:, k], self.component_trackers[k]) for k in range(comps.shape[1])], dim=1)
            adv = ctx.reward.mix_advantages(per.to(torch.float64)).to(rewards.dtype)  # type: ignore[attr-defined]
        else:
            adv = self._advantages(prompts, rewards, self.tracker)
        ctx.observe_reward(scores)
        if o.step_rewards != "none":
            adv, step_metrics = self._step_advantages(ctx, traj, cond, rewards, adv)
            metrics_extra.update(step_metrics)
        adv = adv.clamp(-o.adv_clip_max, o.adv_clip_max).to(ctx.device)
        stats = self.update(ctx, traj, cond, adv)
        metrics = {k: sum(v) / len(v) for k, v in stats.items() if v}
        metrics.update(reward_stats(rewards))
        metrics.update(metrics_extra)
        return metrics

    def _advantages(self, prompts: list[str], rewards: Tensor, tracker: PerPromptStatTracker) -> Tensor:
        """`[B]` normalised advantages of `[B]` rewards (per prompt, or over the batch)."""
        if self.options.per_prompt_stat_tracking:
            return tracker.update(prompts, rewards)
        finite = torch.isfinite(rewards)
        adv = torch.zeros_like(rewards)
        if bool(finite.any()):
            adv[finite] = (rewards[finite] - rewards[finite].mean()) / (rewards[finite].std(unbiased=False) + 1e-6)
        return adv

    def trajectory_log_ratio(self, ctx: TrainContext, traj: Trajectory, cond: Conditioning) -> Tensor:
        """`[B]` ``Σ_t log π_θ(x_{t'} | x_t) - log π_ref(x_{t'} | x_t)`` against the frozen base model."""
        total = torch.zeros_like(traj.log_probs[0])
        for j, t in enumerate(traj.timesteps):
            x = traj.latents[j]
            with torch.no_grad():
                _, mean, sigma = ddim_step(ctx.backbone, ctx.reference_noise(x, t, cond), x, t, ctx.sampler.eta, None)
                total += traj.log_probs[j] - gaussian_log_prob(traj.latents[j + 1], mean, sigma)
        return total

    def step_values(self, ctx: TrainContext, traj: Trajectory, cond: Conditioning) -> Tensor:
        """`[B, S]` rewards of the predicted clean images ``x̂0`` at the ``S`` states ``x_t`` of the chain."""
        values = []
        for j, t in enumerate(traj.timesteps):
            x = traj.latents[j]
            with torch.no_grad():
                eps = ctx.predict(x, t, cond)
                a = alpha_bar(ctx.backbone, torch.as_tensor(t).long()).to(x)
                images = ctx.backbone.decode((x - (1 - a).sqrt() * eps) / a.sqrt())
            r, _ = ctx.reward_scores(images, cond, grad=False)
            values.append(r.cpu())
        return torch.stack(values, dim=1)

    def _step_advantages(self, ctx: TrainContext, traj: Trajectory, cond: Conditioning, rewards: Tensor, adv: Tensor) -> tuple[Tensor, dict[str, float]]:
        """`[B, S]` per-step advantages ``A_i + w g_i z(G_{·,t})_i`` (see the module docstring)."""
        o = self.options
        r = self.step_values(ctx, traj, cond).to(torch.float64)
        finite = torch.isfinite(r)
        steps = refine_steps(StepValues(torch.where(finite, r, torch.zeros_like(r)), torch.ones_like(finite)), o.step_rewards, o.step_eta)
        g = returns_to_go(steps)
        z = (g - g.mean(dim=0)) / (g.std(dim=0, unbiased=False) + 1e-6)
        outcome = torch.where(torch.isfinite(rewards), rewards, torch.full_like(rewards, -torch.inf)).to(torch.float64)
        gate = torch.ones_like(outcome) if o.step_gate is None else (outcome >= o.step_gate).to(torch.float64)
        out = adv.to(torch.float64).unsqueeze(1) + o.step_weight * gate.unsqueeze(1) * z
        return out.to(adv.dtype), {"step_reward_mean": float(r[finite].mean()) if bool(finite.any()) else 0.0, "step_gate_open": float(gate.mean())}

    def update(self, ctx: TrainContext, traj: Trajectory, cond: Conditioning, adv: Tensor) -> dict[str, list[float]]:
        """The PPO-clip inner epochs on sampled trajectories with advantages ``adv`` `[B]` (or per step `[B, S]`); returns per-update stats."""
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
                    a = adv[mb.to(ctx.device)] if adv.ndim == 1 else adv[mb.to(ctx.device), j]
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
        return {"tracker": self.tracker.state_dict(), "component_trackers": [t.state_dict() for t in self.component_trackers]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.tracker.load_state_dict(state["tracker"])
        o = self.options
        self.component_trackers = []
        for saved in state.get("component_trackers", []):
            tracker = PerPromptStatTracker(o.buffer_size, o.min_count)
            tracker.load_state_dict(saved)
            self.component_trackers.append(tracker)


@dataclass
class DDPORollout:
    """Sampled trajectories with their scores: the unit DDPO trains on (and the difficulty filter screens).

    Attributes:
        prompts: the ``B`` prompts.
        rewards: `[B]` maximise-view rewards of the optimised column.
        cond: their conditioning.
        traj: the sampled chains (`[S + 1, B, ...]` latents, `[S, B]` log-probabilities).
        scores: the reward's full :class:`Scores` (for online rewards).
        components: `[B, N]` component rewards of an :class:`AdvantageMixer` reward, or None.
    """

    prompts: list[str]
    rewards: Tensor
    cond: Conditioning
    traj: Trajectory
    scores: Scores
    components: Tensor | None = None

    def select(self, index: Tensor) -> DDPORollout:
        dev = index.to(self.traj.latents.device)
        traj = Trajectory(self.traj.latents[:, dev], self.traj.log_probs[:, dev], self.traj.timesteps)
        comps = None if self.components is None else self.components[index]
        return DDPORollout([self.prompts[i] for i in index.tolist()], self.rewards[index], self.cond.select(index), traj, self.scores.select(index), comps)

    @staticmethod
    def cat(parts: list[DDPORollout]) -> DDPORollout:
        first = parts[0]
        cond = {
            f.name: (
                [p for part in parts for p in getattr(part.cond, f.name)]
                if f.name == "prompts"
                else torch.cat([getattr(part.cond, f.name) for part in parts])
                if isinstance(getattr(first.cond, f.name), Tensor)
                else getattr(first.cond, f.name)
            )
            for f in fields(first.cond)
        }
        traj = Trajectory(torch.cat([p.traj.latents for p in parts], dim=1), torch.cat([p.traj.log_probs for p in parts], dim=1), first.traj.timesteps)
        comps = None if first.components is None else torch.cat([p.components for p in parts])  # type: ignore[misc]
        return DDPORollout(
            [q for p in parts for q in p.prompts], torch.cat([p.rewards for p in parts]), Conditioning(**cond), traj, Scores.cat([p.scores for p in parts]), comps
        )
