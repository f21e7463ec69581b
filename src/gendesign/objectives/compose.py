"""Objectives built from objectives: stacking, relabelling, constraints and ensembles.

Every composite here is itself an :class:`~gendesign.core.objective.Objective`, so composites nest:
``Cached(Stacked([Transformed(a, ...), as_constraint(b, "logp", 5.0)]))`` is one objective with
one fingerprint. Composites call their parts through ``part(designs, grad=...)`` so that each part's
per-item failure isolation still applies, and they keep the Scores contract: an item that is
invalid in the result has NaN in every column.

Caching lives in :mod:`gendesign.objectives.cache`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, runtime_checkable

import torch
from torch import Tensor

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, ObjectiveSpec, Scores, any_raised, constraint_satisfied, resolve_device
from gendesign.core.protocols import conforms

__all__ = [
    "Constrained",
    "Ensemble",
    "MemberScores",
    "MemberSource",
    "ObjectiveMembers",
    "ObjectiveWrapper",
    "Respecified",
    "Stacked",
    "aggregate_members",
    "as_constraint",
    "merge_errors",
    "nan_invalid",
]


def nan_invalid(values: Tensor, valid: Tensor) -> Tensor:
    """``values`` `[B, K]` with every column of the rows where ``valid`` `[B]` is False set to NaN."""
    if bool(valid.all()):
        return values
    return torch.where(valid.unsqueeze(-1), values, torch.full_like(values, math.nan))


def merge_errors(parts: Sequence[Scores], labels: Sequence[str], batch: int) -> list[str | None]:
    """Per-item error text joined across ``parts``, each prefixed with its part's label."""
    out: list[str | None] = []
    for i in range(batch):
        msgs = [f"{label}: {p.errors[i]}" for p, label in zip(parts, labels) if p.errors[i]]
        out.append("; ".join(msgs) if msgs else None)
    return out


def _grad_for(part: Objective) -> bool:
    return torch.is_grad_enabled() and part.differentiable


class ObjectiveWrapper(Objective):
    """Base for a composite around one inner objective; forwards flags, device and configuration.

    Subclasses set :attr:`specs` and implement :meth:`evaluate`, calling :meth:`call_inner`.

    Args:
        inner: the wrapped objective.
    """

    def __init__(self, inner: Objective) -> None:
        if not isinstance(inner, Objective):
            raise ConfigError(
                f"{type(self).__name__} wraps an Objective, got {type(inner).__name__}; wrap functions in FunctionObjective"
            )
        self.inner = inner
        self.specs = inner.specs
        self.differentiable = inner.differentiable
        self.deterministic = inner.deterministic
        self.device = inner.device

    def call_inner(self, designs: Sequence[Any]) -> Scores:
        """Score ``designs`` with the inner objective, keeping gradients when the caller asked for them."""
        return self.inner(designs, grad=_grad_for(self.inner)).to(self.device)

    def to(self, device: str | torch.device) -> ObjectiveWrapper:
        self.inner.to(device)
        self.device = resolve_device(device)
        return self

    def default_space(self) -> DesignSpace | None:
        return self.inner.default_space()

    def check_space(self, space: DesignSpace) -> None:
        self.inner.check_space(space)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "inner": self.inner.config()}


def _check_unique(specs: Sequence[ObjectiveSpec], where: str) -> None:
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(
            f"{where}: column names {dupes} occur more than once in {names}; rename one with Respecified(obj, {{'old': {{'name': 'new'}}}})"
        )


