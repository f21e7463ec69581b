"""DDIM sampling with per-step Gaussian log-probabilities and truncated, checkpointed backprop.

With ``ᾱ_t`` the cumulative noise schedule, one DDIM step (Song et al. 2021, Eq. 12) from ``x_t`` to
``x_{t'}`` (``t' = t - T/S``) is

``x̂_0 = (x_t - sqrt(1 - ᾱ_t) ε̂) / sqrt(ᾱ_t)``,
``σ_t = η · sqrt((1 - ᾱ_{t'}) / (1 - ᾱ_t)) · sqrt(1 - ᾱ_t / ᾱ_{t'})``,
``μ = sqrt(ᾱ_{t'}) x̂_0 + sqrt(1 - ᾱ_{t'} - σ_t²) ε̂``,  ``x_{t'} = μ + σ_t z``.

With ``η > 0`` each step is a Gaussian policy ``π(x_{t'} | x_t) = N(μ, σ_t² I)`` whose log-density DDPO
needs (Black et al. 2024); with ``η = 0`` the chain is deterministic and the reward gradient can flow
through it (DRaFT, Clark et al. 2024; AlignProp, Prabhudesai et al. 2023).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from gendesign.generators.diffusion.backbone import Conditioning, DiffusionBackbone

NoiseFn = Callable[[Tensor, Tensor, Conditioning], Tensor]


class SamplerSettings(BaseModel):
    """DDIM sampler settings (saved with every adapter as provenance).

    Attributes:
        num_steps: DDIM steps ``S``.
        eta: ``η``; DDPO needs ``η > 0``, the backprop methods use ``η = 0``.
        guidance_scale: classifier-free guidance weight (1 disables it).
        image_size: generated image side in pixels.
    """

    model_config = ConfigDict(extra="forbid")

    num_steps: int = Field(8, ge=1, le=1000)
    eta: float = Field(1.0, ge=0.0)
    guidance_scale: float = Field(1.0, ge=1.0)
    image_size: int = Field(16, ge=8)


@dataclass
class Trajectory:
    """A sampled denoising chain.

    Attributes:
        latents: `[S + 1, B, ...]` states ``x_T, ..., x_0``.
        log_probs: `[S, B]` ``log π(x_{t'} | x_t)`` per step (mean over dimensions).
        timesteps: `[S]` DDPM timesteps of the steps.
    """

    latents: Tensor
    log_probs: Tensor
    timesteps: Tensor

    @property
    def final(self) -> Tensor:
        return self.latents[-1]


def ddim_timesteps(backbone: DiffusionBackbone, num_steps: int) -> Tensor:
    """The `[S]` descending DDPM timesteps of an ``S``-step DDIM grid (the scheduler's own spacing)."""
    backbone.scheduler.set_timesteps(num_steps)
    return backbone.scheduler.timesteps.clone().long()


def alpha_bar(backbone: DiffusionBackbone, t: Tensor) -> Tensor:
    """``ᾱ_t`` for timesteps `[...]`; negative ``t`` (past the last step) maps to the scheduler's final ``ᾱ``."""
    final = float(backbone.scheduler.final_alpha_cumprod)
    ac = backbone.alphas_cumprod.to(t.device)
    return torch.where(t >= 0, ac[t.clamp(min=0)], torch.full((), final, dtype=ac.dtype, device=ac.device))


def ddim_step(
    backbone: DiffusionBackbone, eps: Tensor, x: Tensor, t: Tensor, eta: float, noise: Tensor | None
) -> tuple[Tensor, Tensor, Tensor]:
    """One DDIM step from ``x_t`` `[B, ...]`; returns ``(x_{t'}, μ, σ)`` with ``σ`` a scalar tensor.

    ``noise`` is the ``z`` of the stochastic part (ignored when ``σ = 0``).
    """
    step = backbone.num_train_timesteps // backbone.scheduler.num_inference_steps
    t = torch.as_tensor(t).long()
    a_t = alpha_bar(backbone, t).to(x)
    a_prev = alpha_bar(backbone, t - step).to(x)
    x0 = (x - (1 - a_t).sqrt() * eps) / a_t.sqrt()
    sigma = eta * ((1 - a_prev) / (1 - a_t)).sqrt() * (1 - a_t / a_prev).clamp(min=0).sqrt()
    mean = a_prev.sqrt() * x0 + (1 - a_prev - sigma**2).clamp(min=0).sqrt() * eps
    if noise is None or float(sigma) == 0.0:
        return mean, mean, sigma
    return mean + sigma * noise, mean, sigma


def gaussian_log_prob(x: Tensor, mean: Tensor, sigma: Tensor) -> Tensor:
    """``log N(x; μ, σ² I)`` averaged over the non-batch dimensions: `[B]` (DDPO's per-dimension mean)."""
    sigma = sigma.clamp(min=1e-12)
    lp = -((x.detach() - mean) ** 2) / (2 * sigma**2) - torch.log(sigma) - 0.5 * math.log(2 * math.pi)
    return lp.flatten(1).mean(dim=1)


def initial_noise(backbone: DiffusionBackbone, batch: int, image_size: int, generator: torch.Generator) -> Tensor:
    """``x_T ~ N(0, I)`` drawn on CPU from ``generator`` (bit-reproducible on any device)."""
    shape = backbone.latent_shape(batch, image_size)
    return torch.randn(shape, generator=generator).to(backbone.device)


def add_noise(backbone: DiffusionBackbone, x0: Tensor, noise: Tensor, t: Tensor) -> Tensor:
    """Forward diffusion ``x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε`` with `[B]` or scalar ``t``."""
    a = alpha_bar(backbone, torch.as_tensor(t, device=x0.device).long()).to(x0)
    a = a.view(-1, *([1] * (x0.ndim - 1))) if a.ndim else a
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


@torch.no_grad()
def sample_trajectory(
    backbone: DiffusionBackbone,
    cond: Conditioning,
    settings: SamplerSettings,
    generator: torch.Generator,
    predict: NoiseFn | None = None,
) -> Trajectory:
    """Sample ``x_T -> x_0`` without gradients, recording states and log-probs (DDPO rollouts)."""
    predict = predict or backbone.predict_noise
    timesteps = ddim_timesteps(backbone, settings.num_steps)
    x = initial_noise(backbone, len(cond.prompts), settings.image_size, generator)
    states, log_probs = [x], []
    for t in timesteps:
        eps = predict(x, t, cond)
        noise = torch.randn(x.shape, generator=generator).to(x)
        x_next, mean, sigma = ddim_step(backbone, eps, x, t, settings.eta, noise)
        log_probs.append(gaussian_log_prob(x_next, mean, sigma) if float(sigma) > 0 else torch.zeros(x.shape[0], device=x.device))
        states.append(x_next)
        x = x_next
    return Trajectory(torch.stack(states), torch.stack(log_probs), timesteps)


def denoise_with_grad_tail(
    backbone: DiffusionBackbone,
    x: Tensor,
    cond: Conditioning,
    timesteps: Tensor,
    grad_steps: int,
    generator: torch.Generator | None,
    *,
    eta: float = 0.0,
    predict: NoiseFn | None = None,
    use_checkpoint: bool = True,
) -> Tensor:
    """Run DDIM over ``timesteps`` from ``x``; only the last ``grad_steps`` steps carry gradients.

    The first ``len(timesteps) - grad_steps`` steps run under ``no_grad`` and their output is detached
    (truncated backprop, DRaFT-K); each of the remaining UNet calls is wrapped in non-reentrant
    gradient checkpointing when ``use_checkpoint``, so memory grows with ``K`` only by one latent per step.

    Returns:
        `[B, ...]` the final clean latent ``x_0`` (with a graph through the last ``K`` steps).
    """
    predict = predict or backbone.predict_noise
    n = len(timesteps)
    grad_steps = max(0, min(grad_steps, n))
    for i, t in enumerate(timesteps):
        tracked = i >= n - grad_steps
        noise = torch.randn(x.shape, generator=generator).to(x) if eta > 0 else None
        if not tracked:
            with torch.no_grad():
                x = ddim_step(backbone, predict(x, t, cond), x, t, eta, noise)[0]
            continue
        if use_checkpoint:
            eps = checkpoint(lambda xi, ti=t: predict(xi, ti, cond), x, use_reentrant=False)
        else:
            eps = predict(x, t, cond)
        x = ddim_step(backbone, eps, x, t, eta, noise)[0]
    return x
