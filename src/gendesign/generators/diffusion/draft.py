"""DRaFT-K: direct reward fine-tuning with gradients through the last K sampling steps.

Clark, Vicol, Swersky & Fleet, "Directly Fine-Tuning Diffusion Models on Differentiable Rewards",
ICLR 2024. The reward gradient ``∇_θ r(x_0)`` is backpropagated through the final ``K`` DDIM steps
(``η = 0``) only; ``K = 1`` (DRaFT-1) is the cheapest and the paper's most sample-efficient setting.
"""

from __future__ import annotations

from pydantic import Field

from gendesign.generators.diffusion.algorithm import AlgorithmOptions, RewardAlgorithm, TrainContext
from gendesign.generators.diffusion.backprop import backprop_step


class DRaFTOptions(AlgorithmOptions):
    """Attributes:
    k: number of final steps that carry gradients.
    """

    k: int = Field(1, ge=1)


class DRaFT(RewardAlgorithm):
    """Truncated reward backprop through the last K DDIM steps (needs a differentiable reward)."""

    name = "draft"
    needs_differentiable_reward = True
    Options = DRaFTOptions

    def step(self, ctx: TrainContext, prompts: list[str]) -> dict[str, float]:
        return backprop_step(ctx, prompts, self.options.k)
