"""Held-out evaluation objectives: scored beside a campaign's guide objectives, never shown to the strategy.

A proxy that guides a search gets over-optimised: the search finds its blind spots, so the guide's
own scores overstate how good the designs are (Gao, Schulman & Hilton, "Scaling Laws for Reward
Model Overoptimization", ICML 2023). An evaluation oracle — a second model trained on other data, a
slower simulator, an assay — measures the same designs independently. A :class:`HeldOut` objective
is computed either on the final Pareto set (``when = "final"``) or on every scored batch
(``when = "batch"``); its values go to the ledger under its own fingerprint (so a resumed run or a
shared ledger never computes them twice, and ``gendesign report`` rebuilds the outputs from storage)
and appear in ``summary.json``, ``pareto.csv`` and ``evaluations.csv`` as ``eval:<column>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective

EVAL_PREFIX = "eval:"
"""Prefix of evaluation columns in the outputs, keeping them apart from the guide columns."""

When = Literal["final", "batch"]


@dataclass(frozen=True)
class HeldOut:
    """An evaluation objective and when the campaign computes it.

    Attributes:
        objective: the evaluation oracle; its columns are reported as ``eval:<name>``.
        when: ``"final"`` scores the final Pareto set once; ``"batch"`` scores every valid design
            of every batch as it is scored.
    """

    objective: Objective
    when: When = "final"

    def __post_init__(self) -> None:
        if self.when not in ("final", "batch"):
            raise ConfigError(f"evaluate when={self.when!r}; use 'final' (the final Pareto set) or 'batch' (every scored batch)")


def as_held_out(items: list[Objective | HeldOut] | tuple[Objective | HeldOut, ...]) -> tuple[HeldOut, ...]:
    """``items`` as :class:`HeldOut` (a bare objective is evaluated at ``"final"``); column names must not repeat."""
    out: list[HeldOut] = []
    for item in items:
        if isinstance(item, HeldOut):
            out.append(item)
        elif isinstance(item, Objective):
            out.append(HeldOut(item))
        else:
            raise ConfigError(f"evaluate entries must be Objective or HeldOut, got {type(item).__name__}")
    names = [s.name for h in out for s in h.objective.specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"evaluation columns {repeated} appear twice; rename them with columns = {{ old = {{ name = \"new\" }} }}")
    return tuple(out)
