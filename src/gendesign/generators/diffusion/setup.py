"""Building what a fine-tuning run trains: the backbone, its trainable part, the reward and the algorithm."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import nn

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective
from gendesign.core.protocols import FineTunableDiffusion, require_protocol
from gendesign.generators.diffusion.algorithm import RewardAlgorithm
from gendesign.generators.diffusion.backbone import DiffusionBackbone
from gendesign.generators.diffusion.config import ModelSettings, RewardSettings, TrainingSettings
from gendesign.generators.diffusion.lora import add_lora
from gendesign.objectives.image_rewards import DenseReward
from gendesign.objectives.video_rewards import SegmentalVideoReward

if TYPE_CHECKING:
    from gendesign.core.plugins import PluginSystem


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


def build_reward(settings: RewardSettings, plugins: PluginSystem, *, kind: str, video: Any = None, seed: int = 0) -> tuple[Objective, int]:
    """The reward objective of ``plugins`` (lifted to clips for video backbones) and the index of its optimised column."""
    reward = plugins.objectives.build(settings.name, settings.options)
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


def build_backbone(m: ModelSettings, output_dir: Path, *, is_main: bool) -> tuple[FineTunableDiffusion, Path]:
    """The backbone ``m`` names and the directory of its base weights (a tiny one is saved under ``output_dir/base``)."""
    if m.path is not None:
        loaded = require_protocol(DiffusionBackbone.from_pretrained(m.path), FineTunableDiffusion, what=f"the model at {m.path}", needed_by="gendesign finetune")
        return loaded, Path(m.path).resolve()
    assert m.tiny is not None
    backbone = DiffusionBackbone.build_tiny(m.tiny)
    base = (output_dir / "base").resolve()
    if is_main and not (base / "model_index.json").is_file():
        backbone.save_pretrained(base)
    return backbone, base


def prepare_trainable(backbone: DiffusionBackbone, t: TrainingSettings) -> nn.Module:
    """Freeze the backbone and make ``t.train_module`` trainable: LoRA adapters, or all its weights."""
    module = getattr(backbone, t.train_module)
    if module is None:
        raise ConfigError(f"training.train_module={t.train_module!r} but the {backbone.kind!r} backbone has no {t.train_module}")
    for part in (backbone.unet, backbone.controlnet):
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
