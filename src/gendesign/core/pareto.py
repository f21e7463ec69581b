"""Pareto maths on the canonical "maximise" view: dominance, sorting, crowding, hypervolume, IGD.

Every function here ranks *canonical* values, where larger is better in every column; turn raw
values into that view with :func:`gendesign.core.objective.canonical_values` (it flips ``"min"``
columns). :func:`dominates_mixed` and :func:`reference_point` are the two entry points that take
raw directions. Rows that contain a NaN are failed evaluations: they never dominate, are never on
a front, and contribute nothing to a hypervolume.

References:
    K. Deb, A. Pratap, S. Agarwal, T. Meyarivan. "A fast and elitist multiobjective genetic
    algorithm: NSGA-II." IEEE Trans. Evol. Comput. 6(2), 2002.

    E. Zitzler, L. Thiele. "Multiobjective evolutionary algorithms: a comparative case study and
    the strength Pareto approach." IEEE Trans. Evol. Comput. 3(4), 1999 (hypervolume).

    H. Ishibuchi, H. Masuda, Y. Tanigaki, Y. Nojima. "Modified distance calculation in
    generational distance and inverted generational distance." EMO 2015 (IGD+).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from gendesign.core import pareto_sweeps as sweeps
from gendesign.core.errors import ConfigError
from gendesign.core.objective import ObjectiveSpec, canonical_values

__all__ = [
    "ParetoArchive",
    "ParetoFront",
    "crowding_distance",
    "dominates",
    "dominates_mixed",
    "hypervolume",
    "hypervolume_contributions",
    "igd",
    "igd_plus",
    "non_dominated_sort",
    "nsga2_rank",
    "pareto_mask",
    "reference_point",
]


def dominates(a: Tensor, b: Tensor) -> Tensor:
    """Pareto dominance on canonical (maximise) values.

    ``a`` dominates ``b`` when ``a >= b`` in every column and ``a > b`` in at least one. Any NaN in
    either operand makes the comparison ``False``.

    Args:
        a: `[..., K]` canonical values.
        b: `[..., K]` canonical values, broadcastable against ``a``.

    Returns:
        `[...]` bool, the broadcast batch shape.
    """
    if a.shape[-1] != b.shape[-1]:
        raise ConfigError(f"dominates: a has {a.shape[-1]} columns but b has {b.shape[-1]}; both need the same K")
    return (a >= b).all(dim=-1) & (a > b).any(dim=-1)


def dominates_mixed(a: Tensor, b: Tensor, directions: Sequence[Literal["max", "min"]]) -> Tensor:
    """Pareto dominance on raw values whose columns are maximised or minimised.

    Equivalent to ``dominates(s * a, s * b)`` with ``s_k = +1`` for ``"max"`` and ``-1`` for ``"min"``.

    Args:
        a: `[..., K]` raw values.
        b: `[..., K]` raw values, broadcastable against ``a``.
        directions: ``K`` entries, each ``"max"`` or ``"min"``.

    Returns:
        `[...]` bool.
    """
    directions = list(directions)
    if len(directions) != a.shape[-1]:
        raise ConfigError(f"dominates_mixed: got {len(directions)} directions {directions} for K={a.shape[-1]} columns")
    bad = [d for d in directions if d not in ("max", "min")]
    if bad:
        raise ConfigError(f"dominates_mixed: directions {bad} are not 'max' or 'min'")
    signs = torch.tensor([1.0 if d == "max" else -1.0 for d in directions], dtype=a.dtype, device=a.device)
    return dominates(a * signs, b * signs.to(b.dtype))


def _check_matrix(Y: Tensor | np.ndarray, name: str = "Y") -> None:
    if Y.ndim != 2:
        raise ConfigError(f"{name} must be a [N, K] matrix, got shape {list(Y.shape)}")


def pareto_mask(Y: Tensor) -> Tensor:
    """Strictly non-dominated rows of canonical values.

    A row is on the front when no other row dominates it. Exact duplicates do not dominate each
    other, so every copy of a non-dominated point is kept. Rows containing NaN are never on the front.
    ``K <= 3`` takes one sort and sweep, ``O(N log N)``; ``K >= 4`` block elimination in
    lexicographic order, ``O(N |front| K)`` (see :mod:`gendesign.core.pareto_sweeps`).

    Args:
        Y: `[N, K]` canonical values.

    Returns:
        `[N]` bool mask of the non-dominated rows.
    """
    _check_matrix(Y)
    A, valid = _numpy_valid(Y)
    mask = valid.copy()
    mask[valid] = sweeps.nondominated_mask(A if mask.all() else A[valid])
    return torch.from_numpy(mask).to(Y.device)


def _numpy_valid(Y: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``Y`` as a float64 numpy matrix on the CPU, and the `[N]` mask of its NaN-free rows.

    The sweeps run on numpy: they index and sort small arrays many times, where numpy's per-call
    cost is a fraction of torch's.
    """
    A = Y.detach().to("cpu", torch.float64).numpy()
    return A, ~np.isnan(A).any(axis=1)