class Stacked(Objective):
    """Concatenate the columns of several objectives: ``[B, K_1 + ... + K_P]``.

    An item is valid only when it is valid in every part (and then has NaN in every column
    otherwise). Column names must be unique across parts. ``std`` is reported when at least one
    part reports it; a part that reports none contributes zeros, i.e. is treated as exact. Error
    texts are joined across parts, each prefixed by the part's name. ``info`` holds each part's
    ``info`` under ``"parts"``.

    Args:
        parts: the objectives to stack, at least one.
    """

    def __init__(self, parts: Sequence[Objective]) -> None:
        parts = list(parts)
        if not parts:
            raise ConfigError("Stacked needs at least one objective")
        for p in parts:
            if not isinstance(p, Objective):
                raise ConfigError(
                    f"Stacked parts must be Objectives, got {type(p).__name__}; wrap functions in FunctionObjective"
                )
        self.parts = parts
        self.specs = tuple(s for p in parts for s in p.specs)
        _check_unique(self.specs, "Stacked")
        self.differentiable = all(p.differentiable for p in parts)
        self.deterministic = all(p.deterministic for p in parts)
        self.device = parts[0].device

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        batch = len(designs)
        results = [p(designs, grad=_grad_for(p)).to(self.device) for p in self.parts]
        valid = torch.stack([r.valid for r in results]).all(dim=0)
        values = nan_invalid(torch.cat([r.values for r in results], dim=-1), valid)
        std = None
        if any(r.std is not None for r in results):
            std = torch.cat([r.std if r.std is not None else torch.zeros_like(r.values) for r in results], dim=-1)
            std = nan_invalid(std, valid)
        errors = merge_errors(results, [p.name for p in self.parts], batch)
        return Scores(
            values=values,
            valid=valid,
            specs=self.specs,
            std=std,
            errors=errors,
            info={"parts": [r.info for r in results]},
            raised=any_raised(results, columns=True),
        )

    def to(self, device: str | torch.device) -> Stacked:
        for p in self.parts:
            p.to(device)
        self.device = resolve_device(device)
        return self

    def default_space(self) -> DesignSpace | None:
        """The first part's default space that exists."""
        return next((space for space in (p.default_space() for p in self.parts) if space is not None), None)

    def check_space(self, space: DesignSpace) -> None:
        for p in self.parts:
            p.check_space(space)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "parts": [p.config() for p in self.parts]}


_SPEC_FIELDS = ("name", "direction", "bounds", "kind", "threshold", "description")


class Respecified(ObjectiveWrapper):
    """The same values under changed column specs (rename, declare bounds, turn into a constraint).

    Args:
        inner: the objective whose columns are relabelled.
        overrides: ``{column name: {field: value}}`` with fields of :class:`ObjectiveSpec`
            (``name``, ``direction``, ``bounds``, ``kind``, ``threshold``, ``description``).

    Example:
        >>> from gendesign.core.objective import FunctionObjective
        >>> f = FunctionObjective(lambda xs: [len(x) for x in xs], names="f")
        >>> Respecified(f, {"f": {"name": "length", "direction": "min"}}).specs[0].name
        'length'
    """

    def __init__(self, inner: Objective, overrides: Mapping[str, Mapping[str, Any]]) -> None:
        super().__init__(inner)
        names = [s.name for s in inner.specs]
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise ConfigError(f"Respecified: columns {unknown} do not exist; the objective has {names}")
        specs = []
        for spec in inner.specs:
            changes = dict(overrides.get(spec.name, {}))
            bad = sorted(set(changes) - set(_SPEC_FIELDS))
            if bad:
                raise ConfigError(f"Respecified: {bad} are not ObjectiveSpec fields; use {list(_SPEC_FIELDS)}")
            if isinstance(changes.get("bounds"), list):
                changes["bounds"] = tuple(changes["bounds"])
            if changes.get("kind") == "objective" and "threshold" not in changes:
                changes["threshold"] = None
            specs.append(replace(spec, **changes))
        self.specs = tuple(specs)
        _check_unique(self.specs, "Respecified")
        self.overrides = {k: dict(v) for k, v in overrides.items()}

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        scores = self.call_inner(designs)
        return replace(scores, specs=self.specs)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "overrides": self.overrides}


