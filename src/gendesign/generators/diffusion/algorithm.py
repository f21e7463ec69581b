"""What every reward fine-tuning algorithm sees: the training context and the algorithm base class.

An algorithm turns prompts (and, for editing-style methods, training data) into one or more
optimiser updates per :meth:`RewardAlgorithm.step`. The :class:`TrainContext` owns everything the
algorithms share: the backbone, the reward, the optimiser, the seeded generator, the distributed
accelerator and the optional KL regulariser against the frozen base model.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict
from torch import Tensor, nn

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, Scores
from gendesign.core.protocols import OnlineReward, conforms
from gendesign.generators.diffusion.backbone import Conditioning, DiffusionBackbone
from gendesign.generators.diffusion.difficulty import Rollout
from gendesign.generators.diffusion.lora import adapters_disabled
from gendesign.generators.diffusion.sampling import SamplerSettings, sample_trajectory
from gendesign.objectives.image_rewards import ConditionedImage


@dataclass
class TrainContext:
    """Shared state of a fine-tuning run.

    Attributes:
        backbone: the diffusion model; :attr:`trained` is the part being optimised (UNet or ControlNet).
        trained: the module whose parameters the optimiser holds.
        reward: the training reward (an :class:`Objective`).
        reward_column: which column of the reward is optimised (in its maximise view).
        optimizer: the optimiser over the trainable parameters.
        sampler: DDIM settings.
        generator: the seeded CPU generator every random draw comes from (checkpointed).
        accelerator: an ``accelerate.Accelerator`` (process group, device, gradient reduction), or None.
        use_lora: whether :attr:`trained` carries LoRA adapters (the frozen base is then the reference).
        kl_weight: weight ``β`` of the ε-space KL penalty to the base model (0 disables it).
        max_grad_norm: gradient clipping norm (None disables clipping).
        gradient_checkpointing: checkpoint UNet calls that carry gradients.
        data: training images or clips `[N, ...]` in ``[0, 1]`` for editing-style methods.
        step_index: the number of completed outer steps (for schedules such as Ctrl-U's λ ramp).
        trained_attr: the backbone attribute that holds :attr:`trained` (``"unet"`` or ``"controlnet"``).
        condition_fn: maps images `[B, 3, H, W]` to condition maps `[B, C, H, W]` (ControlNet backbones).
    """

    backbone: DiffusionBackbone
    trained: nn.Module
    reward: Objective
    optimizer: torch.optim.Optimizer
    sampler: SamplerSettings
    generator: torch.Generator
    accelerator: Any = None
    reward_column: int = 0
    use_lora: bool = True
    kl_weight: float = 0.0
    max_grad_norm: float | None = 1.0
    gradient_checkpointing: bool = True
    data: Tensor | None = None
    step_index: int = 0
    trained_attr: str = "unet"
    condition_fn: Callable[[Tensor], Tensor] | None = None
    _reference: nn.Module | None = field(default=None, repr=False)

    @property
    def device(self) -> torch.device:
        return self.backbone.device

    def encode(self, prompts: list[str], control: Tensor | None = None) -> Conditioning:
        """Conditioning for ``prompts``; a ControlNet backbone gets condition maps of random training items."""
        if control is None and self.backbone.kind == "controlnet":
            if self.data is None or self.condition_fn is None:
                raise ConfigError("a 'controlnet' backbone needs training data (a [data] table) for its condition maps")
            items = self.data[sample_indices(len(self.data), len(prompts), self.generator).to(self.data.device)]
            control = self.condition_fn(items)
        return self.backbone.encode_prompts(prompts, guidance_scale=self.sampler.guidance_scale, control=control)

    def predict(self, x: Tensor, t: Tensor | int, cond: Conditioning) -> Tensor:
        return self.backbone.predict_noise(x, t, cond)

    def designs(self, images: Tensor, cond: Conditioning) -> list[Any]:
        """Reward designs for decoded ``images``: plain tensors, or :class:`ConditionedImage` with a control map or a prompt."""
        if cond.control is None:
            if getattr(self.reward, "needs_prompt", False):
                return [ConditionedImage(img, None, p) for img, p in zip(images, cond.prompts)]
            return list(images)
        return [ConditionedImage(img, c, p) for img, c, p in zip(images, cond.control, cond.prompts)]

    def reward_scores(self, images: Tensor, cond: Conditioning, *, grad: bool) -> tuple[Tensor, Scores]:
        """`[B]` maximise-view reward of the optimised column (NaN where invalid) and the full :class:`Scores`."""
        scores = self.reward(self.designs(images, cond), grad=grad)
        values = scores.values[:, self.reward_column] * scores.specs[self.reward_column].sign
        return values.to(self.device), scores

    def observe_reward(self, scores: Scores) -> None:
        """Let an :class:`~gendesign.core.protocols.OnlineReward` (e.g. learned constraint multipliers) learn from a training batch."""
        if conforms(self.reward, OnlineReward):
            self.reward.observe(scores)  # type: ignore[attr-defined]

    def reference_noise(self, x: Tensor, t: Tensor | int, cond: Conditioning) -> Tensor:
        """``ε_ref(x_t, t, c)`` of the frozen base model, without gradients."""
        with torch.no_grad():
            if self.use_lora:
                with adapters_disabled(self.trained):
                    return self.backbone.predict_noise(x, t, cond)
            if self._reference is None:
                raise ConfigError("full fine-tuning with kl_weight > 0 needs a reference copy; call TrainContext.snapshot_reference()")
            live = self.trained
            self._swap(self._reference)
            try:
                return self.backbone.predict_noise(x, t, cond)
            finally:
                self._swap(live)

    def snapshot_reference(self) -> None:
        """Keep a frozen copy of :attr:`trained` as the KL reference (full fine-tuning only)."""
        ref = copy.deepcopy(self.trained).eval()
        ref.requires_grad_(False)
        self._reference = ref

    def _swap(self, module: nn.Module) -> None:
        setattr(self.backbone, self.trained_attr, module)

    def kl_penalty(self, x: Tensor, t: Tensor | int, cond: Conditioning, eps: Tensor) -> Tensor:
        """ε-space KL surrogate `[B]`: ``mean ||ε_θ(x_t) - ε_ref(x_t)||²`` over dimensions.

        For two DDIM Gaussian policies with the same ``σ_t`` the per-step KL is ``c_t ||ε_θ - ε_ref||²``
        with ``c_t`` depending only on the schedule; the constant is folded into ``β``.
        """
        ref = self.reference_noise(x.detach(), t, cond)
        return ((eps - ref) ** 2).flatten(1).mean(dim=1)

    def backward(self, loss: Tensor) -> None:
        if self.accelerator is not None:
            self.accelerator.backward(loss)
        else:
            loss.backward()

    def optimizer_step(self) -> float:
        """Average gradients across processes, clip, step and zero them; returns the pre-clip gradient norm."""
        params = [p for p in self.trained.parameters() if p.requires_grad]
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        if self.accelerator is not None and self.accelerator.num_processes > 1:
            flat = torch.cat([p.grad.flatten() for p in params])
            flat = self.accelerator.reduce(flat, reduction="mean")
            offset = 0
            for p in params:
                n = p.numel()
                p.grad.copy_(flat[offset : offset + n].view_as(p))
                offset += n
        norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params])) if params else torch.zeros(())
        if self.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(norm)


class RewardAlgorithm(ABC):
    """A reward fine-tuning algorithm: one call of :meth:`step` is one outer iteration.

    Attributes:
        name: registered name (``"ddpo"``, ``"draft"``, ...).
        needs_differentiable_reward: the algorithm backpropagates through the reward.
        needs_data: the algorithm edits training images or clips (InstructVideo, Ctrl-U).
        Options: the pydantic options model of the algorithm.
    """

    name: ClassVar[str]
    needs_differentiable_reward: ClassVar[bool] = False
    needs_data: ClassVar[bool] = False
    Options: ClassVar[type[BaseModel]]

    def __init__(self, options: BaseModel | None = None) -> None:
        self.options = options if options is not None else self.Options()

    def check(self, ctx: TrainContext) -> None:
        """Raise :class:`ConfigError` when the context cannot run this algorithm."""
        if self.needs_differentiable_reward and not ctx.reward.differentiable:
            raise ConfigError(
                f"algorithm {self.name!r} backpropagates through the reward, but reward {ctx.reward.name!r} is not "
                "differentiable; use algorithm 'ddpo' or a differentiable reward"
            )
        if getattr(ctx.reward, "needs_condition", False) and ctx.backbone.kind != "controlnet":
            raise ConfigError(
                f"reward {ctx.reward.name!r} scores images against condition maps, but the {ctx.backbone.kind!r} backbone "
                "generates unconditioned images; use a 'controlnet' backbone or another reward"
            )
        if self.needs_data and ctx.data is None:
            raise ConfigError(f"algorithm {self.name!r} edits training data; add a [data] table")

    @abstractmethod
    def step(self, ctx: TrainContext, prompts: list[str]) -> dict[str, float]:
        """One outer iteration on ``prompts``; returns scalar metrics (always ``reward_mean``)."""

    def rollout(self, ctx: TrainContext, prompts: list[str]) -> Rollout:
        """Sample and score one image per prompt without gradients (the difficulty filter's screening)."""
        with torch.no_grad():
            cond = ctx.encode(prompts)
            traj = sample_trajectory(ctx.backbone, cond, ctx.sampler, ctx.generator, ctx.predict)
            rewards, _ = ctx.reward_scores(ctx.backbone.decode(traj.final), cond, grad=False)
        return PromptRollout(list(prompts), rewards.cpu())

    def cat_rollouts(self, parts: list[Any]) -> Any:
        """One rollout of the kept groups ``parts`` (as returned by :meth:`rollout`, then selected)."""
        return PromptRollout([p for part in parts for p in part.prompts], torch.cat([part.rewards for part in parts]))

    def learn(self, ctx: TrainContext, rollout: Any) -> dict[str, float]:
        """One update on the kept groups of a filtered step; by default a fresh :meth:`step` on their prompts."""
        return self.step(ctx, rollout.prompts)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        del state


@dataclass
class PromptRollout:
    """Screened prompts `[N]` with their rewards `[N]` (the default :class:`Rollout`)."""

    prompts: list[str]
    rewards: Tensor

    def select(self, index: Tensor) -> PromptRollout:
        return PromptRollout([self.prompts[i] for i in index.tolist()], self.rewards[index])


class AlgorithmOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


def nan_safe_mean(values: Tensor) -> Tensor:
    """Mean over the finite entries of `[B]` (0 when none is finite)."""
    finite = torch.isfinite(values)
    if not bool(finite.any()):
        return values.new_zeros(())
    return values[finite].mean()


def reward_stats(rewards: Tensor) -> dict[str, float]:
    """``reward_mean`` and population ``reward_std`` over the finite entries of `[B]` (0 when none is finite)."""
    r = rewards.detach()
    finite = torch.isfinite(r)
    std = float(r[finite].std(unbiased=False)) if bool(finite.any()) else 0.0
    return {"reward_mean": float(nan_safe_mean(r)), "reward_std": std}


def sample_indices(n: int, k: int, generator: torch.Generator) -> Tensor:
    """``k`` indices into ``range(n)``, without replacement while possible."""
    if k <= n:
        return torch.randperm(n, generator=generator)[:k]
    return torch.randint(n, (k,), generator=generator)

