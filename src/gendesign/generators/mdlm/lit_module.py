"""The Lightning pieces of MDLM training (module, data module) and a plain NELBO step for scripts."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from gendesign.core.errors import require
from gendesign.generators.mdlm.corpus import CorpusData, pad_batch
from gendesign.generators.mdlm.model import MaskedDiffusionLM
from gendesign.generators.mdlm.train_config import TrainingOptions


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


def require_lightning() -> Any:
    return require("lightning.pytorch", "molecules")


def make_lightning_module(model_config: dict[str, Any], training: dict[str, Any], length_counts: list[float] | None = None) -> Any:
    """A ``LightningModule`` that trains a :class:`MaskedDiffusionLM` built from ``model_config``.

    Optimiser: AdamW with linear warmup and cosine decay to ``min_lr_ratio * lr`` at ``max_steps``.
    Logged metrics: ``train/nelbo`` (nats per token), ``val/nelbo`` and ``val/ppl_bound`` =
    ``exp(val/nelbo)``, an upper bound on the per-token perplexity given the length.
    """
    pl = require_lightning()
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
    pl = require_lightning()
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
