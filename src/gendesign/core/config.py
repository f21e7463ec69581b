"""Campaign configuration: a TOML file validated by pydantic, with errors that name the field.

Example::

    [campaign]
    budget = 2000        # unique designs evaluated
    batch_size = 64
    seed = 0
    device = "cpu"       # cpu | cuda | auto

    [space]              # optional when the objective supplies its own space
    name = "sequence"
    options = { alphabet = "ACDEFGHIKLMNPQRSTVWY", length = 20 }

    [[objectives]]       # one table per objective; their columns are stacked into [B, K]
    name = "ehrlich"
    options = { num_states = 32, length = 32, num_motifs = 2, motif_length = 4 }

    [strategy]
    name = "evolution"
    options = { population_size = 64 }

    [[evaluate]]         # optional held-out oracles: reported as eval:<column>, never guide
    name = "ehrlich"
    options = { num_states = 32, length = 32, num_motifs = 2, motif_length = 4, seed = 1 }
    when = "final"       # final (the final Pareto set) | batch (every scored batch)
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gendesign.core.errors import ConfigError
from gendesign.core.options import MAX_SEED, StrictOptions
from gendesign.core.registry import format_validation_error


class Part(BaseModel):
    """A plugin part chosen by registered name, with its own options table."""

    model_config = ConfigDict(extra="forbid")

    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class ObjectivePart(Part):
    """An objective plus optional per-column changes, applied in this order.

    Attributes:
        directions: one ``"max"``/``"min"`` per column, overriding the objective's own.
        columns: ``{column: {field: value}}`` overrides of :class:`ObjectiveSpec` fields, e.g.
            ``{ tpsa = { kind = "constraint", direction = "min", threshold = 140 } }`` or a rename.
        transforms: ``{column: table or [tables]}`` desirability or affine transforms, e.g.
            ``{ logp = { kind = "double_sigmoid", low = 1, high = 4 } }`` (see ``docs/objectives.md``).
    """

    directions: list[Literal["max", "min"]] | None = None
    columns: dict[str, dict[str, Any]] | None = None
    transforms: dict[str, dict[str, Any] | list[dict[str, Any]]] | None = None


class EvaluatePart(ObjectivePart):
    """A held-out evaluation objective (:mod:`gendesign.core.evaluate`): an objective table plus ``when``.

    Attributes:
        when: ``"final"`` scores the final Pareto set; ``"batch"`` scores every scored batch.
    """

    when: Literal["final", "batch"] = "final"


class CampaignSettings(StrictOptions):
    budget: int = Field(1000, gt=0, le=10**12, description="unique designs to evaluate")
    batch_size: int = Field(64, gt=0, le=10**7)
    seed: int = Field(0, ge=0, le=MAX_SEED, description="seeds the strategy and the space's sampler")
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    run_dir: str | None = None
    max_rounds: int | None = Field(None, gt=0, le=10**12, description="stop after this many ask/tell rounds")
    patience_rounds: int = Field(20, gt=0, le=10**12, description="stop after this many rounds in a row that proposed nothing new")
    max_failed_batches: int = Field(
        5, ge=0, le=10**12, description="stop after this many scored batches in a row that failed on every design with the same error (0: never)"
    )
    progress: bool = True
    plots: bool = True
    executor: Literal["inline", "process"] = Field("inline", description="score batches in this process or in a process pool")
    workers: int = Field(2, gt=0, le=1024, description="worker processes for executor = 'process'")
    chunk_size: int | None = Field(
        None, gt=0, description="score each batch in chunks of this many designs, each written to the ledger as it finishes (default: one chunk per worker)"
    )
    ledger: str | None = Field(None, description="a ledger file shared between runs as a cache (default: run_dir/ledger.sqlite)")


class CampaignConfig(BaseModel):
    """The whole campaign: ``[campaign]``, ``[space]``, ``[[objectives]]``, ``[strategy]`` and optional ``[[evaluate]]``."""

    model_config = ConfigDict(extra="forbid")

    campaign: CampaignSettings = Field(default_factory=CampaignSettings)
    space: Part | None = None
    objectives: list[ObjectivePart] = Field(min_length=1)
    strategy: Part = Field(default_factory=lambda: Part(name="evolution"))
    evaluate: list[EvaluatePart] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _single_objective(cls, data: Any) -> Any:
        if isinstance(data, dict) and "objective" in data:
            if "objectives" in data:
                raise ValueError("give either [objective] or [[objectives]], not both")
            data = dict(data)
            data["objectives"] = [data.pop("objective")]
        return data


def parse_config(data: dict[str, Any], *, source: str = "config") -> CampaignConfig:
    try:
        return CampaignConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where=source, model=CampaignConfig)) from None


MAX_CONFIG_BYTES = 1 << 20
"""Largest config file read (1 MiB); designs and data belong in files the config names, not in it."""


def read_toml(path: str | Path, *, what: str = "config file", max_bytes: int = MAX_CONFIG_BYTES) -> dict[str, Any]:
    """The table in TOML file ``path``; a missing, oversized or malformed file is a :class:`ConfigError`."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} {str(p)!r} does not exist")
    size = p.stat().st_size
    if size > max_bytes:
        raise ConfigError(
            f"{what} {str(p)!r} has {size} bytes, more than the limit of {max_bytes} (max_bytes); "
            "put long lists of designs in a file the config names (e.g. a SMILES pool) instead"
        )
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {str(p)!r} is not UTF-8 text: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p} is not valid TOML: {exc}") from None


def load_config(path: str | Path) -> CampaignConfig:
    """Read and validate a TOML campaign file; every problem names the field and the bad value."""
    return parse_config(read_toml(path), source=str(path))
