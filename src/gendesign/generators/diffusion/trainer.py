"""The reward fine-tuning loop behind ``gendesign finetune``.

:class:`FinetuneTrainer` builds or loads the backbone, adds LoRA adapters (or unfreezes the full
weights), builds the reward through the objective registry, picks the algorithm, and runs
``run.steps`` outer iterations. Around the algorithm it provides:

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

import csv
import hashlib
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from gendesign.core.errors import CampaignError, ConfigError, GendesignError, ObjectiveError, require
from gendesign.core.failures import common_error
from gendesign.core.files import file_in
from gendesign.core.objective import Objective, resolve_device
from gendesign.core.protocols import FineTunableDiffusion, require_protocol
from gendesign.generators.diffusion.algorithm import RewardAlgorithm, TrainContext
from gendesign.generators.diffusion.backbone import Conditioning, DiffusionBackbone
from gendesign.generators.diffusion.config import FinetuneConfig, RewardSettings
from gendesign.generators.diffusion.data import load_training_data
from gendesign.generators.diffusion.lora import LoraSettings, add_lora, load_lora_state_dict, lora_state_dict, merge_lora
from gendesign.generators.diffusion.media import save_gif, save_grid
from gendesign.generators.diffusion.sampling import SamplerSettings, ddim_step, ddim_timesteps, initial_noise
from gendesign.objectives.image_rewards import DenseReward, sobel_edges
from gendesign.objectives.video_rewards import SegmentalVideoReward

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
EVAL_SEED_OFFSET = 1_000_003


def algorithm_classes() -> dict[str, type[RewardAlgorithm]]:
    """Name -> class of every built-in algorithm."""
    from gendesign.generators.diffusion.alignprop import AlignProp
    from gendesign.generators.diffusion.ctrl_u import CtrlU
    from gendesign.generators.diffusion.ddpo import DDPO
    from gendesign.generators.diffusion.draft import DRaFT
    from gendesign.generators.diffusion.instructvideo import InstructVideo

    return {c.name: c for c in (DDPO, DRaFT, AlignProp, InstructVideo, CtrlU)}


def choose_algorithm(requested: str, kind: str, reward: Objective, has_data: bool) -> str:
    """Resolve ``"auto"`` from what the reward declares and what the backbone and data allow.

    Black-box rewards get DDPO. Differentiable rewards get Ctrl-U on a ControlNet backbone with a
    dense reward and data, InstructVideo on a video backbone with data, and DRaFT otherwise.
    """
    if requested != "auto":
        return requested
    if not reward.differentiable:
        return "ddpo"
    if kind == "controlnet" and isinstance(reward, DenseReward) and has_data:
        return "ctrl_u"
    if kind == "video" and has_data:
        return "instructvideo"
    return "draft"


def build_reward(settings: RewardSettings, *, kind: str, video: Any = None, seed: int = 0) -> tuple[Objective, int]:
    """The reward objective (lifted to clips for video backbones) and the index of its optimised column."""
    from gendesign.core.plugins import get_plugins

    reward = get_plugins().objectives.build(settings.name, settings.options)
    if kind == "video" and not isinstance(reward, SegmentalVideoReward):
        reward = SegmentalVideoReward(reward, video.num_segments, video.tar_lambda, video.normalize, seed=seed)
    names = [s.name for s in reward.specs]
    if isinstance(settings.column, str):
        if settings.column not in names:
            raise ConfigError(f"reward column={settings.column!r} is not a column of {settings.name!r}; choose one of {names}")
        return reward, names.index(settings.column)
    if not 0 <= settings.column < len(names):
        raise ConfigError(f"reward column={settings.column} is out of range for {settings.name!r} with columns {names}")
    return reward, settings.column


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


def config_hash(config: FinetuneConfig) -> str:
    """Hash of everything but ``run.steps`` and the output directory (those may change on resume)."""
    data = config.model_dump(mode="json")
    data["run"].pop("steps", None)
    data["run"].pop("output_dir", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class FinetuneTrainer:
    """Reward fine-tuning of a diffusion backbone; see the module docstring.

    Args:
        config: the validated configuration.
        resume: continue from ``output_dir/checkpoint`` (it must exist and match the config).
        accelerator: an ``accelerate.Accelerator``; one is created when None.
    """

    def __init__(self, config: FinetuneConfig, *, resume: bool = False, accelerator: Any = None) -> None:
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
        self.backbone, self.base_dir = self._load_backbone()
        self.backbone.to(self.accelerator.device)
        self.trained = self._prepare_trainable()
        kind = self.backbone.kind
        self.reward, column = build_reward(config.reward, kind=kind, video=config.video, seed=config.run.seed + self.rank)
        self.reward.to(self.accelerator.device)
        self.tracked: Objective | None = None
        self.tracked_column = 0
        if config.tracked_reward is not None:
            self.tracked, self.tracked_column = build_reward(config.tracked_reward, kind=kind, video=config.video, seed=config.run.seed)
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
        self.history: list[dict[str, Any]] = []
        self.evaluations: list[dict[str, Any]] = []
        self.step = 0
        self.elapsed = 0.0
        self.best_eval = -math.inf
        self.bad_evals = 0
        self.stopped_early = False
        if resume:
            self.load_checkpoint()

    def _load_backbone(self) -> tuple[FineTunableDiffusion, Path]:
        m = self.config.model
        if m.path is not None:
            loaded = require_protocol(DiffusionBackbone.from_pretrained(m.path), FineTunableDiffusion, what=f"the model at {m.path}", needed_by="gendesign finetune")
            return loaded, Path(m.path).resolve()
        assert m.tiny is not None
        backbone = DiffusionBackbone.build_tiny(m.tiny)
        base = (self.output_dir / "base").resolve()
        if self.is_main and not (base / "model_index.json").is_file():
            backbone.save_pretrained(base)
        return backbone, base

    def _prepare_trainable(self) -> nn.Module:
        t = self.config.training
        module = getattr(self.backbone, t.train_module)
        if module is None:
            raise ConfigError(f"training.train_module={t.train_module!r} but the {self.backbone.kind!r} backbone has no {t.train_module}")
        for part in (self.backbone.unet, self.backbone.controlnet):
            if part is not None:
                part.requires_grad_(False)
        if t.use_lora:
            add_lora(module, t.lora)
        else:
            module.requires_grad_(True)
        module.train()
        if not any(p.requires_grad for p in module.parameters()):
            raise ConfigError(f"nothing to train in {t.train_module}: check training.lora.target_modules={t.lora.target_modules}")
        return module

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
            prompts = self._draw_prompts()
            start = time.perf_counter()
            metrics = self.algorithm.step(self.ctx, prompts)
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
            reward_state = _reward_state(self.reward)
            values, scores = self.ctx.reward_scores(images, cond, grad=False)
            _restore_reward_state(self.reward, reward_state)
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
        _write_csv(self.output_dir / "metrics.csv", self.history)
        _write_csv(self.output_dir / "eval.csv", self.evaluations)
        payload = {"algorithm": self.algorithm_name, "train": self.history, "eval": self.evaluations, "stopped_early": self.stopped_early}
        _atomic_write(self.output_dir / "history.json", json.dumps(payload, indent=1))

    def trainable_state(self) -> dict[str, Tensor]:
        if self.config.training.use_lora:
            return lora_state_dict(self.trained)
        return {k: v.detach().cpu().clone() for k, v in self.trained.state_dict().items()}

    def provenance(self) -> dict[str, Any]:
        """Everything needed to rebuild, audit and resume: base, adapter, reward identity, sampler, seeds."""
        cfg = self.config
        import importlib.metadata

        def reward_info(obj: Objective | None, settings: RewardSettings | None, column: int) -> dict[str, Any] | None:
            if obj is None or settings is None:
                return None
            return {
                "name": settings.name,
                "options": settings.options,
                "column": obj.specs[column].name,
                "fingerprint": obj.fingerprint(),
                "config": json.loads(json.dumps(obj.config(), default=str)),
            }

        return {
            "format": "gendesign-diffusion-adapter",
            "format_version": 1,
            "gendesign_version": importlib.metadata.version("gendesign"),
            "base_model": str(self.base_dir),
            "kind": self.backbone.kind,
            "train_module": cfg.training.train_module,
            "use_lora": cfg.training.use_lora,
            "lora": cfg.training.lora.model_dump(),
            "algorithm": self.algorithm_name,
            "algorithm_options": self.algorithm.options.model_dump(),
            "reward": reward_info(self.reward, cfg.reward, self.ctx.reward_column),
            "tracked_reward": reward_info(self.tracked, cfg.tracked_reward, self.tracked_column),
            "sampler": cfg.sampler.model_dump(),
            "seed": cfg.run.seed,
            "num_processes": int(self.accelerator.num_processes),
            "step": self.step,
            "config_hash": config_hash(cfg),
            "config": cfg.model_dump(mode="json"),
        }

    def save_adapter(self, directory: Path) -> Path:
        """Write ``adapter_model.safetensors`` + ``adapter_config.json`` (provenance) atomically (main process)."""
        if not self.is_main:
            return directory
        from safetensors.torch import save_file

        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file(self.trainable_state(), str(tmp / ADAPTER_WEIGHTS))
        (tmp / ADAPTER_CONFIG).write_text(json.dumps(self.provenance(), indent=2, default=str))
        _replace_dir(tmp, directory)
        return directory

    def save_checkpoint(self) -> Path:
        """Atomically write ``checkpoint/``: weights, optimiser, generator states, algorithm state, history."""
        directory = self.output_dir / "checkpoint"
        rng = self._gathered_rng()
        if not self.is_main:
            self.accelerator.wait_for_everyone()
            return directory
        from safetensors.torch import save_file

        tmp = directory.with_name("checkpoint.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file(self.trainable_state(), str(tmp / "trainable.safetensors"))
        torch.save(self.optimizer.state_dict(), tmp / "optimizer.pt")
        save_file(rng, str(tmp / "rng.safetensors"))
        state = {
            "step": self.step,
            "elapsed": self.elapsed,
            "best_eval": self.best_eval,
            "bad_evals": self.bad_evals,
            "stopped_early": self.stopped_early,
            "config_hash": config_hash(self.config),
            "algorithm": self.algorithm_name,
            "algorithm_state": self.algorithm.state_dict(),
            "history": self.history,
            "evaluations": self.evaluations,
        }
        (tmp / "state.json").write_text(json.dumps(state, default=float))
        (tmp / ADAPTER_CONFIG).write_text(json.dumps(self.provenance(), indent=2, default=str))
        _replace_dir(tmp, directory)
        self.accelerator.wait_for_everyone()
        return directory

    def _gathered_rng(self) -> dict[str, Tensor]:
        """Every process's generator states, keyed by rank (collective: all processes must call it)."""
        own = {"generator": self.generator.get_state()}
        reward_state = _reward_state(self.reward)
        if reward_state is not None:
            own["reward_generator"] = reward_state["generator"]
        if self.accelerator.num_processes > 1:
            from accelerate.utils import gather_object

            states = gather_object([{k: v.tolist() for k, v in own.items()}])
        else:
            states = [{k: v.tolist() for k, v in own.items()}]
        return {f"{k}_rank{r}": torch.tensor(v, dtype=torch.uint8) for r, st in enumerate(states) for k, v in st.items()}

    def load_checkpoint(self) -> None:
        """Restore everything :meth:`save_checkpoint` wrote; the config must match the checkpoint's."""
        from safetensors.torch import load_file

        directory = self.output_dir / "checkpoint"
        if not (directory / "state.json").is_file():
            raise CampaignError(f"cannot resume: {directory} has no checkpoint; run without --resume to start fresh")
        state = json.loads((directory / "state.json").read_text())
        if state["config_hash"] != config_hash(self.config):
            raise CampaignError(
                f"cannot resume {self.output_dir}: the config changed since the checkpoint (hash {state['config_hash']} vs "
                f"{config_hash(self.config)}); only run.steps may change on resume"
            )
        weights = {k: v.to(self.accelerator.device) for k, v in load_file(str(directory / "trainable.safetensors")).items()}
        if self.config.training.use_lora:
            load_lora_state_dict(self.trained, weights)
        else:
            self.trained.load_state_dict(weights)
        self.optimizer.load_state_dict(torch.load(directory / "optimizer.pt", weights_only=True, map_location=self.accelerator.device))
        rng = load_file(str(directory / "rng.safetensors"))
        key = f"generator_rank{self.rank}"
        if key not in rng:
            raise CampaignError(f"cannot resume with {self.accelerator.num_processes} processes: the checkpoint has no {key}")
        self.generator.set_state(rng[key])
        if f"reward_generator_rank{self.rank}" in rng and isinstance(self.reward, SegmentalVideoReward):
            self.reward.load_state_dict({"generator": rng[f"reward_generator_rank{self.rank}"]})
        self.step = int(state["step"])
        self.ctx.step_index = self.step
        self.elapsed = float(state["elapsed"])
        self.best_eval = float(state["best_eval"])
        self.bad_evals = int(state["bad_evals"])
        self.stopped_early = bool(state["stopped_early"])
        self.algorithm.load_state_dict(state["algorithm_state"])
        self.history = list(state["history"])
        self.evaluations = list(state["evaluations"])