def non_dominated_sort(Y: Tensor) -> list[Tensor]:
    """Non-dominated sorting into fronts (Deb et al. 2002).

    Front 0 holds the non-dominated rows; front ``f + 1`` holds the rows that are non-dominated once
    fronts ``0..f`` are removed. Rows containing NaN form one extra, last front, so the fronts
    always partition ``range(N)``. ``K <= 3``: one lexicographic sweep with a sorted staircase per
    front, ``O(N log N log F)`` for ``F`` fronts; ``K >= 4``: Deb's counting on the `[N, N]`
    dominance matrix up to ``N = 1500`` valid rows, peeling one front at a time beyond (see
    :mod:`gendesign.core.pareto_sweeps`).

    Args:
        Y: `[N, K]` canonical values.

    Returns:
        A list of `[n_f]` long tensors of row indices, best front first, each sorted ascending.
    """
    _check_matrix(Y)
    if Y.shape[0] == 0:
        return []
    A, valid = _numpy_valid(Y)
    rows = np.flatnonzero(valid)
    parts: list[np.ndarray] = []
    if rows.size:
        ranks = sweeps.nondominated_ranks(A[rows])
        order = rows[np.argsort(ranks, kind="stable")]
        parts = np.split(order, np.cumsum(np.bincount(ranks))[:-1])
    if not valid.all():
        parts.append(np.flatnonzero(~valid))
    return [torch.from_numpy(part).to(Y.device) for part in parts]


def crowding_distance(Y: Tensor) -> Tensor:
    """NSGA-II crowding distance of the rows of one front.

    For each column ``k`` the rows are sorted by ``Y[:, k]``; the two extreme rows get ``inf`` and
    every interior row ``i`` adds ``(Y[next, k] - Y[prev, k]) / (max_k - min_k)``. A column with zero
    range adds nothing (and gives no ``inf``). With ``N <= 2`` every row is a boundary row. Ties are
    ordered by row index, so among exact duplicates only one copy can be a boundary row.

    Args:
        Y: `[N, K]` canonical values, normally one front; rows with NaN get distance 0.

    Returns:
        `[N]` float distances (larger means more isolated).
    """
    _check_matrix(Y)
    n, k = Y.shape
    dtype = Y.dtype if Y.is_floating_point() else torch.float32
    out = torch.zeros(n, dtype=dtype, device=Y.device)
    finite = ~torch.isnan(Y).any(dim=-1)
    idx = torch.nonzero(finite).flatten()
    m = idx.numel()
    if m == 0:
        return out
    if m <= 2:
        out[idx] = math.inf
        return out
    F = Y[idx].to(dtype)
    dist = torch.zeros(m, dtype=dtype, device=Y.device)
    for col in range(k):
        values, order = torch.sort(F[:, col], stable=True)
        span = values[-1] - values[0]
        if not bool(span > 0):
            continue
        gaps = (values[2:] - values[:-2]) / span
        dist[order[1:-1]] += gaps
        dist[order[0]] = math.inf
        dist[order[-1]] = math.inf
    out[idx] = dist
    return out


