"""Per-column value transforms: desirability functions, normalisation, negation, clipping.

A desirability maps a raw value to ``d in [0, 1]`` where 1 is best (Derringer & Suich 1980,
"Simultaneous optimization of several response variables", J. Quality Technology 12(4)). The
shapes follow the score transforms of REINVENT 4 (Loeffler et al. 2024, J. Cheminformatics 16:20)
and MolScore (Thomas et al. 2024, J. Cheminformatics 16:64): sigmoid, reverse sigmoid, double
sigmoid, step, Gaussian bell and Derringer-Suich ramps. All are written in torch ops, so a
differentiable objective stays differentiable (the step has zero gradient almost everywhere).

Every transform is a small frozen pydantic model (``extra="forbid"``) with a ``kind`` tag, so a
TOML table ``{kind = "sigmoid", low = 2, high = 6}`` parses with :func:`parse_transform`.
:class:`Transformed` applies transforms to columns of an objective and rewrites the column specs.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Annotated, Any, ClassVar, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, ObjectiveSpec, Scores
from gendesign.objectives.compose import ObjectiveWrapper, nan_invalid

__all__ = [
    "Clip",
    "DoubleSigmoid",
    "ExponentialDecay",
    "Gaussian",
    "MinMax",
    "Negate",
    "Ramp",
    "ReverseSigmoid",
    "Sigmoid",
    "Step",
    "TRANSFORM_KINDS",
    "TargetRamp",
    "Transform",
    "TransformConfig",
    "Transformed",
    "ValueMapping",
    "ZScore",
    "parse_transform",
]

_LN10 = math.log(10.0)
_DESIRABILITY_BOUNDS = (0.0, 1.0)


class Transform(BaseModel):
    """A map ``Tensor [...] -> Tensor [...]`` applied elementwise to one column.

    Subclasses implement :meth:`__call__` and say how the column's spec changes in :meth:`output_spec`.

    Attributes:
        desirability: the output is a desirability in ``[0, 1]`` (higher is better).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    desirability: ClassVar[bool] = True

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(f"{type(self).__name__}({_kwargs(data)}): {_problems(exc)}") from exc

    @property
    def name(self) -> str:
        """The ``kind`` tag, e.g. ``"sigmoid"``."""
        return str(self.kind)

    @abstractmethod
    def __call__(self, x: Tensor) -> Tensor:
        """Transform ``x`` `[...]` elementwise; NaN stays NaN."""

    def bind(self, spec: ObjectiveSpec) -> Transform:
        """A copy with defaults filled from the column's spec (e.g. bounds); identity by default."""
        return self

    def output_spec(self, spec: ObjectiveSpec) -> ObjectiveSpec:
        """The spec of the transformed column; desirabilities become ``"max"`` with bounds ``(0, 1)``."""
        if spec.kind == "constraint":
            raise ConfigError(
                f"transform {self.name!r} cannot be applied to constraint column {spec.name!r}: the threshold "
                "has no meaning after a non-monotone map; transform the objective before as_constraint"
            )
        return replace(spec, direction="max", bounds=_DESIRABILITY_BOUNDS)

    def std_scale(self) -> float | None:
        """``|a|`` when the transform is affine ``a x + b`` (so ``std`` scales by ``|a|``), else ``None``."""
        return None


def _kwargs(data: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in data.items())


def _problems(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"] if p not in TRANSFORM_KINDS)
        msg = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg} (got {e.get('input')!r})" if loc else msg)
    return "; ".join(parts)


def _check_interval(low: float, high: float, what: str) -> None:
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ConfigError(f"{what}: need finite low < high, got low={low}, high={high}")


def _sigmoid10(t: Tensor) -> Tensor:
    """``1 / (1 + 10^(-t))``, the base-10 logistic used by REINVENT's score transforms."""
    return torch.sigmoid(_LN10 * t)