def as_constraint(
    objective: Objective,
    column: str,
    threshold: float,
    direction: Literal["max", "min"] | None = None,
    name: str | None = None,
) -> Respecified:
    """Turn one column of ``objective`` into a constraint ``value >= threshold`` (``"max"``) or ``<=`` (``"min"``).

    Args:
        objective: the objective that computes the column.
        column: the column's name.
        threshold: the feasibility boundary, in the column's natural units.
        direction: which side is feasible; defaults to the column's direction (a maximised column
            must stay above ``threshold``, a minimised one below).
        name: optional new column name.

    Returns:
        An objective whose ``column`` has ``kind="constraint"``; :meth:`Scores.feasible` then
        checks it, and :class:`Constrained` can turn violations into invalid items.
    """
    change: dict[str, Any] = {"kind": "constraint", "threshold": float(threshold)}
    if direction is not None:
        change["direction"] = direction
    if name is not None:
        change["name"] = name
    return Respecified(objective, {column: change})


class Constrained(Objective):
    """An objective together with its constraint columns: ``[B, K + C]``.

    Constraint columns are ``ObjectiveSpec(kind="constraint", threshold=t)``: feasible means
    ``value >= t`` for ``direction="max"`` and ``value <= t`` for ``"min"`` (see
    :func:`gendesign.core.objective.constraint_satisfied`; NaN is infeasible).

    With ``on_violation="keep"`` the constraint values are reported and infeasible items stay
    valid, so search strategies can use the violation margin (constrained domination, Deb 2000)
    and :meth:`Scores.feasible` separates them. With ``"invalid"`` an infeasible item becomes
    ``valid=False`` with NaN values and an error naming each violated constraint, value and threshold.

    Args:
        objective: the primary objective.
        constraints: objectives whose columns are all constraints (e.g. from :func:`as_constraint`);
            may be empty when ``objective`` already carries constraint columns.
        on_violation: ``"keep"`` or ``"invalid"``.
    """

    def __init__(
        self,
        objective: Objective,
        constraints: Sequence[Objective] = (),
        on_violation: Literal["keep", "invalid"] = "keep",
    ) -> None:
        if on_violation not in ("keep", "invalid"):
            raise ConfigError(f"Constrained: on_violation={on_violation!r}; use 'keep' or 'invalid'")
        for c in constraints:
            plain = [s.name for s in c.specs if s.kind != "constraint"]
            if plain:
                raise ConfigError(
                    f"Constrained: columns {plain} of a constraint objective are not constraints; "
                    "wrap it with as_constraint(obj, column, threshold)"
                )
        self.stack = Stacked([objective, *constraints])
        self.specs = self.stack.specs
        if not any(s.kind == "constraint" for s in self.specs):
            raise ConfigError("Constrained: no constraint columns; pass constraints=[as_constraint(obj, column, threshold)]")
        self.on_violation = on_violation
        self.differentiable = self.stack.differentiable
        self.deterministic = self.stack.deterministic
        self.device = self.stack.device

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        scores = self.stack.evaluate(designs)
        if self.on_violation == "keep":
            return scores
        ok = constraint_satisfied(scores.values, self.specs)
        violated = scores.valid & ~ok
        if not bool(violated.any()):
            return scores
        errors = list(scores.errors)
        for i in torch.nonzero(violated).flatten().tolist():
            msgs = []
            for k, spec in enumerate(self.specs):
                if spec.kind != "constraint":
                    continue
                v = float(scores.values[i, k])
                if not spec.sign * (v - spec.threshold) >= 0:  # type: ignore[operator]
                    op = ">=" if spec.direction == "max" else "<="
                    msgs.append(f"constraint {spec.name!r} violated: {v:g} is not {op} {spec.threshold:g}")
            errors[i] = "; ".join(msgs)
        valid = scores.valid & ok
        std = None if scores.std is None else nan_invalid(scores.std, valid)
        return replace(scores, values=nan_invalid(scores.values, valid), valid=valid, std=std, errors=errors)

    def to(self, device: str | torch.device) -> Constrained:
        self.stack.to(device)
        self.device = resolve_device(device)
        return self

    def default_space(self) -> DesignSpace | None:
        return self.stack.default_space()

    def check_space(self, space: DesignSpace) -> None:
        self.stack.check_space(space)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "stack": self.stack.config(), "on_violation": self.on_violation}


