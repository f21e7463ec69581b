"""An ensemble of reward models whose spread is reported as uncertainty.

With ``M`` members scoring the same batch, the ensemble value is the member mean and the
uncertainty the member standard deviation (population form, ``1/M``):

``μ = (1/M) Σ_m r_m``,  ``σ = sqrt((1/M) Σ_m (r_m - μ)²)``.

Rising ``σ`` on held-out prompts is the over-optimisation signal InstructVideo reports, and
``μ - k·σ`` is a pessimistic reward (``pessimism = k``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import torch

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, Scores
from gendesign.objectives.compose import Ensemble, EnsembleAggregate

if TYPE_CHECKING:
    from gendesign.core.plugins import PluginSystem


class RewardEnsemble(Objective):
    """Mean of ``M`` reward models with their standard deviation as ``Scores.std``.

    Args:
        members: built objectives, or ``{"name": ..., "options": {...}}`` tables resolved through the
            objective registry of ``plugins``. All members must have the same columns.
        pessimism: ``k`` in the reported value ``μ - k·σ``; 0 reports the plain mean.
        plugins: the plugin system that resolves member tables (the registry passes its own).
    """

    def __init__(self, members: Sequence[Objective | Mapping[str, Any]], pessimism: float = 0.0, plugins: PluginSystem | None = None) -> None:
        built = [m if isinstance(m, Objective) else build_part(m, plugins, where="RewardEnsemble member") for m in members]
        if len(built) < 2:
            raise ConfigError(f"RewardEnsemble needs at least 2 members to estimate a spread; got {len(built)}")
        names = [tuple(s.name for s in m.specs) for m in built]
        if len(set(names)) != 1:
            raise ConfigError(f"RewardEnsemble members must share their columns; got {names}")
        self.members = built
        self.pessimism = pessimism
        self.specs = built[0].specs
        self.differentiable = all(m.differentiable for m in built)
        self.deterministic = all(m.deterministic for m in built)
        self.device = built[0].device

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        grad = torch.is_grad_enabled() and self.differentiable
        parts = [m(designs, grad=grad) for m in self.members]
        stacked = torch.stack([p.values.to(self.device) for p in parts])
        mean = stacked.mean(dim=0)
        std = stacked.std(dim=0, unbiased=False)
        valid = torch.stack([p.valid.to(self.device) for p in parts]).all(dim=0)
        errors = [next((p.errors[i] for p in parts if p.errors[i]), None) for i in range(len(designs))]
        return Scores(
            values=mean - self.pessimism * std,
            valid=valid,
            specs=self.specs,
            std=std,
            errors=errors,
            info={"members": stacked.detach()},
        )

    def to(self, device: str | torch.device) -> RewardEnsemble:
        super().to(device)
        for m in self.members:
            m.to(self.device)
        return self

    def config(self) -> dict[str, Any]:
        return {**super().config(), "members": [m.config() for m in self.members], "pessimism": self.pessimism}


def build_part(part: Mapping[str, Any], plugins: PluginSystem | None, *, where: str) -> Objective:
    """Build a registered objective of ``plugins`` from a ``{"name": ..., "options": {...}}`` table."""
    if not isinstance(part, Mapping) or "name" not in part or set(part) - {"name", "options"}:
        raise ConfigError(f"{where} {part!r}: give a table with 'name' and optional 'options'")
    if plugins is None:
        raise ConfigError(
            f"{where} {dict(part)!r} names a registered objective but no plugin system was given; "
            "build it through the registry (e.g. get_plugins().objectives.build(...)) or pass plugins= or a built Objective"
        )
    return plugins.objectives.build(part["name"], part.get("options", {}))


def build_ensemble(
    members: Sequence[Mapping[str, Any]],
    aggregate: EnsembleAggregate = "mean",
    lam: float = 1.0,
    member_norm: Literal["none", "zscore"] = "none",
    reference: list[Any] | None = None,
    plugins: PluginSystem | None = None,
) -> Ensemble:
    """A conservative :class:`~gendesign.objectives.compose.Ensemble` of registered objectives (the ``ensemble`` objective).

    Args:
        members: ``{name, options}`` tables of at least one registered objective with equal columns.
        aggregate: ``mean``, ``median``, ``min``, ``mean_minus_std`` or ``uwo``.
        lam: ``λ`` of ``mean_minus_std`` and ``uwo``.
        member_norm: ``"zscore"`` z-scores each member on ``reference`` (frozen when built).
        reference: designs of the frozen reference batch.
        plugins: the plugin system that resolves the tables (the registry passes its own).
    """
    built = [build_part(m, plugins, where="ensemble member") for m in members]
    return Ensemble(built, aggregate, lam, member_norm=member_norm, reference=reference)
