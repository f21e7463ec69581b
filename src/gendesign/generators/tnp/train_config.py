"""The training configuration of a transformer neural process: ``generator = "tnp"``, ``[prior]``, ``[model]``, ``[training]``, ``[output]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gendesign.core.config import read_toml
from gendesign.core.errors import ConfigError
from gendesign.core.registry import format_validation_error
from gendesign.generators.tnp.priors import PriorSpec


class ModelOptions(BaseModel):
    """``[model]``: :class:`~gendesign.generators.tnp.model.TransformerNeuralProcess` sizes."""

    model_config = ConfigDict(extra="forbid")

    max_dim: int = Field(8, gt=0, description="widest input the model reads")
    max_context: int = Field(64, gt=0, description="most history points per training task")
    num_buckets: int = Field(100, ge=2)
    d_model: int = Field(64, gt=0)
    n_layers: int = Field(4, gt=0)
    n_heads: int = Field(4, gt=0)
    d_ff: int = Field(128, gt=0)


class TrainingOptions(BaseModel):
    """``[training]``: the task sampler, the optimiser and Lightning's trainer.

    Each step draws ``batch_size`` functions from the prior at one dimension ``d`` (uniform in
    ``[min_dim, model.max_dim]``), one history size ``N`` (uniform in ``[min_context,
    model.max_context]``) and ``num_targets`` target points; the loss is the mean NLL of the
    targets' standardised values under the predicted bar distributions.
    """

    model_config = ConfigDict(extra="forbid")

    max_steps: int = Field(1000, gt=0)
    max_minutes: float | None = Field(None, gt=0, description="wall-clock limit; training stops cleanly when reached")
    batch_size: int = Field(32, gt=0, description="functions per step")
    num_targets: int = Field(32, gt=0, description="target points per function")
    min_dim: int = Field(1, gt=0)
    min_context: int = Field(1, ge=0)
    lr: float = Field(3e-4, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    warmup_steps: int = Field(50, ge=0)
    min_lr_ratio: float = Field(0.1, ge=0.0, le=1.0, description="cosine decay floor as a fraction of lr")
    grad_clip: float | None = Field(1.0, gt=0)
    border_batches: int = Field(50, gt=0, description="prior batches whose standardised targets place the bucket borders")
    val_batches: int = Field(20, ge=0, description="held-out prior batches (another seed) for the reported validation NLL")
    checkpoint_every_steps: int = Field(200, gt=0)
    num_workers: int = Field(0, ge=0, description="processes drawing prior batches ahead of the optimiser (the prior is sampled on CPU)")
    log_every_steps: int = Field(50, gt=0)
    seed: int = 0
    accelerator: Literal["cpu", "gpu", "auto"] = "cpu"
    devices: int | str = 1
    strategy: str = "auto"
    precision: str = "32-true"
    progress: bool = False


class OutputOptions(BaseModel):
    """``[output]``: where the model, checkpoints and logs go."""

    model_config = ConfigDict(extra="forbid")

    dir: str
    resume: bool = Field(True, description="continue from dir/checkpoints/last.ckpt when it exists")


class TrainConfig(BaseModel):
    """A ``gendesign train`` config for the ``tnp`` generator."""

    model_config = ConfigDict(extra="forbid")

    generator: Literal["tnp", "pfn"] = "tnp"
    prior: PriorSpec = Field(default_factory=PriorSpec)
    model: ModelOptions = Field(default_factory=ModelOptions)
    training: TrainingOptions = Field(default_factory=TrainingOptions)
    output: OutputOptions

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.training.min_dim > self.model.max_dim:
            raise ValueError(f"training.min_dim={self.training.min_dim} exceeds model.max_dim={self.model.max_dim}")
        if self.training.min_context > self.model.max_context:
            raise ValueError(f"training.min_context={self.training.min_context} exceeds model.max_context={self.model.max_context}")
        return self


def load_train_config(config: str | Path | dict[str, Any] | TrainConfig) -> TrainConfig:
    """A validated :class:`TrainConfig` from a TOML path, a dict or a config (a relative ``output.dir`` is against the current directory, as for MDLM)."""
    if isinstance(config, TrainConfig):
        return config
    where = "tnp train config"
    if isinstance(config, (str, Path)):
        data = read_toml(config, what="train config")
        where = str(config)
    else:
        data = config
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where=where, model=TrainConfig)) from None