def _safe_sqrt(x: Tensor) -> Tensor:
    """``sqrt(x)`` with a zero (not NaN) gradient where ``x == 0``, e.g. identical ensemble members."""
    positive = x > 0
    return torch.where(positive, x.clamp_min(torch.finfo(x.dtype).tiny).sqrt(), torch.zeros_like(x))


EnsembleAggregate = Literal["mean", "median", "min", "mean_minus_std", "uwo", "mean_minus_var"]
_AGGREGATES = ("mean", "median", "min", "mean_minus_std", "uwo", "mean_minus_var")


@dataclass
class MemberScores:
    """What an ensemble's members say about one batch.

    Attributes:
        values: `[M, B, K]` member values in natural units.
        valid: `[B]` items every member scored.
        std: `[M, B, K]` members' own predictive std, or ``None`` when some member reports none.
        errors: per-item error text joined across members.
        raised: `[B]` items whose evaluation broke (see :attr:`Scores.raised`), or ``None``.
    """

    values: Tensor
    valid: Tensor
    std: Tensor | None = None
    errors: list[str | None] = field(default_factory=list)
    raised: Tensor | None = None


@runtime_checkable
class MemberSource(Protocol):
    """``M`` reward models scored together: :class:`Ensemble` aggregates what :meth:`score_members` returns.

    A list of objectives is one source (:class:`ObjectiveMembers`); same-architecture
    ``nn.Module`` members stacked under ``torch.func.vmap`` are another
    (:class:`~gendesign.objectives.stacked_members.StackedMembers`).
    """

    specs: tuple[ObjectiveSpec, ...]
    differentiable: bool
    deterministic: bool
    device: torch.device

    def __len__(self) -> int: ...

    def score_members(self, designs: Sequence[Any], *, grad: bool) -> MemberScores: ...

    def to(self, device: str | torch.device) -> MemberSource: ...

    def default_space(self) -> DesignSpace | None: ...

    def check_space(self, space: DesignSpace) -> None: ...

    def config(self) -> dict[str, Any]: ...


class ObjectiveMembers:
    """Members that are separate :class:`Objective` instances, called one after the other.

    Args:
        members: at least one objective; all must have the same column names and directions.
    """

    def __init__(self, members: Sequence[Objective]) -> None:
        members = list(members)
        if not members:
            raise ConfigError("Ensemble needs at least one member")
        for m in members:
            if not isinstance(m, Objective):
                raise ConfigError(f"Ensemble members must be Objectives, got {type(m).__name__}; wrap functions in FunctionObjective")
        layout = [tuple((s.name, s.direction) for s in m.specs) for m in members]
        if len(set(layout)) != 1:
            raise ConfigError(f"Ensemble members must have the same columns and directions; got {layout}")
        self.members = members
        self.specs = members[0].specs
        self.differentiable = all(m.differentiable for m in members)
        self.deterministic = all(m.deterministic for m in members)
        self.device = members[0].device

    def __len__(self) -> int:
        return len(self.members)

    def score_members(self, designs: Sequence[Any], *, grad: bool) -> MemberScores:
        results = [m(designs, grad=grad and _grad_for(m)).to(self.device) for m in self.members]
        std = None
        if all(r.std is not None for r in results):
            std = torch.stack([r.std for r in results])  # type: ignore[misc]
        return MemberScores(
            values=torch.stack([r.values for r in results]),
            valid=torch.stack([r.valid for r in results]).all(dim=0),
            std=std,
            errors=merge_errors(results, [f"member {m}" for m in range(len(results))], len(designs)),
            raised=any_raised(results, columns=True),
        )

    def to(self, device: str | torch.device) -> ObjectiveMembers:
        for m in self.members:
            m.to(device)
        self.device = resolve_device(device)
        return self

    def default_space(self) -> DesignSpace | None:
        return next((space for space in (m.default_space() for m in self.members) if space is not None), None)

    def check_space(self, space: DesignSpace) -> None:
        for m in self.members:
            m.check_space(space)

    def config(self) -> dict[str, Any]:
        return {"members": [m.config() for m in self.members]}


