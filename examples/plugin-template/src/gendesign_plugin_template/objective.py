"""An objective with a known optimum: closeness to a target lattice point."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from gendesign import ConfigError, Objective, ObjectiveSpec
from gendesign.core.objective import resolve_device


class LatticeDistance(Objective):
    """``f(x) = -sum_i |x_i - t_i|``: the negative L1 distance to ``target``, maximised (0 at the target).

    Args:
        target: the target point ``t``.
        space: the campaign's space, given by the engine; used to check ``len(target)``.
        device: where the values are computed.

    Returns (per batch): values `[B, 1]`.
    """

    def __init__(self, target: list[int], space: Any = None, device: str = "cpu") -> None:
        if space is not None and getattr(space, "dim", len(target)) != len(target):
            raise ConfigError(f"LatticeDistance: target {target} has {len(target)} coordinates but the space has dim={space.dim}")
        self.target = [int(t) for t in target]
        self.device = resolve_device(device)
        self.specs = (ObjectiveSpec("closeness", "max", description="negative L1 distance to the target"),)

    def evaluate(self, designs: Sequence[Any]) -> Tensor:
        x = torch.tensor([list(d) for d in designs], dtype=torch.float32, device=self.device)
        t = torch.tensor(self.target, dtype=torch.float32, device=self.device)
        return 0.0 - (x - t).abs().sum(dim=-1)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "target": self.target}
