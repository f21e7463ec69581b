"""Scalarisation: many objective columns to one score, on the canonical (maximise) view.

Three rules, each as a tensor function on canonical values `[B, K]` and through :class:`Scalarized`
as an objective:

* weighted sum ``s = sum_k w_k y_k``;
* weighted geometric mean (Derringer & Suich 1980) ``D = (prod_k d_k^{w_k})^{1 / sum_k w_k}`` of
  desirabilities ``d_k >= 0``: any ``d_k = 0`` with ``w_k > 0`` gives ``D = 0``;
* augmented Chebyshev ``g = max_k w_k |y_k - z_k| + rho sum_k w_k |y_k - z_k|`` around an ideal
  point ``z`` (Steuer & Choo 1983; Knowles 2006, ParEGO), reported as the maximisation score ``-g``.

Weighted sums only reach the convex hull of a front; Chebyshev scalarisation reaches every Pareto
optimal point, including those on concave parts of the front (Miettinen 1999, "Nonlinear
Multiobjective Optimization", Thm 3.4.5), and ``rho > 0`` rules out weakly dominated optima.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, ObjectiveSpec, Scores
from gendesign.objectives.compose import ObjectiveWrapper, nan_invalid

__all__ = [
    "GEOMETRIC_FLOOR",
    "Scalarized",
    "augmented_chebyshev",
    "canonical_bounds",
    "normalize_canonical",
    "normalize_weights",
    "weighted_geometric_mean",
    "weighted_sum",
]

GEOMETRIC_FLOOR = 1e-8
"""Positive desirabilities below this are raised to it before the log, as in REINVENT 4."""

ScalarizeMethod = Literal["weighted_sum", "geometric_mean", "chebyshev"]


def normalize_weights(
    weights: Tensor | Sequence[float] | None, k: int, *, dtype: torch.dtype = torch.float32, device: Any = None
) -> Tensor:
    """`[K]` non-negative weights scaled to sum to 1; ``None`` gives equal weights ``1/K``."""
    if weights is None:
        return torch.full((k,), 1.0 / k, dtype=dtype, device=device)
    w = torch.as_tensor(weights, dtype=dtype, device=device).flatten()
    if w.numel() != k:
        raise ConfigError(f"got {w.numel()} weights {w.tolist()} for K={k} objective columns; give one weight per column")
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()) or not bool(w.sum() > 0):
        raise ConfigError(f"weights {w.tolist()} must be finite, >= 0 and not all 0")
    return w / w.sum()


def _check_y(Y: Tensor) -> None:
    if Y.ndim != 2:
        raise ConfigError(f"scalarisers take canonical values [B, K], got shape {list(Y.shape)}")


def weighted_sum(Y: Tensor, weights: Tensor | Sequence[float] | None = None) -> Tensor:
    """``s_b = sum_k w_k Y[b, k]`` with weights normalised to sum 1.

    Args:
        Y: `[B, K]` canonical values (put columns on comparable scales first, e.g. :func:`normalize_canonical`).
        weights: `[K]` non-negative weights, default equal.

    Returns:
        `[B]` scores; NaN where a row has NaN.
    """
    _check_y(Y)
    w = normalize_weights(weights, Y.shape[1], dtype=Y.dtype, device=Y.device)
    return Y @ w


def weighted_geometric_mean(Y: Tensor, weights: Tensor | Sequence[float] | None = None, floor: float = GEOMETRIC_FLOOR) -> Tensor:
    """Derringer-Suich overall desirability ``D = (prod_k d_k^{w_k})^{1 / sum_k w_k}``.

    Computed as ``exp(sum_k w_k log(max(d_k, floor)) / sum_k w_k)`` so that it and its gradient stay
    finite, then set to exactly 0 where some ``d_k == 0`` has ``w_k > 0`` (zero propagates: one
    unacceptable property makes the whole design unacceptable). Columns with ``w_k = 0`` are ignored.

    Args:
        Y: `[B, K]` desirabilities, ``>= 0`` (NaN rows allowed).
        weights: `[K]` non-negative weights, default equal.
        floor: the positive floor applied before the log.

    Returns:
        `[B]` overall desirability; NaN where a row has NaN.
    """
    _check_y(Y)
    if bool((Y < 0).any()):
        raise ConfigError(
            f"weighted_geometric_mean needs desirabilities >= 0, got a minimum of {float(Y[~torch.isnan(Y)].min()):g}; "
            "map the columns to [0, 1] with Transformed(..., {column: Ramp(...)}) first"
        )
    w = normalize_weights(weights, Y.shape[1], dtype=Y.dtype, device=Y.device)
    D = torch.exp(torch.log(Y.clamp_min(floor)) @ w)
    zero = ((Y == 0) & (w > 0)).any(dim=-1)
    return torch.where(zero, torch.zeros_like(D), D)


def augmented_chebyshev(
    Y: Tensor,
    weights: Tensor | Sequence[float] | None = None,
    ideal: Tensor | Sequence[float] | None = None,
    rho: float = 0.05,
) -> Tensor:
    """Augmented Chebyshev score ``-g(y)`` with ``g = max_k w_k |y_k - z_k| + rho sum_k w_k |y_k - z_k|``.

    ``g`` is a distance to the ideal point ``z`` (smaller is better), so the returned score ``-g``
    is maximised. Use it on canonical values normalised to a common scale (:func:`normalize_canonical`);
    with normalised values the natural ideal point is ``z = 1``.

    Args:
        Y: `[B, K]` canonical (ideally normalised) values.
        weights: `[K]` non-negative weights, default equal; normalised to sum 1.
        ideal: `[K]` ideal point ``z``; defaults to ``1`` in every column (the normalised optimum).
        rho: augmentation ``rho >= 0``.

    Returns:
        `[B]` scores ``-g``; NaN where a row has NaN.
    """
    _check_y(Y)
    if not rho >= 0:
        raise ConfigError(f"augmented_chebyshev: rho={rho} must be >= 0")
    k = Y.shape[1]
    w = normalize_weights(weights, k, dtype=Y.dtype, device=Y.device)
    z = torch.ones(k, dtype=Y.dtype, device=Y.device) if ideal is None else torch.as_tensor(ideal, dtype=Y.dtype, device=Y.device)
    if z.shape != (k,):
        raise ConfigError(f"augmented_chebyshev: ideal {z.tolist()} must have K={k} entries")
    dev = w * (Y - z).abs()
    return -(dev.max(dim=-1).values + rho * dev.sum(dim=-1))


def canonical_bounds(specs: Sequence[ObjectiveSpec]) -> Tensor:
    """`[2, K]` lower and upper bounds of the canonical view: ``(lo, hi)`` for max, ``(-hi, -lo)`` for min."""
    missing = [s.name for s in specs if s.bounds is None]
    if missing:
        raise ConfigError(f"columns {missing} have no bounds; set ObjectiveSpec(bounds=(low, high)) to normalise them")
    lo = [s.bounds[0] if s.direction == "max" else -s.bounds[1] for s in specs]  # type: ignore[index]
    hi = [s.bounds[1] if s.direction == "max" else -s.bounds[0] for s in specs]  # type: ignore[index]
    return torch.tensor([lo, hi], dtype=torch.float32)


def normalize_canonical(Y: Tensor, specs: Sequence[ObjectiveSpec]) -> Tensor:
    """Map canonical values `[B, K]` to ``[0, 1]`` per column with the specs' bounds (1 = best bound).

    ``(y - lo) / (hi - lo)`` on the canonical bounds; values outside the bounds map outside ``[0, 1]``.
    The bounds are fixed, so an item's normalised value never depends on the rest of the batch.
    """
    b = canonical_bounds(specs).to(Y.device, Y.dtype)
    return (Y - b[0]) / (b[1] - b[0])


class Scalarized(ObjectiveWrapper):
    """An objective's columns reduced to one maximised score ``[B, 1 + C]``.

    The objective (``kind="objective"``) columns are scalarised on their canonical view with the
    chosen method; the ``C`` constraint and auxiliary columns are kept unchanged after the score so
    that feasibility still works and recorded values stay recorded (``K = 1`` when there are none).

    * ``"weighted_sum"``: optionally on bounds-normalised values (``normalize=True``). When every
      column reports ``std``, the score's ``std`` is ``sqrt(sum_k w_k^2 std_k^2)`` (columns treated as
      independent, values scaled like the columns).
    * ``"geometric_mean"``: the columns must be maximised desirabilities with bounds inside
      ``[0, inf)``, e.g. the output of :class:`~gendesign.objectives.transforms.Transformed`.
    * ``"chebyshev"``: augmented Chebyshev on bounds-normalised values (``normalize`` defaults to
      True and needs every column's bounds), ideal point 1 unless ``ideal`` is given.

    Args:
        inner: the multi-column objective.
        method: ``"weighted_sum"``, ``"geometric_mean"`` or ``"chebyshev"``.
        weights: `[K_obj]` weights of the objective columns, or ``{name: weight}``; default equal.
        rho: Chebyshev augmentation.
        ideal: Chebyshev ideal point, in the (normalised) canonical view.
        normalize: normalise canonical values with the specs' bounds first (default: True for
            Chebyshev, False otherwise).
        name: name of the score column.
    """

    def __init__(
        self,
        inner: Objective,
        method: ScalarizeMethod = "weighted_sum",
        weights: Sequence[float] | dict[str, float] | None = None,
        *,
        rho: float = 0.05,
        ideal: Sequence[float] | None = None,
        normalize: bool | None = None,
        name: str = "score",
    ) -> None:
        super().__init__(inner)
        if method not in ("weighted_sum", "geometric_mean", "chebyshev"):
            raise ConfigError(f"Scalarized: method={method!r}; use 'weighted_sum', 'geometric_mean' or 'chebyshev'")
        self.objective_idx = [k for k, s in enumerate(inner.specs) if s.kind == "objective"]
        self.kept_idx = [k for k, s in enumerate(inner.specs) if s.kind != "objective"]
        if not self.objective_idx:
            raise ConfigError(f"Scalarized: objective {inner.name!r} has no kind='objective' columns to scalarise")
        obj_specs = [inner.specs[k] for k in self.objective_idx]
        names = [s.name for s in obj_specs]
        if isinstance(weights, dict):
            unknown = sorted(set(weights) - set(names))
            if unknown:
                raise ConfigError(f"Scalarized: weights for unknown columns {unknown}; objective columns are {names}")
            weights = [float(weights.get(n, 0.0)) for n in names]
        self.weights = normalize_weights(weights, len(obj_specs))
        self.method = method
        self.rho = float(rho)
        self.normalize = (method == "chebyshev") if normalize is None else bool(normalize)
        if self.normalize:
            canonical_bounds(obj_specs)
        if method == "geometric_mean":
            bad = [s.name for s in obj_specs if s.direction != "max" or s.bounds is None or s.bounds[0] < 0]
            if bad and not self.normalize:
                raise ConfigError(
                    f"Scalarized(geometric_mean): columns {bad} are not maximised desirabilities with bounds in [0, inf); "
                    "wrap the objective in Transformed(obj, {column: Ramp(...) or Sigmoid(...)}) or pass normalize=True"
                )
        if method == "chebyshev" and not self.normalize and ideal is None:
            raise ConfigError("Scalarized(chebyshev) without normalisation needs an explicit ideal point; pass ideal=[...]")
        if ideal is not None and len(ideal) != len(obj_specs):
            raise ConfigError(f"Scalarized: ideal {list(ideal)} must have one entry per objective column {names}")
        self.ideal = None if ideal is None else [float(v) for v in ideal]
        if name in [inner.specs[k].name for k in self.kept_idx]:
            raise ConfigError(f"Scalarized: score name {name!r} clashes with a kept constraint or auxiliary column; pass another name=")
        self._obj_specs = obj_specs
        score = ObjectiveSpec(
            name=name, direction="max", bounds=self._score_bounds(), description=f"{method} of {', '.join(names)}"
        )
        self.specs = (score, *(inner.specs[k] for k in self.kept_idx))

    def _score_bounds(self) -> tuple[float, float] | None:
        if self.normalize:
            lo = torch.zeros(len(self._obj_specs))
            hi = torch.ones(len(self._obj_specs))
        elif all(s.bounds is not None for s in self._obj_specs):
            b = canonical_bounds(self._obj_specs)
            lo, hi = b[0], b[1]
        else:
            return None
        w = self.weights
        if self.method == "weighted_sum":
            out = (float(lo @ w), float(hi @ w))
        elif self.method == "geometric_mean":
            out = (float(weighted_geometric_mean(lo.unsqueeze(0), w)[0]), float(weighted_geometric_mean(hi.unsqueeze(0), w)[0]))
        else:
            z = torch.ones_like(lo) if self.ideal is None else torch.tensor(self.ideal)
            worst = w * torch.maximum((lo - z).abs(), (hi - z).abs())
            out = (-float(worst.max() + self.rho * worst.sum()), 0.0)
        return out if out[0] < out[1] and all(math.isfinite(v) for v in out) else None

    def scalarize(self, canonical: Tensor) -> Tensor:
        """`[B]` score from the canonical objective columns `[B, K_obj]` (normalised here when configured)."""
        Y = normalize_canonical(canonical, self._obj_specs) if self.normalize else canonical
        w = self.weights.to(Y.device, Y.dtype)
        if self.method == "weighted_sum":
            return weighted_sum(Y, w)
        if self.method == "geometric_mean":
            return weighted_geometric_mean(Y, w)
        return augmented_chebyshev(Y, w, self.ideal, self.rho)

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        scores = self.call_inner(designs)
        signs = torch.tensor([s.sign for s in self._obj_specs], dtype=scores.values.dtype, device=scores.values.device)
        canonical = scores.values[:, self.objective_idx] * signs
        score = self.scalarize(canonical).unsqueeze(-1)
        values = nan_invalid(torch.cat([score, scores.values[:, self.kept_idx]], dim=-1), scores.valid)
        std = None
        if self.method == "weighted_sum" and scores.std is not None:
            col_std = scores.std[:, self.objective_idx]
            if self.normalize:
                b = canonical_bounds(self._obj_specs).to(col_std.device, col_std.dtype)
                col_std = col_std / (b[1] - b[0])
            w = self.weights.to(col_std.device, col_std.dtype)
            score_std = (col_std.pow(2) @ w.pow(2)).sqrt().unsqueeze(-1)
            std = torch.cat([score_std, scores.std[:, self.kept_idx]], dim=-1)
        return Scores(
            values=values, valid=scores.valid, specs=self.specs, std=std, errors=scores.errors, info=scores.info, raised=scores.raised
        )

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "method": self.method,
            "weights": self.weights.tolist(),
            "rho": self.rho,
            "ideal": self.ideal,
            "normalize": self.normalize,
        }