def nsga2_rank(Y: Tensor) -> tuple[Tensor, Tensor]:
    """Non-domination rank and within-front crowding distance, the NSGA-II sort keys.

    Sort by ``(rank ascending, crowding descending)`` to get NSGA-II's crowded-comparison order.

    Args:
        Y: `[N, K]` canonical values.

    Returns:
        ``(rank, crowding)``: `[N]` long front index (0 is best; NaN rows get the last rank) and
        `[N]` float crowding distance computed within each front (NaN rows get 0).
    """
    _check_matrix(Y)
    n = Y.shape[0]
    rank = torch.empty(n, dtype=torch.long, device=Y.device)
    dtype = Y.dtype if Y.is_floating_point() else torch.float32
    crowd = torch.zeros(n, dtype=dtype, device=Y.device)
    for f, idx in enumerate(non_dominated_sort(Y)):
        rank[idx] = f
        crowd[idx] = crowding_distance(Y[idx])
    return rank, crowd


def _check_ref(Y: Tensor | np.ndarray, ref_point: Tensor | Sequence[float]) -> np.ndarray:
    """`[K]` float64 numpy reference point, checked against ``Y``'s width."""
    _check_matrix(Y)
    ref = np.asarray(torch.as_tensor(ref_point).detach().cpu(), dtype=np.float64).reshape(-1)
    if ref.size != Y.shape[1]:
        raise ConfigError(f"ref_point has {ref.size} entries {ref.tolist()} but Y has K={Y.shape[1]} columns")
    if not np.isfinite(ref).all():
        raise ConfigError(f"ref_point must be finite, got {ref.tolist()}")
    return ref


def hypervolume(Y: Tensor, ref_point: Tensor | Sequence[float]) -> float:
    """Volume of the region dominated by ``Y`` and bounded below by ``ref_point`` (Zitzler & Thiele 1999).

    ``HV(Y; r) = Lebesgue(U_{y in Y, y > r} [r, y])`` in the canonical (maximise) view. Rows that are
    not strictly better than ``r`` in every column, and rows with NaN, contribute nothing. With
    ``K == 1`` this is ``max(max_i y_i - r, 0)``. Exact algorithms (see
    :mod:`gendesign.core.pareto_sweeps`): ``K = 2`` a sort and a cumulative maximum, ``K = 3``
    the HV3D sweep (Beume et al. 2009), ``O(N log N)``; ``K >= 4`` WFG (While et al. 2012), whose
    cost grows quickly past ``K = 5``. Computed in float64.

    Args:
        Y: `[N, K]` canonical values.
        ref_point: `[K]` reference point in the canonical view (see :func:`reference_point`).

    Returns:
        The hypervolume as a Python float (0.0 for an empty set).
    """
    ref = _check_ref(Y, ref_point)
    A, valid = _numpy_valid(Y)
    return sweeps.hypervolume(A[valid], ref)


def hypervolume_contributions(Y: Tensor, ref_point: Tensor | Sequence[float]) -> Tensor:
    """Exclusive hypervolume contribution of each row: ``HV(Y) - HV(Y without row i)``.

    This is the volume dominated by row ``i`` and by no other row. Dominated rows, rows not strictly
    better than the reference point and rows with NaN contribute 0, and so does every copy of a
    duplicated point (removing one copy leaves the volume unchanged). ``K = 2`` uses the closed
    form ``(y1_i - y1_{i-1}) * (y2_i - y2_{i+1})`` on the front sorted by the first column, less
    what rows dominated by ``i`` alone cover; other ``K`` compute ``prod(p - r) - HV(L_p)`` for
    each front point ``p``, with ``L_p`` the non-dominated part of ``{min(p, q)}`` over the rows
    ``q`` that can reach into ``p``'s exclusive region.

    Args:
        Y: `[N, K]` canonical values.
        ref_point: `[K]` reference point in the canonical view.

    Returns:
        `[N]` float64 contributions, all ``>= 0``.
    """
    ref = _check_ref(Y, ref_point)
    A, valid = _numpy_valid(Y)
    out = np.zeros(Y.shape[0])
    out[valid] = sweeps.hypervolume_contributions(A[valid], ref)
    return torch.from_numpy(out).to(Y.device)


