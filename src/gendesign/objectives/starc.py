"""How far apart two reward functions are on a set of designs: the STARC distance and rank agreement.

STARC (Skalse et al., "STARC: A General Framework For Quantifying Differences Between Reward
Functions", ICLR 2024) measures ``d(R_1, R_2) = m(s(R_1), s(R_2))`` with ``s(R) = c(R) / n(c(R))``:
a canonicalisation ``c`` removes what cannot change any policy's ranking (potential shaping), the
norm ``n`` removes positive scale, and the metric ``m`` compares what is left. Its headline result
is that such distances bound worst-case regret from above and below.

Here a reward is a vector `[N]` over ``N`` designs, in the maximise view, and each design belongs to
a context ``x`` (e.g. the prompt it answers; by default all designs share one context). In this
one-step (bandit) setting the shaping term is one constant per context, so the canonicalisation is
per-context centring under the uniform distribution over the given designs:

    ``c(R)_i = R_i - mean_{j : x_j = x_i} R_j``,
    ``s(R) = c(R) / ||c(R)||_2``  (``s(R) = 0`` when ``c(R) = 0``),
    ``d(R_1, R_2) = ||s(R_1) - s(R_2)||_2``  in ``[0, 2]``.

So ``d(R, a R + b) = 0`` for any ``a > 0`` and any per-context shift ``b_x``, ``d(R, -R) = 2``, and
for non-degenerate rewards ``d = sqrt(2 (1 - rho))`` with ``rho`` the per-context-centred
correlation. ``d`` is a pseudometric (symmetric, triangle inequality) on rewards over the same
designs.

*Degenerate rewards*: a reward constant within every context has ``c(R) = 0`` (it ranks nothing);
its standardised vector is the zero vector, so two such rewards are at distance 0 and one such
reward is at distance exactly 1 from every non-degenerate reward. ``c(R)`` counts as zero when
``||c(R)||_2 <= 1e-12 * ||R||_2``, so rounding in the centring of a constant does not turn it into
noise of unit norm.

Rank agreement beside it: Spearman's ``rho`` and Kendall's ``tau-b`` (SciPy, over all designs,
ignoring contexts; NaN when either reward is constant) and the top-``k`` overlap
``|top_k(R_1) ∩ top_k(R_2)| / k``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from gendesign.core.errors import ConfigError

__all__ = ["RewardComparison", "canonicalize", "compare_rewards", "standardize", "starc_distance", "top_k_overlap"]

ZERO_TOLERANCE = 1e-12
"""``c(R)`` is treated as the zero vector when ``||c(R)||_2 <= ZERO_TOLERANCE * ||R||_2``."""


def _vector(rewards: ArrayLike, name: str) -> np.ndarray:
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 1:
        raise ConfigError(f"{name} must be one reward per design, shape [N]; got shape {list(r.shape)}")
    if r.size == 0:
        raise ConfigError(f"{name} is empty; give at least one design")
    if not np.isfinite(r).all():
        bad = int(np.flatnonzero(~np.isfinite(r))[0])
        raise ConfigError(f"{name}[{bad}] = {r[bad]!r} is not finite; drop designs that either reward cannot score")
    return r


def _group_index(contexts: Sequence[Any] | ArrayLike | None, n: int) -> np.ndarray:
    """`[N]` int context index of each design (all zeros when ``contexts`` is ``None``)."""
    if contexts is None:
        return np.zeros(n, dtype=np.int64)
    labels = list(contexts)
    if len(labels) != n:
        raise ConfigError(f"contexts has {len(labels)} labels for {n} designs; give one context label per design")
    index: dict[Any, int] = {}
    return np.array([index.setdefault(label, len(index)) for label in labels], dtype=np.int64)


def canonicalize(rewards: ArrayLike, contexts: Sequence[Any] | ArrayLike | None = None) -> np.ndarray:
    """Per-context centring ``c(R)_i = R_i - mean_{j : x_j = x_i} R_j``.

    Args:
        rewards: `[N]` rewards, maximise view.
        contexts: `[N]` hashable context labels (designs sharing a label share a context); ``None``
            puts every design in one context.

    Returns:
        `[N]` float64 centred rewards; each context's entries sum to zero.
    """
    r = _vector(rewards, "rewards")
    groups = _group_index(contexts, r.size)
    means = np.bincount(groups, weights=r) / np.bincount(groups)
    return r - means[groups]


def standardize(rewards: ArrayLike, contexts: Sequence[Any] | ArrayLike | None = None) -> np.ndarray:
    """``s(R) = c(R) / ||c(R)||_2``, or the zero vector `[N]` when ``c(R)`` is zero (a reward constant per context)."""
    r = _vector(rewards, "rewards")
    c = canonicalize(r, contexts)
    norm = float(np.linalg.norm(c))
    if norm <= ZERO_TOLERANCE * float(np.linalg.norm(r)):
        return np.zeros_like(c)
    return c / norm


def starc_distance(a: ArrayLike, b: ArrayLike, contexts: Sequence[Any] | ArrayLike | None = None) -> float:
    """STARC distance ``||s(a) - s(b)||_2`` in ``[0, 2]`` of two rewards `[N]` over the same designs.

    ``0`` when ``b = alpha a + beta_x`` (``alpha > 0``, any per-context shift), ``2`` when ``b = -a``
    up to the same transformations; ``1`` between a degenerate (per-context constant) reward and a
    non-degenerate one. See the module docstring for the canonicalisation.
    """
    va, vb = _vector(a, "a"), _vector(b, "b")
    if va.shape != vb.shape:
        raise ConfigError(f"a has {va.size} rewards and b has {vb.size}; score the same designs with both")
    return float(min(2.0, np.linalg.norm(standardize(va, contexts) - standardize(vb, contexts))))


def top_k_overlap(a: ArrayLike, b: ArrayLike, k: int) -> float:
    """``|top_k(a) ∩ top_k(b)| / k`` for rewards `[N]` (maximise view), ``k`` capped at ``N``.

    ``top_k`` takes the ``k`` largest values; ties are broken by design order (earlier first).
    """
    va, vb = _vector(a, "a"), _vector(b, "b")
    if va.shape != vb.shape:
        raise ConfigError(f"a has {va.size} rewards and b has {vb.size}; score the same designs with both")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"top_k={k!r} must be a positive integer")
    k = min(int(k), va.size)
    top_a = set(np.argsort(-va, kind="stable")[:k].tolist())
    top_b = set(np.argsort(-vb, kind="stable")[:k].tolist())
    return len(top_a & top_b) / k


@dataclass(frozen=True)
class RewardComparison:
    """Agreement of two rewards on ``n`` designs in ``contexts`` contexts.

    Attributes:
        distance: STARC distance in ``[0, 2]`` (0: same ranking in every context up to scale and shift).
        spearman: Spearman rank correlation over all designs (NaN if either reward is constant).
        kendall: Kendall's tau-b over all designs (NaN if either reward is constant).
        top_k_overlap: ``|top_k(a) ∩ top_k(b)| / k``.
        k: the ``k`` used (the requested one capped at ``n``).
        n: number of designs.
        contexts: number of distinct contexts.
    """

    distance: float
    spearman: float
    kendall: float
    top_k_overlap: float
    k: int
    n: int
    contexts: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields; NaN correlations become ``None``."""
        return {key: (None if isinstance(v, float) and math.isnan(v) else v) for key, v in asdict(self).items()}


def _correlations(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    from scipy.stats import kendalltau, spearmanr

    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan, math.nan
    return float(spearmanr(a, b).statistic), float(kendalltau(a, b).statistic)


def compare_rewards(a: ArrayLike, b: ArrayLike, contexts: Sequence[Any] | ArrayLike | None = None, *, top_k: int = 10) -> RewardComparison:
    """STARC distance, Spearman, Kendall and top-``k`` overlap of rewards ``a`` and ``b`` `[N]` (maximise view)."""
    va, vb = _vector(a, "a"), _vector(b, "b")
    distance = starc_distance(va, vb, contexts)
    overlap = top_k_overlap(va, vb, top_k)
    spearman, kendall = _correlations(va, vb)
    n_contexts = int(_group_index(contexts, va.size).max()) + 1
    return RewardComparison(distance, spearman, kendall, overlap, min(top_k, va.size), int(va.size), n_contexts)
