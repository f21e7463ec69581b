"""Prior-fitting a :class:`TransformerNeuralProcess` with PyTorch Lightning (``gendesign train`` with ``generator = "tnp"``).

The loss is the mean negative log-likelihood of held-out targets under the predicted bar
distributions, over tasks drawn from the prior with random history/target splits
(:mod:`gendesign.generators.tnp.tasks`); minimising it fits the posterior predictive of the prior
(Müller et al. 2022, Eq. 2). Before the first step the bucket borders are set to quantiles of
standardised prior targets (:func:`~gendesign.generators.tnp.bar_distribution.borders_from_samples`).

What a run writes to ``output.dir``:

* ``config.json`` + ``model.safetensors`` (:meth:`TransformerNeuralProcess.save_pretrained`); the
  config records the prior's settings, ``_meta`` the validation NLL, steps and wall time;
* ``checkpoints/last.ckpt``: Lightning's resumable state, loaded back with ``weights_only=True``;
  rerunning the same config continues from it (``resume = true``) and reproduces an uninterrupted
  run exactly, because the batch of step ``s`` depends only on ``(seed, s)``;
* ``train_config.json`` (the resolved config) and ``logs/`` (CSV: ``train/nll`` per logged step).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gendesign.core.errors import require
from gendesign.generators.tnp.bar_distribution import BarDistribution, borders_from_samples
from gendesign.generators.tnp.model import TransformerNeuralProcess
from gendesign.generators.tnp.priors import FunctionPrior, build_prior
from gendesign.generators.tnp.tasks import BORDER_STREAM, TRAIN_STREAM, VALIDATION_STREAM, Task, TaskSampler
from gendesign.generators.tnp.train_config import TrainConfig, load_train_config


def task_sampler(cfg: TrainConfig, prior: FunctionPrior) -> TaskSampler:
    t, m = cfg.training, cfg.model
    return TaskSampler(prior, batch_size=t.batch_size, num_targets=t.num_targets, min_dim=t.min_dim, max_dim=m.max_dim, min_context=t.min_context, max_context=m.max_context, seed=t.seed)


def task_nll(model: TransformerNeuralProcess, task: Task) -> Tensor:
    """`[b, M]` NLL of the standardised targets (targets outside the borders are clamped to them)."""
    logits = model(task.x_history, task.y_history, task.x_target)
    return BarDistribution(model.borders).nll(logits, task.y_target)


def prior_borders(sampler: TaskSampler, num_buckets: int, batches: int) -> Tensor:
    """Borders at quantiles of standardised targets of ``batches`` tasks from the border stream."""
    return borders_from_samples(torch.cat([sampler.task(BORDER_STREAM, i).y_target.flatten() for i in range(batches)]), num_buckets)


@torch.no_grad()
def validation_nll(model: TransformerNeuralProcess, sampler: TaskSampler, batches: int) -> float:
    """Mean standardised-target NLL over the first ``batches`` tasks of the validation stream."""
    was_training = model.training
    model.eval()
    total = sum(float(task_nll(model, sampler.task(VALIDATION_STREAM, i)).mean()) for i in range(batches))
    model.train(was_training)
    return total / max(batches, 1)


def make_lightning_module(cfg: TrainConfig, prior: FunctionPrior) -> Any:
    """A ``LightningModule`` that trains a fresh :class:`TransformerNeuralProcess` on ``prior``.

    Optimiser: AdamW, linear warmup then cosine decay to ``min_lr_ratio * lr`` at ``max_steps``.
    """
    pl = require("lightning.pytorch", "bo")

    class TNPModule(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.model = TransformerNeuralProcess(**cfg.model.model_dump(), prior=prior.settings())
            self.sampler = task_sampler(cfg, prior)

        def training_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
            loss = task_nll(self.model, Task(*batch)).mean()
            self.log("train/nll", loss, prog_bar=True, batch_size=cfg.training.batch_size)
            return loss

        def train_dataloader(self) -> Any:
            # Called after a checkpoint has been restored, so the stream continues at the resumed step.
            start = int(self.trainer.global_step)
            return torch.utils.data.DataLoader(
                _Tasks(self.sampler, start, cfg.training.max_steps - start),
                batch_size=None,
                shuffle=False,
                num_workers=cfg.training.num_workers,
                worker_init_fn=_one_thread,
                persistent_workers=False,
            )

        def configure_optimizers(self) -> Any:
            t = cfg.training
            opt = torch.optim.AdamW(self.model.parameters(), lr=t.lr, weight_decay=t.weight_decay)

            def factor(step: int) -> float:
                if step < t.warmup_steps:
                    return (step + 1) / (t.warmup_steps + 1)
                progress = min(1.0, (step - t.warmup_steps) / max(1, t.max_steps - t.warmup_steps))
                return t.min_lr_ratio + (1 - t.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

            sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    return TNPModule()


class _Tasks(torch.utils.data.Dataset):
    """Training tasks ``start, start + 1, ...`` of the sampler's training stream (item ``i`` is the batch of step ``start + i``)."""

    def __init__(self, sampler: TaskSampler, start: int, count: int) -> None:
        self.sampler = sampler
        self.start = start
        self.count = max(count, 1)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> tuple[Tensor, ...]:
        task = self.sampler.task(TRAIN_STREAM, self.start + i)
        return task.x_history, task.y_history, task.x_target, task.y_target


