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


TransformTables = dict[str, Any] | list[dict[str, Any]]
"""One transform table ``{ kind = "sigmoid", low = 2, high = 6 }`` or a list applied left to right."""


class ScoringComponent(StrictOptions):
    """One ``[[scoring.components]]`` entry: a column, its transform and its weight.

    Attributes:
        column: a column of the stacked ``[[objectives]]``.
        transform: desirability or affine transform table(s); omitted: the raw value (maximise view) is used.
        weight: ``>= 0``; weights are normalised to sum 1.
    """

    column: str
    transform: TransformTables | None = None
    weight: float = Field(1.0, ge=0)


class ScoringFilter(StrictOptions):
    """One ``[[scoring.filters]]`` entry: the score is 0 unless ``low <= column <= high`` (raw value)."""

    column: str
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _range(self) -> ScoringFilter:
        if self.low is None and self.high is None:
            raise ValueError(f"filter on {self.column!r} needs low, high or both (the score is kept when low <= value <= high)")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"filter on {self.column!r}: low = {self.low} is above high = {self.high}; swap them")
        return self


class ScoringPenalty(StrictOptions):
    """One ``[[scoring.penalties]]`` entry: the score is multiplied by ``transform(column)`` in ``[0, 1]``."""

    column: str
    transform: TransformTables


class ScoringTable(StrictOptions):
    """``[scoring]``: REINVENT-style aggregation of transformed columns (see ``docs/molecules.md`` and ``docs/objectives.md``).

    Attributes:
        aggregate: ``geometric_mean`` or ``arithmetic_mean`` of desirabilities (REINVENT 4),
            ``weighted_sum`` or ``chebyshev`` of canonical values, or ``pareto``: no aggregation,
            every component stays its own objective column (filters and penalties multiply each).
        name: the score column's name.
        components: the columns that make the score, at least one.
        filters: zeroing constraints on raw values.
        penalties: multiplicative penalties.
        rho: Chebyshev augmentation.
    """

    aggregate: Literal["geometric_mean", "arithmetic_mean", "weighted_sum", "chebyshev", "pareto"] = "geometric_mean"
    name: str = "score"
    components: list[ScoringComponent] = Field(min_length=1)
    filters: list[ScoringFilter] = Field(default_factory=list)
    penalties: list[ScoringPenalty] = Field(default_factory=list)
    rho: float = Field(0.05, ge=0)


class DiversityTable(StrictOptions):
    """``[diversity]``: a diversity filter between the objective and the strategy (REINVENT's memory buckets).

    Attributes:
        key: a registered memory key (``gendesign list memory_keys``): ``identical`` for any space,
            ``murcko`` or ``topological`` scaffolds for molecules.
        bucket_size: designs per bucket told unchanged; later ones are penalised.
        penalty: ``binary`` (0 from the first design over the bucket), ``linear`` or ``exponential``.
        column: the column that must reach ``min_score`` for a design to enter the memory
            (default: the first objective column).
        min_score: designs below it neither fill buckets nor get penalised.
        options: options of the memory key.
    """

    key: str = "identical"
    bucket_size: int = Field(25, gt=0, le=10**9)
    penalty: Literal["binary", "linear", "exponential"] = "binary"
    column: str | None = None
    min_score: float | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class ReportPart(Part):
    """``[[reports]]``: a report extension by registered name with its options (``gendesign list reports``)."""


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
    executor: str = Field("inline", description="a registered executor: 'inline' (this process), 'process' (a process pool), 'ray' (a Ray cluster)")
    executor_options: dict[str, Any] = Field(default_factory=dict, description="the executor's own options, e.g. Ray's address or num_gpus")
    workers: int = Field(2, gt=0, le=1024, description="worker processes for executor = 'process'; tasks or actors in flight for 'ray'")
    mode: Literal["sync", "async", "lab"] = Field(
        "sync",
        description="sync: rounds of batch_size; async: max_in_flight designs always running; lab: designs leave with `gendesign ask` and return with `gendesign tell`",
    )
    max_in_flight: int | None = Field(None, gt=0, le=10**7, description="designs scored at once in async mode (default: workers)")
    timeout: float | None = Field(
        None, gt=0, description="seconds one submission may run in async mode before it is cancelled and its designs recorded as failed"
    )
    chunk_size: int | None = Field(
        None, gt=0, description="score each batch in chunks of this many designs, each written to the ledger as it finishes (default: one chunk per worker)"
    )
    ledger: str | None = Field(None, description="a ledger file shared between runs as a cache (default: run_dir/ledger.sqlite)")


class CampaignConfig(BaseModel):
    """The whole campaign: ``[campaign]``, ``[space]``, ``[[objectives]]``, ``[scoring]``, ``[diversity]``, ``[[reports]]``, ``[strategy]`` and ``[[evaluate]]``."""

    model_config = ConfigDict(extra="forbid")

    campaign: CampaignSettings = Field(default_factory=CampaignSettings)
    space: Part | None = None
    objectives: list[ObjectivePart] = Field(min_length=1)
    scoring: ScoringTable | None = None
    diversity: DiversityTable | None = None
    reports: list[ReportPart] = Field(default_factory=list)
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
