"""The objective interface: every generator and strategy scores designs through it.

An :class:`Objective` maps a batch of ``B`` designs to :class:`Scores`: values ``[B, K]`` in
natural units and directions, a validity mask ``[B]``, optional uncertainty ``[B, K]`` and a
per-item error text. Failure is data, not control flow: an item whose evaluation raised,
returned NaN or was infeasible comes back ``valid=False`` with NaN values and its error recorded.
"""

from __future__ import annotations

import hashlib
import json
import math
import types
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, InvalidDesignError, ObjectiveError

Direction = Literal["max", "min"]
NON_FINITE = "returned a non-finite value"
"""Error text of an item whose value is NaN or infinite: a verdict on that design (infeasible), not a broken objective."""
DeviceName = Literal["cpu", "cuda", "auto"]


def resolve_device(device: str | torch.device) -> torch.device:
    """Map ``"auto"`` to CUDA when available, else CPU; reject a CUDA request on a CPU-only machine."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} was requested but CUDA is not available; use device='cpu' or 'auto'")
    if not (device == "cpu" or device.startswith("cuda")):
        raise ConfigError(f"device={device!r} is not one of 'cpu', 'cuda', 'cuda:N', 'auto'")
    return torch.device(device)


@dataclass(frozen=True)
class ObjectiveSpec:
    """What one output column of an objective means.

    Args:
        name: column name, unique within an objective.
        direction: ``"max"`` or ``"min"``; values are always stored in natural units.
        bounds: natural ``(low, high)`` range when known; used for normalisation and reference points.
        kind: ``"objective"`` is optimised; ``"constraint"`` must satisfy ``threshold``;
            ``"auxiliary"`` is recorded with every evaluation and written to the outputs (e.g. the
            raw value beside a transformed column) but never optimised, constrained or shown to a
            strategy (see :func:`guide_specs`).
        threshold: for a constraint, the feasibility boundary: ``value >= threshold`` when
            ``direction == "max"``, ``value <= threshold`` when ``"min"``.
        description: one line for listings and plots.
    """

    name: str
    direction: Direction = "max"
    bounds: tuple[float, float] | None = None
    kind: Literal["objective", "constraint", "auxiliary"] = "objective"
    threshold: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"ObjectiveSpec name={self.name!r} must be a non-empty string")
        if not isinstance(self.description, str):
            raise ConfigError(f"ObjectiveSpec {self.name!r}: description={self.description!r} must be a string")
        if self.direction not in ("max", "min"):
            raise ConfigError(f"ObjectiveSpec {self.name!r}: direction={self.direction!r}; use 'max' or 'min'")
        if self.kind not in ("objective", "constraint", "auxiliary"):
            raise ConfigError(f"ObjectiveSpec {self.name!r}: kind={self.kind!r}; use 'objective', 'constraint' or 'auxiliary'")
        if self.kind == "constraint" and self.threshold is None:
            raise ConfigError(f"constraint {self.name!r} needs a threshold")
        if self.threshold is not None:
            if not _is_finite_number(self.threshold):
                raise ConfigError(f"ObjectiveSpec {self.name!r}: threshold={self.threshold!r} must be a finite number")
            object.__setattr__(self, "threshold", float(self.threshold))
        if self.bounds is not None:
            if not isinstance(self.bounds, (list, tuple)) or len(self.bounds) != 2 or not all(_is_finite_number(b) for b in self.bounds):
                raise ConfigError(f"ObjectiveSpec {self.name!r}: bounds={self.bounds!r} must be two finite numbers [low, high]")
            lo, hi = self.bounds
            if not lo < hi:
                raise ConfigError(f"ObjectiveSpec {self.name!r}: bounds={self.bounds!r} must satisfy low < high")
            object.__setattr__(self, "bounds", (float(lo), float(hi)))

    @property
    def sign(self) -> float:
        """``+1`` for maximised columns, ``-1`` for minimised ones: ``canonical = sign * value``."""
        return 1.0 if self.direction == "max" else -1.0


SPACE_PROBES = 8
"""Designs sampled by :meth:`Objective.check_space` to compare a configured space with an objective's own."""