class Sigmoid(Transform):
    """Rising logistic between ``low`` and ``high``.

    ``d(x) = 1 / (1 + 10^(-10 k (x - c) / (high - low)))`` with ``c = (low + high) / 2``, so
    ``d(c) = 0.5`` and ``k`` sets the steepness in units of the interval (REINVENT 4 form).

    Args:
        low: lower end of the transition.
        high: upper end of the transition.
        k: steepness, ``> 0``; ``k = 0.5`` gives ``d(low) ~ 0.003`` and ``d(high) ~ 0.997``.
    """

    kind: Literal["sigmoid"] = "sigmoid"
    low: float
    high: float
    k: float = 0.5

    @model_validator(mode="after")
    def _check(self) -> Sigmoid:
        _check_interval(self.low, self.high, type(self).__name__)
        if not self.k > 0:
            raise ConfigError(f"{type(self).__name__}: steepness k={self.k} must be > 0")
        return self

    def _logit(self, x: Tensor) -> Tensor:
        centre = 0.5 * (self.low + self.high)
        return 10.0 * self.k * (x - centre) / (self.high - self.low)

    def __call__(self, x: Tensor) -> Tensor:
        return _sigmoid10(self._logit(x))


class ReverseSigmoid(Sigmoid):
    """Falling logistic: ``1 - Sigmoid(low, high, k)(x)``, for values that should stay small."""

    kind: Literal["reverse_sigmoid"] = "reverse_sigmoid"  # type: ignore[assignment]

    def __call__(self, x: Tensor) -> Tensor:
        return _sigmoid10(-self._logit(x))


class DoubleSigmoid(Transform):
    """A plateau on ``[low, high]``: a rising logistic at ``low`` minus a rising one at ``high``.

    ``d(x) = max(0, sigma10(k_low (x - low)) - sigma10(k_high (x - high)))`` with
    ``sigma10(t) = 1 / (1 + 10^(-t))``; ``d(low) ~ d(high) ~ 0.5`` when the plateau is wide
    compared with ``1 / k``. The ``max(0, .)`` only acts far outside the plateau when
    ``k_low != k_high``.

    Args:
        low: rising edge.
        high: falling edge, ``> low``.
        k_low: steepness of the rising edge (base-10 decades per unit of ``x``), ``> 0``.
        k_high: steepness of the falling edge, ``> 0``.
    """

    kind: Literal["double_sigmoid"] = "double_sigmoid"
    low: float
    high: float
    k_low: float = 1.0
    k_high: float = 1.0

    @model_validator(mode="after")
    def _check(self) -> DoubleSigmoid:
        _check_interval(self.low, self.high, "DoubleSigmoid")
        if not (self.k_low > 0 and self.k_high > 0):
            raise ConfigError(f"DoubleSigmoid: k_low={self.k_low} and k_high={self.k_high} must be > 0")
        return self

    def __call__(self, x: Tensor) -> Tensor:
        return (_sigmoid10(self.k_low * (x - self.low)) - _sigmoid10(self.k_high * (x - self.high))).clamp_min(0.0)


