"""A design space of integer points in a box."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from gendesign import ConfigError, DesignSpace, InvalidDesignError


class LatticeSpace(DesignSpace):
    """Integer points ``x`` in ``[low, high]^dim``; a design is a tuple of ``dim`` ints.

    Mutation moves one coordinate by one step (reflected at the walls); crossover takes each
    coordinate from either parent with probability 1/2.

    Args:
        dim: number of coordinates.
        low: smallest admissible coordinate.
        high: largest admissible coordinate.
    """

    def __init__(self, dim: int = 2, low: int = -10, high: int = 10) -> None:
        if dim < 1:
            raise ConfigError(f"LatticeSpace: dim={dim}; use 1 or more")
        if not low < high:
            raise ConfigError(f"LatticeSpace: low={low}, high={high}; need low < high")
        self.dim, self.low, self.high = int(dim), int(low), int(high)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "dim": self.dim, "low": self.low, "high": self.high}

    def validate(self, design: Any) -> tuple[int, ...]:
        try:
            point = tuple(design)
        except TypeError:
            raise InvalidDesignError(f"a lattice design is a sequence of {self.dim} ints, got {design!r}") from None
        if len(point) != self.dim:
            raise InvalidDesignError(f"design {point!r} has {len(point)} coordinates; this space has dim={self.dim}")
        out = []
        for i, v in enumerate(point):
            try:
                integral = not isinstance(v, (bool, str)) and float(v).is_integer()
            except (TypeError, ValueError):
                integral = False
            if not integral:
                raise InvalidDesignError(f"coordinate {i} of {point!r} is {v!r}, not an integer")
            if not self.low <= int(v) <= self.high:
                raise InvalidDesignError(f"coordinate {i} of {point!r} is outside [{self.low}, {self.high}]")
            out.append(int(v))
        return tuple(out)

    def to_json(self, design: Any) -> str:
        return json.dumps(list(self.validate(design)))

    def from_json(self, text: str) -> tuple[int, ...]:
        return self.validate(json.loads(text))

    def display(self, design: Any) -> str:
        return "(" + ", ".join(str(v) for v in self.validate(design)) + ")"

    def describe(self, design: Any) -> dict[str, Any]:
        """An extra column for ``pareto.csv``: the L1 norm of the point."""
        return {"l1_norm": sum(abs(v) for v in self.validate(design))}

    def sample(self, n: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
        return [tuple(int(v) for v in row) for row in rng.integers(self.low, self.high + 1, size=(n, self.dim))]

    def mutate(self, design: Any, rng: np.random.Generator) -> tuple[int, ...]:
        point = list(self.validate(design))
        i = int(rng.integers(self.dim))
        step = 1 if rng.random() < 0.5 else -1
        if not self.low <= point[i] + step <= self.high:
            step = -step
        point[i] += step
        return tuple(point)

    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> tuple[int, ...]:
        pa, pb = self.validate(a), self.validate(b)
        take = rng.random(self.dim) < 0.5
        return tuple(x if t else y for x, y, t in zip(pa, pb, take))
