"""Step-reward refinement: Clip and Delta (Gao et al. 2024) and gated accumulation (G-RA).

Dense rewards along a generation (x̂0 rewards along a diffusion chain, values of partially
denoised states in MCTS, per-segment video rewards) invite reward hacking: a policy that can add
steps, or linger in states the step reward likes, inflates the return. The refinements here act on
ragged step values :class:`StepValues` (``values`` `[B, T, ...]`, ``mask`` `[B, T]`, valid steps a
prefix of each row):

* **Clip** (Gao et al. 2024, "On Designing Effective RL Reward at Training Time for LLM Reasoning",
  arXiv 2410.15115): ``r̃_t = min(r_t - η, 0)``. Every step reward is ``<= 0``, so more steps
  never raise the return.
* **Delta** (same paper): ``r̃_t = r_t - r_{t+1}`` for ``t < T_b`` with the last term dropped, so
  the return-to-go telescopes, ``Σ_{j >= t} r̃_j = r_t - r_{T_b}``: bounded, and padding cannot
  inflate it.
* **G-RA** gated accumulation ("Gated Reward Accumulation", arXiv 2508.10548):
  ``R = r_out + 1[r_out >= τ] · w · Σ_t r̃_t``; dense terms count only for trajectories whose
  outcome reaches ``τ``, so they never lift a failing one.

An objective that has step values puts a :class:`StepValues` in ``Scores.info["steps"]``;
:class:`StepShaped` turns it into one shaped reward column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError, ObjectiveError
from gendesign.core.objective import Objective, Scores
from gendesign.objectives.compose import ObjectiveWrapper, nan_invalid

__all__ = [
    "StepShaped",
    "StepValues",
    "clip_steps",
    "delta_steps",
    "gated_return",
    "refine_steps",
    "returns_to_go",
]

StepRefine = Literal["none", "clip", "delta"]


@dataclass(frozen=True)
class StepValues:
    """Ragged per-step values.

    Attributes:
        values: `[B, T, ...]` step values (entries outside ``mask`` are ignored and returned as 0).
        mask: `[B, T]` bool; each row's valid steps are a prefix ``0 .. T_b - 1``.
    """

    values: Tensor
    mask: Tensor

    def __post_init__(self) -> None:
        if self.mask.dtype != torch.bool or tuple(self.mask.shape) != tuple(self.values.shape[:2]):
            raise ConfigError(f"StepValues: mask must be bool [B, T] = {list(self.values.shape[:2])}, got {self.mask.dtype} {list(self.mask.shape)}")
        if self.mask.shape[1] > 1 and bool((self.mask[:, 1:] & ~self.mask[:, :-1]).any()):
            raise ConfigError("StepValues: each row's valid steps must be a prefix (mask like [1, 1, 0, 0]); pad at the end")

    @staticmethod
    def from_list(rows: Sequence[Tensor]) -> StepValues:
        """Pad a list of `[T_b, ...]` tensors into one :class:`StepValues`."""
        if not rows:
            raise ConfigError("StepValues.from_list needs at least one row")
        t = max(int(r.shape[0]) for r in rows)
        values = rows[0].new_zeros((len(rows), t, *rows[0].shape[1:]))
        mask = torch.zeros(len(rows), t, dtype=torch.bool, device=values.device)
        for b, r in enumerate(rows):
            values[b, : r.shape[0]] = r
            mask[b, : r.shape[0]] = True
        return StepValues(values, mask)

    @property
    def lengths(self) -> Tensor:
        """`[B]` number of valid steps per row."""
        return self.mask.sum(dim=1)

    def _m(self) -> Tensor:
        return self.mask.view(*self.mask.shape, *([1] * (self.values.ndim - 2)))

    def masked(self) -> Tensor:
        """``values`` with every step outside ``mask`` set to 0."""
        return torch.where(self._m(), self.values, torch.zeros_like(self.values))

    def total(self) -> Tensor:
        """`[B, ...]` sum over each row's valid steps."""
        return self.masked().sum(dim=1)


def clip_steps(steps: StepValues, eta: float = 0.0) -> StepValues:
    """Clip: ``r̃_t = min(r_t - η, 0)`` on valid steps (Gao et al. 2024)."""
    out = torch.clamp(steps.values - eta, max=0.0)
    return replace(steps, values=torch.where(steps._m(), out, torch.zeros_like(out)))


def delta_steps(steps: StepValues, drop_last: bool = True) -> StepValues:
    """Delta: ``r̃_t = r_t - r_{t+1}``; the last valid step is dropped (``drop_last``) or kept as ``r_{T_b}``.

    With ``drop_last`` the return-to-go is ``Σ_{j >= t} r̃_j = r_t - r_{T_b}`` (Gao et al. 2024);
    without it, ``r_t``.
    """
    v = steps.masked()
    nxt = torch.cat([v[:, 1:], torch.zeros_like(v[:, :1])], dim=1)
    next_valid = torch.cat([steps.mask[:, 1:], torch.zeros_like(steps.mask[:, :1])], dim=1)
    last = steps.mask & ~next_valid
    diff = v - nxt
    lastm = last.view(*last.shape, *([1] * (v.ndim - 2)))
    values = torch.where(lastm, v if not drop_last else torch.zeros_like(v), diff)
    mask = steps.mask & ~last if drop_last else steps.mask
    m = mask.view(*mask.shape, *([1] * (v.ndim - 2)))
    return StepValues(torch.where(m, values, torch.zeros_like(values)), mask)


