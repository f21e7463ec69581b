"""A box space: continuous vectors inside per-dimension bounds."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, InvalidDesignError, short_repr


class BoxSpace(DesignSpace):
    """Points ``x`` with ``low[i] <= x[i] <= high[i]``; a design is a ``tuple`` of floats.

    Mutation is a Gaussian step of scale ``mutation_scale * (high - low)`` on each coordinate with
    probability ``1/d`` (at least one), reflected into the box; crossover is simulated binary
    crossover (SBX, Deb and Agrawal 1995) with distribution index ``eta``.

    Args:
        bounds: ``[[low, high], ...]``, one pair per dimension.
        mutation_scale: Gaussian step as a fraction of each dimension's range.
        eta: SBX distribution index; larger keeps children closer to their parents.
        decimals: designs are rounded to this many decimals, so keys are stable across runs.
    """

    def __init__(
        self,
        bounds: Sequence[Sequence[float]],
        mutation_scale: float = 0.1,
        eta: float = 15.0,
        decimals: int = 12,
    ) -> None:
        b = np.asarray(bounds, dtype=float)
        if b.ndim != 2 or b.shape[1] != 2 or b.shape[0] == 0:
            raise ConfigError(f"bounds must be [[low, high], ...] with at least one dimension, got {bounds!r}")
        if not np.all(np.isfinite(b)) or not np.all(b[:, 0] < b[:, 1]):
            raise ConfigError(f"bounds={b.tolist()}: every dimension needs finite low < high")
        if mutation_scale <= 0 or eta < 0:
            raise ConfigError(f"need mutation_scale > 0 and eta >= 0, got {mutation_scale}, {eta}")
        self.low, self.high = b[:, 0], b[:, 1]
        self.mutation_scale = mutation_scale
        self.eta = eta
        self.decimals = decimals

    @property
    def dim(self) -> int:
        return int(self.low.shape[0])

    def config(self) -> dict[str, Any]:
        return {**super().config(), "bounds": np.stack([self.low, self.high], 1).tolist(), "decimals": self.decimals}

    def validate(self, design: Any) -> tuple[float, ...]:
        if isinstance(design, Tensor):
            design = design.detach().cpu().tolist()
        # Only real numbers are coordinates: numpy would read "0.5" and True as 0.5 and 1.0.
        items = design if isinstance(design, (list, tuple)) else []
        not_number = next((v for v in items if isinstance(v, (bool, np.bool_, str, bytes))), None)
        try:
            raw = np.asarray(design)
            x = raw.astype(float) if raw.dtype.kind in "iuf" and not_number is None else None
        except (TypeError, ValueError):
            x = None
        if x is None:
            raise InvalidDesignError(f"cannot read a point from {short_repr(design)}; pass {self.dim} real numbers")
        if x.shape != (self.dim,):
            raise InvalidDesignError(f"point {short_repr(design)} has shape {list(x.shape)}; this box has {self.dim} dimensions")
        if not np.all(np.isfinite(x)):
            raise InvalidDesignError(f"point {x.tolist()} has non-finite coordinates")
        outside = np.nonzero((x < self.low) | (x > self.high))[0]
        if outside.size:
            i = int(outside[0])
            raise InvalidDesignError(f"coordinate {i} = {x[i]} of {x.tolist()} lies outside [{self.low[i]}, {self.high[i]}]")
        return tuple(round(float(v), self.decimals) for v in x)

    def to_json(self, design: Any) -> str:
        return json.dumps(list(self.validate(design)))

    def from_json(self, text: str) -> tuple[float, ...]:
        return self.validate(json.loads(text))

    def to_tensor(self, designs: Sequence[Any], dtype: torch.dtype = torch.float64) -> Tensor:
        """Designs as `[B, d]`."""
        return torch.tensor([list(self.validate(d)) for d in designs], dtype=dtype).reshape(len(designs), self.dim)

    def sample(self, n: int, rng: np.random.Generator) -> list[tuple[float, ...]]:
        pts = rng.uniform(self.low, self.high, size=(n, self.dim))
        return [self.validate(p) for p in pts]

    def _reflect(self, x: np.ndarray) -> np.ndarray:
        span = self.high - self.low
        y = np.mod(x - self.low, 2 * span)
        y = np.where(y > span, 2 * span - y, y)
        return np.clip(self.low + y, self.low, self.high)

    def mutate(self, design: Any, rng: np.random.Generator) -> tuple[float, ...]:
        x = np.asarray(self.validate(design))
        mask = rng.random(self.dim) < 1.0 / self.dim
        if not mask.any():
            mask[int(rng.integers(self.dim))] = True
        step = rng.normal(0.0, self.mutation_scale, self.dim) * (self.high - self.low)
        return self.validate(self._reflect(x + mask * step))

    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> tuple[float, ...]:
        """SBX: ``beta`` from the polynomial spread distribution, child ``0.5 * ((1+beta) a + (1-beta) b)``."""
        xa, xb = np.asarray(self.validate(a)), np.asarray(self.validate(b))
        u = rng.random(self.dim)
        beta = np.where(u <= 0.5, (2 * u) ** (1 / (self.eta + 1)), (1 / (2 * (1 - u))) ** (1 / (self.eta + 1)))
        child = 0.5 * ((1 + beta) * xa + (1 - beta) * xb)
        swap = rng.random(self.dim) < 0.5
        child = np.where(swap, 0.5 * ((1 - beta) * xa + (1 + beta) * xb), child)
        child = np.where(np.isfinite(child), child, xa)
        return self.validate(np.clip(child, self.low, self.high))
