"""Training a :class:`MaskedDiffusionLM` with PyTorch Lightning over a corpus file.

The corpus holds one design per line (blank lines and lines starting with ``#`` are skipped).
Designs are tokenised by the chosen tokenizer (SMILES, or a sequence space's alphabet), split into
training and validation sets with a seeded permutation, and batched with right padding.

What a run produces in ``output.dir``:

* ``config.json`` + ``model.safetensors`` (:meth:`MaskedDiffusionLM.save_pretrained`), with the
  tokenizer, the length histogram and ``_meta``: validation NELBO per token (nats), the perplexity
  bound ``exp(NELBO / token)``, steps, corpus path and sizes;
* ``checkpoints/last.ckpt``: Lightning's resumable state (optimizer, scheduler, step), loaded back
  with ``weights_only=True``; a rerun of the same config continues from it (``resume = true``);
* ``train_config.json``: the resolved configuration.

Multi-process training uses Lightning's DDP strategy (``devices = 2``, ``strategy = "ddp"``; on
CPU the process group uses gloo).

Example config (TOML)::

    [data]
    corpus = "smiles.txt"
    tokenizer = "smiles"

    [model]
    d_model = 128
    n_layers = 4

    [training]
    max_steps = 2000
    batch_size = 64

    [output]
    dir = "runs/mdlm"
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from torch import Tensor

from gendesign.core.config import read_toml
from gendesign.core.errors import ConfigError, GendesignError, InvalidDesignError, require
from gendesign.core.registry import format_validation_error
from gendesign.generators.mdlm.model import MaskedDiffusionLM
from gendesign.generators.tokenizers import ResidueTokenizer, SelfiesTokenizer, SmilesTokenizer, Tokenizer

if TYPE_CHECKING:
    from gendesign.core.plugins import PluginSystem


class DataOptions(BaseModel):
    """``[data]``: where the corpus is and how it is tokenised.

    ``tokenizer = "smiles"`` fits an atom-level SMILES vocabulary to the corpus, ``"selfies"`` a
    SELFIES vocabulary (SMILES lines in, SMILES samples out, every sample a valid molecule); ``"residue"``
    uses ``alphabet`` (and ``separator``), or the tokens of the sequence space ``space``.
    """

    model_config = ConfigDict(extra="forbid")

    corpus: str = Field(description="text file, one design per line, or 'package:NAME/path' inside an installed package")
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


def nelbo_step(
    model: MaskedDiffusionLM,
    optimizer: torch.optim.Optimizer,
    x0: Tensor,
    *,
    generator: torch.Generator | None = None,
    grad_clip: float | None = 1.0,
    estimator: str = "time",
) -> float:
    """One optimiser step on the per-token NELBO of clean ids ``x0`` `[B, L]`, without Lightning; the loss in nats/token.

    For small scripts and benchmarks; :func:`train` is the full loop (validation, checkpoints, DDP).
    """
    model.train()
    total, tokens = model.loss(x0, generator=generator, estimator=estimator)
    loss = total / tokens
    optimizer.zero_grad()
    loss.backward()
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return float(loss.detach())


def read_corpus(path: str | Path, limit: int | None = None) -> list[str]:
    """Designs of a corpus file: stripped non-empty lines that do not start with ``#``.

    A line ``SMILES<whitespace>name`` (``.smi`` style) keeps only its first field.
    """
    p = resolve_corpus_path(path)
    out = []
    with p.open() as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            out.append(line.split()[0])
            if limit is not None and len(out) >= limit:
                break
    if not out:
        raise ConfigError(f"corpus file {str(p)!r} holds no designs")
    return out


def build_space(spec: dict[str, Any], plugins: PluginSystem | None) -> Any:
    """A design space registered with ``plugins``, from ``{name=..., options={...}}``."""
    unknown = sorted(set(spec) - {"name", "options"})
    if "name" not in spec or unknown:
        raise ConfigError(f"space must be {{name=..., options={{...}}}}, got keys {sorted(spec)}")
    if plugins is None:
        raise ConfigError(
            f"space = {spec!r} names a registered design space but no plugin system was given; "
            "pass plugins= (e.g. gendesign.get_plugins()) or drop the space"
        )
    return plugins.spaces.build(spec["name"], spec.get("options", {}))


def build_tokenizer(options: DataOptions, designs: Sequence[str], space: Any | None) -> Tokenizer:
    """The tokenizer the data options ask for (SMILES vocabularies are fitted to ``designs``)."""
    if options.tokenizer == "smiles":
        return SmilesTokenizer.fit(designs)
    if options.tokenizer == "selfies":
        return SelfiesTokenizer.fit(designs)
    if options.alphabet is not None:
        return ResidueTokenizer(list(options.alphabet), options.separator)
    if space is None or not hasattr(space, "tokens"):
        raise ConfigError(f"tokenizer='residue' needs a space with tokens (a sequence space), got {type(space).__name__}")
    return ResidueTokenizer.from_space(space)


class CorpusData:
    """Tokenised corpus split into training and validation ids.

    Attributes:
        tokenizer: the tokenizer used.
        train_ids, val_ids: lists of id lists.
        max_length: model width in tokens.
        dropped: counts of designs dropped (``{"invalid": n, "too_long": m, "untokenizable": k}``).

    Args:
        options: the ``[data]`` table.
        plugins: the plugin system that builds ``options.space``; needed only when a space is named.
    """

    def __init__(self, options: DataOptions, plugins: PluginSystem | None = None) -> None:
        designs = read_corpus(options.corpus, options.limit)
        space = build_space(options.space, plugins) if options.space is not None else None
        self.dropped = {"invalid": 0, "too_long": 0, "untokenizable": 0}
        if options.validate_designs:
            kept = [d for d in designs if space.is_valid(d)]
            self.dropped["invalid"] = len(designs) - len(kept)
            designs = kept
        self.tokenizer = build_tokenizer(options, designs, space)
        rows = []
        kept_designs = []
        for line_no, d in enumerate(designs, start=1):
            try:
                rows.append(self.tokenizer.ids(d))
                kept_designs.append(d)
            except InvalidDesignError as exc:
                if not options.drop_untokenizable:
                    raise ConfigError(
                        f"{options.corpus}: design {line_no} ({d!r}) cannot be tokenised: {exc}; fix the line or set drop_untokenizable = true"
                    ) from None
                self.dropped["untokenizable"] += 1
        designs = kept_designs
        longest = max(len(r) for r in rows)
        self.max_length = options.max_length or longest
        if longest > self.max_length:
            if not options.drop_longer:
                worst = max(range(len(rows)), key=lambda i: len(rows[i]))
                raise ConfigError(
                    f"{options.corpus}: design {designs[worst]!r} has {len(rows[worst])} tokens > max_length={self.max_length}; "
                    "raise max_length or set drop_longer=true"
                )
            kept_rows = [r for r in rows if len(r) <= self.max_length]
            self.dropped["too_long"] = len(rows) - len(kept_rows)
            rows = kept_rows
        if any(len(r) == 0 for r in rows):
            raise ConfigError(f"{options.corpus}: a design has zero tokens")
        order = np.random.default_rng(options.seed).permutation(len(rows))
        n_val = int(round(options.val_fraction * len(rows)))
        if options.val_fraction > 0 and n_val == 0 and len(rows) > 1:
            n_val = 1
        self.val_ids = [rows[i] for i in order[:n_val]]
        self.train_ids = [rows[i] for i in order[n_val:]]
        if not self.train_ids:
            raise ConfigError(f"{options.corpus}: no training designs left after a validation split of {n_val}")
        self.num_designs = len(rows)


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int) -> Tensor:
    """Right-pad id lists to `[B, max length]`."""
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.as_tensor(r, dtype=torch.long)
    return out


def _lightning() -> Any:
    return require("lightning.pytorch", "molecules")


def make_lightning_module(model_config: dict[str, Any], training: dict[str, Any], length_counts: list[float] | None = None) -> Any:
    """A ``LightningModule`` that trains a :class:`MaskedDiffusionLM` built from ``model_config``.

    Optimiser: AdamW with linear warmup and cosine decay to ``min_lr_ratio * lr`` at ``max_steps``.
    Logged metrics: ``train/nelbo`` (nats per token), ``val/nelbo`` and ``val/ppl_bound`` =
    ``exp(val/nelbo)``, an upper bound on the per-token perplexity given the length.
    """
    pl = _lightning()
    from torchmetrics import MeanMetric

    class MDLMModule(pl.LightningModule):
        def __init__(self, model_config: dict[str, Any], training: dict[str, Any], length_counts: list[float] | None = None) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.model = MaskedDiffusionLM(**model_config)
            if length_counts is not None:
                self.model.length_counts.copy_(torch.as_tensor(length_counts, dtype=torch.float32))
            self.training_options = TrainingOptions(**training)
            self.val_nelbo = MeanMetric()

        def training_step(self, batch: Tensor, batch_idx: int) -> Tensor:
            total, tokens = self.model.loss(batch, estimator=self.training_options.estimator)
            loss = total / tokens
            self.log("train/nelbo", loss, prog_bar=True, batch_size=batch.shape[0])
            return loss

        def validation_step(self, batch: Tensor, batch_idx: int) -> None:
            gen = torch.Generator().manual_seed(10_000 + batch_idx)
            total, tokens = self.model.loss(batch, gen)
            self.val_nelbo.update(total / tokens, weight=tokens)

        def on_validation_epoch_end(self) -> None:
            value = self.val_nelbo.compute()
            self.log("val/nelbo", value, prog_bar=True)
            self.log("val/ppl_bound", torch.exp(value))
            self.val_nelbo.reset()

        def configure_optimizers(self) -> Any:
            opts = self.training_options
            decay, no_decay = [], []
            for name, p in self.model.named_parameters():
                (no_decay if p.ndim < 2 or "emb" in name or name.endswith("pos") else decay).append(p)
            optimizer = torch.optim.AdamW(
                [{"params": decay, "weight_decay": opts.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                lr=opts.lr,
                betas=(0.9, 0.98),
            )

            def factor(step: int) -> float:
                if step < opts.warmup_steps:
                    return (step + 1) / opts.warmup_steps
                progress = min(1.0, (step - opts.warmup_steps) / max(1, opts.max_steps - opts.warmup_steps))
                return opts.min_lr_ratio + (1 - opts.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    return MDLMModule(model_config, training, length_counts)


def make_datamodule(data: CorpusData, batch_size: int, pad_id: int, num_workers: int = 0, seed: int = 0) -> Any:
    """A ``LightningDataModule`` over the tokenised corpus (shuffled training batches, padded)."""
    pl = _lightning()
    from torch.utils.data import DataLoader

    def collate(rows: list[list[int]]) -> Tensor:
        return pad_batch(rows, pad_id)

    class CorpusDataModule(pl.LightningDataModule):
        def train_dataloader(self) -> DataLoader:
            gen = torch.Generator().manual_seed(seed)
            return DataLoader(data.train_ids, batch_size=batch_size, shuffle=True, collate_fn=collate, num_workers=num_workers, generator=gen, drop_last=len(data.train_ids) > batch_size)

        def val_dataloader(self) -> DataLoader:
            return DataLoader(data.val_ids, batch_size=batch_size, shuffle=False, collate_fn=collate, num_workers=num_workers)

    return CorpusDataModule()


def train(config: str | Path | dict[str, Any] | TrainConfig, *, plugins: PluginSystem | None = None) -> MaskedDiffusionLM:
    """Train (or resume training) a masked diffusion model and save it with ``save_pretrained``.

    Args:
        config: a TOML path, a dict, or a :class:`TrainConfig`.
        plugins: the plugin system that builds ``data.space``; needed only when the config names one.

    Returns:
        The trained model (in every process under DDP; only rank 0 writes files).
    """
    pl = _lightning()
    cfg = load_train_config(config)
    data = CorpusData(cfg.data, plugins)
    tok = data.tokenizer
    model_config = {
        "vocab_size": tok.vocab_size,
        "max_length": data.max_length,
        **cfg.model.model_dump(),
        "tokenizer": tok.to_config(),
    }
    lengths = torch.tensor([len(r) for r in data.train_ids])
    counts = torch.bincount(lengths, minlength=data.max_length + 1).float().tolist()
    pl.seed_everything(cfg.training.seed, workers=True, verbose=False)
    module = make_lightning_module(model_config, cfg.training.model_dump(), counts)
    out = Path(cfg.output.dir)
    ckpt_dir = out / "checkpoints"
    from lightning.pytorch.callbacks import ModelCheckpoint

    checkpoint = ModelCheckpoint(dirpath=str(ckpt_dir), save_last=True, save_top_k=0, every_n_train_steps=cfg.training.checkpoint_every_steps)
    strategy: Any = cfg.training.strategy
    if strategy in ("ddp", "ddp_spawn"):
        from lightning.pytorch.strategies import DDPStrategy

        backend = "gloo" if cfg.training.accelerator == "cpu" else None
        strategy = DDPStrategy(start_method="spawn" if strategy == "ddp_spawn" else "popen", process_group_backend=backend)
    has_val = len(data.val_ids) > 0
    trainer = pl.Trainer(
        accelerator=cfg.training.accelerator,
        devices=cfg.training.devices,
        strategy=strategy,
        precision=cfg.training.precision,
        max_steps=cfg.training.max_steps,
        max_time={"minutes": cfg.training.max_minutes} if cfg.training.max_minutes else None,
        gradient_clip_val=cfg.training.grad_clip,
        val_check_interval=min(cfg.training.val_every_steps, max(1, len(data.train_ids) // cfg.training.batch_size)) if has_val else None,
        check_val_every_n_epoch=None if has_val else 1,
        limit_val_batches=1.0 if has_val else 0,
        log_every_n_steps=cfg.training.log_every_steps,
        callbacks=[checkpoint],
        default_root_dir=str(out),
        enable_progress_bar=cfg.training.progress,
        enable_model_summary=False,
        logger=pl.loggers.CSVLogger(str(out), name="logs"),
        num_sanity_val_steps=0,
    )
    last = ckpt_dir / "last.ckpt"
    ckpt_path = str(last) if cfg.output.resume and last.is_file() else None
    datamodule = make_datamodule(data, cfg.training.batch_size, tok.pad_id, cfg.training.num_workers, cfg.training.seed)
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    metrics: dict[str, float] = {}
    if has_val:
        results = trainer.validate(module, datamodule=datamodule, verbose=False, weights_only=True)
        if results:
            metrics = {k: float(v) for k, v in results[0].items()}
    if trainer.global_step % cfg.training.checkpoint_every_steps:
        trainer.save_checkpoint(str(last), weights_only=False)
    trainer.strategy.barrier()
    if trainer.is_global_zero:
        model = module.model.cpu().eval()
        meta = {
            "global_step": int(trainer.global_step),
            "val_nelbo_per_token": metrics.get("val/nelbo"),
            "val_ppl_bound": metrics.get("val/ppl_bound"),
            "corpus": str(cfg.data.corpus),
            "num_train": len(data.train_ids),
            "num_val": len(data.val_ids),
            "dropped": data.dropped,
            "resumed_from": ckpt_path,
        }
        model.save_pretrained(out, extra=meta)
        (out / "train_config.json").write_text(json.dumps(cfg.model_dump(), indent=2))
    trainer.strategy.barrier()
    return module.model.cpu().eval()


def load_model(directory: str | Path, device: str | torch.device = "cpu") -> MaskedDiffusionLM:
    """:meth:`MaskedDiffusionLM.from_pretrained` with a clear error when the directory is not a trained model."""
    path = Path(directory)
    if not (path / "config.json").is_file():
        raise GendesignError(f"{path} holds no trained MDLM (config.json missing); train one with gendesign train CONFIG")
    return MaskedDiffusionLM.from_pretrained(path, device=device).eval()
