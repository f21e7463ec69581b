"""REINVENT-style scoring: transformed columns aggregated into one score, with filters and penalties.

For a design with raw column values ``x``, components ``c = 1..C`` with transforms ``T_c`` and
weights ``w_c`` (normalised to sum 1), filters ``f`` with ranges ``[l_f, u_f]`` and penalties ``p``
with desirability transforms ``P_p``:

* ``d_c = sign_c T_c(x_c)``, the maximise view of the transformed value (``T_c`` is the identity
  when a component has no transform; ``sign_c = +1`` for every desirability);
* ``m = prod_f 1[l_f <= x_f <= u_f] * prod_p P_p(x_p)``, the filter-and-penalty multiplier;
* ``score = m * A(d)`` where ``A`` is the weighted geometric mean ``prod_c d_c^{w_c}`` (scores
  floored at ``1e-8`` before the log, exactly 0 when a weighted ``d_c`` is 0), the weighted
  arithmetic mean ``sum_c w_c d_c``, or augmented Chebyshev; or, with ``aggregate="pareto"``, no
  aggregation: every ``m * d_c`` stays its own objective column.

This follows REINVENT 4's scoring (Loeffler et al. 2024, J. Cheminformatics 16:20; its
``SCORING.md``): filters zero a score, penalties multiply it, and direction is a choice of
transform. Every component's raw value is kept next to its transformed value as an
``"auxiliary"`` column ``<column>_raw``, so ``evaluations.csv`` and ``pareto.csv`` show both; filter
and penalty columns, and columns no component uses, are kept as auxiliary columns under their own
names. Constraint columns pass through unchanged. Works on the columns of any objective.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

import torch
from pydantic import ValidationError
from torch import Tensor

from gendesign.core.config import ScoringTable
from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, ObjectiveSpec, Scores
from gendesign.core.registry import format_validation_error
from gendesign.objectives.compose import ObjectiveWrapper, nan_invalid
from gendesign.objectives.scalarize import augmented_chebyshev, normalize_weights, weighted_geometric_mean, weighted_sum
from gendesign.objectives.transforms import Transform, parse_transform

__all__ = ["Scoring", "scoring_from_table"]

Aggregate = Literal["geometric_mean", "arithmetic_mean", "weighted_sum", "chebyshev", "pareto"]
_MULTIPLIED = ("geometric_mean", "arithmetic_mean", "pareto")


def _chain(tables: Any, spec: ObjectiveSpec, where: str) -> tuple[list[Transform], ObjectiveSpec]:
    items = tables if isinstance(tables, list) else [tables]
    if not items:
        raise ConfigError(f"{where}: transform is an empty list; give a table such as {{ kind = \"sigmoid\", low = 0, high = 1 }}")
    chain: list[Transform] = []
    for item in items:
        try:
            t = parse_transform(item).bind(spec)
            spec = t.output_spec(spec)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        chain.append(t)
    return chain, spec


def _apply(chain: Sequence[Transform], x: Tensor) -> Tensor:
    for t in chain:
        x = t(x)
    return x


def _is_desirability(spec: ObjectiveSpec) -> bool:
    return spec.direction == "max" and spec.bounds is not None and spec.bounds[0] >= 0


class Scoring(ObjectiveWrapper):
    """An objective's columns turned into a REINVENT-style score (see the module docstring for the formula).

    Output columns, in order: the score (not with ``aggregate="pareto"``); for each component, its
    transformed value under its column name (an objective column with ``"pareto"``, else auxiliary)
    followed by its raw value ``<column>_raw`` (auxiliary); the inner constraint columns; every other
    inner column under its own name (auxiliary).

    Args:
        inner: the objective whose columns are scored.
        components: ``[{"column": name, "transform": table or [tables] or None, "weight": w}]``.
        aggregate: ``"geometric_mean"``, ``"arithmetic_mean"``, ``"weighted_sum"``, ``"chebyshev"`` or ``"pareto"``.
        filters: ``[{"column": name, "low": l, "high": u}]``; the score is 0 outside ``[l, u]``.
        penalties: ``[{"column": name, "transform": desirability table(s)}]``; the score is multiplied by it.
        name: the score column's name.
        rho: Chebyshev augmentation.

    Example:
        >>> from gendesign.core.objective import FunctionObjective
        >>> f = FunctionObjective(lambda xs: [[len(x), x.count("A")] for x in xs], names=["n", "a"])
        >>> s = Scoring(f, [{"column": "n", "transform": {"kind": "ramp", "low": 0, "high": 4}}], filters=[{"column": "a", "high": 1}])
        >>> s(["AB", "AAB"]).values[:, 0].tolist()
        [0.5, 0.0]
    """

    def __init__(
        self,
        inner: Objective,
        components: Sequence[Mapping[str, Any]],
        aggregate: Aggregate = "geometric_mean",
        *,
        filters: Sequence[Mapping[str, Any]] = (),
        penalties: Sequence[Mapping[str, Any]] = (),
        name: str = "score",
        rho: float = 0.05,
    ) -> None:
        super().__init__(inner)
        data = {"aggregate": aggregate, "name": name, "rho": rho, "components": list(components), "filters": list(filters), "penalties": list(penalties)}
        try:
            table = ScoringTable.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, where="[scoring]", model=ScoringTable)) from None
        specs = inner.specs
        names = [s.name for s in specs]

        def column(col: str, where: str) -> int:
            if col not in names:
                raise ConfigError(f"{where}: column = {col!r} is not a column of the objectives; they have {names}")
            if specs[names.index(col)].kind == "constraint":
                raise ConfigError(f"{where}: column = {col!r} is a constraint; score an objective column, or drop its kind = \"constraint\"")
            return names.index(col)

        self.aggregate = table.aggregate
        self.rho = table.rho
        self.components: list[tuple[int, list[Transform], ObjectiveSpec]] = []
        for i, comp in enumerate(table.components):
            where = f"[[scoring.components]] #{i + 1}"
            k = column(comp.column, where)
            if any(k == kk for kk, _, _ in self.components):
                raise ConfigError(f"{where}: column = {comp.column!r} is scored twice; give it one component with a list of transforms")
            if comp.transform is None:
                self.components.append((k, [], specs[k]))
            else:
                chain, out = _chain(comp.transform, specs[k], where)
                self.components.append((k, chain, out))
        self.weights = normalize_weights([c.weight for c in table.components], len(table.components))
        self.filters = [(column(f.column, f"[[scoring.filters]] #{i + 1}"), f.low, f.high) for i, f in enumerate(table.filters)]
        self.penalties: list[tuple[int, list[Transform]]] = []
        for i, p in enumerate(table.penalties):
            where = f"[[scoring.penalties]] #{i + 1}"
            k = column(p.column, where)
            chain, out = _chain(p.transform, specs[k], where)
            if not (out.direction == "max" and out.bounds is not None and 0 <= out.bounds[0] and out.bounds[1] <= 1):
                raise ConfigError(f"{where}: the transform of {p.column!r} must end in a desirability in [0, 1] (e.g. reverse_sigmoid, exponential_decay, step)")
            self.penalties.append((k, chain))
        comp_specs = [out for _, _, out in self.components]
        not_desirable = [specs[k].name for (k, _, out) in self.components if not _is_desirability(out)]
        if self.aggregate == "geometric_mean" and not_desirable:
            raise ConfigError(
                f"[scoring] aggregate = \"geometric_mean\": components {not_desirable} are not desirabilities in [0, inf); "
                "give each a transform such as { kind = \"sigmoid\", low = ..., high = ... }, or use aggregate = \"weighted_sum\""
            )
        if (self.filters or self.penalties) and (self.aggregate not in _MULTIPLIED or not_desirable):
            raise ConfigError(
                f"[scoring]: filters and penalties multiply a score that must be >= 0; use aggregate = \"geometric_mean\", "
                f"\"arithmetic_mean\" or \"pareto\" with every component transformed to a desirability (not: {not_desirable or table.aggregate!r})"
            )
        if self.aggregate == "chebyshev":
            missing = [s.name for s in comp_specs if s.bounds is None]
            if missing:
                raise ConfigError(f"[scoring] aggregate = \"chebyshev\" normalises by bounds; components {missing} have none: give them a transform")
        self.score_name = table.name
        self._layout(specs, comp_specs)

    def _layout(self, specs: Sequence[ObjectiveSpec], comp_specs: Sequence[ObjectiveSpec]) -> None:
        """Output specs and, for each output column, where its value comes from."""
        used = {k for k, _, _ in self.components}
        out: list[ObjectiveSpec] = []
        self._sources: list[tuple[str, int]] = []  # ("score", 0) | ("component", c) | ("raw", k)
        if self.aggregate != "pareto":
            lo_hi = self._score_bounds(comp_specs)
            out.append(ObjectiveSpec(self.score_name, "max", bounds=lo_hi, description=f"{self.aggregate} of {', '.join(specs[k].name for k in used)}"))
            self._sources.append(("score", 0))
        for c, (k, _, spec) in enumerate(self.components):
            out.append(replace(spec, kind="objective" if self.aggregate == "pareto" else "auxiliary", threshold=None))
            self._sources.append(("component", c))
            out.append(replace(specs[k], name=f"{specs[k].name}_raw", kind="auxiliary", threshold=None))
            self._sources.append(("raw", k))
        for k, spec in enumerate(specs):
            if spec.kind == "constraint":
                out.append(spec)
                self._sources.append(("raw", k))
        for k, spec in enumerate(specs):
            if k not in used and spec.kind != "constraint":
                out.append(replace(spec, kind="auxiliary", threshold=None))
                self._sources.append(("raw", k))
        taken = [s.name for s in out]
        dupes = sorted({n for n in taken if taken.count(n) > 1})
        if dupes:
            raise ConfigError(f"[scoring]: output columns {dupes} occur twice in {taken}; rename the score (name = ...) or the clashing column")
        self.specs = tuple(out)

    def _score_bounds(self, comp_specs: Sequence[ObjectiveSpec]) -> tuple[float, float] | None:
        if self.aggregate == "chebyshev" or any(s.bounds is None for s in comp_specs):
            return None
        canon = [(s.bounds[0], s.bounds[1]) if s.direction == "max" else (-s.bounds[1], -s.bounds[0]) for s in comp_specs]  # type: ignore[index]
        lo = torch.tensor([[a for a, _ in canon]], dtype=torch.float64)
        hi = torch.tensor([[b for _, b in canon]], dtype=torch.float64)
        low, high = float(self._aggregate(lo)[0]), float(self._aggregate(hi)[0])
        if self.filters or self.penalties:
            low = min(low, 0.0)
        return (low, high) if low < high else None

    def _aggregate(self, D: Tensor) -> Tensor:
        w = self.weights.to(D.device, D.dtype)
        if self.aggregate == "geometric_mean":
            return weighted_geometric_mean(D, w)
        if self.aggregate in ("arithmetic_mean", "weighted_sum"):
            return weighted_sum(D, w)
        return augmented_chebyshev(self._normalised(D), w, None, self.rho)

    def _normalised(self, D: Tensor) -> Tensor:
        specs = [out for _, _, out in self.components]
        lo = torch.tensor([s.bounds[0] if s.direction == "max" else -s.bounds[1] for s in specs], dtype=D.dtype, device=D.device)  # type: ignore[index]
        hi = torch.tensor([s.bounds[1] if s.direction == "max" else -s.bounds[0] for s in specs], dtype=D.dtype, device=D.device)  # type: ignore[index]
        return (D - lo) / (hi - lo)

    def multiplier(self, raw: Tensor) -> Tensor:
        """`[B]` product of the filter indicators and penalty desirabilities for raw inner values `[B, K]`."""
        m = torch.ones(raw.shape[0], dtype=raw.dtype, device=raw.device)
        for k, low, high in self.filters:
            x = raw[:, k]
            inside = torch.ones_like(m, dtype=torch.bool)
            if low is not None:
                inside &= x >= low
            if high is not None:
                inside &= x <= high
            m = m * inside.to(m.dtype)
        for k, chain in self.penalties:
            m = m * _apply(chain, raw[:, k])
        return m

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        scores = self.call_inner(designs)
        raw = scores.values
        transformed = [_apply(chain, raw[:, k]) for k, chain, _ in self.components]
        D = torch.stack([t * spec.sign for t, (_, _, spec) in zip(transformed, self.components)], dim=-1)
        m = self.multiplier(raw)
        columns: list[Tensor] = []
        for source, i in self._sources:
            if source == "score":
                score = self._aggregate(D)
                columns.append(score * m if self.aggregate in _MULTIPLIED else score)
            elif source == "component":
                columns.append(transformed[i] * m if self.aggregate == "pareto" else transformed[i])
            else:
                columns.append(raw[:, i])
        values = nan_invalid(torch.stack(columns, dim=-1), scores.valid)
        return Scores(values=values, valid=scores.valid, specs=self.specs, errors=scores.errors, info=scores.info, raised=scores.raised)

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "aggregate": self.aggregate,
            "name": self.score_name,
            "rho": self.rho,
            "weights": self.weights.tolist(),
            "components": [{"column": self.inner.specs[k].name, "transform": [t.model_dump() for t in chain]} for k, chain, _ in self.components],
            "filters": [{"column": self.inner.specs[k].name, "low": lo, "high": hi} for k, lo, hi in self.filters],
            "penalties": [{"column": self.inner.specs[k].name, "transform": [t.model_dump() for t in chain]} for k, chain in self.penalties],
        }


def scoring_from_table(inner: Objective, table: ScoringTable) -> Scoring:
    """The :class:`Scoring` a validated ``[scoring]`` table describes."""
    return Scoring(
        inner,
        [c.model_dump() for c in table.components],
        table.aggregate,
        filters=[f.model_dump() for f in table.filters],
        penalties=[p.model_dump() for p in table.penalties],
        name=table.name,
        rho=table.rho,
    )
