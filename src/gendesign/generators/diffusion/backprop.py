"""Direct reward backpropagation through the end of the DDIM chain (shared by DRaFT-K and AlignProp).

``x_T ~ N(0, I)`` is denoised with ``η = 0``; the first ``S - K`` steps run without gradients and the
last ``K`` with checkpointed gradients. The loss is ``-mean_i r(decode(x_0^i))`` plus the optional
ε-space KL penalty on the tracked steps.
"""

from __future__ import annotations

import torch

from gendesign.generators.diffusion.algorithm import TrainContext, reward_stats
from gendesign.generators.diffusion.sampling import ddim_step, ddim_timesteps, initial_noise


def backprop_step(ctx: TrainContext, prompts: list[str], k: int, eta: float = 0.0) -> dict[str, float]:
    """One update of ``-E[r(x_0)]`` with gradients through the last ``k`` DDIM steps."""
    from torch.utils.checkpoint import checkpoint

    backbone = ctx.backbone
    cond = ctx.encode(prompts)
    timesteps = ddim_timesteps(backbone, ctx.sampler.num_steps)
    x = initial_noise(backbone, len(prompts), ctx.sampler.image_size, ctx.generator)
    n = len(timesteps)
    k = max(1, min(k, n))
    kl_terms = []
    for i, t in enumerate(timesteps):
        noise = torch.randn(x.shape, generator=ctx.generator).to(x) if eta > 0 else None
        if i < n - k:
            with torch.no_grad():
                x = ddim_step(backbone, ctx.predict(x, t, cond), x, t, eta, noise)[0]
            continue
        if ctx.gradient_checkpointing:
            eps = checkpoint(lambda xi, ti=t: ctx.predict(xi, ti, cond), x, use_reentrant=False)
        else:
            eps = ctx.predict(x, t, cond)
        if ctx.kl_weight > 0:
            kl_terms.append(ctx.kl_penalty(x, t, cond, eps).mean())
        x = ddim_step(backbone, eps, x, t, eta, noise)[0]
    images = backbone.decode(x)
    rewards, scores = ctx.reward_scores(images, cond, grad=True)
    ctx.observe_reward(scores.detach())
    finite = torch.isfinite(rewards)
    reward_term = rewards[finite].mean() if bool(finite.any()) else rewards.new_zeros((), requires_grad=True)
    loss = -reward_term
    metrics = {}
    if kl_terms:
        kl = torch.stack(kl_terms).mean()
        loss = loss + ctx.kl_weight * kl
        metrics["kl"] = float(kl.detach())
    ctx.backward(loss)
    metrics["grad_norm"] = ctx.optimizer_step()
    metrics.update({"loss": float(loss.detach()), "k": float(k), **reward_stats(rewards)})
    return metrics
