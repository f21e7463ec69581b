"""The HyperGrid environment: walk from the origin of a ``D``-dimensional grid of side ``H``.

States are coordinates ``s in {0..H-1}^D``; forward action ``d < D`` adds one to coordinate ``d``
(allowed while ``s_d < H - 1``), action ``D`` exits, and every state is terminal. Backward action
``d`` subtracts one from coordinate ``d``. There are ``H^D`` terminal states, so the exact target
``p*(x) = R(x) / Z`` with ``Z = sum_x R(x)`` can be enumerated.

Any reward of a cell works; the standard one is
:func:`gendesign.objectives.hypergrid.hypergrid_reward` (the ``hypergrid`` objective).

References:
    E. Bengio et al. "Flow network based generative models for non-iterative diverse candidate
    generation." NeurIPS 2021.
    N. Malkin, M. Jain, E. Bengio, C. Sun, Y. Bengio. "Trajectory balance: improved credit
    assignment in GFlowNets." NeurIPS 2022.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.generators.gflownet.env import EnumerableEnv


class HyperGridEnv(EnumerableEnv):
    """``D``-dimensional grid of side ``H``; every state is terminal.

    Features are the concatenated one-hot coordinates, `[B, D * H]`.

    Args:
        ndim: ``D >= 1``.
        height: ``H >= 2``.
    """

    def __init__(self, ndim: int = 2, height: int = 8) -> None:
        if ndim < 1:
            raise ConfigError(f"HyperGridEnv: ndim={ndim} must be >= 1")
        if height < 2:
            raise ConfigError(f"HyperGridEnv: height={height} must be >= 2")
        self.ndim = int(ndim)
        self.height = int(height)
        self.state_dim = self.ndim
        self.n_actions = self.ndim + 1
        self.n_backward_actions = self.ndim
        self.feature_dim = self.ndim * self.height
        self.token_dim = self.height
        self.max_length = self.ndim * (self.height - 1)
        self._radix = self.height ** torch.arange(self.ndim - 1, -1, -1)
        self._offsets = torch.arange(self.ndim) * self.height

    def config(self) -> dict[str, Any]:
        return {"class": type(self).__name__, "ndim": self.ndim, "height": self.height}

    @property
    def n_terminal_states(self) -> int:
        return self.height**self.ndim

    def initial_states(self, n: int) -> Tensor:
        return torch.zeros(n, self.ndim, dtype=torch.long)

    def is_initial(self, states: Tensor) -> Tensor:
        return (states == 0).all(dim=-1)

    def forward_mask(self, states: Tensor) -> Tensor:
        grow = states < self.height - 1
        return torch.cat([grow, torch.ones(states.shape[0], 1, dtype=torch.bool, device=states.device)], dim=1)

    def backward_mask(self, states: Tensor) -> Tensor:
        return states > 0

    def step(self, states: Tensor, actions: Tensor) -> Tensor:
        return states + torch.nn.functional.one_hot(actions, self.ndim).to(states.dtype)

    def backward_step(self, states: Tensor, actions: Tensor) -> Tensor:
        return states - torch.nn.functional.one_hot(actions, self.ndim).to(states.dtype)

    def backward_action_of(self, parents: Tensor, actions: Tensor) -> Tensor:
        return actions.clone()

    def forward_action_of(self, children: Tensor, backward_actions: Tensor) -> Tensor:
        return backward_actions.clone()

    def featurize(self, states: Tensor) -> Tensor:
        out = torch.zeros(states.shape[0], self.feature_dim, dtype=torch.float32, device=states.device)
        out.scatter_(1, states + self._offsets.to(states.device), 1.0)
        return out

    def to_designs(self, states: Tensor) -> list[tuple[int, ...]]:
        return [tuple(int(v) for v in row) for row in states.tolist()]

    def from_designs(self, designs: Sequence[Any]) -> Tensor:
        rows = []
        for design in designs:
            row = [int(v) for v in design]
            if len(row) != self.ndim or any(not 0 <= v < self.height for v in row):
                raise InvalidDesignError(f"{design!r} is not a cell of the {self.ndim}-D grid of height {self.height}")
            rows.append(row)
        return torch.tensor(rows, dtype=torch.long).reshape(-1, self.ndim)

    def all_terminal_states(self) -> Tensor:
        grids = torch.meshgrid(*[torch.arange(self.height)] * self.ndim, indexing="ij")
        return torch.stack([g.reshape(-1) for g in grids], dim=-1)

    def exact_distribution(self, rewards: Callable[[Tensor], Tensor]) -> Tensor:
        """`[H^D]` float64 target ``p*(x) = R(x) / Z`` over :meth:`all_terminal_states`.

        Args:
            rewards: maps coordinates `[N, D]` to non-negative rewards `[N]`.
        """
        r = rewards(self.all_terminal_states()).to(torch.float64).reshape(-1)
        if bool((r < 0).any()) or not bool(torch.isfinite(r).all()):
            raise ConfigError("exact_distribution: rewards must be finite and non-negative")
        return r / r.sum()

    def terminal_index(self, states: Tensor) -> Tensor:
        return (states * self._radix.to(states.device)).sum(dim=-1)
