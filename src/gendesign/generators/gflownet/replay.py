"""Replay of scored terminal states, with a Pareto archive mixed into every training batch.

The buffer keeps unique terminal states `[N, D]` with their canonical values `[N, K]` and validity
`[N]`, first in first out beyond ``capacity``. Alongside it a
:class:`~gendesign.core.pareto.ParetoArchive` keeps the running non-dominated set. A replay draw of
``n`` states takes ``round(pareto_fraction * n)`` of them uniformly from the archive and the rest
uniformly from the buffer (OP-GFN's multi-objective replay: 10% of every batch from the Pareto
archive; Chen & Mauch 2024, App. E). Replayed states become trajectories through backward sampling.

:meth:`ReplayBuffer.top` ranks the stored states for backward-trajectory augmentation: by value
for one objective, by non-dominated front and then crowding for several.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.core.pareto import ParetoArchive, crowding_distance, non_dominated_sort


class ReplayBuffer:
    """FIFO store of unique scored terminal states plus a Pareto archive.

    Args:
        state_dim: ``D``.
        num_objectives: ``K``.
        capacity: most states kept.
        pareto_fraction: share of each replay draw taken from the Pareto archive, in ``[0, 1]``.
        archive_capacity: most states in the Pareto archive.
    """

    def __init__(
        self,
        state_dim: int,
        num_objectives: int,
        capacity: int = 100_000,
        pareto_fraction: float = 0.1,
        archive_capacity: int = 1024,
    ) -> None:
        if capacity < 1:
            raise ConfigError(f"ReplayBuffer: capacity={capacity} must be >= 1")
        if not 0.0 <= pareto_fraction <= 1.0:
            raise ConfigError(f"ReplayBuffer: pareto_fraction={pareto_fraction} must lie in [0, 1]")
        self.state_dim = int(state_dim)
        self.num_objectives = int(num_objectives)
        self.capacity = int(capacity)
        self.pareto_fraction = float(pareto_fraction)
        self.states = torch.empty(0, self.state_dim, dtype=torch.long)
        self.values = torch.empty(0, self.num_objectives, dtype=torch.float64)
        self.valid = torch.empty(0, dtype=torch.bool)
        self._index: dict[tuple[int, ...], int] = {}
        self.archive = ParetoArchive(self.num_objectives, capacity=archive_capacity, prune="crowding")

    def __len__(self) -> int:
        return int(self.states.shape[0])

    def add(self, states: Tensor, canonical: Tensor, valid: Tensor) -> int:
        """Store new states (already stored ones are skipped); returns how many were new.

        Args:
            states: `[B, D]` terminal states.
            canonical: `[B, K]` canonical values.
            valid: `[B]` validity.
        """
        states = states.detach().cpu().long()
        canonical = canonical.detach().cpu().to(torch.float64)
        valid = valid.detach().cpu().bool()
        keys = [tuple(r) for r in states.tolist()]
        fresh = []
        for i, k in enumerate(keys):
            if k not in self._index:
                self._index[k] = -1
                fresh.append(i)
        if not fresh:
            return 0
        idx = torch.tensor(fresh, dtype=torch.long)
        self.states = torch.cat([self.states, states[idx]])
        self.values = torch.cat([self.values, canonical[idx]])
        self.valid = torch.cat([self.valid, valid[idx]])
        overflow = len(self) - self.capacity
        if overflow > 0:
            self.states, self.values, self.valid = self.states[overflow:], self.values[overflow:], self.valid[overflow:]
        self._reindex()
        ok = valid[idx] & torch.isfinite(canonical[idx]).all(dim=1)
        if bool(ok.any()):
            sel = idx[ok]
            self.archive.add(canonical[sel], [keys[i] for i in sel.tolist()])
        return len(fresh)

    def _reindex(self) -> None:
        self._index = {tuple(r): i for i, r in enumerate(self.states.tolist())}

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Draw ``n`` stored states with replacement, ``round(pareto_fraction * n)`` from the archive.

        Returns:
            states `[n, D]`, canonical values `[n, K]`, validity `[n]`.
        """
        if len(self) == 0:
            raise ConfigError("ReplayBuffer.sample: the buffer is empty; add scored states first")
        n_archive = round(self.pareto_fraction * n) if len(self.archive) else 0
        rows: list[Tensor] = []
        if n_archive:
            members = torch.tensor([self._index[k] for k in self.archive.keys if k in self._index], dtype=torch.long)
            if members.numel():
                rows.append(members[torch.randint(members.numel(), (n_archive,), generator=generator)])
            else:
                n_archive = 0
        rows.append(torch.randint(len(self), (n - n_archive,), generator=generator))
        idx = torch.cat(rows)
        return self.states[idx], self.values[idx], self.valid[idx]

    def top(self, k: int) -> tuple[Tensor, Tensor]:
        """The ``k`` best valid stored states and their values (front by front, then by crowding distance)."""
        ok = torch.nonzero(self.valid & torch.isfinite(self.values).all(dim=1)).squeeze(1)
        if ok.numel() == 0:
            return self.states[:0], self.values[:0]
        values = self.values[ok]
        if self.num_objectives == 1:
            order = torch.argsort(values[:, 0], descending=True, stable=True)
        else:
            chosen: list[Tensor] = []
            for front in non_dominated_sort(values):
                crowd = crowding_distance(values[front])
                chosen.append(front[torch.argsort(crowd, descending=True, stable=True)])
                if sum(c.numel() for c in chosen) >= k:
                    break
            order = torch.cat(chosen)
        pick = ok[order[:k]]
        return self.states[pick], self.values[pick]

    def state_dict(self) -> dict[str, Any]:
        """Tensors and JSON-able fields only."""
        archive = self.archive.state_dict()
        archive["keys"] = [list(k) for k in archive["keys"]]
        return {
            "states": self.states.clone(),
            "values": self.values.clone(),
            "valid": self.valid.clone(),
            "capacity": self.capacity,
            "pareto_fraction": self.pareto_fraction,
            "archive": archive,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.states = torch.as_tensor(state["states"], dtype=torch.long).reshape(-1, self.state_dim)
        self.values = torch.as_tensor(state["values"], dtype=torch.float64).reshape(-1, self.num_objectives)
        self.valid = torch.as_tensor(state["valid"], dtype=torch.bool).reshape(-1)
        self.capacity = int(state["capacity"])
        self.pareto_fraction = float(state["pareto_fraction"])
        archive = dict(state["archive"])
        archive["keys"] = [tuple(k) for k in archive["keys"]]
        self.archive.load_state_dict(archive)
        self._reindex()
