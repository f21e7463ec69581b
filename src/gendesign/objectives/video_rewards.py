"""Lifting image rewards to videos: Segmental Video Reward and Temporally Attenuated Reward.

InstructVideo (Yuan et al., CVPR 2024, arXiv 2312.12490) scores a generated clip `[F, 3, H, W]` with an
image reward model by sparse, TSN-style frame sampling: the ``F`` frames are split into ``S`` equal
segments and one frame index ``g(i)`` is drawn uniformly inside segment ``i`` (SegVR). Each sampled
frame is weighted by ``f_i = exp(-λ · |g(i) - ⌊F/2⌋|)`` (TAR) and the clip reward is

``R = (1/S) · Σ_i f_i · r(frame_{g(i)})``.

``λ = 0`` gives the plain segment mean. The weighted segment terms ``f_i r_i / S`` (which sum to
``R``) are reported as step values in ``Scores.info["steps"]``, one step per segment, for
:class:`~gendesign.objectives.step_rewards.StepShaped` (Clip, Delta, G-RA). With ``normalize=True`` the weights are rescaled to sum to
one, ``R = Σ_i f_i r_i / Σ_i f_i``, which keeps ``R`` on the image reward's scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError, ObjectiveError
from gendesign.core.objective import Objective, Scores
from gendesign.objectives.step_rewards import StepValues

if TYPE_CHECKING:
    from gendesign.core.plugins import PluginSystem


def segment_bounds(num_frames: int, num_segments: int) -> list[tuple[int, int]]:
    """Half-open frame ranges ``[start, stop)`` of ``num_segments`` equal segments of ``num_frames`` frames."""
    if num_segments < 1 or num_frames < num_segments:
        raise ConfigError(
            f"segmental sampling needs 1 <= num_segments <= num_frames; got num_segments={num_segments}, "
            f"num_frames={num_frames}"
        )
    edges = [(i * num_frames) // num_segments for i in range(num_segments + 1)]
    return list(zip(edges[:-1], edges[1:]))


def sample_segment_frames(num_frames: int, num_segments: int, generator: torch.Generator) -> Tensor:
    """One frame index per segment, uniform within the segment: `[S]` long (SegVR)."""
    picks = []
    for start, stop in segment_bounds(num_frames, num_segments):
        picks.append(start + int(torch.randint(stop - start, (1,), generator=generator).item()))
    return torch.tensor(picks, dtype=torch.long)


def tar_weights(indices: Tensor, num_frames: int, lam: float) -> Tensor:
    """Temporally attenuated weights ``f_i = exp(-λ |g(i) - ⌊F/2⌋|)`` of frame indices `[..., S]`."""
    centre = num_frames // 2
    return torch.exp(-lam * (indices.to(torch.float32) - centre).abs())


class SegmentalVideoReward(Objective):
    """Score videos `[F, 3, H, W]` with an image reward through SegVR sampling and TAR weighting.

    Args:
        image_reward: an :class:`Objective` over images `[3, H, W]` (or a ``{name, options}`` table); its
            ``K`` columns are kept.
        num_segments: ``S``, the number of segments (and scored frames) per clip; InstructVideo uses 4 for 16 frames.
        tar_lambda: ``λ`` of the attenuation; 0 disables TAR. InstructVideo uses 1.
        normalize: divide by ``Σ f_i`` instead of ``S``.
        seed: seed of the frame sampler; its state is in :meth:`state_dict`.
        plugins: the plugin system that resolves an ``image_reward`` table (the registry passes its own).
    """

    deterministic = False

    def __init__(
        self,
        image_reward: Objective | Mapping[str, Any],
        num_segments: int = 4, tar_lambda: float = 1.0, normalize: bool = False, seed: int = 0, plugins: PluginSystem | None = None
    ) -> None:
        if tar_lambda < 0:
            raise ConfigError(f"SegmentalVideoReward: tar_lambda={tar_lambda}; use a value >= 0")
        if num_segments < 1:
            raise ConfigError(f"SegmentalVideoReward: num_segments={num_segments}; use at least 1")
        if not isinstance(image_reward, Objective):
            from gendesign.objectives.image_ensemble import build_part

            image_reward = build_part(image_reward, plugins, where="SegmentalVideoReward image_reward")
        self.image_reward = image_reward
        self.num_segments = num_segments
        self.tar_lambda = tar_lambda
        self.normalize = normalize
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.specs = image_reward.specs
        self.differentiable = image_reward.differentiable
        self.device = image_reward.device

    def frame_weights(self, indices: Tensor, num_frames: int) -> Tensor:
        """Aggregation weights `[B, S]` of sampled frame indices `[B, S]`, including the ``1/S`` or ``1/Σf``."""
        f = tar_weights(indices, num_frames, self.tar_lambda)
        return f / f.sum(dim=-1, keepdim=True) if self.normalize else f / self.num_segments

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        videos = list(designs)
        for v in videos:
            if not isinstance(v, Tensor) or v.ndim != 4 or v.shape[1] != 3:
                shape = list(v.shape) if isinstance(v, Tensor) else type(v).__name__
                raise ObjectiveError(f"SegmentalVideoReward scores videos [F, 3, H, W]; got {shape}")
        num_frames = {int(v.shape[0]) for v in videos}
        if len(num_frames) != 1:
            raise ObjectiveError(f"SegmentalVideoReward: videos in one batch must share a frame count; got {sorted(num_frames)}")
        frames_per_clip = num_frames.pop()
        indices = torch.stack([sample_segment_frames(frames_per_clip, self.num_segments, self.generator) for _ in videos])
        frames = [v[i] for v, idx in zip(videos, indices) for i in idx.tolist()]
        grad = torch.is_grad_enabled() and self.image_reward.differentiable
        inner = self.image_reward(frames, grad=grad)
        b, s, k = len(videos), self.num_segments, len(self.specs)
        values = inner.values.reshape(b, s, k)
        weights = self.frame_weights(indices, frames_per_clip).to(values)
        aggregated = (weights.unsqueeze(-1) * values).sum(dim=1)
        valid = inner.valid.reshape(b, s).all(dim=1)
        errors = [next((e for e in inner.errors[i * s : (i + 1) * s] if e), None) for i in range(b)]
        aggregated = torch.where(valid.unsqueeze(-1), aggregated, torch.full_like(aggregated, math.nan))
        return Scores(
            values=aggregated,
            valid=valid,
            specs=self.specs,
            errors=errors,
            info={
                "frame_indices": indices,
                "frame_weights": weights.detach(),
                "frame_values": values.detach(),
                "steps": StepValues(weights.unsqueeze(-1) * values, torch.ones(b, s, dtype=torch.bool, device=values.device)),
            },
        )

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])

    def to(self, device: str | torch.device) -> SegmentalVideoReward:
        super().to(device)
        self.image_reward.to(self.device)
        return self

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "image_reward": self.image_reward.config(),
            "num_segments": self.num_segments,
            "tar_lambda": self.tar_lambda,
            "normalize": self.normalize,
            "seed": self.seed,
        }
