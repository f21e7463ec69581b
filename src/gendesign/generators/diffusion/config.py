"""The ``gendesign finetune`` configuration: a TOML file validated by pydantic (``extra="forbid"``).

Example (``examples/finetune_draft.toml``)::

    [run]
    output_dir = "runs/draft"
    steps = 40
    batch_size = 8

    [model.tiny]                 # or: [model] path = "/local/diffusers/pipeline"
    kind = "pixel"
    prompts = ["a cat", "a dog"]

    [sampler]
    num_steps = 8
    eta = 0.0

    [training]
    algorithm = "draft"          # auto | ddpo | draft | alignprop | instructvideo | ctrl_u
    options = { k = 1 }

    [reward]
    name = "brightness"

    [prompts]
    train = ["a cat", "a dog"]
    heldout = ["a dog"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gendesign.core.config import read_toml
from gendesign.core.errors import ConfigError
from gendesign.core.registry import format_validation_error
from gendesign.generators.diffusion.backbone import TinyBackboneConfig
from gendesign.generators.diffusion.data import DataSettings
from gendesign.generators.diffusion.difficulty import DifficultySettings
from gendesign.generators.diffusion.lora import LoraSettings
from gendesign.generators.diffusion.sampling import SamplerSettings

AlgorithmName = Literal["auto", "ddpo", "draft", "alignprop", "instructvideo", "ctrl_u"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunSettings(_Strict):
    """Attributes:
    output_dir: run directory (checkpoints, logs, samples, the final adapter).
    seed: seed of every random draw (each process adds its rank).
    steps: outer iterations.
    batch_size: samples (or training items) per iteration and process.
    eval_every: iterations between held-out evaluations (0: only at the end).
    save_every: iterations between resumable checkpoints (0: only at the end).
    device: ``cpu``, ``cuda`` or ``auto`` (with several processes, accelerate assigns the GPU).
    num_threads: torch CPU threads per process (unset: torch's default).
    """

    output_dir: str = "runs/finetune"
    seed: int = 0
    steps: int = Field(20, ge=1)
    batch_size: int = Field(8, ge=1)
    eval_every: int = Field(5, ge=0)
    save_every: int = Field(10, ge=0)
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    num_threads: int | None = Field(None, ge=1)


class ModelSettings(_Strict):
    """Either ``path`` (a local diffusers pipeline folder) or ``tiny`` (built from config)."""

    path: str | None = None
    tiny: TinyBackboneConfig | None = None

    @model_validator(mode="after")
    def _one(self) -> ModelSettings:
        if (self.path is None) == (self.tiny is None):
            raise ValueError("give exactly one of model.path (a local diffusers folder) or [model.tiny]")
        return self


class TrainingSettings(_Strict):
    """Attributes:
    algorithm: ``auto`` picks DDPO for black-box rewards and a backprop method for differentiable ones.
    options: the algorithm's own options table.
    learning_rate: AdamW learning rate.
    weight_decay: AdamW weight decay.
    use_lora: train LoRA adapters (else the full weights of ``train_module``).
    lora: LoRA settings.
    train_module: ``unet`` or ``controlnet``.
    max_grad_norm: gradient clipping (0 disables it).
    gradient_checkpointing: checkpoint the UNet calls that carry gradients.
    kl_weight: ``β`` of the ε-space KL penalty to the frozen base model.
    difficulty: balanced online difficulty filtering of the training prompts (unset: uniform draws).
    """

    algorithm: AlgorithmName = "auto"
    options: dict[str, Any] = Field(default_factory=dict)
    learning_rate: float = Field(3e-4, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    use_lora: bool = True
    lora: LoraSettings = Field(default_factory=LoraSettings)
    train_module: Literal["unet", "controlnet"] = "unet"
    max_grad_norm: float = Field(1.0, ge=0)
    gradient_checkpointing: bool = True
    kl_weight: float = Field(0.0, ge=0)
    difficulty: DifficultySettings | None = None


class RewardSettings(_Strict):
    """A registered objective by name; ``column`` picks the optimised column (name or index)."""

    name: str
    options: dict[str, Any] = Field(default_factory=dict)
    column: str | int = 0


class PromptSettings(_Strict):
    """Attributes:
    train: prompts drawn uniformly (with replacement) for training batches.
    heldout: prompts used only for evaluation (the over-optimisation guard).
    samples_per_prompt: held-out samples per prompt at each evaluation.
    """

    train: list[str] = Field(min_length=1)
    heldout: list[str] = Field(default_factory=list)
    samples_per_prompt: int = Field(2, ge=1)


class GuardSettings(_Strict):
    """Early stopping on the held-out reward.

    Attributes:
        patience: stop after this many evaluations in a row whose held-out reward is below the best
            by more than ``tolerance`` (0 disables early stopping).
        tolerance: allowed drop below the best held-out reward.
    """

    patience: int = Field(0, ge=0)
    tolerance: float = Field(0.0, ge=0)


class VideoSettings(_Strict):
    """How image rewards are lifted to clips (InstructVideo's SegVR and TAR)."""

    num_segments: int = Field(4, ge=1)
    tar_lambda: float = Field(1.0, ge=0)
    normalize: bool = False
    fps: int = Field(8, ge=1)


class FinetuneConfig(_Strict):
    """The whole ``gendesign finetune`` file."""

    run: RunSettings = Field(default_factory=RunSettings)
    model: ModelSettings
    sampler: SamplerSettings = Field(default_factory=SamplerSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    reward: RewardSettings
    tracked_reward: RewardSettings | None = None
    prompts: PromptSettings
    guards: GuardSettings = Field(default_factory=GuardSettings)
    data: DataSettings | None = None
    video: VideoSettings = Field(default_factory=VideoSettings)

    @model_validator(mode="after")
    def _groups_fit(self) -> FinetuneConfig:
        d = self.training.difficulty
        if d is not None and self.run.batch_size % d.group_size:
            raise ValueError(
                f"run.batch_size={self.run.batch_size} is not a multiple of training.difficulty.group_size={d.group_size}; "
                "the batch is stacked from whole prompt groups"
            )
        return self


def parse_finetune_config(data: dict[str, Any], *, source: str = "config") -> FinetuneConfig:
    """Validate a config mapping; every problem names the field, the bad value and the choices."""
    try:
        return FinetuneConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where=source)) from None


def load_finetune_config(path: str | Path) -> FinetuneConfig:
    """Read and validate a ``gendesign finetune`` TOML file."""
    return parse_finetune_config(read_toml(path), source=str(path))
