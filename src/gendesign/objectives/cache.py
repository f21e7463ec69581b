"""An in-memory LRU cache in front of a deterministic objective.

The campaign ledger is the persistent cache across runs; :class:`Cached` is the cheap in-process
one for loops that re-score the same designs (MCTS leaves, GFlowNet replay, GA elites). Keys are
``(objective fingerprint, design key)``, so changing anything that changes the values (a weight,
an option) can never serve stale results.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, Scores
from gendesign.objectives.compose import ObjectiveWrapper

__all__ = ["Cached", "default_design_key"]


def default_design_key(design: Any) -> Hashable:
    """A hashable key that is equal exactly for equal designs of common Python types.

    Strings are their own key; tensors and arrays hash dtype, shape and bytes; anything else is
    serialised with ``json.dumps(sort_keys=True)``. Pass ``key_fn=space.key`` for designs with a
    canonical form (SMILES, peptides) so that equivalent spellings share one entry.
    """
    if isinstance(design, str):
        return design
    if isinstance(design, Tensor):
        design = design.detach().cpu().numpy()
    if isinstance(design, np.ndarray):
        arr = np.ascontiguousarray(design)
        return f"ndarray:{arr.dtype}:{arr.shape}:" + hashlib.sha256(arr.tobytes()).hexdigest()
    try:
        return json.dumps(design, sort_keys=True)
    except TypeError as exc:
        raise ConfigError(
            f"Cached: cannot derive a key for a design of type {type(design).__name__} ({exc}); "
            "pass key_fn=space.key or another function design -> hashable"
        ) from exc


@dataclass
class _Entry:
    values: Tensor
    std: Tensor | None
    valid: bool
    error: str | None
    raised: bool = False


class Cached(ObjectiveWrapper):
    """LRU cache around a deterministic objective, keyed by ``(fingerprint, key_fn(design))``.

    Each call first removes in-batch duplicates, serves the keys already cached, and sends each
    remaining unique design to the inner objective once, in one batch. Calls with gradients
    (``obj(designs, grad=True)``) bypass the cache entirely, in both directions, since cached
    tensors carry no autograd graph. Failed items are cached only with ``cache_failures=True``.

    The cache does not change values, so :meth:`config` (and so the fingerprint and ledger keys)
    is the inner objective's.

    Args:
        inner: a deterministic objective.
        maxsize: maximum number of cached designs (least recently used evicted first), or
            ``None`` for unbounded.
        key_fn: ``design -> hashable``; defaults to :func:`default_design_key`.
        cache_failures: also cache invalid results (useful when failures are deterministic and
            expensive, e.g. a docking run that cannot place a ligand).

    Attributes:
        hits: designs served without evaluation (cache entries or in-batch duplicates).
        misses: designs sent to the inner objective.
    """

    def __init__(
        self,
        inner: Objective,
        maxsize: int | None = 100_000,
        key_fn: Callable[[Any], Hashable] | None = None,
        cache_failures: bool = False,
    ) -> None:
        super().__init__(inner)
        if not inner.deterministic:
            raise ConfigError(
                f"Cached: objective {inner.name!r} is not deterministic, so cached values would be wrong; "
                "cache only objectives with deterministic=True"
            )
        if maxsize is not None and maxsize < 1:
            raise ConfigError(f"Cached: maxsize={maxsize} must be >= 1 or None")
        self.maxsize = maxsize
        self.key_fn = key_fn or default_design_key
        self.cache_failures = cache_failures
        self._store: OrderedDict[tuple[str, Hashable], _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._store)

    def clear(self) -> None:
        """Drop every cached entry and reset the counters."""
        self._store.clear()
        self.hits = 0
        self.misses = 0

    def cache_info(self) -> dict[str, int | None]:
        """``{"hits", "misses", "size", "maxsize"}``."""
        return {"hits": self.hits, "misses": self.misses, "size": len(self._store), "maxsize": self.maxsize}

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        if torch.is_grad_enabled():
            return self.inner(designs, grad=self.inner.differentiable)
        fingerprint = self.inner.fingerprint()
        keys = [(fingerprint, self.key_fn(d)) for d in designs]
        found: dict[tuple[str, Hashable], _Entry] = {}
        todo: list[int] = []
        for i, key in enumerate(keys):
            if key in found:
                continue
            entry = self._store.get(key)
            if entry is not None:
                self._store.move_to_end(key)
                found[key] = entry
            else:
                found[key] = _Entry(torch.empty(0), None, False, None)
                todo.append(i)
        if todo:
            fresh = self.inner([designs[i] for i in todo]).to("cpu")
            for j, i in enumerate(todo):
                entry = _Entry(
                    values=fresh.values[j].detach().clone(),
                    std=None if fresh.std is None else fresh.std[j].detach().clone(),
                    valid=bool(fresh.valid[j]),
                    error=fresh.errors[j],
                    raised=bool(fresh.raised_mask()[j]),
                )
                found[keys[i]] = entry
                if entry.valid or self.cache_failures:
                    self._insert(keys[i], entry)
        self.misses += len(todo)
        self.hits += len(designs) - len(todo)
        rows = [found[k] for k in keys]
        std = torch.stack([r.std for r in rows]) if all(r.std is not None for r in rows) else None  # type: ignore[misc]
        return Scores(
            values=torch.stack([r.values for r in rows]).to(self.device),
            valid=torch.tensor([r.valid for r in rows], dtype=torch.bool, device=self.device),
            specs=self.specs,
            std=None if std is None else std.to(self.device),
            errors=[r.error for r in rows],
            info={"cache_hits": len(designs) - len(todo), "evaluated": len(todo)},
            raised=torch.tensor([r.raised for r in rows], dtype=torch.bool),
        )

    def _insert(self, key: tuple[str, Hashable], entry: _Entry) -> None:
        self._store[key] = entry
        self._store.move_to_end(key)
        if self.maxsize is not None:
            while len(self._store) > self.maxsize:
                self._store.popitem(last=False)

    def config(self) -> dict[str, Any]:
        return self.inner.config()
