"""Ctrl-U: uncertainty-aware reward fine-tuning of controllable generation (Zhang et al., ICLR 2025, arXiv 2410.11236).

Built on the one-step ControlNet++ scheme: a real image ``x`` (latent ``z_0``) and its condition map
``c`` are noised to a random ``t``, the model predicts ``ε̂`` and the one-step estimate
``x̂_0 = (x_t - sqrt(1 - ᾱ_t) ε̂) / sqrt(ᾱ_t)`` is decoded and scored by a frozen dense "reward model"
``D`` against ``c``. Ctrl-U duplicates each sample at timesteps ``t`` and ``t + Δ`` with **the same
noise** and takes the disagreement of the two reward-model outputs as the per-pixel uncertainty
``U = s_U · u(D(x̂_0^{(1)}), D(x̂_0^{(2)}))``. The loss is

``L = w_diff · MSE(ε̂, ε) + λ · mean_M(exp(-U) ⊙ ℓ) + μ · mean_M(U)``,

with ``ℓ`` the per-pixel reward loss (averaged over the two copies) and the means over the pixels of
the samples ``M = {i : t_i ≤ t_max}`` (Ctrl-U uses ``t_max = 400``). ``exp(-U)`` down-weights pixels
where the reward model is unsure; the ``μ·U`` term stops the model from inflating ``U`` to escape the
loss. ``λ`` ramps linearly from 0 over ``ramp_steps`` updates. ``U`` is not detached, as in the paper's code.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from gendesign.core.errors import ConfigError
from gendesign.generators.diffusion.algorithm import AlgorithmOptions, RewardAlgorithm, TrainContext, sample_indices
from gendesign.generators.diffusion.sampling import add_noise, alpha_bar
from gendesign.objectives.image_rewards import DenseReward


class CtrlUOptions(AlgorithmOptions):
    """Attributes:
    max_reward_timestep: ``t_max``; only samples with ``t ≤ t_max`` get the reward loss.
    timestep_gap: ``Δ`` between the two copies (clipped at ``T - 1``).
    reward_weight: ``λ`` after the ramp (Ctrl-U: 0.1-1 depending on the condition).
    ramp_steps: updates over which ``λ`` ramps linearly from 0 (0: no ramp).
    u_scale: ``s_U``, the scale of the uncertainty.
    u_penalty: ``μ``, the weight of ``mean(U)``.
    diffusion_loss_weight: ``w_diff`` of the denoising MSE regulariser (always on in Ctrl-U).
    """

    max_reward_timestep: int = Field(400, ge=0)
    timestep_gap: int = Field(1, ge=1)
    reward_weight: float = Field(1.0, ge=0)
    ramp_steps: int = Field(0, ge=0)
    u_scale: float = Field(1.0, gt=0)
    u_penalty: float = Field(1.0, ge=0)
    diffusion_loss_weight: float = Field(1.0, ge=0)


def uncertainty_weighted_loss(pixel_loss: Tensor, uncertainty: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """``(mean_M(exp(-U) ⊙ ℓ), mean_M(U))`` over the pixels of the masked samples.

    Args:
        pixel_loss: ``ℓ`` `[B, H, W]`.
        uncertainty: ``U`` `[B, H, W]`.
        mask: `[B]` bool, the samples that get the reward loss.

    Returns:
        two scalars; both are 0 (with a graph) when no sample is masked in.
    """
    if not bool(mask.any()):
        zero = (pixel_loss.sum() + uncertainty.sum()) * 0.0
        return zero, zero
    ell, u = pixel_loss[mask], uncertainty[mask]
    return (torch.exp(-u) * ell).mean(), u.mean()


def ramp(weight: float, step_index: int, ramp_steps: int) -> float:
    """``λ_s = λ · min(1, (s + 1) / ramp_steps)`` (``λ`` when ``ramp_steps = 0``)."""
    return weight if ramp_steps == 0 else weight * min(1.0, (step_index + 1) / ramp_steps)


class CtrlU(RewardAlgorithm):
    """Uncertainty-weighted one-step reward loss for ControlNet training (needs a dense, differentiable reward)."""

    name = "ctrl_u"
    needs_differentiable_reward = True
    needs_data = True
    Options = CtrlUOptions

    def check(self, ctx: TrainContext) -> None:
        super().check(ctx)
        if not isinstance(ctx.reward, DenseReward):
            raise ConfigError(
                f"Ctrl-U needs a dense reward model with per-pixel outputs (predict/pixel_loss/uncertainty/condition_of); "
                f"reward {ctx.reward.name!r} is not one; use 'sobel_edge_agreement'"
            )

    def step(self, ctx: TrainContext, prompts: list[str]) -> dict[str, float]:
        o = self.options
        backbone = ctx.backbone
        dense: DenseReward = ctx.reward  # type: ignore[assignment]
        assert ctx.data is not None
        b = len(prompts)
        images = ctx.data[sample_indices(len(ctx.data), b, ctx.generator).to(ctx.data.device)]
        with torch.no_grad():
            control = dense.condition_of(images)
        z0 = backbone.encode(images)
        T = backbone.num_train_timesteps
        t1 = torch.randint(T, (b,), generator=ctx.generator).to(z0.device)
        t2 = (t1 + o.timestep_gap).clamp(max=T - 1)
        noise = torch.randn(z0.shape, generator=ctx.generator).to(z0)
        cond = ctx.encode(prompts, control=control)

        def eps_of(x: Tensor, t: Tensor) -> Tensor:
            if ctx.gradient_checkpointing:
                return checkpoint(lambda xi: ctx.predict(xi, t, cond), x, use_reentrant=False)
            return ctx.predict(x, t, cond)

        x1, x2 = add_noise(backbone, z0, noise, t1), add_noise(backbone, z0, noise, t2)
        eps1, eps2 = eps_of(x1, t1), eps_of(x2, t2)
        mse = 0.5 * (((eps1 - noise) ** 2).mean() + ((eps2 - noise) ** 2).mean())
        mask = t1 <= o.max_reward_timestep
        metrics: dict[str, float] = {"rewarded_fraction": float(mask.float().mean())}
        lam = ramp(o.reward_weight, ctx.step_index, o.ramp_steps)
        loss = o.diffusion_loss_weight * mse
        if bool(mask.any()):
            idx = torch.nonzero(mask).flatten()
            preds = []
            for x, eps, t in ((x1, eps1, t1), (x2, eps2, t2)):
                a = alpha_bar(backbone, t[idx]).view(-1, *([1] * (z0.ndim - 1))).to(z0)
                x0_hat = (x[idx] - (1 - a).sqrt() * eps[idx]) / a.sqrt()
                preds.append(dense.predict(backbone.decode(x0_hat)))
            ell = 0.5 * (dense.pixel_loss(preds[0], control[idx]) + dense.pixel_loss(preds[1], control[idx]))
            u = o.u_scale * dense.uncertainty(preds[0], preds[1])
            full = torch.ones(len(idx), dtype=torch.bool, device=ell.device)
            weighted, penalty = uncertainty_weighted_loss(ell, u, full)
            loss = loss + lam * weighted + o.u_penalty * penalty
            metrics.update(
                {
                    "reward_loss": float(weighted.detach()),
                    "uncertainty": float(penalty.detach()),
                    "reward_mean": float(-ell.detach().mean()),
                }
            )
        else:
            metrics["reward_mean"] = float("nan")
        ctx.backward(loss)
        metrics["grad_norm"] = ctx.optimizer_step()
        metrics.update({"loss": float(loss.detach()), "diffusion_loss": float(mse.detach()), "lambda": lam})
        return metrics
