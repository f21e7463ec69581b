"""AlignProp: reward backprop through the sampling chain with randomised truncation.

Prabhudesai, Goyal, Pathak & Fragkiadaki, "Aligning Text-to-Image Diffusion Models with Reward
Backpropagation", arXiv 2310.03739. Every step of the DDIM chain is gradient-checkpointed and the
chain is detached before a random step, so each update backpropagates through ``K`` final steps with

* ``"gaussian"``: ``K = round(N(k_mean, k_std))`` clipped to ``[1, S]`` (the paper draws the
  truncation step from N(42, 5) of 50, i.e. ``K ≈ 8 ± 5``);
* ``"uniform"``: ``K ~ U{k_low, ..., k_high}``;
* ``"fixed"``: ``K = k_mean``.

Randomising ``K`` trades the bias of short truncation against the cost and gradient variance of
full backprop.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, model_validator

from gendesign.core.errors import ConfigError
from gendesign.generators.diffusion.algorithm import AlgorithmOptions, RewardAlgorithm, TrainContext
from gendesign.generators.diffusion.backprop import backprop_step


class AlignPropOptions(AlgorithmOptions):
    """Attributes:
    strategy: how the number of tracked steps ``K`` is drawn.
    k_mean: mean of ``K`` (``"gaussian"``) or the fixed ``K``.
    k_std: standard deviation of ``K`` (``"gaussian"``).
    k_low: smallest ``K`` (``"uniform"``).
    k_high: largest ``K`` (``"uniform"``).
    """

    strategy: Literal["gaussian", "uniform", "fixed"] = "gaussian"
    k_mean: float = Field(8.0, ge=1)
    k_std: float = Field(5.0, ge=0)
    k_low: int = Field(1, ge=1)
    k_high: int = Field(8, ge=1)

    @model_validator(mode="after")
    def _range(self) -> AlignPropOptions:
        if self.k_low > self.k_high:
            raise ValueError(f"k_low={self.k_low} must not exceed k_high={self.k_high}")
        return self


class AlignProp(RewardAlgorithm):
    """Reward backprop with a randomly truncated, fully checkpointed chain (needs a differentiable reward)."""

    name = "alignprop"
    needs_differentiable_reward = True
    Options = AlignPropOptions

    def draw_k(self, num_steps: int, generator: torch.Generator) -> int:
        """Number of tracked final steps for this update, in ``[1, num_steps]``."""
        o = self.options
        if o.strategy == "fixed":
            k = round(o.k_mean)
        elif o.strategy == "gaussian":
            k = round(o.k_mean + o.k_std * float(torch.randn((), generator=generator)))
        elif o.strategy == "uniform":
            k = o.k_low + int(torch.randint(o.k_high - o.k_low + 1, (1,), generator=generator))
        else:
            raise ConfigError(f"AlignProp strategy={o.strategy!r}; choose 'gaussian', 'uniform' or 'fixed'")
        return max(1, min(num_steps, k))

    def step(self, ctx: TrainContext, prompts: list[str]) -> dict[str, float]:
        return backprop_step(ctx, prompts, self.draw_k(ctx.sampler.num_steps, ctx.generator))