def aggregate_members(R: Tensor, signs: Tensor, aggregate: str, lam: float) -> Tensor:
    """Aggregate member values ``R`` `[M, B, K]` to `[B, K]`; ``signs`` `[K]` are ``+1`` (max) or ``-1`` (min).

    With ``mu = (1/M) sum_m r_m`` and the population variance ``v = (1/M) sum_m (r_m - mu)^2``:
    ``mean`` is ``mu``; ``median`` the lower middle member; ``min`` the worst member in each column's
    direction; ``mean_minus_std`` is ``mu - s lam sqrt(v)``; ``uwo`` (``mean_minus_var``) is ``mu - s lam v``.
    """
    mu = R.mean(dim=0)
    if aggregate == "mean":
        return mu
    if aggregate == "median":
        return (R * signs).median(dim=0).values * signs
    if aggregate == "min":
        return (R * signs).min(dim=0).values * signs
    spread = ((R - mu) ** 2).mean(dim=0)
    if aggregate == "mean_minus_std":
        return mu - signs * lam * _safe_sqrt(spread)
    return mu - signs * lam * spread


class Ensemble(Objective):
    """``M`` reward models with the same columns, aggregated per item, with their spread as uncertainty.

    With member values ``r_m`` `[B, K]` and ``s`` the column signs (``+1`` max, ``-1`` min), the
    reported value is, per column,

    * ``"mean"``: ``mu = (1/M) sum_m r_m``;
    * ``"median"``: the member median (lower middle value in the column's direction for even ``M``);
    * ``"min"``: the worst member in the column's direction (worst-case optimisation, WCO; Coste et
      al. 2023, "Reward Model Ensembles Help Mitigate Overoptimization", arXiv 2310.02743);
    * ``"mean_minus_std"``: ``mu - s * lam * sigma`` (Eisenstein et al. 2023, arXiv 2312.09244);
    * ``"uwo"`` (alias ``"mean_minus_var"``): ``mu - s * lam * sigma^2``, uncertainty-weighted
      optimisation (Coste et al. 2023), which subtracts the member *variance*.

    Member z-scoring (``member_norm="zscore"``): each member ``m`` and column ``k`` is first mapped to
    ``z_m = (r_m - a_mk) / b_mk`` with the mean ``a`` and population std ``b`` of that member's values on
    a *frozen* reference batch (scored once, when the ensemble is built). Eisenstein et al. report
    rewards as z-scores: without it ``sigma`` mostly measures offset and scale differences between
    members rather than disagreement. A positive affine change of one member then leaves the
    ensemble unchanged. Values and ``std`` are then in reference-std units and the column bounds
    are dropped.

    ``std`` `[B, K]` is the member spread ``sigma = sqrt((1/M) sum_m (r_m - mu)^2)``; when every
    member reports its own ``std_m``, the law of total variance gives
    ``sqrt((1/M) sum_m std_m^2 + sigma^2)``. ``info["members"]`` holds the detached (normalised)
    member values `[M, B, K]`. An item is valid only when every member scored it.

    Args:
        members: objectives with equal columns, or a :class:`MemberSource` such as
            :class:`~gendesign.objectives.stacked_members.StackedMembers` (same-architecture modules
            evaluated in one ``vmap`` call).
        aggregate: one of the rules above.
        lam: ``lambda >= 0`` for the pessimistic rules.
        member_norm: ``"none"`` or ``"zscore"``.
        reference: the reference designs for ``member_norm="zscore"`` (at least 2, all valid in every member).
    """

    def __init__(
        self,
        members: Sequence[Objective] | MemberSource,
        aggregate: EnsembleAggregate = "mean",
        lam: float = 1.0,
        *,
        member_norm: Literal["none", "zscore"] = "none",
        reference: Sequence[Any] | None = None,
    ) -> None:
        source = members if conforms(members, MemberSource) else ObjectiveMembers(members)  # type: ignore[arg-type]
        if aggregate not in _AGGREGATES:
            raise ConfigError(f"Ensemble: aggregate={aggregate!r}; use one of {list(_AGGREGATES)}")
        if not lam >= 0:
            raise ConfigError(f"Ensemble: lam={lam} must be >= 0")
        if member_norm not in ("none", "zscore"):
            raise ConfigError(f"Ensemble: member_norm={member_norm!r}; use 'none' or 'zscore'")
        self.source = source
        self.aggregate = "uwo" if aggregate == "mean_minus_var" else aggregate
        self.lam = float(lam)
        self.member_norm = member_norm
        self.specs = source.specs
        self.differentiable = source.differentiable
        self.deterministic = source.deterministic
        self.device = source.device
        self.ref_mean: Tensor | None = None
        self.ref_std: Tensor | None = None
        if member_norm == "zscore":
            if reference is None:
                raise ConfigError("Ensemble: member_norm='zscore' needs reference= designs to freeze each member's mean and std on")
            self.freeze_reference(reference)
        elif reference is not None:
            raise ConfigError("Ensemble: reference= is only used with member_norm='zscore'")

    def freeze_reference(self, designs: Sequence[Any]) -> None:
        """Score ``designs`` once and keep each member's column mean and std `[M, K]` for z-scoring."""
        designs = list(designs)
        if len(designs) < 2:
            raise ConfigError(f"Ensemble: the z-score reference batch needs at least 2 designs, got {len(designs)}")
        with torch.no_grad():
            scored = self.source.score_members(designs, grad=False)
        if not bool(scored.valid.all()):
            bad = torch.nonzero(~scored.valid).flatten().tolist()
            raise ConfigError(f"Ensemble: reference designs {bad[:5]} are invalid for some member; give reference designs every member can score")
        R = scored.values.detach().double()
        std = R.std(dim=1, unbiased=False)
        if bool((std <= 0).any()):
            raise ConfigError("Ensemble: a member is constant on the reference batch (std 0); give a more varied reference batch")
        self.ref_mean, self.ref_std = R.mean(dim=1), std
        self.specs = tuple(replace(s, bounds=None) for s in self.source.specs)

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        grad = torch.is_grad_enabled() and self.differentiable
        scored = self.source.score_members(designs, grad=grad)
        R, member_std = scored.values, scored.std
        if self.ref_mean is not None and self.ref_std is not None:
            mean = self.ref_mean.to(R.device, R.dtype).unsqueeze(1)
            scale = self.ref_std.to(R.device, R.dtype).unsqueeze(1)
            R = (R - mean) / scale
            member_std = None if member_std is None else member_std / scale
        signs = torch.tensor([s.sign for s in self.specs], dtype=R.dtype, device=R.device)
        mu = R.mean(dim=0)
        var = ((R - mu) ** 2).mean(dim=0)
        if member_std is not None:
            var = var + member_std.pow(2).mean(dim=0)
        values = aggregate_members(R, signs, self.aggregate, self.lam)
        valid = scored.valid
        return Scores(
            values=nan_invalid(values, valid),
            valid=valid,
            specs=self.specs,
            std=nan_invalid(_safe_sqrt(var), valid),
            errors=scored.errors or [None] * len(designs),
            info={"members": R.detach()},
            raised=scored.raised,
        )

    def state_dict(self) -> dict[str, Any]:
        """The frozen z-score statistics (empty without ``member_norm``)."""
        if self.ref_mean is None or self.ref_std is None:
            return {}
        return {"ref_mean": self.ref_mean.tolist(), "ref_std": self.ref_std.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            self.ref_mean = torch.tensor(state["ref_mean"], dtype=torch.float64)
            self.ref_std = torch.tensor(state["ref_std"], dtype=torch.float64)

    def to(self, device: str | torch.device) -> Ensemble:
        self.source.to(device)
        self.device = resolve_device(device)
        return self

    def default_space(self) -> DesignSpace | None:
        return self.source.default_space()

    def check_space(self, space: DesignSpace) -> None:
        self.source.check_space(space)

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            **self.source.config(),
            "aggregate": self.aggregate,
            "lam": self.lam,
            "member_norm": self.member_norm,
            **self.state_dict(),
        }
