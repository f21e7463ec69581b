"""Search-tree storage: node structure in :class:`Node` objects, rollout statistics in node-indexed arrays.

Selection reads the statistics of all children of a node at once and a backup adds one rollout to
every node on a path, so both are a few array operations on rows ``ids`` of :class:`TreeStats`
instead of a Python loop over node objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch import Tensor


@dataclass(slots=True)
class Node:
    """Structure of one tree node: ids ``x`` `[L]` at grid depth ``depth``.

    ``path`` `[depth + 2]` holds the node ids from the root down to this node; the statistics of
    the node are row ``path[-1]`` of the tree's :class:`TreeStats`. ``child_keys`` holds the
    children's ids as bytes, so an expansion merges identical children in constant time.
    """

    x: Tensor
    depth: int
    parent: int
    path: np.ndarray
    children: list[int] = field(default_factory=list)
    terminal: bool = False
    expansions: int = 0
    rollouts: list[int] = field(default_factory=list)
    child_keys: set[bytes] = field(default_factory=set, repr=False)
    _child_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)

    @property
    def child_ids(self) -> np.ndarray:
        """`[C]` the children as an array (rebuilt only after children were added)."""
        if len(self._child_ids) != len(self.children):
            self._child_ids = np.asarray(self.children, dtype=np.int64)
        return self._child_ids


class TreeStats:
    """Rollout statistics of every node, one row per node id.

    Attributes:
        reward_sum: `[N, K]` sums of the canonical values of the valid rollouts below each node.
        n_valid: `[N]` valid scored rollouts below each node.
        n_invalid: `[N]` inadmissible (penalised) rollouts below each node.
        n_pending: `[N]` rollouts below each node still waiting for scores (virtual visits).
        visits: `[N]` ``N = n_valid + n_invalid + n_pending``, kept up to date for selection.
        prior: `[N]` prior probability of each node given its parent.
        log_step: `[N]` log-probability of the reverse step that made each node from its parent.
        exhausted: `[N]` whether nothing new can come from the node's subtree.
    """

    FIELDS = ("reward_sum", "n_valid", "n_invalid", "n_pending", "visits", "prior", "log_step", "exhausted")

    def __init__(self, num_objectives: int, capacity: int = 256) -> None:
        self.size = 0
        self.reward_sum = np.zeros((capacity, num_objectives))
        self.n_valid = np.zeros(capacity, dtype=np.int64)
        self.n_invalid = np.zeros(capacity, dtype=np.int64)
        self.n_pending = np.zeros(capacity, dtype=np.int64)
        self.visits = np.zeros(capacity, dtype=np.int64)
        self.prior = np.ones(capacity)
        self.log_step = np.zeros(capacity)
        self.exhausted = np.zeros(capacity, dtype=bool)

    def append(self, prior: float = 1.0, log_step: float = 0.0) -> int:
        """Add a row for a new node with no rollouts; its id."""
        if self.size == len(self.prior):
            for name in self.FIELDS:
                old = getattr(self, name)
                grown = np.zeros((2 * len(old), *old.shape[1:]), dtype=old.dtype)
                grown[: len(old)] = old
                setattr(self, name, grown)
        self.prior[self.size] = prior
        self.log_step[self.size] = log_step
        self.size += 1
        return self.size - 1

    def q(self, ids: np.ndarray, lo: np.ndarray, span: np.ndarray, invalid_penalty: float) -> np.ndarray:
        """Mean rewards `[C, K]` of nodes ``ids`` `[C]`.

        ``Q = ((sum_valid - lo n_valid) / span - penalty n_invalid) / max(n_valid + n_invalid, 1)``
        with ``lo``, ``span`` `[K]` the reward normaliser.
        """
        valid = self.n_valid[ids]
        scored = valid + self.n_invalid[ids]
        q = self.reward_sum[ids] - lo * valid[:, None]
        q /= span
        if invalid_penalty:
            q -= invalid_penalty * (scored - valid)[:, None]
        q /= np.maximum(scored, 1)[:, None]
        return q

    def backup(self, paths: Sequence[np.ndarray], values: Sequence[np.ndarray | None], *, pending_resolved: bool) -> None:
        """Add rollout ``i``, with canonical values ``values[i]`` `[K]` (``None``: invalid), to every node of ``paths[i]``.

        ``pending_resolved``: the rollouts were counted by :meth:`mark_pending` and now have their scores.
        """
        ids = np.concatenate(paths)
        lengths = [len(p) for p in paths]
        valid = np.repeat(np.array([v is not None for v in values]), lengths)
        if pending_resolved:
            np.subtract.at(self.n_pending, ids, 1)
        else:
            np.add.at(self.visits, ids, 1)
        np.add.at(self.n_invalid, ids[~valid], 1)
        np.add.at(self.n_valid, ids[valid], 1)
        if valid.any():
            rows = [(v, n) for v, n in zip(values, lengths) if v is not None]
            np.add.at(self.reward_sum, ids[valid], np.repeat(np.stack([v for v, _ in rows]), [n for _, n in rows], axis=0))

    def mark_pending(self, parent_path: np.ndarray, children: Sequence[int]) -> None:
        """Count one rollout per node of ``children`` (all children of ``parent_path[-1]``) whose score has not come back yet."""
        for counts in (self.n_pending, self.visits):
            counts[parent_path] += len(children)
            counts[children] += 1

    def state_dict(self) -> dict[str, list[Any]]:
        return {name: getattr(self, name)[: self.size].tolist() for name in self.FIELDS}

    def load_state_dict(self, state: dict[str, list[Any]]) -> None:
        size = len(state["prior"])
        fresh = TreeStats(self.reward_sum.shape[1], capacity=max(size, 1))
        for name in self.FIELDS:
            getattr(fresh, name)[:size] = np.asarray(state[name], dtype=getattr(fresh, name).dtype).reshape(
                (size, *getattr(fresh, name).shape[1:])
            )
        fresh.size = size
        self.__dict__.update(fresh.__dict__)
