"""``lab``: the columns of a wet-lab assay, measured outside gendesign (``[campaign] mode = "lab"``).

The objective only declares what the lab reports: one column per measurement with its direction,
and optionally its kind and threshold (a constraint) and bounds. Values arrive through
``gendesign tell``; calling the objective is an error that says so.

Example::

    [campaign]
    mode = "lab"
    budget = 384

    [space]
    name = "sequence"
    options = { alphabet = "ACDEFGHIKLMNPQRSTVWY", length = 12 }

    [objective]
    name = "lab"
    options = { columns = [
        { name = "activity", direction = "max" },
        { name = "toxicity", direction = "min", kind = "constraint", threshold = 0.3 },
    ] }
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from gendesign.core.errors import CampaignError, ConfigError
from gendesign.core.objective import Objective, ObjectiveSpec
from gendesign.core.options import StrictOptions


class LabColumn(StrictOptions):
    """One measured column (the fields of :class:`~gendesign.core.objective.ObjectiveSpec`)."""

    name: str = Field(min_length=1)
    direction: Literal["max", "min"] = "max"
    kind: Literal["objective", "constraint"] = "objective"
    threshold: float | None = None
    bounds: tuple[float, float] | None = None
    description: str = ""


class LabMeasurement(Objective):
    """Columns measured in a lab; scores come from ``gendesign tell``, never from a call.

    Args:
        columns: one table per measurement (``name``, ``direction``, optional ``kind``,
            ``threshold``, ``bounds``, ``description``).
    """

    def __init__(self, columns: list[LabColumn]) -> None:
        if not columns:
            raise ConfigError("lab: columns is empty; give one table per measurement, e.g. columns = [{ name = \"activity\", direction = \"max\" }]")
        parsed = [LabColumn.model_validate(c) for c in columns]
        names = [c.name for c in parsed]
        if len(set(names)) != len(names):
            raise ConfigError(f"lab: column names must be unique, got {names}")
        self.specs = tuple(ObjectiveSpec(**c.model_dump()) for c in parsed)

    def evaluate(self, designs: Sequence[Any]) -> Any:
        raise CampaignError(
            f"objective 'lab' ({', '.join(s.name for s in self.specs)}) is measured in the lab: run the campaign with "
            "[campaign] mode = \"lab\" and use `gendesign ask` / `gendesign tell`"
        )