def reference_point(specs: Sequence[ObjectiveSpec], Y: Tensor | None = None) -> Tensor:
    """The hypervolume reference point in the canonical (maximise) view.

    Rule:

    1. If every spec has ``bounds``, the reference point is each column's *worst* bound in the
       canonical view: ``low`` for a ``"max"`` column and ``-high`` for a ``"min"`` column. It does
       not depend on the data.
    2. Otherwise it is inferred from the observed values like BoTorch's ``infer_reference_point``:
       take the non-dominated valid rows of the canonical ``Y``, their nadir ``n = min_i y_i`` and
       ideal ``u = max_i y_i``, and return ``n - 0.1 * (u - n)``. A column with zero range
       (e.g. a single front point) uses ``max(|n|, 1)`` in place of ``u - n``.

    Prefer rule 1 when comparing runs: a hypervolume is only comparable to another computed with the
    same reference point, and a data-driven point moves with whatever each run happened to find, so
    two runs (or two rounds of one run) would be measured against different boxes and a better run
    could even report a smaller volume. Bounds fixed in the specs make the reference point part of
    the problem definition.

    Args:
        specs: the ``K`` column specs (directions and bounds).
        Y: `[N, K]` raw values in natural units, as stored in :attr:`Scores.values`; needed only when
            some spec lacks bounds. NaN rows are ignored.

    Returns:
        `[K]` float64 reference point in the canonical view (on ``Y``'s device when ``Y`` is given).
    """
    specs = list(specs)
    if not specs:
        raise ConfigError("reference_point needs at least one ObjectiveSpec")
    device = Y.device if Y is not None else torch.device("cpu")
    if all(s.bounds is not None for s in specs):
        worst = [s.bounds[0] if s.direction == "max" else -s.bounds[1] for s in specs]  # type: ignore[index]
        return torch.tensor(worst, dtype=torch.float64, device=device)
    unbounded = [s.name for s in specs if s.bounds is None]
    if Y is None:
        raise ConfigError(
            f"reference_point: columns {unbounded} have no bounds, so observed values Y are needed; "
            "pass Y or give every ObjectiveSpec bounds=(low, high)"
        )
    _check_matrix(Y)
    if Y.shape[1] != len(specs):
        raise ConfigError(f"reference_point: Y has {Y.shape[1]} columns but {len(specs)} specs were given")
    C = canonical_values(Y.to(torch.float64), specs)
    C = C[~torch.isnan(C).any(dim=-1)]
    if C.shape[0] == 0:
        raise ConfigError(
            f"reference_point: Y has no valid (non-NaN) rows and columns {unbounded} have no bounds; "
            "evaluate some designs first or give every ObjectiveSpec bounds=(low, high)"
        )
    front = C[pareto_mask(C)]
    nadir = front.min(dim=0).values
    ideal = front.max(dim=0).values
    span = ideal - nadir
    span = torch.where(span > 0, span, nadir.abs().clamp_min(1.0))
    return nadir - 0.1 * span


def _finite_rows(Y: Tensor) -> Tensor:
    return Y[~torch.isnan(Y).any(dim=-1)]


def igd(Y: Tensor, reference_front: Tensor) -> float:
    """Inverted generational distance: ``IGD(Y; Z) = (1/|Z|) sum_{z in Z} min_{y in Y} ||z - y||_2``.

    Args:
        Y: `[N, K]` obtained points (NaN rows ignored).
        reference_front: `[M, K]` points sampled from the true front.

    Returns:
        The mean distance (0 when ``Y`` covers ``Z`` exactly; ``inf`` when ``Y`` has no valid rows).
    """
    return _igd(Y, reference_front, plus=False)


