"""A diversity filter after REINVENT: memory buckets that penalise designs once their bucket is full.

REINVENT's diversity filters (Blaschke et al., "Memory-assisted reinforcement learning for diverse
molecular de novo design", J. Cheminformatics 12:68, 2020) keep every good design in a bucket keyed
by, e.g., its Bemis-Murcko scaffold, and zero the score of a design whose bucket already holds
``bucket_size`` designs, so the search moves on to new scaffolds. Here:

* the bucket of a design is a registered :class:`~gendesign.core.memory.MemoryKey`
  (``identical``, or ``murcko`` / ``topological`` scaffolds from the molecules plugin);
* a feasible design whose ``column`` reaches ``min_score`` enters its bucket (once: telling the
  same design again finds it at the place it took), and its place ``h`` (the number of distinct
  designs in the bucket before it) gives the multiplier ``m = 1`` for ``h < N`` (``N = bucket_size``) and,
  with ``e = h - N + 1`` designs over the bucket, ``m = 0`` (``binary``), ``max(0, 1 - e / N)``
  (``linear``) or ``2^-e`` (``exponential``);
* a penalised design's objective columns move towards their worst bound in the maximise view:
  ``y' = lo + m (y - lo)`` with ``lo`` the canonical lower bound from the column's spec (0 for a
  desirability, so this is REINVENT's multiplication). With ``binary`` and a column without bounds,
  a penalised design is told as invalid instead.

:class:`DiversityFilter` is the memory and the penalty; any strategy may call
:meth:`DiversityFilter.apply` on the scores it is told. :class:`DiversityFiltered` wraps any
strategy so that it is told the penalised scores; the campaign's ledger and outputs keep the
objective's own values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import torch

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError
from gendesign.core.memory import MemoryKey
from gendesign.core.objective import ObjectiveSpec, Scores
from gendesign.core.strategy import SearchStrategy

__all__ = ["DiversityFilter", "DiversityFiltered", "bucket_multiplier"]

Penalty = Literal["binary", "linear", "exponential"]


def bucket_multiplier(place: int, bucket_size: int, penalty: Penalty) -> float:
    """The multiplier of the design at ``place`` (0-based, distinct designs before it) in its bucket."""
    excess = place - bucket_size + 1
    if excess <= 0:
        return 1.0
    if penalty == "binary":
        return 0.0
    if penalty == "linear":
        return max(0.0, 1.0 - excess / bucket_size)
    return 2.0**-excess


class DiversityFilter:
    """Scaffold (or any key) memory with a bucket penalty (see the module docstring for the rule).

    Args:
        key: maps designs to bucket keys.
        space: keys designs, so that a design told twice takes one place.
        specs: the columns of the scores it will be given.
        bucket_size: ``N``, designs per bucket told unchanged.
        penalty: ``"binary"``, ``"linear"`` or ``"exponential"``.
        column: the column that must reach ``min_score`` (default: the first objective column).
        min_score: natural-unit threshold on ``column`` (reached means ``>=`` for a maximised
            column, ``<=`` for a minimised one); ``None``: every feasible design enters the memory.
    """

    def __init__(
        self,
        key: MemoryKey,
        space: DesignSpace,
        specs: Sequence[ObjectiveSpec],
        *,
        bucket_size: int = 25,
        penalty: Penalty = "binary",
        column: str | None = None,
        min_score: float | None = None,
    ) -> None:
        if not isinstance(key, MemoryKey):
            raise ConfigError(f"DiversityFilter: key {key!r} is not a MemoryKey (a callable designs -> list of bucket keys)")
        if bucket_size < 1:
            raise ConfigError(f"DiversityFilter: bucket_size={bucket_size}; use 1 or more")
        if penalty not in ("binary", "linear", "exponential"):
            raise ConfigError(f"DiversityFilter: penalty={penalty!r}; use 'binary', 'linear' or 'exponential'")
        self.key = key
        self.space = space
        self.specs = tuple(specs)
        self.bucket_size = int(bucket_size)
        self.penalty: Penalty = penalty
        names = [s.name for s in self.specs]
        self.objective_columns = [k for k, s in enumerate(self.specs) if s.kind == "objective"]
        if not self.objective_columns:
            raise ConfigError("DiversityFilter: the scores have no objective column to penalise")
        if column is None:
            self.column = self.objective_columns[0]
        elif column not in names:
            raise ConfigError(f"[diversity] column = {column!r} is not a column the strategy sees; choose one of {names}")
        else:
            self.column = names.index(column)
        self.min_score = min_score
        unbounded = [self.specs[k].name for k in self.objective_columns if self.specs[k].bounds is None]
        if unbounded and penalty != "binary":
            raise ConfigError(
                f"[diversity] penalty = {penalty!r} scales objective columns towards their lower bound, but {unbounded} have no bounds; "
                "use penalty = \"binary\" (penalised designs are told as invalid) or give the columns bounds (e.g. a desirability transform)"
            )
        self.invalidate = bool(unbounded)
        self.buckets: dict[str, list[str]] = {}
        self.penalised = 0

    def _enters(self, value: float) -> bool:
        if self.min_score is None:
            return True
        return self.specs[self.column].sign * (value - self.min_score) >= 0

    def multipliers(self, designs: Sequence[Any], scores: Scores) -> list[float]:
        """Record the designs in the memory and return each one's multiplier (1 for designs outside it)."""
        feasible = scores.feasible().tolist()
        values = scores.values[:, self.column].tolist()
        buckets = self.key(designs)
        out = [1.0] * len(designs)
        for i, design in enumerate(designs):
            bucket = buckets[i]
            if not feasible[i] or bucket is None or not self._enters(values[i]):
                continue
            members = self.buckets.setdefault(bucket, [])
            ident = self.space.key(design)
            if ident in members:
                place = members.index(ident)
            else:
                place = len(members)
                members.append(ident)
            out[i] = bucket_multiplier(place, self.bucket_size, self.penalty)
        return out

    def apply(self, designs: Sequence[Any], scores: Scores) -> Scores:
        """``scores`` with each penalised design's objective columns moved towards their worst bound (or made invalid)."""
        m = self.multipliers(designs, scores)
        hit = [i for i, x in enumerate(m) if x < 1.0]
        if not hit:
            return scores
        self.penalised += len(hit)
        values = scores.values.clone()
        valid = scores.valid.clone()
        errors = list(scores.errors)
        for i in hit:
            if self.invalidate:
                values[i] = math.nan
                valid[i] = False
                errors[i] = f"diversity filter: its bucket already holds {self.bucket_size} designs"
                continue
            for k in self.objective_columns:
                spec = self.specs[k]
                lo = spec.bounds[0] if spec.direction == "max" else -spec.bounds[1]  # type: ignore[index]
                canon = spec.sign * values[i, k]
                values[i, k] = spec.sign * (lo + m[i] * (canon - lo))
        std = scores.std
        if std is not None and self.invalidate:
            std = torch.where(valid.unsqueeze(-1), std, torch.full_like(std, math.nan))
        return Scores(values=values, valid=valid, specs=scores.specs, std=std, errors=errors, info=scores.info, raised=scores.raised)

    def stats(self) -> dict[str, Any]:
        """Buckets, designs remembered, full buckets and penalised tells so far."""
        return {
            "buckets": len(self.buckets),
            "remembered": sum(len(v) for v in self.buckets.values()),
            "full_buckets": sum(len(v) >= self.bucket_size for v in self.buckets.values()),
            "penalised": self.penalised,
        }

    def state_dict(self) -> dict[str, Any]:
        return {"buckets": {k: list(v) for k, v in self.buckets.items()}, "penalised": self.penalised}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.buckets = {k: list(v) for k, v in state["buckets"].items()}
        self.penalised = int(state["penalised"])


class DiversityFiltered(SearchStrategy):
    """A strategy told the scores of a :class:`DiversityFilter` instead of the objective's own.

    Args:
        inner: the strategy that proposes designs.
        diversity: the filter; its memory is checkpointed with the inner strategy's state.
    """

    def __init__(self, inner: SearchStrategy, diversity: DiversityFilter) -> None:
        if tuple(diversity.specs) != tuple(inner.specs):
            raise ConfigError("DiversityFiltered: the filter and the strategy must be built for the same columns")
        super().__init__(inner.space, inner.specs, seed=inner.seed, device=inner.device, options=inner.options)
        self.inner = inner
        self.diversity = diversity

    def ask(self, n: int) -> list[Any]:
        return self.inner.ask(n)

    def tell(self, designs: Sequence[Any], scores: Scores) -> None:
        self.inner.tell(designs, self.diversity.apply(designs, scores))

    def state_dict(self) -> dict[str, Any]:
        return {"inner": self.inner.state_dict(), "diversity": self.diversity.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.inner.load_state_dict(state["inner"])
        self.diversity.load_state_dict(state["diversity"])