def _one_thread(_: int) -> None:
    torch.set_num_threads(1)


def train(config: str | Path | dict[str, Any] | TrainConfig, *, callbacks: Sequence[Any] = ()) -> TransformerNeuralProcess:
    """Train (or resume training) a neural process on its prior and save it with ``save_pretrained``.

    Args:
        config: a TOML path, a dict or a :class:`TrainConfig`.
        callbacks: extra Lightning callbacks.

    Returns:
        The trained model, in eval mode.
    """
    pl = require("lightning.pytorch", "bo")
    from lightning.pytorch.callbacks import ModelCheckpoint

    cfg = load_train_config(config)
    t = cfg.training
    prior = build_prior(cfg.prior)
    pl.seed_everything(t.seed, workers=True, verbose=False)
    module = make_lightning_module(cfg, prior)
    start = time.perf_counter()
    module.model.set_borders(prior_borders(module.sampler, cfg.model.num_buckets, t.border_batches))
    out = Path(cfg.output.dir)
    ckpt_dir = out / "checkpoints"
    checkpoint = ModelCheckpoint(dirpath=str(ckpt_dir), save_last=True, save_top_k=0, every_n_train_steps=t.checkpoint_every_steps)
    trainer = pl.Trainer(
        accelerator=t.accelerator,
        devices=t.devices,
        strategy=t.strategy,
        precision=t.precision,
        max_steps=t.max_steps,
        max_time={"minutes": t.max_minutes} if t.max_minutes else None,
        gradient_clip_val=t.grad_clip,
        limit_val_batches=0,
        log_every_n_steps=t.log_every_steps,
        callbacks=[checkpoint, *callbacks],
        default_root_dir=str(out),
        enable_progress_bar=t.progress,
        enable_model_summary=False,
        logger=pl.loggers.CSVLogger(str(out), name="logs"),
        num_sanity_val_steps=0,
    )
    last = ckpt_dir / "last.ckpt"
    ckpt_path = str(last) if cfg.output.resume and last.is_file() else None
    with warnings.catch_warnings():
        # The task stream restarts at the restored step (train_dataloader), so a mid-epoch resume is exact.
        warnings.filterwarnings("ignore", message=".*resuming from a checkpoint that ended before the epoch ended")
        trainer.fit(module, ckpt_path=ckpt_path, weights_only=True)
    if trainer.global_step % t.checkpoint_every_steps:
        trainer.save_checkpoint(str(last), weights_only=False)
    trainer.strategy.barrier()
    model = module.model.cpu().eval()
    if trainer.is_global_zero:
        sampler = task_sampler(cfg, prior)
        meta = {
            "global_step": int(trainer.global_step),
            "val_nll": validation_nll(model, sampler, t.val_batches) if t.val_batches else None,
            "train_seconds_this_run": round(time.perf_counter() - start, 1),
            "resumed_from": ckpt_path,
            "parameters": sum(p.numel() for p in model.parameters()),
        }
        model.save_pretrained(out, extra=meta)
        (out / "train_config.json").write_text(json.dumps(cfg.model_dump(), indent=2))
    trainer.strategy.barrier()
    return model