def load_finetuned(adapter_dir: str | Path, *, merge: bool = False) -> DiffusionBackbone:
    """Rebuild a fine-tuned backbone from an ``adapter/`` folder: its base model plus the trained weights.

    With ``merge=True`` the LoRA updates are folded into the base weights (``W + (α/r) B A``) for inference.
    """
    from safetensors.torch import load_file

    path = Path(adapter_dir)
    meta_path = file_in(path, ADAPTER_CONFIG, what="adapter config")
    if not meta_path.is_file():
        raise GendesignError(f"{meta_path} does not exist; give an adapter folder written by gendesign finetune")
    meta = json.loads(meta_path.read_text())
    if meta.get("train_module") not in ("unet", "controlnet"):
        raise ConfigError(f"{meta_path}: train_module={meta.get('train_module')!r}; expected 'unet' or 'controlnet'")
    backbone = DiffusionBackbone.from_pretrained(meta["base_model"])
    module = getattr(backbone, meta["train_module"])
    weights = load_file(str(file_in(path, ADAPTER_WEIGHTS, what="adapter weights")))
    if meta["use_lora"]:
        add_lora(module, LoraSettings(**meta["lora"]))
        load_lora_state_dict(module, weights)
        if merge:
            merge_lora(module)
    else:
        module.load_state_dict(weights)
    module.requires_grad_(False)
    return backbone.eval()


def read_provenance(adapter_dir: str | Path) -> dict[str, Any]:
    """The ``adapter_config.json`` of an adapter folder."""
    return json.loads((Path(adapter_dir) / ADAPTER_CONFIG).read_text())


def _reward_state(reward: Objective) -> dict[str, Any] | None:
    return reward.state_dict() if isinstance(reward, SegmentalVideoReward) else None


def _restore_reward_state(reward: Objective, state: dict[str, Any] | None) -> None:
    if state is not None and isinstance(reward, SegmentalVideoReward):
        reward.load_state_dict(state)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = list(dict.fromkeys(k for r in rows for k in r))
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _replace_dir(tmp: Path, target: Path) -> None:
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