def _is_finite_number(value: Any) -> bool:
    """A real number that is not a bool, NaN or infinite."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and math.isfinite(value)


def canonical_values(values: Tensor, specs: Sequence[ObjectiveSpec]) -> Tensor:
    """The maximise view ``values * sign`` of ``values`` `[..., K]`; ranking code uses only this."""
    signs = torch.tensor([s.sign for s in specs], dtype=values.dtype, device=values.device)
    return values * signs


def guide_columns(specs: Sequence[ObjectiveSpec]) -> list[int]:
    """Indices of the columns a search strategy sees: every column except the ``"auxiliary"`` ones."""
    return [k for k, s in enumerate(specs) if s.kind != "auxiliary"]


def guide_specs(specs: Sequence[ObjectiveSpec]) -> tuple[ObjectiveSpec, ...]:
    """The specs a strategy is built with: ``specs`` without the ``"auxiliary"`` (recorded-only) columns."""
    return tuple(specs[k] for k in guide_columns(specs))


def constraint_satisfied(values: Tensor, specs: Sequence[ObjectiveSpec]) -> Tensor:
    """`[B]` bool: every constraint column of ``values`` `[B, K]` meets its threshold (NaN fails)."""
    ok = torch.ones(values.shape[0], dtype=torch.bool, device=values.device)
    for k, spec in enumerate(specs):
        if spec.kind == "constraint":
            margin = spec.sign * (values[:, k] - spec.threshold)
            ok &= margin >= 0
    return ok


@dataclass
class Scores:
    """The result of scoring ``B`` designs on ``K`` columns.

    Attributes:
        values: `[B, K]` floating point in natural units and directions; NaN where invalid. The
            campaign stores them as float64, so an objective that returns float64 keeps every
            digit (a float32 tensor is widened exactly).
        valid: `[B]` bool; False for failed or infeasible items.
        specs: the ``K`` column specs.
        std: optional `[B, K]` predictive standard deviation.
        errors: per-item error text (``None`` for items that succeeded).
        info: free-form extras, e.g. ensemble members `[M, B, K]`.
        raised: optional `[B]` bool: items whose evaluation *broke* (the objective raised, or
            returned output that breaks the contract: wrong shape, non-real values), as opposed
            to infeasible items that the objective itself marked invalid. ``None``: none broke.
            The campaign's failure policy stops a run on broken evaluations, never on
            infeasibility (:mod:`gendesign.core.failures`).
    """

    values: Tensor
    valid: Tensor
    specs: tuple[ObjectiveSpec, ...]
    std: Tensor | None = None
    errors: list[str | None] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    raised: Tensor | None = None

    def __post_init__(self) -> None:
        if not self.errors:
            self.errors = [None] * self.values.shape[0]

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    def raised_mask(self) -> Tensor:
        """`[B]` bool :attr:`raised`, all False when it is ``None``."""
        if self.raised is None:
            return torch.zeros(len(self), dtype=torch.bool)
        return self.raised.to("cpu", torch.bool)

    def canonical(self) -> Tensor:
        """`[B, K]` maximise view of :attr:`values`."""
        return canonical_values(self.values, self.specs)

    def feasible(self) -> Tensor:
        """`[B]` valid items that also satisfy every constraint column."""
        return self.valid & constraint_satisfied(self.values, self.specs)

    def to(self, device: torch.device | str) -> Scores:
        std = None if self.std is None else self.std.to(device)
        return replace(self, values=self.values.to(device), valid=self.valid.to(device), std=std)

    def detach(self) -> Scores:
        std = None if self.std is None else self.std.detach()
        return replace(self, values=self.values.detach(), std=std)

    def select(self, index: Sequence[int] | Tensor) -> Scores:
        """The rows ``index`` as a new :class:`Scores`."""
        idx = torch.as_tensor(index, dtype=torch.long, device=self.values.device)
        rows = idx.tolist()
        return Scores(
            values=self.values[idx],
            valid=self.valid[idx],
            specs=self.specs,
            std=None if self.std is None else self.std[idx],
            errors=[self.errors[i] for i in rows],
            info={},
            raised=None if self.raised is None else self.raised_mask()[idx.cpu()],
        )

    @staticmethod
    def cat(parts: Sequence[Scores]) -> Scores:
        """Concatenate along the batch axis; all parts must share specs."""
        if not parts:
            raise ObjectiveError("Scores.cat needs at least one part")
        specs = parts[0].specs
        for p in parts:
            if p.specs != specs:
                raise ObjectiveError(f"Scores.cat: specs differ: {p.names} vs {parts[0].names}")
        has_std = all(p.std is not None for p in parts)
        return Scores(
            values=torch.cat([p.values for p in parts]),
            valid=torch.cat([p.valid for p in parts]),
            specs=specs,
            std=torch.cat([p.std for p in parts]) if has_std else None,  # type: ignore[misc]
            errors=[e for p in parts for e in p.errors],
            raised=any_raised(parts),
        )

    @staticmethod
    def failed(n: int, specs: Sequence[ObjectiveSpec], error: str, device: torch.device | str = "cpu") -> Scores:
        """``n`` invalid items that all carry ``error``."""
        return Scores(
            values=torch.full((n, len(specs)), math.nan, dtype=torch.float64, device=device),
            valid=torch.zeros(n, dtype=torch.bool, device=device),
            specs=tuple(specs),
            errors=[error] * n,
            raised=torch.ones(n, dtype=torch.bool),
        )


def any_raised(parts: Sequence[Scores], *, columns: bool = False) -> Tensor | None:
    """The :attr:`Scores.raised` of ``parts`` combined: concatenated along the batch (default), or,
    with ``columns=True``, OR-ed across parts that score the same designs; ``None`` if none raised."""
    if all(p.raised is None for p in parts):
        return None
    masks = [p.raised_mask() for p in parts]
    return torch.stack(masks).any(dim=0) if columns else torch.cat(masks)


class Objective(ABC):
    """Scores a batch of designs. Subclasses implement :meth:`evaluate`; callers use ``__call__``.

    ``__call__`` turns every failure mode into per-item invalidity: an exception on the batch is
    retried item by item so that one bad design cannot sink its neighbours; NaN or infinite values
    mark the item invalid; a wrong output shape marks the batch invalid with both shapes named.

    Attributes:
        specs: the ``K`` output columns.
        differentiable: ``evaluate`` can return values that carry gradients to its inputs.
        deterministic: equal designs always get equal scores, so results may be cached.
        device: where ``evaluate`` computes; returned tensors live there.
    """

    specs: tuple[ObjectiveSpec, ...]
    differentiable: bool = False
    deterministic: bool = True
    device: torch.device = torch.device("cpu")

    @property
    def name(self) -> str:
        return "+".join(s.name for s in self.specs)

    @property
    def num_outputs(self) -> int:
        return len(self.specs)

    @abstractmethod
    def evaluate(self, designs: Sequence[Any]) -> Scores | Tensor:
        """Score ``designs``; return :class:`Scores` or a tensor `[B, K]` (or `[B]` when ``K == 1``)."""

    def config(self) -> dict[str, Any]:
        """JSON-able description of everything that changes the values; feeds :meth:`fingerprint`."""
        return {"class": f"{type(self).__module__}.{type(self).__qualname__}", "specs": [s.__dict__ for s in self.specs]}

    def fingerprint(self) -> str:
        """Stable hash of :meth:`config`; part of every cache and ledger key."""
        blob = json.dumps(self.config(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def to(self, device: str | torch.device) -> Objective:
        self.device = resolve_device(device)
        return self

    def default_space(self) -> DesignSpace | None:
        """The design space this objective is defined on (a benchmark function's domain), or None.

        A campaign without a ``[space]`` table searches this space; composites forward their
        parts' default space.
        """
        return None

    def check_space(self, space: DesignSpace) -> None:
        """Raise :class:`ConfigError` when ``space`` holds designs this objective cannot score.

        The default compares ``space`` with :meth:`default_space`: each of ``SPACE_PROBES`` designs
        sampled from ``space`` (fixed seed) must be a valid design of the default space, so a
        sequence space of length 15 for an objective of length 16 is refused before any
        evaluation. An objective without a default space accepts any space; one with a cheaper or
        more precise rule overrides this.
        """
        own = self.default_space()
        if own is None:
            return
        for design in space.sample(SPACE_PROBES, np.random.default_rng(0)):
            try:
                own.validate(design)
            except InvalidDesignError as exc:
                own_options = {k: v for k, v in own.config().items() if k != "class"}
                raise ConfigError(
                    f"objective {self.name!r} cannot score designs of this {type(space).__name__}: a sampled design is not in "
                    f"the objective's own {type(own).__name__} {own_options}: {exc}. "
                    "Make the space's options match, or leave the space out to use the objective's own"
                ) from None

    def __call__(self, designs: Sequence[Any], *, grad: bool = False) -> Scores:
        """Score ``designs`` safely; ``grad=True`` keeps the autograd graph (differentiable objectives only)."""
        if grad and not self.differentiable:
            raise ObjectiveError(f"objective {self.name!r} is not differentiable; call it with grad=False")
        designs = list(designs)
        if not designs:
            return Scores.failed(0, self.specs, "", self.device)
        with torch.enable_grad() if grad else torch.no_grad():
            try:
                return self._checked(self.evaluate(designs), len(designs))
            except Exception as exc:  # noqa: BLE001 - isolated below, item by item
                if len(designs) == 1:
                    return Scores.failed(1, self.specs, _describe(self, exc), self.device)
                return Scores.cat([self(designs[i : i + 1], grad=grad) for i in range(len(designs))])

    def _checked(self, out: Scores | Tensor, batch: int) -> Scores:
        k = len(self.specs)
        if isinstance(out, Scores):
            scores = out
        else:
            values = out if isinstance(out, Tensor) else torch.as_tensor(_to_float_array(out), dtype=torch.float32)
            if values.is_complex():
                msg = f"objective {self.name!r} returned a {values.dtype} tensor; expected real values"
                return Scores.failed(batch, self.specs, msg, self.device)
            if values.ndim == 1 and k == 1:
                values = values.unsqueeze(-1)
            if values.ndim != 2 or tuple(values.shape) != (batch, k):
                return Scores.failed(batch, self.specs, self._shape_error("values", values.shape, batch), self.device)
            scores = Scores(values=values, valid=torch.ones(batch, dtype=torch.bool, device=values.device), specs=self.specs)
        if tuple(scores.values.shape) != (batch, k):
            return Scores.failed(batch, self.specs, self._shape_error("Scores", scores.values.shape, batch), self.device)
        if not scores.values.is_floating_point():
            scores.values = scores.values.double()
        finite = torch.isfinite(scores.values).all(dim=-1)
        bad = scores.valid & ~finite
        if bool(bad.any()):
            errors = list(scores.errors)
            for i in torch.nonzero(bad).flatten().tolist():
                errors[i] = f"objective {self.name!r} {NON_FINITE} {scores.values[i].tolist()}"
            scores.errors = errors
        valid = scores.valid & finite
        if not bool(valid.all()):
            mask = (~valid).unsqueeze(-1).expand_as(scores.values)
            scores.values = torch.where(mask, torch.full_like(scores.values, math.nan), scores.values)
        scores.valid = valid
        return scores

    def _shape_error(self, what: str, shape: torch.Size, batch: int) -> str:
        k = len(self.specs)
        return (
            f"objective {self.name!r} returned {what} of shape {list(shape)}; expected [{batch}, {k}] "
            f"({k} column{'s' if k != 1 else ''} from its specs: {', '.join(s.name for s in self.specs)})"
        )


def _describe(objective: Objective, exc: BaseException) -> str:
    return f"objective {objective.name!r} raised {type(exc).__name__}: {exc}"


def make_specs(
    names: str | Sequence[str] | None = None,
    directions: Direction | Sequence[Direction] | None = None,
    num_outputs: int | None = None,
) -> tuple[ObjectiveSpec, ...]:
    """Specs from names and directions; names default to ``f0, f1, ...`` and directions to ``"max"``."""
    if isinstance(names, str):
        names = [names]
    if isinstance(directions, str):
        directions = [directions]
    k = len(names) if names is not None else len(directions) if directions is not None else num_outputs or 1
    names = list(names) if names is not None else [f"f{i}" if k > 1 else "f" for i in range(k)]
    directions = list(directions) if directions is not None else ["max"] * k
    if len(names) != k or len(directions) != k:
        raise ConfigError(f"got {len(names)} names {names} but {len(directions)} directions {directions}; give one per objective")
    if len(set(names)) != k:
        raise ConfigError(f"objective names must be unique, got {names}")
    return tuple(ObjectiveSpec(name=n, direction=d) for n, d in zip(names, directions, strict=True))


class FunctionObjective(Objective):
    """Wrap a plain callable ``fn(designs) -> array [B] or [B, K]`` as an :class:`Objective`.

    NaN or ``-inf`` in the output marks that design infeasible. With ``batched=False``, ``fn`` is
    called once per design and returns a scalar or a length-``K`` sequence.

    Example:
        >>> obj = FunctionObjective(lambda xs: [len(x) for x in xs], names="length")
        >>> obj(["AC", "ACD"]).values.squeeze(-1).tolist()
        [2.0, 3.0]
    """

    def __init__(
        self,
        fn: Callable[[list[Any]], Any],
        names: str | Sequence[str] | None = None,
        directions: Direction | Sequence[Direction] | None = None,
        *,
        specs: Sequence[ObjectiveSpec] | None = None,
        batched: bool = True,
        deterministic: bool = True,
        differentiable: bool = False,
        device: str | torch.device = "cpu",
    ) -> None:
        self.fn = fn
        self.specs = tuple(specs) if specs is not None else make_specs(names, directions)
        self.batched = batched
        self.deterministic = deterministic
        self.differentiable = differentiable
        self.device = resolve_device(device)

    def evaluate(self, designs: Sequence[Any]) -> Tensor:
        raw = self.fn(list(designs)) if self.batched else [self.fn(d) for d in designs]
        if isinstance(raw, Tensor):
            if raw.is_complex():
                raise ObjectiveError(f"objective {self.name!r} returned a complex tensor; return real values")
            return raw.to(self.device, raw.dtype if raw.is_floating_point() else torch.float64)
        # float64: plain Python numbers keep every digit (16777217, 1e-50 and 1e300 survive).
        return torch.as_tensor(_to_float_array(raw), dtype=torch.float64, device=self.device)

    def config(self) -> dict[str, Any]:
        fn = self.fn
        ident = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"
        code = getattr(fn, "__code__", None)
        if code is not None:
            ident += ":" + hashlib.sha256(_code_digest(code)).hexdigest()[:12]
        return {**super().config(), "fn": ident, "batched": self.batched}


def _code_digest(code: types.CodeType) -> bytes:
    """Bytes that identify a function's code across processes.

    ``repr`` of a nested code object (a comprehension, a lambda, an inner function) holds its memory
    address, so such constants contribute their own digest instead; otherwise the fingerprint of a
    function with a generator expression would change on every run and a resume would be refused.
    """
    parts = [code.co_code]
    for const in code.co_consts:
        parts.append(_code_digest(const) if isinstance(const, types.CodeType) else repr(const).encode())
    return b"\x00".join(parts)


def _to_float_array(raw: Any) -> np.ndarray:
    """``raw`` as a float array; ``None`` is NaN (infeasible).

    Strings, bytes and complex numbers are refused rather than converted (``"0.5"`` or ``3+0j``
    is a bug in the objective, not a score)."""
    arr = np.asarray(raw, dtype=object)
    return np.vectorize(_to_float, otypes=[float])(arr) if arr.size else np.zeros(arr.shape)


def _to_float(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, (str, bytes, complex, np.complexfloating)) or not isinstance(value, (int, float, np.number, np.bool_)):
        raise ObjectiveError(f"objective value {value!r} ({type(value).__name__}) is not a real number")
    return float(value)
