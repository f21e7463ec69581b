"""The reward fine-tuning loop behind ``gendesign finetune``.

:class:`FinetuneTrainer` builds or loads the backbone, adds LoRA adapters (or unfreezes the full
weights), builds the reward through the objective registry, picks the algorithm
(:mod:`~gendesign.generators.diffusion.setup`), and runs ``run.steps`` outer iterations; its
checkpoints and adapters are :mod:`~gendesign.generators.diffusion.checkpoint`'s. Around the algorithm it provides:

* distributed training through ``accelerate`` (process group, device placement, gradient
  averaging), so ``accelerate launch`` gives multi-GPU or multi-process CPU runs;
* over-optimisation guards: held-out prompts scored with fixed noise before training and at every
  evaluation, an optional second tracked reward, the KL penalty to the base model, early stopping
  when the held-out reward falls, and the best adapter kept separately;
* exact resume: weights, optimiser, every generator state, algorithm state (DDPO's per-prompt
  statistics) and the history are checkpointed atomically, so a resumed run continues bit-identically;
* outputs: ``metrics.csv`` / ``eval.csv`` / ``history.json`` reward curves, PNG sample grids (GIFs
  for video), and ``adapter/`` with full provenance (reward identity and fingerprint, sampler
  settings, seeds, LoRA settings, base model).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError, ObjectiveError, require
from gendesign.core.failures import common_error
from gendesign.core.objective import Objective, resolve_device
from gendesign.core.protocols import FineTunableDiffusion, OnlineReward, conforms
from gendesign.generators.diffusion.algorithm import TrainContext
from gendesign.generators.diffusion.backbone import Conditioning
from gendesign.generators.diffusion.checkpoint import (
    CheckpointMixin,
    atomic_write,
    load_finetuned,
    read_provenance,
    restore_sampler_state,
    sampler_state,
    write_csv,
)
from gendesign.generators.diffusion.config import FinetuneConfig
from gendesign.generators.diffusion.data import load_training_data
from gendesign.generators.diffusion.difficulty import DifficultyFilter
from gendesign.generators.diffusion.media import save_gif, save_grid
from gendesign.generators.diffusion.sampling import SamplerSettings, ddim_step, ddim_timesteps, initial_noise
from gendesign.generators.diffusion.setup import (
    algorithm_classes,
    build_backbone,
    build_reward,
    choose_algorithm,
    prepare_trainable,
)
from gendesign.objectives.image_rewards import DenseReward, sobel_edges

if TYPE_CHECKING:
    from gendesign.core.plugins import PluginSystem

EVAL_SEED_OFFSET = 1_000_003


@torch.no_grad()
def generate(
    backbone: FineTunableDiffusion, cond: Conditioning, sampler: SamplerSettings, generator: torch.Generator
) -> Tensor:
    """Sample and decode images `[B, 3, H, W]` (clips `[B, F, 3, H, W]`) with the DDIM sampler."""
    timesteps = ddim_timesteps(backbone, sampler.num_steps)
    x = initial_noise(backbone, len(cond.prompts), sampler.image_size, generator)
    for t in timesteps:
        noise = torch.randn(x.shape, generator=generator).to(x) if sampler.eta > 0 else None
        x = ddim_step(backbone, backbone.predict_noise(x, t, cond), x, t, sampler.eta, noise)[0]
    return backbone.decode(x)


@dataclass
class FinetuneResult:
    """What a run produced: the history rows, where the adapter is, and why it stopped."""

    output_dir: Path
    adapter_dir: Path
    history: list[dict[str, Any]] = field(default_factory=list)
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False
    steps_done: int = 0


class FinetuneTrainer(CheckpointMixin):
    """Reward fine-tuning of a diffusion backbone; see the module docstring.

    Args:
        config: the validated configuration.
        plugins: the plugin system whose objective registry builds the rewards.
        resume: continue from ``output_dir/checkpoint`` (it must exist and match the config).
        accelerator: an ``accelerate.Accelerator``; one is created when None.
    """

    def __init__(self, config: FinetuneConfig, *, plugins: PluginSystem, resume: bool = False, accelerator: Any = None) -> None:
        self.config = config
        self.output_dir = Path(config.run.output_dir)
        if config.run.num_threads is not None:
            torch.set_num_threads(config.run.num_threads)
        if config.run.device != "cpu":
            resolve_device(config.run.device)
        accelerate = require("accelerate", "vision")
        self.accelerator = accelerator or accelerate.Accelerator(cpu=config.run.device == "cpu")
        self.rank = int(self.accelerator.process_index)
        self.is_main = bool(self.accelerator.is_main_process)
        torch.manual_seed(config.run.seed)
        self.backbone, self.base_dir = build_backbone(config.model, self.output_dir, is_main=self.is_main)
        self.backbone.to(self.accelerator.device)
        self.trained = prepare_trainable(self.backbone, config.training)
        kind = self.backbone.kind
        self.reward, column = build_reward(config.reward, plugins, kind=kind, video=config.video, seed=config.run.seed + self.rank)
        self.reward.to(self.accelerator.device)
        if conforms(self.reward, OnlineReward):
            self.reward.auto_update = False  # type: ignore[attr-defined]  # training batches update it, held-out evaluation never
        self.tracked: Objective | None = None
        self.tracked_column = 0
        if config.tracked_reward is not None:
            self.tracked, self.tracked_column = build_reward(config.tracked_reward, plugins, kind=kind, video=config.video, seed=config.run.seed)
            self.tracked.to(self.accelerator.device)
        self.data = None
        if config.data is not None:
            self.data = load_training_data(config.data, config.sampler.image_size, self.backbone.num_frames).to(self.accelerator.device)
        self.algorithm_name = choose_algorithm(config.training.algorithm, kind, self.reward, self.data is not None)
        classes = algorithm_classes()
        cls = classes[self.algorithm_name]
        from gendesign.core.registry import validate_options

        opts = validate_options(cls, dict(config.training.options), where=f"training.options of algorithm {self.algorithm_name!r}")
        self.algorithm = cls(opts["options"])
        params = [p for p in self.trained.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=config.training.learning_rate, weight_decay=config.training.weight_decay)
        self.generator = torch.Generator().manual_seed(config.run.seed + 7919 * self.rank)
        self.ctx = TrainContext(
            backbone=self.backbone,
            trained=self.trained,
            reward=self.reward,
            optimizer=self.optimizer,
            sampler=config.sampler,
            generator=self.generator,
            accelerator=self.accelerator,
            reward_column=column,
            use_lora=config.training.use_lora,
            kl_weight=config.training.kl_weight,
            max_grad_norm=config.training.max_grad_norm or None,
            gradient_checkpointing=config.training.gradient_checkpointing,
            data=self.data,
            trained_attr=config.training.train_module,
            condition_fn=self._condition_fn(),
        )
        if config.training.kl_weight > 0 and not config.training.use_lora:
            self.ctx.snapshot_reference()
        self.algorithm.check(self.ctx)
        self.difficulty: DifficultyFilter | None = None
        if config.training.difficulty is not None:
            if self.algorithm.needs_data:
                raise ConfigError(f"training.difficulty filters prompts; algorithm {self.algorithm_name!r} edits training data; use ddpo, draft or alignprop")
            self.difficulty = DifficultyFilter(config.training.difficulty, config.prompts.train)
        self.history: list[dict[str, Any]] = []
        self.evaluations: list[dict[str, Any]] = []
        self.step = 0
        self.elapsed = 0.0
        self.best_eval = -math.inf
        self.bad_evals = 0
        self.stopped_early = False
        if resume:
            self.load_checkpoint()

    def _condition_fn(self) -> Any:
        if self.backbone.kind != "controlnet":
            return None
        if isinstance(self.reward, DenseReward):
            return self.reward.condition_of
        return sobel_edges

    def train(self) -> FinetuneResult:
        """Run until ``run.steps`` iterations are done or early stopping triggers; save the adapter."""
        cfg = self.config.run
        if self.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            (self.output_dir / "config.json").write_text(self.config.model_dump_json(indent=2))
        if self.step == 0 and not self.evaluations:
            self._evaluate_and_guard()
        while self.step < cfg.steps and not self.stopped_early:
            start = time.perf_counter()
            if self.difficulty is not None:
                metrics = self.difficulty.step(self.algorithm, self.ctx, cfg.batch_size)
            else:
                metrics = self.algorithm.step(self.ctx, self._draw_prompts())
            self.elapsed += time.perf_counter() - start
            self.step += 1
            self.ctx.step_index = self.step
            self.history.append({"step": self.step, "wall_time": round(self.elapsed, 4), **metrics})
            if (cfg.eval_every and self.step % cfg.eval_every == 0) or self.step == cfg.steps:
                self._evaluate_and_guard()
            if cfg.save_every and self.step % cfg.save_every == 0:
                self.save_checkpoint()
            self._write_logs()
        if self.stopped_early and (not self.evaluations or self.evaluations[-1]["step"] != self.step):
            self._evaluate_and_guard()
        self.save_checkpoint()
        adapter = self.save_adapter(self.output_dir / "adapter")
        self._write_logs()
        return FinetuneResult(self.output_dir, adapter, self.history, self.evaluations, self.stopped_early, self.step)

    def _draw_prompts(self) -> list[str]:
        train = self.config.prompts.train
        idx = torch.randint(len(train), (self.config.run.batch_size,), generator=self.generator)
        return [train[i] for i in idx.tolist()]

    def evaluation_conditioning(self) -> Conditioning:
        """Held-out prompts (train prompts when none are held out) with their fixed control maps."""
        p = self.config.prompts
        prompts = [q for q in (p.heldout or p.train) for _ in range(p.samples_per_prompt)]
        control = None
        if self.backbone.kind == "controlnet":
            if self.data is None:
                raise ConfigError("a 'controlnet' backbone needs a [data] table for its condition maps")
            items = self.data[torch.arange(len(prompts)) % len(self.data)]
            control = self.ctx.condition_fn(items)
        return self.backbone.encode_prompts(prompts, guidance_scale=self.config.sampler.guidance_scale, control=control)

    def evaluate(self) -> tuple[dict[str, float], Tensor]:
        """Score held-out samples drawn with fixed noise; returns metrics and the decoded samples."""
        cond = self.evaluation_conditioning()
        g = torch.Generator().manual_seed(self.config.run.seed + EVAL_SEED_OFFSET)
        was_training = self.trained.training
        self.trained.eval()
        try:
            images = generate(self.backbone, cond, self.config.sampler, g)
            reward_state = sampler_state(self.reward)
            values, scores = self.ctx.reward_scores(images, cond, grad=False)
            restore_sampler_state(self.reward, reward_state)
        finally:
            self.trained.train(was_training)
        reason = common_error(scores.valid.tolist(), scores.errors) if self.step == 0 else None
        if reason is not None:  # a broken reward stops before step 1 instead of training on NaN
            raise ObjectiveError(
                f"reward {self.reward.name!r} failed on every sample of the first batch ({len(scores)}); no step was taken: {reason}"
            )
        finite = torch.isfinite(values)
        out = {
            "heldout_reward": float(values[finite].mean()) if bool(finite.any()) else math.nan,
            "heldout_reward_std": float(values[finite].std(unbiased=False)) if bool(finite.any()) else math.nan,
        }
        if scores.std is not None:
            out["heldout_reward_uncertainty"] = float(scores.std[:, self.ctx.reward_column].mean())
        if self.tracked is not None:
            tracked = self.tracked(self.ctx.designs(images, cond))
            col = tracked.values[:, self.tracked_column] * tracked.specs[self.tracked_column].sign
            out["tracked_reward"] = float(col[torch.isfinite(col)].mean()) if bool(torch.isfinite(col).any()) else math.nan
        return out, images

    def _evaluate_and_guard(self) -> None:
        metrics, images = self.evaluate()
        row = {"step": self.step, "wall_time": round(self.elapsed, 4), **metrics}
        self.evaluations.append(row)
        if self.is_main:
            samples = self.output_dir / "samples"
            if images.ndim == 5:
                save_gif(images, samples / f"step_{self.step:06d}.gif", fps=self.config.video.fps)
            else:
                save_grid(images, samples / f"step_{self.step:06d}.png")
        value = metrics["heldout_reward"]
        g = self.config.guards
        if value > self.best_eval:
            self.best_eval = value
            self.bad_evals = 0
            self.save_adapter(self.output_dir / "adapter_best")
        elif value < self.best_eval - g.tolerance or math.isnan(value):
            self.bad_evals += 1
            if g.patience and self.bad_evals >= g.patience:
                self.stopped_early = True

    def _write_logs(self) -> None:
        if not self.is_main:
            return
        write_csv(self.output_dir / "metrics.csv", self.history)
        write_csv(self.output_dir / "eval.csv", self.evaluations)
        payload = {"algorithm": self.algorithm_name, "train": self.history, "eval": self.evaluations, "stopped_early": self.stopped_early}
        atomic_write(self.output_dir / "history.json", json.dumps(payload, indent=1))


__all__ = ["FinetuneResult", "FinetuneTrainer", "choose_algorithm", "generate", "load_finetuned", "read_provenance"]
