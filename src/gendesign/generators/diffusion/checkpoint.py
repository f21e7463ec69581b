"""Checkpoints and exported adapters of a fine-tuning run: atomic writes, exact resume, provenance.

:class:`CheckpointMixin` gives :class:`~gendesign.generators.diffusion.trainer.FinetuneTrainer`
``save_checkpoint``/``load_checkpoint`` (weights, optimiser, every generator state, algorithm
state, history) and ``save_adapter`` (``adapter_model.safetensors`` + ``adapter_config.json`` with
provenance); :func:`load_finetuned` rebuilds a backbone from an adapter folder.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gendesign.core.errors import CampaignError, ConfigError, GendesignError
from gendesign.core.files import file_in
from gendesign.core.objective import Objective
from gendesign.core.protocols import OnlineReward, conforms
from gendesign.generators.diffusion.backbone import DiffusionBackbone
from gendesign.generators.diffusion.config import FinetuneConfig, RewardSettings
from gendesign.generators.diffusion.lora import LoraSettings, add_lora, load_lora_state_dict, lora_state_dict, merge_lora
from gendesign.objectives.video_rewards import SegmentalVideoReward

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_FORMAT = "gendesign-diffusion-adapter"


def config_hash(config: FinetuneConfig) -> str:
    """Hash of everything but ``run.steps`` and the output directory (those may change on resume)."""
    data = config.model_dump(mode="json")
    data["run"].pop("steps", None)
    data["run"].pop("output_dir", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class CheckpointMixin:
    """Saving and restoring a :class:`~gendesign.generators.diffusion.trainer.FinetuneTrainer`'s state.

    It reads the trainer's ``config``, ``output_dir``, ``is_main``, ``rank``, ``accelerator``,
    ``backbone``, ``base_dir``, ``trained``, ``optimizer``, ``generator``, ``algorithm``, ``reward``,
    ``tracked``, ``ctx``, ``difficulty`` and its counters.
    """

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
            "format": ADAPTER_FORMAT,
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
            "difficulty_state": None if self.difficulty is None else self.difficulty.state_dict(),
            "reward_state": self.reward.state_dict() if conforms(self.reward, OnlineReward) else None,  # type: ignore[attr-defined]
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
        reward_state = sampler_state(self.reward)
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
        if self.difficulty is not None and state.get("difficulty_state") is not None:
            self.difficulty.load_state_dict(state["difficulty_state"])
        if state.get("reward_state") is not None and conforms(self.reward, OnlineReward):
            self.reward.load_state_dict(state["reward_state"])  # type: ignore[attr-defined]
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


def sampler_state(reward: Objective) -> dict[str, Any] | None:
    """The frame-sampler state of a video reward (None for rewards without one)."""
    return reward.state_dict() if isinstance(reward, SegmentalVideoReward) else None


def restore_sampler_state(reward: Objective, state: dict[str, Any] | None) -> None:
    if state is not None and isinstance(reward, SegmentalVideoReward):
        reward.load_state_dict(state)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = list(dict.fromkeys(k for r in rows for k in r))
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def atomic_write(path: Path, text: str) -> None:
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
