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
from dataclasses import replace
from typing import Any, Literal

import torch
from torch import Tensor

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, ObjectiveSpec, Scores, any_raised, constraint_satisfied, resolve_device

__all__ = [
    "Constrained",
    "Ensemble",
    "ObjectiveWrapper",
    "Respecified",
    "Stacked",
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


EnsembleAggregate = Literal["mean", "median", "min", "mean_minus_std", "mean_minus_var"]


class Ensemble(Objective):
    """``M`` objectives with the same columns, aggregated per item, with their spread as uncertainty.

    With member values ``r_m`` `[B, K]` and ``s`` the column signs (``+1`` max, ``-1`` min), the
    reported value is, per column,

    * ``"mean"``: ``mu = (1/M) sum_m r_m``;
    * ``"median"``: the member median (lower middle value for even ``M``);
    * ``"min"``: the worst member in the column's direction (worst-case optimisation, Coste et al.
      2023, arXiv 2310.04373);
    * ``"mean_minus_std"``: ``mu - s * lam * sigma`` (pessimistic; Eisenstein et al. 2023, arXiv 2312.09244);
    * ``"mean_minus_var"``: ``mu - s * lam * sigma^2`` (uncertainty-weighted optimisation, Coste et al. 2023).

    ``std`` `[B, K]` is the member spread ``sigma = sqrt((1/M) sum_m (r_m - mu)^2)``; when every
    member reports its own ``std_m``, the law of total variance gives
    ``sqrt((1/M) sum_m std_m^2 + sigma^2)``. ``info["members"]`` holds the detached member values
    `[M, B, K]`. An item is valid only when every member scored it.

    Args:
        members: at least one objective; all must have the same column names and directions.
        aggregate: one of the rules above.
        lam: ``lambda >= 0`` for the pessimistic rules.
    """

    def __init__(self, members: Sequence[Objective], aggregate: EnsembleAggregate = "mean", lam: float = 1.0) -> None:
        members = list(members)
        if not members:
            raise ConfigError("Ensemble needs at least one member")
        layout = [tuple((s.name, s.direction) for s in m.specs) for m in members]
        if len(set(layout)) != 1:
            raise ConfigError(f"Ensemble members must have the same columns and directions; got {layout}")
        if aggregate not in ("mean", "median", "min", "mean_minus_std", "mean_minus_var"):
            raise ConfigError(
                f"Ensemble: aggregate={aggregate!r}; use 'mean', 'median', 'min', 'mean_minus_std' or 'mean_minus_var'"
            )
        if not lam >= 0:
            raise ConfigError(f"Ensemble: lam={lam} must be >= 0")
        self.members = members
        self.aggregate = aggregate
        self.lam = float(lam)
        self.specs = members[0].specs
        self.differentiable = all(m.differentiable for m in members)
        self.deterministic = all(m.deterministic for m in members)
        self.device = members[0].device

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        results = [m(designs, grad=_grad_for(m)).to(self.device) for m in self.members]
        valid = torch.stack([r.valid for r in results]).all(dim=0)
        R = torch.stack([r.values for r in results])
        signs = torch.tensor([s.sign for s in self.specs], dtype=R.dtype, device=R.device)
        mu = R.mean(dim=0)
        var = ((R - mu) ** 2).mean(dim=0)
        if all(r.std is not None for r in results):
            var = var + torch.stack([r.std for r in results]).pow(2).mean(dim=0)  # type: ignore[misc]
        std = _safe_sqrt(var)
        spread = ((R - mu) ** 2).mean(dim=0)
        if self.aggregate == "mean":
            values = mu
        elif self.aggregate == "median":
            values = R.median(dim=0).values
        elif self.aggregate == "min":
            values = (R * signs).min(dim=0).values * signs
        elif self.aggregate == "mean_minus_std":
            values = mu - signs * self.lam * _safe_sqrt(spread)
        else:
            values = mu - signs * self.lam * spread
        errors = merge_errors(results, [f"member {m}" for m in range(len(results))], len(designs))
        return Scores(
            values=nan_invalid(values, valid),
            valid=valid,
            specs=self.specs,
            std=nan_invalid(std, valid),
            errors=errors,
            info={"members": R.detach()},
            raised=any_raised(results, columns=True),
        )

    def to(self, device: str | torch.device) -> Ensemble:
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
        return {
            **super().config(),
            "members": [m.config() for m in self.members],
            "aggregate": self.aggregate,
            "lam": self.lam,
        }
