"""InstructVideo: reward fine-tuning as editing (Yuan et al., CVPR 2024, arXiv 2312.12490).

Instead of sampling from pure noise, each update takes real training clips ``v``, encodes them to
``z_0``, diffuses them in one shot to the DDIM grid point ``t_noi`` that leaves ``τ·D`` of the ``D``
steps, runs those ``τ·D`` steps with ``η = 0`` (all but the last ``K`` without gradients, the last
``K`` checkpointed; the paper follows DRaFT-1, ``K = 1``) and maximises the reward of the decoded
"edited" clip:

``L = -mean_i R(decode(x̂_0^i))`` (+ ``w_diff · ||ε_θ(x_t, t) - ε||²`` on the same clips when set),

where for video backbones ``R`` is the image reward lifted by Segmental Video Reward and Temporally
Attenuated Reward (:class:`~gendesign.objectives.video_rewards.SegmentalVideoReward`). Defaults are the
paper's: ``D = 20`` (the sampler's ``num_steps``), ``τ = 0.6``. It also runs on image backbones.
"""

from __future__ import annotations

import torch
from pydantic import Field

from gendesign.generators.diffusion.algorithm import (
    AlgorithmOptions,
    RewardAlgorithm,
    TrainContext,
    reward_stats,
    sample_indices,
)
from gendesign.generators.diffusion.sampling import add_noise, ddim_timesteps, denoise_with_grad_tail


class InstructVideoOptions(AlgorithmOptions):
    """Attributes:
    tau: share ``τ`` of the DDIM steps that run after noising the training clip.
    grad_steps: final steps ``K`` that carry gradients (InstructVideo uses 1).
    diffusion_loss_weight: weight of the denoising MSE on the training clips (a regulariser).
    """

    tau: float = Field(0.6, gt=0, le=1)
    grad_steps: int = Field(1, ge=1)
    diffusion_loss_weight: float = Field(0.0, ge=0)


def editing_timesteps(timesteps: torch.Tensor, tau: float) -> torch.Tensor:
    """The last ``max(1, round(τ·D))`` of the `[D]` descending DDIM timesteps; the first is ``t_noi``."""
    d = len(timesteps)
    n = max(1, min(d, round(tau * d)))
    return timesteps[d - n :]


class InstructVideo(RewardAlgorithm):
    """Editing-style reward fine-tuning on noised training clips (needs a differentiable reward and data)."""

    name = "instructvideo"
    needs_differentiable_reward = True
    needs_data = True
    Options = InstructVideoOptions

    def step(self, ctx: TrainContext, prompts: list[str]) -> dict[str, float]:
        o = self.options
        backbone = ctx.backbone
        assert ctx.data is not None
        items = ctx.data[sample_indices(len(ctx.data), len(prompts), ctx.generator).to(ctx.data.device)]
        z0 = backbone.encode(items)
        run = editing_timesteps(ddim_timesteps(backbone, ctx.sampler.num_steps), o.tau)
        noise = torch.randn(z0.shape, generator=ctx.generator).to(z0)
        x = add_noise(backbone, z0, noise, run[0])
        cond = ctx.encode(prompts)
        x0 = denoise_with_grad_tail(
            backbone, x, cond, run, o.grad_steps, None, eta=0.0, predict=ctx.predict, use_checkpoint=ctx.gradient_checkpointing
        )
        rewards, _ = ctx.reward_scores(backbone.decode(x0), cond, grad=True)
        finite = torch.isfinite(rewards)
        loss = -(rewards[finite].mean() if bool(finite.any()) else rewards.new_zeros((), requires_grad=True))
        metrics: dict[str, float] = {}
        if o.diffusion_loss_weight > 0:
            t = torch.randint(backbone.num_train_timesteps, (len(prompts),), generator=ctx.generator).to(z0.device)
            eps_noise = torch.randn(z0.shape, generator=ctx.generator).to(z0)
            mse = ((ctx.predict(add_noise(backbone, z0, eps_noise, t), t, cond) - eps_noise) ** 2).mean()
            loss = loss + o.diffusion_loss_weight * mse
            metrics["diffusion_loss"] = float(mse.detach())
        ctx.backward(loss)
        metrics["grad_norm"] = ctx.optimizer_step()
        metrics.update({"loss": float(loss.detach()), "t_noise": float(run[0]), **reward_stats(rewards)})
        return metrics
