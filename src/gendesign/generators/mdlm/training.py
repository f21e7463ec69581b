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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gendesign.core.errors import GendesignError
from gendesign.generators.mdlm.corpus import CorpusData, build_space, build_tokenizer, pad_batch, read_corpus
from gendesign.generators.mdlm.lit_module import make_datamodule, make_lightning_module, nelbo_step, require_lightning
from gendesign.generators.mdlm.model import MaskedDiffusionLM
from gendesign.generators.mdlm.train_config import (
    DataOptions,
    ModelOptions,
    OutputOptions,
    SampleOptions,
    TrainConfig,
    TrainingOptions,
    load_train_config,
    resolve_corpus_path,
)

if TYPE_CHECKING:
    from gendesign.core.plugins import PluginSystem


def train(config: str | Path | dict[str, Any] | TrainConfig, *, plugins: PluginSystem | None = None) -> MaskedDiffusionLM:
    """Train (or resume training) a masked diffusion model and save it with ``save_pretrained``.

    Args:
        config: a TOML path, a dict, or a :class:`TrainConfig`.
        plugins: the plugin system that builds ``data.space``; needed only when the config names one.

    Returns:
        The trained model (in every process under DDP; only rank 0 writes files).
    """
    pl = require_lightning()
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


__all__ = [
    "CorpusData",
    "DataOptions",
    "ModelOptions",
    "OutputOptions",
    "SampleOptions",
    "TrainConfig",
    "TrainingOptions",
    "build_space",
    "build_tokenizer",
    "load_model",
    "load_train_config",
    "make_datamodule",
    "make_lightning_module",
    "nelbo_step",
    "pad_batch",
    "read_corpus",
    "resolve_corpus_path",
    "train",
]