def igd_plus(Y: Tensor, reference_front: Tensor) -> float:
    """IGD+ (Ishibuchi et al. 2015), weakly Pareto-compliant, in the canonical (maximise) view.

    ``IGD+(Y; Z) = (1/|Z|) sum_z min_y sqrt(sum_k max(z_k - y_k, 0)^2)``: only the amount by which
    ``y`` falls short of ``z`` counts, so points beyond the reference front are not penalised.

    Args:
        Y: `[N, K]` canonical obtained points (NaN rows ignored).
        reference_front: `[M, K]` canonical reference front.

    Returns:
        The mean modified distance (``inf`` when ``Y`` has no valid rows).
    """
    return _igd(Y, reference_front, plus=True)


def _igd(Y: Tensor, Z: Tensor, *, plus: bool) -> float:
    _check_matrix(Y)
    _check_matrix(Z, "reference_front")
    if Y.shape[1] != Z.shape[1]:
        raise ConfigError(f"Y has K={Y.shape[1]} columns but reference_front has {Z.shape[1]}")
    if Z.shape[0] == 0:
        raise ConfigError("reference_front is empty; IGD needs at least one reference point")
    Yf = _finite_rows(Y).to(torch.float64)
    if Yf.shape[0] == 0:
        return math.inf
    diff = Z.to(torch.float64).unsqueeze(1) - Yf.unsqueeze(0)
    if plus:
        diff = diff.clamp_min(0.0)
    return float(diff.norm(dim=-1).min(dim=1).values.mean())


_QUEUE_ROWS = 4096


class ParetoFront:
    """The running non-dominated set of a stream of canonical values, with its hypervolume.

    :meth:`add` queues the rows; reading :attr:`values` or :meth:`hypervolume`, or a queue past
    4096 rows, merges the queue into the front with one non-dominated pass over ``front + queue``. Dominance is
    transitive, so a row dropped then could never have re-entered, and the per-update cost depends
    on the front and the new rows, not on how many rows were ever added. The hypervolume is kept
    until a new row enters the front or the reference point changes. Exact duplicates of a front
    value are stored once; NaN rows are ignored.

    Args:
        num_objectives: ``K``.
    """

    def __init__(self, num_objectives: int) -> None:
        if num_objectives < 1:
            raise ConfigError(f"ParetoFront: num_objectives={num_objectives} must be >= 1")
        self.num_objectives = int(num_objectives)
        self._front = np.empty((0, self.num_objectives))
        self._queued: list[np.ndarray] = []
        self._queued_rows = 0
        self._hv: tuple[bytes, float] | None = None

    def add(self, values: Tensor) -> None:
        """Queue `[N, K]` canonical rows (any float dtype or device)."""
        _check_matrix(values, "values")
        if values.shape[1] != self.num_objectives:
            raise ConfigError(f"ParetoFront.add: values have K={values.shape[1]} columns; the front has K={self.num_objectives}")
        A, valid = _numpy_valid(values)
        if valid.any():
            self._queued.append(A[valid])
            self._queued_rows += int(valid.sum())
        if self._queued_rows > _QUEUE_ROWS:
            self._merge()

    def _merge(self) -> None:
        if not self._queued:
            return
        pool = np.concatenate([self._front, *self._queued])
        self._queued = []
        self._queued_rows = 0
        keep = sweeps.nondominated_mask(pool)
        if keep[self._front.shape[0] :].any():
            self._front = np.unique(pool[keep], axis=0)
            self._hv = None

    def __len__(self) -> int:
        self._merge()
        return self._front.shape[0]

    @property
    def values(self) -> Tensor:
        """`[M, K]` float64 distinct non-dominated values, sorted lexicographically."""
        self._merge()
        return torch.from_numpy(self._front.copy())

    def hypervolume(self, ref_point: Tensor | Sequence[float]) -> float:
        """:func:`hypervolume` of everything added, computed on the front and cached per reference point."""
        self._merge()
        ref = _check_ref(self._front, ref_point)
        key = ref.tobytes()
        if self._hv is None or self._hv[0] != key:
            self._hv = (key, sweeps.hypervolume(self._front, ref))
        return self._hv[1]