def returns_to_go(steps: StepValues) -> Tensor:
    """`[B, T, ...]` ``G_t = Σ_{j >= t} r_j`` over valid steps (0 beyond a row's end)."""
    v = steps.masked()
    return v.flip(1).cumsum(1).flip(1)


def refine_steps(steps: StepValues, refine: StepRefine, eta: float = 0.0) -> StepValues:
    """Apply ``"clip"`` (with ``eta``), ``"delta"`` or ``"none"``."""
    if refine == "clip":
        return clip_steps(steps, eta)
    if refine == "delta":
        return delta_steps(steps)
    if refine == "none":
        return steps
    raise ConfigError(f"step refinement {refine!r}; use 'none', 'clip' or 'delta'")


def gated_return(outcome: Tensor, dense: Tensor, tau: float | None, weight: float = 1.0) -> Tensor:
    """G-RA: ``r_out + 1[r_out >= τ] · weight · dense`` (``τ = None``: no gate). NaN outcomes stay NaN."""
    if tau is None:
        return outcome + weight * dense
    gate = (outcome >= tau).to(dense.dtype)
    return outcome + gate * weight * dense


class StepShaped(ObjectiveWrapper):
    """One shaped reward column from an objective's outcome and its step values ``info["steps"]``.

    ``R = r_out + g · w · Σ_t r̃_t`` with ``r_out`` the inner objective's column ``column`` (maximise
    view), ``r̃`` the refined step values of that column, and ``g = 1[r_out >= τ]`` when ``gate_tau``
    is set (G-RA), else 1.

    Args:
        inner: an objective that puts a :class:`StepValues` `[B, T, K]` (or `[B, T]` for ``K = 1``)
            in ``Scores.info["steps"]``, e.g.
            :class:`~gendesign.objectives.video_rewards.SegmentalVideoReward` (one step per segment).
        refine: ``"clip"``, ``"delta"`` or ``"none"``.
        eta: Clip's ``η``.
        weight: ``w``, the weight of the dense sum.
        gate_tau: ``τ`` of the gate, in the column's maximise view; ``None`` disables it.
        column: the inner column (name or index).
        name: name of the shaped column.
    """

    def __init__(
        self,
        inner: Objective,
        refine: StepRefine = "delta",
        eta: float = 0.0,
        weight: float = 1.0,
        gate_tau: float | None = None,
        column: str | int = 0,
        name: str | None = None,
    ) -> None:
        super().__init__(inner)
        if refine not in ("none", "clip", "delta"):
            raise ConfigError(f"StepShaped: refine={refine!r}; use 'none', 'clip' or 'delta'")
        names = [s.name for s in inner.specs]
        if isinstance(column, str):
            if column not in names:
                raise ConfigError(f"StepShaped: column {column!r} is not one of {names}")
            column = names.index(column)
        if not 0 <= column < len(names):
            raise ConfigError(f"StepShaped: column {column} is out of range for {names}")
        self.column = column
        self.refine: StepRefine = refine
        self.eta = float(eta)
        self.weight = float(weight)
        self.gate_tau = None if gate_tau is None else float(gate_tau)
        spec = inner.specs[column]
        self.specs = (replace(spec, name=name or f"{spec.name}_shaped", direction="max", bounds=None, kind="objective", threshold=None),)

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        scores = self.call_inner(designs)
        steps = scores.info.get("steps")
        if not isinstance(steps, StepValues):
            raise ObjectiveError(f"StepShaped: objective {self.inner.name!r} reports no StepValues in info['steps']")
        sign = self.inner.specs[self.column].sign
        values = steps.values if steps.values.ndim == 2 else steps.values[..., self.column]
        column_steps = StepValues(values * sign, steps.mask)
        dense = refine_steps(column_steps, self.refine, self.eta).total()
        outcome = scores.values[:, self.column] * sign
        shaped = gated_return(outcome, dense.to(outcome), self.gate_tau, self.weight).unsqueeze(-1)
        return Scores(
            values=nan_invalid(shaped, scores.valid),
            valid=scores.valid,
            specs=self.specs,
            errors=scores.errors,
            info={**scores.info, "outcome": outcome.detach(), "dense": dense.detach()},
            raised=scores.raised,
        )

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "column": self.column,
            "refine": self.refine,
            "eta": self.eta,
            "weight": self.weight,
            "gate_tau": self.gate_tau,
        }
