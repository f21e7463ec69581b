"""HyperGrid objectives: cells of a ``D``-dimensional grid of side ``H`` scored in closed form.

Designs are integer coordinate tuples ``(s_1, ..., s_D)``, ``0 <= s_d < H``, members of
:class:`GridSpace`. Two objectives:

* :class:`HyperGrid` - the standard single-objective reward (Bengio et al. 2021; Malkin et al. 2022)
  with ``u_d = |s_d / (H - 1) - 0.5|``::

      R(s) = R0 + R1 * prod_d 1[0.25 < u_d <= 0.5] + R2 * prod_d 1[0.3 < u_d < 0.4]

* :class:`HyperGridMO` - the multi-objective grids of Jain et al. 2023 ("Multi-objective GFlowNets",
  ICML) used by OP-GFN (Chen & Mauch 2024, Sec. 5): a 2-D grid (default 32 x 32) whose cell ``s``
  maps to ``z = 2 s / (H - 1) - 1 in [-1, 1]^2``, scored by any of four normalised, maximised test
  functions. With ``a = (z + 1) / 2 in [0, 1]^2``:

  - Branin: ``x1 = 15 a_1 - 5``, ``x2 = 15 a_2``,
    ``1 - ((x2 - 5.1 x1^2 / (4 pi^2) + 5 x1 / pi - 6)^2 + 10 (1 - 1/(8 pi)) cos x1 + 10) / 308.13``;
  - Currin: ``(1 - exp(-1 / (2 a_2))) (2300 a_1^3 + 1900 a_1^2 + 2092 a_1 + 60)
    / (100 a_1^3 + 500 a_1^2 + 4 a_1 + 20) / 13.77``;
  - Shubert: with ``y = -1.5 z``, ``(prod_{d=1,2} sum_{i=1}^5 i cos((i + 1) y_d + i) + 186.8) / 397``;
  - Beale: ``((1.5 - z_1 + z_1 z_2)^2 + (2.25 - z_1 + z_1 z_2^2)^2 + (2.625 - z_1 + z_1 z_2^3)^2) / 38.8``.

  The constants are the normalisers of the OP-GFN/MOGFN grid code. On the 32 x 32 Branin-Currin
  grid the exact Pareto front has 36 cells.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.core.objective import Objective, ObjectiveSpec
from gendesign.generators.gflownet.hypergrid import hypergrid_reward

MAX_GRID_NDIM = 1024
MAX_GRID_HEIGHT = 1_000_000

GridFunction = Literal["branin", "currin", "shubert", "beale"]


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


class HyperGrid(Objective):
    """The standard HyperGrid reward of a grid cell, one maximised column ``reward``.

    Args:
        ndim: grid dimension ``D``.
        height: grid side ``H``.
        r0: base reward ``R0`` (0.1 standard; 1e-2 and 1e-3 are the hard variants).
        r1: reward of the outer band.
        r2: extra reward of the inner band.
    """

    def __init__(self, ndim: int = 2, height: int = 8, r0: float = 0.1, r1: float = 0.5, r2: float = 2.0) -> None:
        if r0 <= 0 or r1 < 0 or r2 < 0:
            raise ConfigError(f"HyperGrid: need r0 > 0 and r1, r2 >= 0, got r0={r0}, r1={r1}, r2={r2}")
        self.space = GridSpace(ndim, height)
        self.r0, self.r1, self.r2 = float(r0), float(r1), float(r2)
        self.specs = (ObjectiveSpec("reward", "max", bounds=(0.0, r0 + r1 + r2), description="HyperGrid reward"),)

    def default_space(self) -> GridSpace:
        return self.space

    def config(self) -> dict[str, Any]:
        return {**super().config(), **self.space.config(), "r0": self.r0, "r1": self.r1, "r2": self.r2}

    def values(self, states: Tensor) -> Tensor:
        """`[B, 1]` float64 rewards of coordinates `[B, D]`."""
        return hypergrid_reward(states, self.space.height, self.r0, self.r1, self.r2).unsqueeze(-1)

    def mode_mask(self, states: Tensor) -> Tensor:
        """`[B]` bool: cells with the maximal reward ``R0 + R1 + R2``."""
        return self.values(states)[:, 0] >= self.r0 + self.r1 + self.r2 - 1e-12

    def evaluate(self, designs: Sequence[Any]) -> Tensor:
        return self.values(self.space.to_tensor(designs)).to(torch.float32)


def grid_function(name: str, z: Tensor) -> Tensor:
    """One of the four normalised test functions at points ``z`` `[B, 2]` in ``[-1, 1]^2``; returns `[B]` float64."""
    z = z.to(torch.float64)
    if name == "branin":
        x1 = 15 * (z[:, 0] / 2 + 0.5) - 5
        x2 = 15 * (z[:, 1] / 2 + 0.5)
        t1 = x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6
        t2 = 10 * (1 - 1 / (8 * math.pi)) * torch.cos(x1)
        return 1 - (t1**2 + t2 + 10) / 308.13
    if name == "currin":
        a1 = z[:, 0] / 2 + 0.5
        a2 = z[:, 1] / 2 + 0.5
        factor = 1 - torch.exp(-1 / (2 * a2 + 1e-10))
        return factor * (2300 * a1**3 + 1900 * a1**2 + 2092 * a1 + 60) / (100 * a1**3 + 500 * a1**2 + 4 * a1 + 20) / 13.77
    if name == "shubert":
        y = -1.5 * z
        i = torch.arange(1, 6, dtype=torch.float64).view(1, 1, 5)
        sums = (i * torch.cos((i + 1) * y.unsqueeze(-1) + i)).sum(dim=-1)
        return (sums[:, 0] * sums[:, 1] + 186.8) / 397
    if name == "beale":
        z1, z2 = z[:, 0], z[:, 1]
        return ((1.5 - z1 + z1 * z2) ** 2 + (2.25 - z1 + z1 * z2**2) ** 2 + (2.625 - z1 + z1 * z2**3) ** 2) / 38.8
    raise ConfigError(f"unknown grid function {name!r}; choose from branin, currin, shubert, beale")


class HyperGridMO(Objective):
    """Multi-objective 2-D HyperGrid (OP-GFN, Sec. 5): one maximised column per test function.

    Args:
        functions: two or more of ``"branin"``, ``"currin"``, ``"shubert"``, ``"beale"``.
        height: grid side ``H`` (32 in OP-GFN).
    """

    def __init__(self, functions: Sequence[GridFunction] = ("branin", "currin"), height: int = 32) -> None:
        functions = list(functions)
        if len(functions) < 1 or len(set(functions)) != len(functions):
            raise ConfigError(f"HyperGridMO: functions={functions} must be distinct and non-empty")
        for f in functions:
            grid_function(f, torch.zeros(1, 2))
        self.functions = functions
        self.space = GridSpace(2, height)
        self.specs = tuple(ObjectiveSpec(f, "max", description=f"normalised {f} on the grid") for f in functions)

    def default_space(self) -> GridSpace:
        return self.space

    def config(self) -> dict[str, Any]:
        return {**super().config(), **self.space.config(), "functions": self.functions}

    def values(self, states: Tensor) -> Tensor:
        """`[B, K]` float64 values of coordinates `[B, 2]`."""
        z = states.to(torch.float64) * 2 / (self.space.height - 1) - 1
        return torch.stack([grid_function(f, z) for f in self.functions], dim=-1)

    def evaluate(self, designs: Sequence[Any]) -> Tensor:
        return self.values(self.space.to_tensor(designs)).to(torch.float32)
