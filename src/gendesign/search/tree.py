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

    ``path`` holds the node ids from the root down to this node, one per tree level (an anchored
    jump makes one level span several grid steps); the statistics of the node are row
    ``path[-1]`` of the tree's :class:`TreeStats`. ``child_keys`` holds the
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
    _rollout_array: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)

    @property
    def child_ids(self) -> np.ndarray:
        """`[C]` the children as an array (rebuilt only after children were added)."""
        if len(self._child_ids) != len(self.children):
            self._child_ids = np.asarray(self.children, dtype=np.int64)
        return self._child_ids

    @property
    def rollout_array(self) -> np.ndarray:
        """`[R]` the rollouts below the node as an array (extended only by the ones added since)."""
        have = len(self._rollout_array)
        if have != len(self.rollouts):
            self._rollout_array = np.concatenate([self._rollout_array, np.asarray(self.rollouts[have:], dtype=np.int64)])
        return self._rollout_array


class TreeStats:
    """Rollout statistics of every node, one row per node id.

    Attributes:
        reward_sum: `[N, K]` sums of the canonical values of the valid rollouts below each node.
        n_valid: `[N]` valid scored rollouts below each node.
        n_invalid: `[N]` inadmissible (penalised) rollouts below each node.
        n_pending: `[N]` rollouts below each node still waiting for scores (virtual visits).
        log_step: `[N]` log-probability of the reverse step that made each node from its parent.
        log_z: `[N]` ``log sum_c exp(log_step[c])`` over each node's children, so the prior of a
            child is ``P(c | n) = exp(log_step[c] - log_z[n])`` (defined once ``n`` has children).
        exhausted: `[N]` whether nothing new can come from the node's subtree.
        q_mean: `[N, K]` mean rewards :meth:`q` under the normaliser of :meth:`set_normaliser`,
            refreshed by every backup (derived; not part of the state).
    """

    FIELDS = ("reward_sum", "n_valid", "n_invalid", "n_pending", "log_step", "log_z", "exhausted")

    def __init__(self, num_objectives: int, capacity: int = 256) -> None:
        self.size = 0
        self.normaliser = (np.zeros(num_objectives), np.ones(num_objectives), 0.0)
        self.q_mean = np.zeros((capacity, num_objectives))
        self.reward_sum = np.zeros((capacity, num_objectives))
        self.n_valid = np.zeros(capacity, dtype=np.int64)
        self.n_invalid = np.zeros(capacity, dtype=np.int64)
        self.n_pending = np.zeros(capacity, dtype=np.int64)
        self.log_step = np.zeros(capacity)
        self.log_z = np.zeros(capacity)
        self.exhausted = np.zeros(capacity, dtype=bool)

    def extend(self, parent: int, log_steps: Sequence[float], *, has_children: bool) -> range:
        """Add rows for new children of ``parent`` (``-1``: none) with no rollouts; their ids.

        ``log_steps``: the log-probabilities of the steps that made them; they enter ``log_z[parent]``,
        which starts afresh unless the parent ``has_children`` already.
        """
        n = len(log_steps)
        while self.size + n > len(self.log_step):
            for name in (*self.FIELDS, "q_mean"):
                old = getattr(self, name)
                grown = np.zeros((2 * len(old), *old.shape[1:]), dtype=old.dtype)
                grown[: len(old)] = old
                setattr(self, name, grown)
        ids = range(self.size, self.size + n)
        self.log_step[ids.start : ids.stop] = log_steps
        if parent >= 0:
            z = float(np.logaddexp.reduce(np.asarray(log_steps, dtype=np.float64)))
            self.log_z[parent] = np.logaddexp(self.log_z[parent], z) if has_children else z
        self.size += n
        return ids

    def visits(self, ids: np.ndarray | int) -> Any:
        """``N``: scored plus pending rollouts below ``ids``."""
        return self.n_valid[ids] + self.n_invalid[ids] + self.n_pending[ids]

    def prior(self, parent: int, ids: np.ndarray) -> np.ndarray:
        """`[C]` prior probabilities ``P(c | parent)`` of the children ``ids``."""
        return np.exp(self.log_step[ids] - self.log_z[parent])

    def set_normaliser(self, lo: np.ndarray, span: np.ndarray, invalid_penalty: float) -> None:
        """Map canonical values to rewards ``(y - lo) / span`` (`[K]` each) from now on; refreshes :attr:`q_mean`."""
        self.normaliser = (lo, span, invalid_penalty)
        ids = np.arange(self.size)
        self.q_mean[ids] = self.q(ids, lo, span, invalid_penalty)

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
        np.add.at(self.n_invalid, ids[~valid], 1)
        np.add.at(self.n_valid, ids[valid], 1)
        if valid.any():
            rows = [(v, n) for v, n in zip(values, lengths) if v is not None]
            added = np.repeat(np.stack([v for v, _ in rows]), [n for _, n in rows], axis=0)
            for k in range(added.shape[1]):
                np.add.at(self.reward_sum[:, k], ids[valid], added[:, k])
        self.q_mean[ids] = self.q(ids, *self.normaliser)

    def mark_pending(self, parent_path: np.ndarray, children: Sequence[int]) -> None:
        """Count one rollout per node of ``children`` (all children of ``parent_path[-1]``) whose score has not come back yet."""
        rows = np.asarray(children, dtype=np.int64)
        self.n_pending[parent_path] += len(rows)
        self.n_pending[rows] += 1

    def state_dict(self) -> dict[str, list[Any]]:
        return {name: getattr(self, name)[: self.size].tolist() for name in self.FIELDS}

    def load_state_dict(self, state: dict[str, list[Any]]) -> None:
        size = len(state["log_step"])
        fresh = TreeStats(self.reward_sum.shape[1], capacity=max(size, 1))
        for name in self.FIELDS:
            getattr(fresh, name)[:size] = np.asarray(state[name], dtype=getattr(fresh, name).dtype).reshape(
                (size, *getattr(fresh, name).shape[1:])
            )
        fresh.size = size
        fresh.set_normaliser(*self.normaliser)
        self.__dict__.update(fresh.__dict__)
