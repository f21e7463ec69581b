"""Constrained composite rewards with learned multipliers, after Moskovitz et al. 2023.

"Confronting Reward Model Overoptimization with Constrained RLHF" (Moskovitz, Singh, Strouse,
Sandholm, Salakhutdinov, Dragan & McAleer, arXiv 2310.04373). A component reward helps only up to
its *proxy point* ``θ_i``; beyond it, more of it lowers the true score. So the primary objective
``v_0`` is maximised subject to ``v_i >= θ_i`` (``"ge"``) or ``v_i = θ_i`` (``"eq"``), with the
Lagrangian ``L = v_0 + Σ_i λ_i (v_i - θ_i)``.

Weights ``w_i = σ(λ_i)`` (``"ge"``, in ``(0, 1)``) or ``tanh(λ_i)`` (``"eq"``, in ``(-1, 1)``, so a
component above its target is pushed down) scalarise the components (all in the maximise view):

``r = (N - Σ_i w_i) v_0 + Σ_i w_i v_i``,  and for policy-gradient users the same mix of
per-component advantages ``A = (N - Σ_i w_i) A_0 + Σ_i w_i A_i``,

with ``N`` the number of constraints: a satisfied constraint hands its weight back to the primary
term. The multipliers take one momentum-SGD step per training batch on
``Σ_i w_i(λ_i) (mean_b v_{b,i} - θ_i)``: a component whose batch mean is above ``θ_i`` loses weight,
one below gains it. Unsquashed multipliers (``squash="none"``) are clamped ``>= 0`` for ``"ge"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, ObjectiveSpec, Scores, resolve_device
from gendesign.objectives.compose import Stacked, nan_invalid

if TYPE_CHECKING:
    from gendesign.core.plugins import PluginSystem

__all__ = ["AdvantageMixer", "ConstrainedReward", "ConstraintTerm"]

Mode = Literal["ge", "eq"]
Squash = Literal["auto", "sigmoid", "tanh", "none"]


@runtime_checkable
class AdvantageMixer(Protocol):
    """A composite reward whose ``Scores.info["components"]`` `[B, 1 + C]` policy-gradient methods
    normalise one by one and then mix with :meth:`mix_advantages` (DDPO does)."""

    def mix_advantages(self, advantages: Tensor) -> Tensor:
        """`[B]` advantages from per-component advantages `[B, 1 + C]`."""
        ...


@dataclass(frozen=True)
class ConstraintTerm:
    """One constraint ``v >= threshold`` (``"ge"``) or ``v = threshold`` (``"eq"``).

    Attributes:
        objective: the objective that computes ``v``.
        threshold: ``θ`` in the column's natural units.
        mode: ``"ge"`` (at least ``θ`` in the column's direction) or ``"eq"``.
        column: the objective's column (name or index).
    """

    objective: Objective
    threshold: float
    mode: Mode = "ge"
    column: str | int = 0


def _column(obj: Objective, column: str | int, where: str) -> int:
    names = [s.name for s in obj.specs]
    if isinstance(column, str):
        if column not in names:
            raise ConfigError(f"{where}: column {column!r} is not one of {names}")
        return names.index(column)
    if not 0 <= column < len(names):
        raise ConfigError(f"{where}: column {column} is out of range for {names}")
    return column


def _build(part: Objective | Mapping[str, Any], plugins: PluginSystem | None, where: str) -> Objective:
    if isinstance(part, Objective):
        return part
    from gendesign.objectives.image_ensemble import build_part

    return build_part(part, plugins, where=where)


class ConstrainedReward(Objective):
    """Primary objective plus constraints, scalarised with learned multipliers: one column ``score``.

    Args:
        primary: the objective maximised (or a ``{name, options}`` table of a registered one).
        constraints: :class:`ConstraintTerm` s, ``(objective, threshold, mode)`` tuples, or tables
            ``{objective = {name, options}, threshold, mode = "ge", column = 0}``.
        primary_column: the primary objective's column (name or index).
        squash: ``"auto"`` (sigmoid for ``"ge"``, tanh for ``"eq"``), ``"sigmoid"``, ``"tanh"`` or
            ``"none"`` (raw multipliers, ``"ge"`` ones clamped ``>= 0``).
        lr: multiplier learning rate (Moskovitz et al.'s class default 1e-2).
        momentum: SGD momentum of the multipliers (0.1 in their code).
        init: initial multiplier ``λ`` (one value, or one per constraint).
        auto_update: take a multiplier step after every scored batch (campaigns); fine-tuning turns
            it off and calls :meth:`observe` on training batches.
        name: name of the score column.
        plugins: resolves ``{name, options}`` tables (the registry passes its own).

    ``Scores.info`` carries ``components`` `[B, 1 + C]` (maximise view: primary, then constraints),
    ``weights`` `[C]` and ``primary_weight`` (the weights that produced this batch's score).
    """

    deterministic = False

    def __init__(
        self,
        primary: Objective | Mapping[str, Any],
        constraints: Sequence[ConstraintTerm | tuple[Any, ...] | Mapping[str, Any]],
        *,
        primary_column: str | int = 0,
        squash: Squash = "auto",
        lr: float = 1e-2,
        momentum: float = 0.1,
        init: float | Sequence[float] = 0.0,
        auto_update: bool = True,
        name: str = "score",
        plugins: PluginSystem | None = None,
    ) -> None:
        terms = [self._term(c, plugins, i) for i, c in enumerate(constraints)]
        if not terms:
            raise ConfigError("ConstrainedReward needs at least one constraint (objective, threshold, 'ge'|'eq')")
        if squash not in ("auto", "sigmoid", "tanh", "none"):
            raise ConfigError(f"ConstrainedReward: squash={squash!r}; use 'auto', 'sigmoid', 'tanh' or 'none'")
        if not lr > 0 or not 0 <= momentum < 1:
            raise ConfigError(f"ConstrainedReward: lr={lr} must be > 0 and momentum={momentum} in [0, 1)")
        main = _build(primary, plugins, "ConstrainedReward primary")
        self.primary = main
        self.terms = terms
        self.primary_column = _column(main, primary_column, "ConstrainedReward primary")
        self.columns = [_column(t.objective, t.column, f"ConstrainedReward constraint {i}") for i, t in enumerate(terms)]
        parts: list[Objective] = [main]
        # equal objectives (same fingerprint, e.g. one table named twice) are scored once
        offsets = {main.fingerprint(): 0}
        width = len(main.specs)
        for t in terms:
            key = t.objective.fingerprint()
            if key not in offsets:
                offsets[key] = width
                parts.append(t.objective)
                width += len(t.objective.specs)
        self._slots = [self.primary_column] + [offsets[t.objective.fingerprint()] + col for t, col in zip(terms, self.columns)]
        self._parts = parts
        specs = [s for p in parts for s in p.specs]
        self._signs = torch.tensor([specs[k].sign for k in self._slots], dtype=torch.float64)
        self.thresholds = torch.tensor([t.threshold for t in terms], dtype=torch.float64) * self._signs[1:]
        self.modes = [t.mode for t in terms]
        self.squashes = [("sigmoid" if m == "ge" else "tanh") if squash == "auto" else squash for m in self.modes]
        c = len(terms)
        lam0 = torch.full((c,), float(init), dtype=torch.float64) if isinstance(init, (int, float)) else torch.tensor(list(init), dtype=torch.float64)
        if lam0.shape != (c,):
            raise ConfigError(f"ConstrainedReward: init has {lam0.numel()} values for {c} constraints")
        self.init = lam0.tolist()
        self.lam = lam0.clone()
        self.velocity = torch.zeros(c, dtype=torch.float64)
        self.lr, self.momentum, self.squash = float(lr), float(momentum), squash
        self.auto_update = bool(auto_update)
        self.steps = 0
        self.specs = (ObjectiveSpec(name=name, direction="max", description=f"constrained composite of {main.name}"),)
        self.differentiable = all(p.differentiable for p in parts)
        self.device = main.device

    @staticmethod
    def _term(c: ConstraintTerm | tuple[Any, ...] | Mapping[str, Any], plugins: PluginSystem | None, i: int) -> ConstraintTerm:
        where = f"ConstrainedReward constraint {i}"
        if isinstance(c, ConstraintTerm):
            term = c
        elif isinstance(c, tuple):
            term = ConstraintTerm(_build(c[0], plugins, where), *c[1:])
        elif isinstance(c, Mapping):
            unknown = sorted(set(c) - {"objective", "threshold", "mode", "column"})
            if unknown or "objective" not in c or "threshold" not in c:
                raise ConfigError(f"{where}: give a table with 'objective' and 'threshold' (and optional 'mode', 'column'); got keys {sorted(c)}")
            term = ConstraintTerm(_build(c["objective"], plugins, where), float(c["threshold"]), c.get("mode", "ge"), c.get("column", 0))
        else:
            raise ConfigError(f"{where}: {c!r} is not (objective, threshold, mode) or a table")
        if term.mode not in ("ge", "eq"):
            raise ConfigError(f"{where}: mode={term.mode!r}; use 'ge' or 'eq'")
        return term

    # ------------------------------------------------------------------ weights
    def weights(self) -> Tensor:
        """`[C]` current constraint weights ``w_i`` (squashed multipliers)."""
        squash = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "none": lambda v: v}
        return torch.stack([squash[sq](self.lam[i]) for i, sq in enumerate(self.squashes)])

    def primary_weight(self) -> float:
        """``N - Σ_i w_i`` with ``N`` the number of constraints."""
        return float(len(self.terms) - self.weights().sum())

    def combine(self, components: Tensor) -> Tensor:
        """`[B]` score ``(N - Σ w) v_0 + Σ w_i v_i`` of maximise-view components `[B, 1 + C]`."""
        w = self.weights().to(components.device, components.dtype)
        return (len(self.terms) - w.sum()) * components[:, 0] + components[:, 1:] @ w

    def mix_advantages(self, advantages: Tensor) -> Tensor:
        """`[B]` ``(N - Σ w) A_0 + Σ w_i A_i`` of per-component advantages `[B, 1 + C]`."""
        return self.combine(advantages)

    def step_multipliers(self, means: Tensor) -> None:
        """One momentum-SGD step on ``Σ_i w_i(λ_i) (means_i - θ_i)`` from per-constraint batch means `[C]`."""
        w = self.weights()
        slope = torch.tensor(
            [float(w[i] * (1 - w[i])) if sq == "sigmoid" else float(1 - w[i] ** 2) if sq == "tanh" else 1.0 for i, sq in enumerate(self.squashes)],
            dtype=torch.float64,
        )
        gap = means.to(torch.float64) - self.thresholds
        grad = slope * torch.where(torch.isfinite(gap), gap, torch.zeros_like(gap))  # d/dλ of Σ w_i(λ_i) gap_i
        self.velocity = self.momentum * self.velocity + grad
        self.lam = self.lam - self.lr * self.velocity
        for i, (sq, mode) in enumerate(zip(self.squashes, self.modes)):
            if sq == "none" and mode == "ge" and self.lam[i] < 0:
                self.lam[i] = 0.0
        self.steps += 1

    def observe(self, scores: Scores) -> None:
        """One multiplier step from the valid rows of a batch this reward scored."""
        comps = scores.info["components"]
        ok = scores.valid.to(comps.device) & torch.isfinite(comps).all(dim=1)
        if not bool(ok.any()):
            return
        self.step_multipliers(comps[ok, 1:].detach().double().mean(dim=0).cpu())

    # ------------------------------------------------------------------ objective
    def components(self, designs: Sequence[Any]) -> tuple[Tensor, Scores]:
        """Maximise-view components `[B, 1 + C]` and the parts' stacked :class:`Scores`."""
        stacked = Stacked(self._parts) if len(self._parts) > 1 else self._parts[0]
        grad = torch.is_grad_enabled() and self.differentiable
        scores = stacked(designs, grad=grad).to(self.device)
        signs = self._signs.to(scores.values.device, scores.values.dtype)
        return scores.values[:, self._slots] * signs, scores

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        comps, scores = self.components(designs)
        score = self.combine(comps).unsqueeze(-1)
        out = Scores(
            values=nan_invalid(score, scores.valid),
            valid=scores.valid,
            specs=self.specs,
            errors=scores.errors,
            info={"components": comps.detach(), "weights": self.weights(), "primary_weight": self.primary_weight()},
            raised=scores.raised,
        )
        if self.auto_update:
            self.observe(out)
        return out

    def state_dict(self) -> dict[str, Any]:
        """Multipliers, momentum buffer and step count (JSON-able)."""
        return {"lam": self.lam.tolist(), "velocity": self.velocity.tolist(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        lam = torch.tensor(state["lam"], dtype=torch.float64)
        if lam.shape != self.lam.shape:
            raise ConfigError(f"ConstrainedReward: the saved state has {lam.numel()} multipliers, this reward {self.lam.numel()} constraints")
        self.lam = lam
        self.velocity = torch.tensor(state["velocity"], dtype=torch.float64)
        self.steps = int(state["steps"])

    def to(self, device: str | torch.device) -> ConstrainedReward:
        for p in self._parts:
            p.to(device)
        self.device = resolve_device(device)
        return self

    def default_space(self) -> Any:
        return self.primary.default_space()

    def check_space(self, space: Any) -> None:
        for p in self._parts:
            p.check_space(space)

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "primary": self.primary.config(),
            "primary_column": self.primary_column,
            "constraints": [
                {"objective": t.objective.config(), "threshold": t.threshold, "mode": t.mode, "column": col} for t, col in zip(self.terms, self.columns)
            ],
            "squash": self.squash,
            "lr": self.lr,
            "momentum": self.momentum,
            "init": self.init,
        }