class Step(Transform):
    """Indicator of ``low <= x <= high`` (both ends inclusive; either may be omitted).

    ``Step(low=t)`` is REINVENT's right step (1 at and above ``t``), ``Step(high=t)`` the left step.
    The gradient is zero almost everywhere; NaN stays NaN.

    Args:
        low: smallest accepted value, or ``None`` for no lower limit.
        high: largest accepted value, or ``None`` for no upper limit.
    """

    kind: Literal["step"] = "step"
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _check(self) -> Step:
        if self.low is None and self.high is None:
            raise ConfigError("Step: give low, high or both")
        if self.low is not None and self.high is not None and not self.low <= self.high:
            raise ConfigError(f"Step: low={self.low} must be <= high={self.high}")
        return self

    def __call__(self, x: Tensor) -> Tensor:
        inside = torch.ones_like(x, dtype=torch.bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        out = inside.to(x.dtype if x.is_floating_point() else torch.float32)
        out = out + 0.0 * x if x.requires_grad else out
        return torch.where(torch.isnan(x), x, out)


class Gaussian(Transform):
    """Bell around a target: ``d(x) = exp(-(x - mu)^2 / (2 sigma^2))`` (MolScore ``gauss``).

    Args:
        mu: the ideal value, where ``d = 1``.
        sigma: width, ``> 0``; ``d(mu +- sigma) = exp(-1/2)``.
    """

    kind: Literal["gaussian"] = "gaussian"
    mu: float
    sigma: float

    @model_validator(mode="after")
    def _check(self) -> Gaussian:
        if not (math.isfinite(self.sigma) and self.sigma > 0):
            raise ConfigError(f"Gaussian: sigma={self.sigma} must be finite and > 0")
        return self

    def __call__(self, x: Tensor) -> Tensor:
        return torch.exp(-0.5 * ((x - self.mu) / self.sigma) ** 2)


class ExponentialDecay(Transform):
    """``d(x) = 1`` for ``x <= 0`` and ``exp(-k x)`` above (REINVENT 4 ``exponential_decay``), for counts or distances.

    Args:
        k: decay rate, ``> 0``; ``d(1 / k) = exp(-1)``.
    """

    kind: Literal["exponential_decay"] = "exponential_decay"
    k: float

    @model_validator(mode="after")
    def _check(self) -> ExponentialDecay:
        if not (math.isfinite(self.k) and self.k > 0):
            raise ConfigError(f"ExponentialDecay: k={self.k} must be finite and > 0")
        return self

    def __call__(self, x: Tensor) -> Tensor:
        return torch.exp(-self.k * x.clamp_min(0.0))


class ValueMapping(Transform):
    """A table from exact values to desirabilities, for categorical or count columns (REINVENT 4 ``value_mapping``).

    ``d(x) = mapping[x]`` when ``x`` equals a key of ``mapping`` (keys are numbers written as
    strings in TOML, e.g. ``{ "0" = 1.0, "1" = 0.5 }``), else ``default``.

    Args:
        mapping: value -> desirability in ``[0, 1]``.
        default: desirability of every other value, in ``[0, 1]``.
    """

    kind: Literal["value_mapping"] = "value_mapping"
    mapping: dict[float, float]
    default: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> ValueMapping:
        if not self.mapping:
            raise ConfigError("ValueMapping: mapping is empty; give at least one value = desirability pair")
        bad = {k: v for k, v in self.mapping.items() if not 0.0 <= v <= 1.0}
        if bad or not 0.0 <= self.default <= 1.0:
            raise ConfigError(f"ValueMapping: desirabilities must lie in [0, 1]; got mapping {bad or self.mapping}, default {self.default}")
        return self

    def __call__(self, x: Tensor) -> Tensor:
        out = torch.full_like(x, self.default)
        for value, d in self.mapping.items():
            out = torch.where(x == value, torch.full_like(x, d), out)
        return torch.where(torch.isnan(x), x, out)


def _safe_pow(u: Tensor, exponent: float) -> Tensor:
    """``u ** exponent`` for ``u in [0, 1]`` with a finite gradient at ``u = 0`` for any exponent > 0."""
    if exponent == 1.0:
        return u
    tiny = torch.finfo(u.dtype).tiny if u.is_floating_point() else 1e-38
    powed = u.clamp_min(tiny) ** exponent
    return torch.where(u == 0, torch.zeros_like(u), powed)


class Ramp(Transform):
    """Derringer-Suich one-sided desirability.

    ``direction="up"`` (larger is better): ``d = 0`` for ``x <= low``, ``((x - low) / (high - low))^s``
    between, ``1`` for ``x >= high``. ``direction="down"``: ``d = ((high - x) / (high - low))^s``
    clipped to ``[0, 1]``, so 1 at and below ``low`` and 0 at and above ``high``.

    Args:
        low: lower end of the ramp.
        high: upper end, ``> low``.
        direction: ``"up"`` or ``"down"``.
        exponent: ``s > 0``; ``s > 1`` rewards only values near the good end, ``s < 1`` is lenient.
    """

    kind: Literal["ramp"] = "ramp"
    low: float
    high: float
    direction: Literal["up", "down"] = "up"
    exponent: float = 1.0

    @model_validator(mode="after")
    def _check(self) -> Ramp:
        _check_interval(self.low, self.high, "Ramp")
        if not self.exponent > 0:
            raise ConfigError(f"Ramp: exponent={self.exponent} must be > 0")
        return self

    def __call__(self, x: Tensor) -> Tensor:
        u = (x - self.low) / (self.high - self.low)
        if self.direction == "down":
            u = 1.0 - u
        return _safe_pow(u.clamp(0.0, 1.0), self.exponent)


class TargetRamp(Transform):
    """Derringer-Suich two-sided desirability with a target value ``T``.

    ``d = ((x - L) / (T - L))^s1`` for ``L <= x <= T``, ``((U - x) / (U - T))^s2`` for
    ``T <= x <= U``, and 0 outside ``[L, U]``; ``d(T) = 1``.

    Args:
        low: ``L``.
        target: ``T`` with ``L < T < U``.
        high: ``U``.
        exponent_low: ``s1 > 0``.
        exponent_high: ``s2 > 0``.
    """

    kind: Literal["target_ramp"] = "target_ramp"
    low: float
    target: float
    high: float
    exponent_low: float = 1.0
    exponent_high: float = 1.0

    @model_validator(mode="after")
    def _check(self) -> TargetRamp:
        if not (self.low < self.target < self.high):
            raise ConfigError(f"TargetRamp: need low < target < high, got {self.low}, {self.target}, {self.high}")
        if not (self.exponent_low > 0 and self.exponent_high > 0):
            raise ConfigError(f"TargetRamp: exponents {self.exponent_low}, {self.exponent_high} must be > 0")
        return self

    def __call__(self, x: Tensor) -> Tensor:
        rise = _safe_pow(((x - self.low) / (self.target - self.low)).clamp(0.0, 1.0), self.exponent_low)
        fall = _safe_pow(((self.high - x) / (self.high - self.target)).clamp(0.0, 1.0), self.exponent_high)
        return torch.where(x <= self.target, rise, fall)


class _Affine(Transform):
    """``a x + b``: order-preserving (``a > 0``) or reversing, so constraints and std carry over."""

    desirability: ClassVar[bool] = False

    @abstractmethod
    def coefficients(self) -> tuple[float, float]:
        """``(a, b)`` of the map ``a x + b``."""

    def __call__(self, x: Tensor) -> Tensor:
        a, b = self.coefficients()
        return a * x + b

    def std_scale(self) -> float | None:
        return abs(self.coefficients()[0])

    def output_spec(self, spec: ObjectiveSpec) -> ObjectiveSpec:
        a, b = self.coefficients()
        direction = spec.direction if a > 0 else ("min" if spec.direction == "max" else "max")
        bounds = None
        if spec.bounds is not None:
            lo, hi = sorted((a * spec.bounds[0] + b, a * spec.bounds[1] + b))
            bounds = (lo, hi)
        threshold = None if spec.threshold is None else a * spec.threshold + b
        return replace(spec, direction=direction, bounds=bounds, threshold=threshold)


class Negate(_Affine):
    """``-x``; the direction flips, so the canonical (maximise) view is unchanged."""

    kind: Literal["negate"] = "negate"

    def coefficients(self) -> tuple[float, float]:
        return -1.0, 0.0


class ZScore(_Affine):
    """``(x - mean) / std`` with fixed statistics (e.g. from a reference set), never the live batch.

    Args:
        mean: the reference mean.
        std: the reference standard deviation, ``> 0``.
    """

    kind: Literal["zscore"] = "zscore"
    mean: float
    std: float

    @model_validator(mode="after")
    def _check(self) -> ZScore:
        if not (math.isfinite(self.std) and self.std > 0):
            raise ConfigError(f"ZScore: std={self.std} must be finite and > 0")
        return self

    def coefficients(self) -> tuple[float, float]:
        return 1.0 / self.std, -self.mean / self.std


class MinMax(_Affine):
    """``(x - low) / (high - low)``, with ``low``/``high`` defaulting to the column's ``bounds``.

    The direction is kept: a minimised column stays minimised in ``[0, 1]``. With ``clip=True``
    (default) values outside ``[low, high]`` are clipped to ``[0, 1]``.

    Args:
        low: value mapped to 0 (default: the spec's lower bound).
        high: value mapped to 1 (default: the spec's upper bound).
        clip: clip the output to ``[0, 1]``.
    """

    kind: Literal["minmax"] = "minmax"
    low: float | None = None
    high: float | None = None
    clip: bool = True

    @model_validator(mode="after")
    def _check(self) -> MinMax:
        if self.low is not None and self.high is not None:
            _check_interval(self.low, self.high, "MinMax")
        return self

    def bind(self, spec: ObjectiveSpec) -> MinMax:
        if self.low is not None and self.high is not None:
            return self
        if spec.bounds is None:
            raise ConfigError(
                f"MinMax on column {spec.name!r}: the column has no bounds; give low= and high= or set the spec's bounds"
            )
        low = self.low if self.low is not None else spec.bounds[0]
        high = self.high if self.high is not None else spec.bounds[1]
        return MinMax(low=low, high=high, clip=self.clip)

    def coefficients(self) -> tuple[float, float]:
        if self.low is None or self.high is None:
            raise ConfigError("MinMax needs low and high; bind it to a spec with bounds first")
        scale = 1.0 / (self.high - self.low)
        return scale, -self.low * scale

    def __call__(self, x: Tensor) -> Tensor:
        y = super().__call__(x)
        return y.clamp(0.0, 1.0) if self.clip else y

    def std_scale(self) -> float | None:
        return None if self.clip else super().std_scale()

    def output_spec(self, spec: ObjectiveSpec) -> ObjectiveSpec:
        out = super().output_spec(spec)
        return replace(out, bounds=(0.0, 1.0)) if self.clip else out


class Clip(Transform):
    """``clamp(x, low, high)``; the direction and any constraint threshold are kept.

    Args:
        low: lower limit or ``None``.
        high: upper limit or ``None``.
    """

    kind: Literal["clip"] = "clip"
    low: float | None = None
    high: float | None = None

    desirability: ClassVar[bool] = False

    @model_validator(mode="after")
    def _check(self) -> Clip:
        if self.low is None and self.high is None:
            raise ConfigError("Clip: give low, high or both")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ConfigError(f"Clip: low={self.low} must be < high={self.high}")
        return self

    def __call__(self, x: Tensor) -> Tensor:
        return x.clamp(min=self.low, max=self.high)

    def output_spec(self, spec: ObjectiveSpec) -> ObjectiveSpec:
        bounds = spec.bounds
        if self.low is not None and self.high is not None:
            bounds = (self.low, self.high)
        elif bounds is not None:
            lo = bounds[0] if self.low is None else max(bounds[0], self.low)
            hi = bounds[1] if self.high is None else min(bounds[1], self.high)
            bounds = (lo, hi) if lo < hi else None
        return replace(spec, bounds=bounds)


_TRANSFORM_CLASSES = (
    Sigmoid, ReverseSigmoid, DoubleSigmoid, Step, Gaussian, ExponentialDecay, ValueMapping, Ramp, TargetRamp, Negate, ZScore, MinMax, Clip
)
TransformConfig = Annotated[
    Sigmoid | ReverseSigmoid | DoubleSigmoid | Step | Gaussian | ExponentialDecay | ValueMapping | Ramp | TargetRamp | Negate | ZScore | MinMax | Clip,
    Field(discriminator="kind"),
]
"""Any transform, told apart by its ``kind`` tag; use it as a pydantic field type in configs."""
_ADAPTER: TypeAdapter[Any] = TypeAdapter(TransformConfig)
TRANSFORM_KINDS: tuple[str, ...] = tuple(cls.model_fields["kind"].default for cls in _TRANSFORM_CLASSES)


def parse_transform(table: Mapping[str, Any] | Transform) -> Transform:
    """Build a transform from a config table such as ``{"kind": "sigmoid", "low": 2, "high": 6}``.

    Raises:
        ConfigError: naming the bad field and value, or the allowed ``kind`` values.
    """
    if isinstance(table, Transform):
        return table
    if not isinstance(table, Mapping) or "kind" not in table:
        raise ConfigError(f"a transform is a table with a 'kind' key, one of {list(TRANSFORM_KINDS)}; got {table!r}")
    if table["kind"] not in TRANSFORM_KINDS:
        raise ConfigError(f"unknown transform kind {table['kind']!r}; choose one of {list(TRANSFORM_KINDS)}")
    try:
        return _ADAPTER.validate_python(dict(table))
    except ValidationError as exc:
        raise ConfigError(f"transform {dict(table)!r}: {_problems(exc)}") from exc


class Transformed(ObjectiveWrapper):
    """Apply transforms to named columns of an objective; other columns pass through unchanged.

    Each column gets one transform or a sequence applied left to right (e.g. ``[Clip(...), Ramp(...)]``).
    Column specs follow the transforms: a desirability column becomes ``direction="max"``,
    ``bounds=(0, 1)``; affine transforms map bounds and thresholds. Invalid items stay NaN.
    ``std`` is carried through columns whose transforms are all affine (scaled by ``|a|``) and
    dropped (``None``) as soon as any transformed column is non-affine.

    With ``keep_raw=True`` each transformed column ``c`` is followed by an ``"auxiliary"`` column
    ``c_raw`` holding the untransformed value (its original spec, renamed): it is recorded in the
    ledger and written to ``evaluations.csv`` and ``pareto.csv`` but never optimised.

    Args:
        inner: the objective to transform.
        transforms: ``{column name or index: transform, list of transforms, or config table}``.
        keep_raw: add the ``c_raw`` auxiliary column after every transformed column.

    Example:
        >>> from gendesign.core.objective import FunctionObjective
        >>> f = FunctionObjective(lambda xs: [float(len(x)) for x in xs], names="length")
        >>> g = Transformed(f, {"length": Gaussian(mu=3.0, sigma=1.0)})
        >>> g(["ABC", "ABCDE"]).values.squeeze(-1).tolist()  # doctest: +ELLIPSIS
        [1.0, 0.135...]
    """

    def __init__(
        self,
        inner: Objective,
        transforms: Mapping[str | int, Transform | Mapping[str, Any] | Sequence[Transform | Mapping[str, Any]]],
        *,
        keep_raw: bool = False,
    ) -> None:
        super().__init__(inner)
        self.keep_raw = bool(keep_raw)
        names = [s.name for s in inner.specs]
        self.chains: dict[int, list[Transform]] = {}
        specs = list(inner.specs)
        for column, chain in transforms.items():
            k = self._column_index(column, names)
            if k in self.chains:
                raise ConfigError(f"Transformed: column {names[k]!r} is given twice; pass a list of transforms instead")
            items = list(chain) if isinstance(chain, Sequence) and not isinstance(chain, (str, Mapping)) else [chain]
            if not items:
                raise ConfigError(f"Transformed: column {names[k]!r} has an empty transform list")
            bound: list[Transform] = []
            for item in items:
                t = parse_transform(item).bind(specs[k])  # type: ignore[arg-type]
                specs[k] = t.output_spec(specs[k])
                bound.append(t)
            self.chains[k] = bound
        if self.keep_raw:
            specs = [
                out
                for k, spec in enumerate(specs)
                for out in ((spec, replace(inner.specs[k], name=f"{inner.specs[k].name}_raw", kind="auxiliary", threshold=None)) if k in self.chains else (spec,))
            ]
            taken = [s.name for s in specs]
            dupes = sorted({n for n in taken if taken.count(n) > 1})
            if dupes:
                raise ConfigError(f"Transformed(keep_raw=True): column names {dupes} occur twice; rename the objective's column so that '<name>_raw' is free")
        self.specs = tuple(specs)

    @staticmethod
    def _column_index(column: str | int, names: list[str]) -> int:
        if isinstance(column, int) and not isinstance(column, bool):
            if not 0 <= column < len(names):
                raise ConfigError(f"Transformed: column index {column} is out of range for columns {names}")
            return column
        if column not in names:
            raise ConfigError(f"Transformed: no column {column!r}; the objective has {names}")
        return names.index(column)

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        scores = self.call_inner(designs)
        columns = list(scores.values.unbind(dim=-1))
        std_cols = None if scores.std is None else list(scores.std.unbind(dim=-1))
        for k, chain in self.chains.items():
            for t in chain:
                columns[k] = t(columns[k])
                scale = t.std_scale()
                if std_cols is not None and scale is None:
                    std_cols = None
                elif std_cols is not None and scale is not None:
                    std_cols[k] = std_cols[k] * scale
        if self.keep_raw:
            raw = scores.values.unbind(dim=-1)
            columns = [c for k, col in enumerate(columns) for c in ((col, raw[k]) if k in self.chains else (col,))]
            if std_cols is not None:
                inner_std = scores.std.unbind(dim=-1)  # type: ignore[union-attr]
                std_cols = [c for k, col in enumerate(std_cols) for c in ((col, inner_std[k]) if k in self.chains else (col,))]
        values = nan_invalid(torch.stack(columns, dim=-1), scores.valid)
        std = None if std_cols is None else torch.stack(std_cols, dim=-1)
        return replace(scores, values=values, specs=self.specs, std=std)

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "transforms": {self.inner.specs[k].name: [t.model_dump() for t in chain] for k, chain in self.chains.items()},
            **({"keep_raw": True} if self.keep_raw else {}),
        }
