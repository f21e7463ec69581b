"""The training configuration of :func:`~gendesign.generators.mdlm.training.train`: ``[data]``, ``[model]``, ``[training]``, ``[output]``, ``[sample]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gendesign.core.config import read_toml
from gendesign.core.errors import ConfigError
from gendesign.core.registry import format_validation_error


class DataOptions(BaseModel):
    """``[data]``: where the corpus is and how it is tokenised.

    ``tokenizer = "smiles"`` fits an atom-level SMILES vocabulary to the corpus, ``"selfies"`` a
    SELFIES vocabulary (SMILES lines in, SMILES samples out, every sample a valid molecule); ``"residue"``
    uses ``alphabet`` (and ``separator``), or the tokens of the sequence space ``space``.
    """

    model_config = ConfigDict(extra="forbid")

    corpus: str = Field(description="text file, one design per line (first field; gzip when the name ends in .gz), or 'package:NAME/path' inside an installed package")
    header: bool = Field(False, description="skip the corpus file's first line (a CSV header such as MOSES's 'SMILES')")
    tokenizer: Literal["smiles", "selfies", "residue"] = "smiles"
    alphabet: str | list[str] | None = Field(None, description="tokens for tokenizer='residue'")
    separator: str = ""
    space: dict[str, Any] | None = Field(None, description="a registered design space {name=..., options={...}} whose tokens (residue) or validity the data must pass")
    validate_designs: bool = Field(False, description="drop lines that the space rejects (needs space)")
    max_length: int | None = Field(None, gt=0, description="longest design in tokens; default: longest in the corpus")
    drop_longer: bool = Field(False, description="drop designs longer than max_length instead of failing")
    drop_untokenizable: bool = Field(False, description="drop designs the tokenizer cannot represent (e.g. hypervalent atoms in SELFIES) instead of failing")
    limit: int | None = Field(None, gt=0, description="use only the first N designs")
    val_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> DataOptions:
        if self.tokenizer == "residue" and self.alphabet is None and self.space is None:
            raise ValueError("tokenizer='residue' needs alphabet=... or space={name=..., options=...}")
        if self.validate_designs and self.space is None:
            raise ValueError("validate_designs=true needs a space")
        return self


class ModelOptions(BaseModel):
    """``[model]``: :class:`MaskedDiffusionLM` hyper-parameters (vocabulary and length come from the data)."""

    model_config = ConfigDict(extra="forbid")

    d_model: int = Field(128, gt=0)
    n_layers: int = Field(4, gt=0)
    n_heads: int = Field(4, gt=0)
    d_ff: int | None = Field(None, gt=0)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    time_conditioning: Literal["none", "adaln"] = "none"
    eps: float = Field(1e-3, ge=0.0, lt=1.0)
    flagged_tokens: list[int | str] = Field(default_factory=list)
    flag_power: float = Field(3.0, gt=0.0)
    exact_state_dependent: bool = True


class TrainingOptions(BaseModel):
    """``[training]``: optimisation and Lightning trainer settings."""

    model_config = ConfigDict(extra="forbid")

    max_steps: int = Field(1000, gt=0)
    max_minutes: float | None = Field(None, gt=0, description="wall-clock limit; training stops cleanly when reached")
    batch_size: int = Field(64, gt=0)
    lr: float = Field(3e-4, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    warmup_steps: int = Field(100, ge=0)
    min_lr_ratio: float = Field(0.1, ge=0.0, le=1.0, description="cosine decay floor as a fraction of lr")
    grad_clip: float | None = Field(1.0, gt=0)
    estimator: Literal["time", "count"] = Field("time", description="training estimator of the NELBO (see MaskedDiffusionLM.loss); validation always uses 'time'")
    val_every_steps: int = Field(200, gt=0)
    checkpoint_every_steps: int = Field(200, gt=0)
    accelerator: Literal["cpu", "gpu", "auto"] = "cpu"
    devices: int = Field(1, gt=0)
    strategy: Literal["auto", "ddp", "ddp_spawn"] = "auto"
    precision: Literal["32-true", "bf16-mixed", "16-mixed", "64-true"] = "32-true"
    num_workers: int = Field(0, ge=0)
    seed: int = 0
    log_every_steps: int = Field(50, gt=0)
    progress: bool = False


class OutputOptions(BaseModel):
    """``[output]``: where the trained model and checkpoints go."""

    model_config = ConfigDict(extra="forbid")

    dir: str
    resume: bool = Field(True, description="continue from dir/checkpoints/last.ckpt when it exists")


class SampleOptions(BaseModel):
    """``[sample]``: defaults for ``gendesign sample CONFIG``."""

    model_config = ConfigDict(extra="forbid")

    num: int = Field(100, gt=0)
    steps: int | None = Field(None, gt=0)
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    length: int | None = Field(None, gt=0)
    seed: int = 0
    batch_size: int = Field(256, gt=0)
    out: str | None = None


class TrainConfig(BaseModel):
    """A whole ``gendesign train`` file: ``[data]``, ``[model]``, ``[training]``, ``[output]``, optional ``[sample]``."""

    model_config = ConfigDict(extra="forbid")

    generator: Literal["mdlm"] = Field("mdlm", description="the generator gendesign train trains (the default when the key is absent)")
    data: DataOptions
    model: ModelOptions = Field(default_factory=ModelOptions)
    training: TrainingOptions = Field(default_factory=TrainingOptions)
    output: OutputOptions
    sample: SampleOptions = Field(default_factory=SampleOptions)


def load_train_config(source: str | Path | dict[str, Any] | TrainConfig) -> TrainConfig:
    """Validate a config given as a TOML path, a dict or a :class:`TrainConfig`.

    Relative ``data.corpus`` and ``output.dir`` in a TOML file are resolved against the current
    directory (as for any command-line path).
    """
    if isinstance(source, TrainConfig):
        return source
    where = "train config"
    if isinstance(source, (str, Path)):
        data = read_toml(source, what="train config")
        where = str(source)
    else:
        data = source
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where=where, model=TrainConfig)) from None


def resolve_corpus_path(path: str | Path) -> Path:
    """A corpus path; ``"package:NAME/inner/path"`` names a file inside an installed Python package.

    Example: ``"package:rdkit/Data/NCI/first_5K.smi"`` is RDKit's packaged NCI subset (BSD licence).
    """
    text = str(path)
    if text.startswith("package:"):
        import importlib.util

        package, _, inner = text[len("package:") :].partition("/")
        spec = importlib.util.find_spec(package) if package else None
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"corpus {text!r}: package {package!r} is not installed")
        p = Path(next(iter(spec.submodule_search_locations))) / inner
    else:
        p = Path(text)
    if not p.is_file():
        raise ConfigError(f"corpus file {str(p)!r} does not exist")
    return p