class ParetoArchive:
    """A bounded archive of mutually non-dominated points with payload keys.

    The archive holds canonical values `[M, K]` and one hashable key per row (e.g. a design's
    canonical key). After every :meth:`add` no row dominates another (exact value duplicates with
    different keys may coexist, as in :func:`pareto_mask`), no key appears twice, and ``M <= capacity``.
    When an insertion overflows the capacity, rows are removed one at a time, recomputing the score
    after each removal, by lowest score:

    * ``"crowding"``: NSGA-II crowding distance (the boundary points are kept);
    * ``"hypervolume"``: exclusive hypervolume contribution w.r.t. ``ref_point`` (SMS-EMOA style,
      Beume et al. 2007), exact but costlier for ``K >= 3``;
    * ``"auto"``: ``"hypervolume"`` when ``K == 2`` and a ``ref_point`` is given, else ``"crowding"``.

    Ties are broken by removing the row that was inserted earliest.

    Args:
        num_objectives: ``K``.
        capacity: maximum number of rows, ``>= 1``.
        prune: ``"crowding"``, ``"hypervolume"`` or ``"auto"``.
        ref_point: `[K]` canonical reference point; required for ``prune="hypervolume"``.
    """

    def __init__(
        self,
        num_objectives: int,
        capacity: int = 256,
        prune: Literal["crowding", "hypervolume", "auto"] = "auto",
        ref_point: Tensor | Sequence[float] | None = None,
    ) -> None:
        if num_objectives < 1:
            raise ConfigError(f"ParetoArchive: num_objectives={num_objectives} must be >= 1")
        if capacity < 1:
            raise ConfigError(f"ParetoArchive: capacity={capacity} must be >= 1")
        if prune not in ("crowding", "hypervolume", "auto"):
            raise ConfigError(f"ParetoArchive: prune={prune!r}; use 'crowding', 'hypervolume' or 'auto'")
        self.num_objectives = int(num_objectives)
        self.capacity = int(capacity)
        self.ref_point: Tensor | None = None
        if ref_point is not None:
            self.ref_point = torch.as_tensor(ref_point, dtype=torch.float64).flatten()
            if self.ref_point.numel() != num_objectives:
                raise ConfigError(
                    f"ParetoArchive: ref_point {self.ref_point.tolist()} has {self.ref_point.numel()} entries, K={num_objectives}"
                )
        if prune == "hypervolume" and self.ref_point is None:
            raise ConfigError("ParetoArchive: prune='hypervolume' needs ref_point; pass ref_point or use prune='crowding'")
        if prune == "auto":
            prune = "hypervolume" if num_objectives == 2 and self.ref_point is not None else "crowding"
        self.prune = prune
        self._values = torch.empty(0, num_objectives, dtype=torch.float64)
        self._keys: list[Hashable] = []

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def values(self) -> Tensor:
        """`[M, K]` float64 canonical values, in insertion order."""
        return self._values.clone()

    @property
    def keys(self) -> list[Hashable]:
        """The ``M`` payload keys, aligned with :attr:`values`."""
        return list(self._keys)

    def add(self, values: Tensor, keys: Sequence[Hashable]) -> Tensor:
        """Insert candidate rows; dominated, NaN and already-archived keys are dropped.

        Args:
            values: `[N, K]` canonical values of the candidates.
            keys: ``N`` hashable payload keys; a key already in the archive (or repeated within the
                batch) keeps its first occurrence.

        Returns:
            `[N]` bool: which candidates are in the archive after insertion and pruning.
        """
        values = torch.as_tensor(values).detach().to("cpu", torch.float64)
        if values.ndim == 1:
            values = values.unsqueeze(0)
        _check_matrix(values, "values")
        keys = list(keys)
        if values.shape[1] != self.num_objectives:
            raise ConfigError(f"ParetoArchive.add: values have K={values.shape[1]} columns; archive has K={self.num_objectives}")
        if len(keys) != values.shape[0]:
            raise ConfigError(f"ParetoArchive.add: got {len(keys)} keys for {values.shape[0]} rows")
        seen = set(self._keys)
        fresh: list[int] = []
        nan_rows = torch.isnan(values).any(-1).tolist()
        for i, key in enumerate(keys):
            if key in seen or nan_rows[i]:
                continue
            seen.add(key)
            fresh.append(i)
        if fresh and self._keys:
            beaten = dominates(self._values.unsqueeze(0), values[fresh].unsqueeze(1)).any(-1).tolist()
            fresh = [i for i, b in zip(fresh, beaten) if not b]
        if not fresh:
            return torch.zeros(len(keys), dtype=torch.bool)
        pool_values = torch.cat([self._values, values[fresh]])
        pool_keys = self._keys + [keys[i] for i in fresh]
        keep = pareto_mask(pool_values)
        pool_values = pool_values[keep]
        pool_keys = [k for k, m in zip(pool_keys, keep.tolist()) if m]
        while len(pool_keys) > self.capacity:
            drop = int(torch.argmin(self._prune_scores(pool_values)))
            pool_values = torch.cat([pool_values[:drop], pool_values[drop + 1 :]])
            del pool_keys[drop]
        self._values = pool_values
        self._keys = pool_keys
        members = set(pool_keys)
        fresh_set = set(fresh)
        return torch.tensor([i in fresh_set and key in members for i, key in enumerate(keys)], dtype=torch.bool)

    def _prune_scores(self, values: Tensor) -> Tensor:
        if self.prune == "hypervolume":
            assert self.ref_point is not None
            return hypervolume_contributions(values, self.ref_point)
        return crowding_distance(values)

    def hypervolume(self, ref_point: Tensor | Sequence[float] | None = None) -> float:
        """Hypervolume of the archive w.r.t. ``ref_point`` (default: the archive's own)."""
        ref = ref_point if ref_point is not None else self.ref_point
        if ref is None:
            raise ConfigError("ParetoArchive.hypervolume: no ref_point given and the archive has none")
        return hypervolume(self._values, ref)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild the archive; keys must be JSON- or pickle-able by the caller."""
        return {
            "num_objectives": self.num_objectives,
            "capacity": self.capacity,
            "prune": self.prune,
            "ref_point": None if self.ref_point is None else self.ref_point.tolist(),
            "values": self._values.clone(),
            "keys": list(self._keys),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`; the archive's K must match."""
        missing = {"num_objectives", "capacity", "prune", "ref_point", "values", "keys"} - set(state)
        if missing:
            raise ConfigError(f"ParetoArchive.load_state_dict: state lacks {sorted(missing)}")
        if int(state["num_objectives"]) != self.num_objectives:
            raise ConfigError(
                f"ParetoArchive.load_state_dict: state has K={state['num_objectives']} but this archive has K={self.num_objectives}"
            )
        values = torch.as_tensor(state["values"], dtype=torch.float64).reshape(-1, self.num_objectives)
        keys = list(state["keys"])
        if values.shape[0] != len(keys):
            raise ConfigError(f"ParetoArchive.load_state_dict: {values.shape[0]} rows but {len(keys)} keys")
        if state["prune"] not in ("crowding", "hypervolume"):
            raise ConfigError(f"ParetoArchive.load_state_dict: prune={state['prune']!r}; expected 'crowding' or 'hypervolume'")
        if state["prune"] == "hypervolume" and state["ref_point"] is None:
            raise ConfigError("ParetoArchive.load_state_dict: prune='hypervolume' needs a ref_point, and the state has none")
        self.capacity = int(state["capacity"])
        self.prune = state["prune"]
        ref = state["ref_point"]
        self.ref_point = None if ref is None else torch.as_tensor(ref, dtype=torch.float64)
        self._values = values.clone()
        self._keys = keys
