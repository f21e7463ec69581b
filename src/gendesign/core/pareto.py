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

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.core.objective import ObjectiveSpec, canonical_values

__all__ = [
    "ParetoArchive",
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


_MATRIX_MAX_ROWS = 1500
_SMALL_ROWS = 256


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


def _check_matrix(Y: Tensor, name: str = "Y") -> None:
    if Y.ndim != 2:
        raise ConfigError(f"{name} must be a [N, K] matrix, got shape {list(Y.shape)}")


def _front_mask(Y: Tensor) -> Tensor:
    """`[N]` non-dominated mask of NaN-free rows by output-sensitive elimination.

    Every surviving row removes all rows it dominates. A dominated row is dominated by some
    non-dominated row, which is never removed, so the result is exact whatever the visiting order;
    visiting rows by decreasing coordinate sum (a dominator always has the larger sum) makes the
    number of visited rows close to the front size, for ``O(N |front| K)`` work.
    """
    n = Y.shape[0]
    alive = torch.ones(n, dtype=torch.bool, device=Y.device)
    if n <= 1:
        return alive
    priority = torch.nan_to_num(Y.sum(dim=-1).double(), nan=0.0, posinf=1e300, neginf=-1e300)
    pending = alive.clone()
    while True:
        masked = torch.where(pending, priority, torch.full_like(priority, -math.inf))
        i = int(torch.argmax(masked))
        if not bool(pending[i]):
            return alive
        alive &= ~dominates(Y[i], Y)
        pending &= alive
        pending[i] = False


def pareto_mask(Y: Tensor) -> Tensor:
    """Strictly non-dominated rows of canonical values.

    A row is on the front when no other row dominates it. Exact duplicates do not dominate each
    other, so every copy of a non-dominated point is kept. Rows containing NaN are never on the front.

    Args:
        Y: `[N, K]` canonical values.

    Returns:
        `[N]` bool mask of the non-dominated rows.
    """
    _check_matrix(Y)
    if Y.shape[0] <= _SMALL_ROWS:
        return ~dominates(Y.unsqueeze(0), Y.unsqueeze(1)).any(-1) & ~torch.isnan(Y).any(dim=-1)
    mask = ~torch.isnan(Y).any(dim=-1)
    idx = torch.nonzero(mask).flatten()
    if idx.numel() == Y.shape[0]:
        return _front_mask(Y)
    mask[idx] = _front_mask(Y[idx])
    return mask


def non_dominated_sort(Y: Tensor) -> list[Tensor]:
    """Non-dominated sorting into fronts (Deb et al. 2002).

    Front 0 holds the non-dominated rows; front ``f + 1`` holds the rows that are non-dominated once
    fronts ``0..f`` are removed. Rows containing NaN form one extra, last front, so the fronts
    always partition ``range(N)``. Up to ``N = 1500`` valid rows this is Deb's fast non-dominated
    sort on a vectorised `[N, N]` dominance matrix (``O(N^2 K)`` time, ``O(N^2)`` memory); larger
    sets peel one front at a time with the output-sensitive elimination of :func:`pareto_mask`.

    Args:
        Y: `[N, K]` canonical values.

    Returns:
        A list of `[n_f]` long tensors of row indices, best front first, each sorted ascending.
    """
    _check_matrix(Y)
    if Y.shape[0] == 0:
        return []
    nan_rows = torch.isnan(Y).any(dim=-1)
    remaining = torch.nonzero(~nan_rows).flatten()
    fronts: list[Tensor] = []
    if remaining.numel() <= _MATRIX_MAX_ROWS:
        fronts = [remaining[f] for f in _fronts_from_matrix(Y[remaining])]
    else:
        while remaining.numel():
            on_front = _front_mask(Y[remaining])
            fronts.append(remaining[on_front])
            remaining = remaining[~on_front]
    if bool(nan_rows.any()):
        fronts.append(torch.nonzero(nan_rows).flatten())
    return fronts


def _fronts_from_matrix(Y: Tensor) -> list[Tensor]:
    """Deb's counting scheme on NaN-free rows: ``n_j`` = number of rows dominating ``j``; peel ``n_j == 0``."""
    D = dominates(Y.unsqueeze(1), Y.unsqueeze(0))
    counts = D.sum(dim=0)
    assigned = torch.zeros(Y.shape[0], dtype=torch.bool, device=Y.device)
    fronts: list[Tensor] = []
    current = counts == 0
    while bool(current.any()):
        idx = torch.nonzero(current).flatten()
        fronts.append(idx)
        assigned |= current
        counts = counts - D[idx].sum(dim=0)
        current = (counts == 0) & ~assigned
    return fronts


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


def _check_ref(Y: Tensor, ref_point: Tensor | Sequence[float]) -> Tensor:
    _check_matrix(Y)
    ref = torch.as_tensor(ref_point, dtype=torch.float64, device=Y.device).flatten()
    if ref.numel() != Y.shape[1]:
        raise ConfigError(f"ref_point has {ref.numel()} entries {ref.tolist()} but Y has K={Y.shape[1]} columns")
    if not bool(torch.isfinite(ref).all()):
        raise ConfigError(f"ref_point must be finite, got {ref.tolist()}")
    return ref


def _relevant_front(Y: Tensor, ref: Tensor) -> Tensor:
    """`[M, K]` float64 non-dominated rows strictly better than ``ref`` in every column, duplicates dropped."""
    Y = Y.to(torch.float64)
    Y = Y[(Y > ref).all(dim=-1)]
    if Y.shape[0] == 0:
        return Y
    Y = Y[pareto_mask(Y)]
    return torch.unique(Y, dim=0)


def _hv_2d(front: Tensor, ref: Tensor) -> float:
    """Exact 2-D hypervolume of a non-dominated, duplicate-free front by a sweep along column 0."""
    order = torch.argsort(front[:, 0], descending=True)
    x = front[order, 0] - ref[0]
    y = front[order, 1] - ref[1]
    prev_y = torch.cat([torch.zeros(1, dtype=y.dtype, device=y.device), y[:-1]])
    return float((x * (y - prev_y)).sum())


def _hv_front(front: Tensor, ref: Tensor) -> float:
    m, k = front.shape
    if m == 0:
        return 0.0
    if k == 1:
        return float(front[:, 0].max() - ref[0])
    if k == 2:
        return _hv_2d(front, ref)
    from botorch.utils.multi_objective.box_decompositions.dominated import DominatedPartitioning

    return float(DominatedPartitioning(ref_point=ref, Y=front).compute_hypervolume())


def hypervolume(Y: Tensor, ref_point: Tensor | Sequence[float]) -> float:
    """Volume of the region dominated by ``Y`` and bounded below by ``ref_point`` (Zitzler & Thiele 1999).

    ``HV(Y; r) = Lebesgue(U_{y in Y, y > r} [r, y])`` in the canonical (maximise) view. Rows that are
    not strictly better than ``r`` in every column, and rows with NaN, contribute nothing. With
    ``K == 1`` this is ``max(max_i y_i - r, 0)``. ``K == 2`` uses an exact sweep; ``K >= 3`` uses
    BoTorch's ``DominatedPartitioning`` box decomposition (exact; cost grows quickly past ``K = 5``).
    Computed in float64.

    Args:
        Y: `[N, K]` canonical values.
        ref_point: `[K]` reference point in the canonical view (see :func:`reference_point`).

    Returns:
        The hypervolume as a Python float (0.0 for an empty set).
    """
    ref = _check_ref(Y, ref_point)
    return _hv_front(_relevant_front(Y, ref), ref)


def hypervolume_contributions(Y: Tensor, ref_point: Tensor | Sequence[float]) -> Tensor:
    """Exclusive hypervolume contribution of each row: ``HV(Y) - HV(Y without row i)``.

    This is the volume dominated by row ``i`` and by no other row. Dominated rows, rows not strictly
    better than the reference point and rows with NaN contribute 0, and so does every copy of a
    duplicated point (removing one copy leaves the volume unchanged). The contribution of ``p`` is
    ``prod(p - r) - HV({min(p, q) : q != p})``: the box of ``p`` minus the part of it that the other
    rows cover. When every relevant row is non-dominated and distinct, 2-D uses the closed form
    ``(y1_i - y1_{i-1}) * (y2_i - y2_{i+1})`` on the front sorted by the first column.

    Args:
        Y: `[N, K]` canonical values.
        ref_point: `[K]` reference point in the canonical view.

    Returns:
        `[N]` float64 contributions, all ``>= 0``.
    """
    ref = _check_ref(Y, ref_point)
    n, k = Y.shape
    out = torch.zeros(n, dtype=torch.float64, device=Y.device)
    if n == 0:
        return out
    Yd = Y.to(torch.float64)
    relevant = (Yd > ref).all(dim=-1)
    rel_idx = torch.nonzero(relevant).flatten()
    if rel_idx.numel() == 0:
        return out
    R = Yd[rel_idx]
    on_front = pareto_mask(R)
    distinct = torch.unique(R, dim=0).shape[0] == R.shape[0]
    if k == 2 and distinct and bool(on_front.all()):
        order = torch.argsort(R[:, 0])
        x = torch.cat([ref[:1], R[order, 0]])
        y = torch.cat([R[order, 1], ref[1:2]])
        contrib = torch.zeros(R.shape[0], dtype=torch.float64, device=Y.device)
        contrib[order] = (x[1:] - x[:-1]) * (y[:-1] - y[1:])
        out[rel_idx] = contrib
        return out
    for j in torch.nonzero(on_front).flatten().tolist():
        p = R[j]
        rest = torch.cat([R[:j], R[j + 1 :]])
        box = float(torch.prod(p - ref))
        covered = _hv_front(_relevant_front(torch.minimum(rest, p), ref), ref) if rest.shape[0] else 0.0
        out[rel_idx[j]] = max(box - covered, 0.0)
    return out


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
