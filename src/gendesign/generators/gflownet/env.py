"""The environment protocol of our GFlowNet core: batched states, forward/backward actions, masks.

A GFlowNet builds an object by a sequence of forward actions ``s_0 -> s_1 -> ... -> s_n = x``
followed by the *exit* action ``x -> s_f``. Every environment here works on batches: a state batch
is an integer tensor `[B, D]`, an action batch a long tensor `[B]`. The environment answers

* :meth:`DiscreteEnv.forward_mask` `[B, A]` and :meth:`DiscreteEnv.backward_mask` `[B, A_b]`;
* :meth:`DiscreteEnv.step` (a non-exit forward action) and :meth:`DiscreteEnv.backward_step`;
* the pairing of a forward action with the backward action that undoes it
  (:meth:`DiscreteEnv.backward_action_of`, :meth:`DiscreteEnv.forward_action_of`), which lets a
  trajectory sampled in one direction be scored in the other;
* :meth:`DiscreteEnv.featurize` `[B, F]`, the policy's input;
* :meth:`DiscreteEnv.to_designs` / :meth:`DiscreteEnv.from_designs`, the bridge to a
  :class:`~gendesign.core.designs.DesignSpace`.

The exit action is always the last forward action, index ``A - 1``. Rewards live outside the
environment (an :class:`~gendesign.core.objective.Objective` or a tensor function): this is what
lets one environment serve single-, multi-objective and order-only training.

Reference: E. Bengio, M. Jain, M. Korablyov, D. Precup, Y. Bengio. "Flow network based generative
models for non-iterative diverse candidate generation." NeurIPS 2021.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


class DiscreteEnv(ABC):
    """A discrete, acyclic GFlowNet environment over integer state tensors.

    Attributes:
        state_dim: ``D``, the width of a state row.
        n_actions: ``A``, the number of forward actions including the exit action ``A - 1``.
        n_backward_actions: ``A_b``, the number of backward actions.
        feature_dim: ``F``, the width of :meth:`featurize`'s output.
        token_dim: features split into ``F / token_dim`` positions of ``token_dim`` entries each
            (what a transformer policy attends over).
        max_length: the largest number of non-exit forward actions in any trajectory.
    """

    state_dim: int
    n_actions: int
    n_backward_actions: int
    feature_dim: int
    token_dim: int
    max_length: int

    @property
    def exit_action(self) -> int:
        return self.n_actions - 1

    @abstractmethod
    def initial_states(self, n: int) -> Tensor:
        """`[n, D]` copies of ``s_0``."""

    @abstractmethod
    def is_initial(self, states: Tensor) -> Tensor:
        """`[B]` bool: the rows equal ``s_0``."""

    @abstractmethod
    def forward_mask(self, states: Tensor) -> Tensor:
        """`[B, A]` bool: forward actions allowed in each state (exit included)."""

    @abstractmethod
    def backward_mask(self, states: Tensor) -> Tensor:
        """`[B, A_b]` bool: backward actions allowed in each state; all False at ``s_0``."""

    @abstractmethod
    def step(self, states: Tensor, actions: Tensor) -> Tensor:
        """Children `[B, D]` of ``states`` under non-exit forward ``actions`` `[B]`."""

    @abstractmethod
    def backward_step(self, states: Tensor, actions: Tensor) -> Tensor:
        """Parents `[B, D]` of ``states`` under backward ``actions`` `[B]`."""

    @abstractmethod
    def backward_action_of(self, parents: Tensor, actions: Tensor) -> Tensor:
        """`[B]` backward actions that undo the non-exit forward ``actions`` taken in ``parents``."""

    @abstractmethod
    def forward_action_of(self, children: Tensor, backward_actions: Tensor) -> Tensor:
        """`[B]` forward actions that ``backward_actions`` taken in ``children`` undo."""

    @abstractmethod
    def featurize(self, states: Tensor) -> Tensor:
        """`[B, F]` float features of ``states`` for the policy network."""

    @abstractmethod
    def to_designs(self, states: Tensor) -> list[Any]:
        """The designs that terminal ``states`` `[B, D]` stand for."""

    @abstractmethod
    def from_designs(self, designs: Sequence[Any]) -> Tensor:
        """Terminal states `[B, D]` for ``designs`` (the inverse of :meth:`to_designs`)."""

    def state_keys(self, states: Tensor) -> list[tuple[int, ...]]:
        """Hashable keys of ``states`` `[B, D]`, one per row."""
        return [tuple(row) for row in states.tolist()]

    def config(self) -> dict[str, Any]:
        """JSON-able constructor arguments."""
        return {"class": type(self).__name__}


class EnumerableEnv(DiscreteEnv):
    """An environment whose terminal states can be listed, so exact targets and metrics exist."""

    @abstractmethod
    def all_terminal_states(self) -> Tensor:
        """`[N, D]` every terminal state, in a fixed order."""

    @abstractmethod
    def terminal_index(self, states: Tensor) -> Tensor:
        """`[B]` position of each terminal state in :meth:`all_terminal_states`."""


@dataclass
class Trajectories:
    """A batch of complete trajectories ``s_0 -> ... -> x -> s_f``, padded to a common length.

    Row ``b`` has ``n_b = lengths[b]`` non-exit actions; its states are ``states[0..n_b, b]`` with
    ``states[n_b, b] = x_b``, and its exit action sits at step ``n_b``. Entries past the exit are
    padding (actions ``-1``).

    Attributes:
        states: `[T + 1, B, D]` long; ``T = max(lengths) + 1``.
        actions: `[T, B]` long forward actions (the exit included), ``-1`` past the exit.
        backward_actions: `[T, B]` long backward actions undoing ``actions``; ``-1`` at the exit and after.
        lengths: `[B]` long, number of non-exit actions per trajectory.
        terminals: `[B, D]` long, the terminal states ``x``.
        conditions: optional `[B, C]` float conditioning vectors (preferences, temperatures).
    """

    states: Tensor
    actions: Tensor
    backward_actions: Tensor
    lengths: Tensor
    terminals: Tensor
    conditions: Tensor | None = None

    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    @property
    def horizon(self) -> int:
        """``T``, the padded number of action slots."""
        return int(self.actions.shape[0])

    def step_mask(self) -> Tensor:
        """`[T, B]` bool: slots holding a real action (the exit included)."""
        t = torch.arange(self.horizon, device=self.lengths.device).unsqueeze(1)
        return t <= self.lengths.unsqueeze(0)

    def transition_mask(self) -> Tensor:
        """`[T, B]` bool: slots holding a non-exit action."""
        t = torch.arange(self.horizon, device=self.lengths.device).unsqueeze(1)
        return t < self.lengths.unsqueeze(0)

    def state_mask(self) -> Tensor:
        """`[T + 1, B]` bool: state slots ``s_0 .. x`` that exist."""
        t = torch.arange(self.horizon + 1, device=self.lengths.device).unsqueeze(1)
        return t <= self.lengths.unsqueeze(0)

    @staticmethod
    def cat(parts: Sequence[Trajectories]) -> Trajectories:
        """Concatenate along the batch axis, re-padding to the longest part."""
        parts = [p for p in parts if len(p) > 0]
        horizon = max(p.horizon for p in parts)

        def pad(x: Tensor, length: int, value: int) -> Tensor:
            if x.shape[0] == length:
                return x
            extra = x.new_full((length - x.shape[0], *x.shape[1:]), value)
            return torch.cat([x, extra])

        states = torch.cat([pad(p.states, horizon + 1, 0) for p in parts], dim=1)
        conds = [p.conditions for p in parts]
        return Trajectories(
            states=states,
            actions=torch.cat([pad(p.actions, horizon, -1) for p in parts], dim=1),
            backward_actions=torch.cat([pad(p.backward_actions, horizon, -1) for p in parts], dim=1),
            lengths=torch.cat([p.lengths for p in parts]),
            terminals=torch.cat([p.terminals for p in parts]),
            conditions=None if any(c is None for c in conds) else torch.cat(conds),  # type: ignore[arg-type]
        )
