"""An objective on strings with a known optimum: how many positions hold one of the given tokens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from gendesign import ConfigError, Objective, ObjectiveSpec
from gendesign.core.objective import resolve_device


class TokenCount(Objective):
    """``f(x) = #{i : x_i in tokens}`` for a string design ``x`` (maximised; ``len(x)`` at the optimum).

    Args:
        tokens: the counted characters.
        device: where the values are computed.

    Returns (per batch): values `[B, 1]`.
    """

    def __init__(self, tokens: str, device: str = "cpu") -> None:
        if not tokens:
            raise ConfigError("TokenCount needs at least one token to count, e.g. tokens = 'AB'")
        self.tokens = str(tokens)
        self.device = resolve_device(device)
        self.specs = (ObjectiveSpec("count", "max", description=f"positions holding one of {self.tokens!r}"),)

    def evaluate(self, designs: Sequence[Any]) -> Tensor:
        return torch.tensor([float(sum(ch in self.tokens for ch in d)) for d in designs], device=self.device)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "tokens": self.tokens}
