"""Slow, independently written reference versions of the Pareto maths, kept to test the fast ones.

These are the original implementations of :mod:`gendesign.core.pareto`: dominance by pairwise
comparison, Deb's counting sort on the dominance matrix, hypervolume by a 2-D sweep or BoTorch's
``DominatedPartitioning`` box decomposition, and contributions as ``HV(Y) - HV(Y without row i)``
one point at a time. They agree with moocore to ``1e-15`` but are hundreds of times slower than the
sweeps in :mod:`gendesign.core.pareto_sweeps`; the property tests check that both give the same
answer. Same conventions as the public functions: canonical (maximise) values, NaN rows never on a
front and worth no volume.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from gendesign.core.pareto import _check_matrix, _check_ref, dominates

__all__ = [
    "hypervolume_contributions_reference",
    "hypervolume_reference",
    "non_dominated_sort_reference",
    "pareto_mask_reference",
]

_MATRIX_MAX_ROWS = 1500


def _front_mask(Y: Tensor) -> Tensor:
    """`[N]` non-dominated mask of NaN-free rows by output-sensitive elimination.

    Every surviving row removes all rows it dominates. A dominated row is dominated by some
    non-dominated row, which is never removed, so the result is exact whatever the visiting order.
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


def pareto_mask_reference(Y: Tensor) -> Tensor:
    """`[N]` bool: rows no other row dominates, by elimination (NaN rows never qualify)."""
    _check_matrix(Y)
    mask = ~torch.isnan(Y).any(dim=-1)
    idx = torch.nonzero(mask).flatten()
    mask[idx] = _front_mask(Y[idx])
    return mask


def non_dominated_sort_reference(Y: Tensor) -> list[Tensor]:
    """Deb's fronts: counting on the dominance matrix up to 1500 rows, peeling with the mask beyond."""
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


def _relevant_front(Y: Tensor, ref: Tensor) -> Tensor:
    """`[M, K]` float64 non-dominated rows strictly better than ``ref`` in every column, duplicates dropped."""
    Y = Y.to(torch.float64)
    Y = Y[(Y > ref).all(dim=-1)]
    if Y.shape[0] == 0:
        return Y
    Y = Y[pareto_mask_reference(Y)]
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


def _ref_tensor(Y: Tensor, ref_point: Tensor | Sequence[float]) -> Tensor:
    return torch.from_numpy(_check_ref(Y, ref_point)).to(Y.device)


def hypervolume_reference(Y: Tensor, ref_point: Tensor | Sequence[float]) -> float:
    """Hypervolume by a 2-D sweep (``K = 2``) or BoTorch's box decomposition (``K >= 3``)."""
    ref = _ref_tensor(Y, ref_point)
    return _hv_front(_relevant_front(Y, ref), ref)


def hypervolume_contributions_reference(Y: Tensor, ref_point: Tensor | Sequence[float]) -> Tensor:
    """`[N]` float64 ``prod(p - r) - HV({min(p, q) : q != p})`` per front row; 0 elsewhere."""
    ref = _ref_tensor(Y, ref_point)
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
    on_front = pareto_mask_reference(R)
    for j in torch.nonzero(on_front).flatten().tolist():
        p = R[j]
        rest = torch.cat([R[:j], R[j + 1 :]])
        box = float(torch.prod(p - ref))
        covered = _hv_front(_relevant_front(torch.minimum(rest, p), ref), ref) if rest.shape[0] else 0.0
        out[rel_idx[j]] = max(box - covered, 0.0)
    return out
