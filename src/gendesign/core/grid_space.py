"""A grid space: integer cells of a ``D``-dimensional grid of side ``H`` (the HyperGrid objectives' designs)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, InvalidDesignError

MAX_GRID_NDIM = 1024
MAX_GRID_HEIGHT = 1_000_000

class GridSpace(DesignSpace):
    """Integer cells ``(s_1, ..., s_D)`` of a grid with side ``height``.

    Args:
        ndim: ``D >= 1``.
        height: ``H >= 2``.
    """

    def __init__(self, ndim: int = 2, height: int = 8) -> None:
        if not 1 <= ndim <= MAX_GRID_NDIM or not 2 <= height <= MAX_GRID_HEIGHT:
            raise ConfigError(
                f"GridSpace: need 1 <= ndim <= {MAX_GRID_NDIM} and 2 <= height <= {MAX_GRID_HEIGHT}, got ndim={ndim}, height={height}"
            )
        self.ndim = int(ndim)
        self.height = int(height)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "ndim": self.ndim, "height": self.height}

    def validate(self, design: Any) -> tuple[int, ...]:
        if isinstance(design, Tensor):
            design = design.tolist()
        if isinstance(design, str):
            try:
                design = json.loads(design)
            except json.JSONDecodeError:
                raise InvalidDesignError(f"cannot read grid cell from {design!r}; give a list of {self.ndim} integers") from None
        if isinstance(design, np.ndarray):
            design = design.tolist()
        # Only numbers are coordinates: int() would read "1" and True as 1.
        if not isinstance(design, (list, tuple)) or any(
            isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)) for v in design
        ):
            raise InvalidDesignError(f"{design!r} is not a sequence of {self.ndim} integers")
        try:
            cell = tuple(int(v) for v in design)
        except (TypeError, ValueError, OverflowError):
            raise InvalidDesignError(f"{design!r} is not a sequence of {self.ndim} integers") from None
        if any(float(v) != c for v, c in zip(design, cell)):
            raise InvalidDesignError(f"grid cell {design!r} has non-integer coordinates")
        if len(cell) != self.ndim:
            raise InvalidDesignError(f"grid cell {cell} has {len(cell)} coordinates; this grid has ndim={self.ndim}")
        if any(not 0 <= c < self.height for c in cell):
            raise InvalidDesignError(f"grid cell {cell} leaves the grid 0..{self.height - 1}")
        return cell

    def key(self, design: Any) -> str:
        return ",".join(str(c) for c in self.validate(design))

    def to_json(self, design: Any) -> str:
        return json.dumps(list(self.validate(design)))

    def from_json(self, text: str) -> tuple[int, ...]:
        return self.validate(json.loads(text))

    def sample(self, n: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
        return [tuple(int(v) for v in row) for row in rng.integers(0, self.height, size=(n, self.ndim))]

    def mutate(self, design: Any, rng: np.random.Generator) -> tuple[int, ...]:
        """Move one coordinate by +-1, reflecting at the walls."""
        cell = list(self.validate(design))
        d = int(rng.integers(self.ndim))
        step = 1 if rng.random() < 0.5 else -1
        if not 0 <= cell[d] + step < self.height:
            step = -step
        cell[d] += step
        return tuple(cell)

    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> tuple[int, ...]:
        """Each coordinate from either parent with probability 1/2."""
        ca, cb = self.validate(a), self.validate(b)
        pick = rng.random(self.ndim) < 0.5
        return tuple(x if p else y for x, y, p in zip(ca, cb, pick))

    def to_tensor(self, designs: Sequence[Any]) -> Tensor:
        """`[B, D]` long coordinates."""
        return torch.tensor([self.validate(d) for d in designs], dtype=torch.long).reshape(-1, self.ndim)
