"""LoRA adapters on diffusers models through ``peft`` (Hu et al. 2022, "LoRA: Low-Rank Adaptation").

A wrapped linear or convolution computes ``W x + (α / r) · B A x`` with trainable ``A`` `[r, d_in]` and
``B`` `[d_out, r]`; the base ``W`` is frozen. ``peft.inject_adapter_in_model`` works on any
``nn.Module`` (``UNet2DModel`` has no diffusers adapter mixin), so every UNet kind and ControlNet
share this path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from gendesign.core.errors import ConfigError, require


class LoraSettings(BaseModel):
    """LoRA hyper-parameters (saved with the adapter).

    Attributes:
        rank: ``r``.
        alpha: ``α``; the update is scaled by ``α / r``.
        dropout: dropout on the LoRA branch input.
        target_modules: module-name suffixes to wrap (attention projections and ResNet convolutions), or
            containers whose layers are all wrapped. ControlNet's zero-initialised output convolutions
            (``controlnet_down_blocks``, ``controlnet_mid_block``) must be among them: behind a zero
            convolution no other adapter receives a gradient.
        init: ``"gaussian"`` initialises ``A`` with N(0, 1/r) and ``B = 0`` (an identity start).
    """

    model_config = ConfigDict(extra="forbid")

    rank: int = Field(4, ge=1)
    alpha: float = Field(4.0, gt=0)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(
        default_factory=lambda: ["to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2", "controlnet_down_blocks", "controlnet_mid_block"]
    )
    init: str = "gaussian"


def add_lora(module: nn.Module, settings: LoraSettings) -> nn.Module:
    """Inject LoRA layers into ``module`` in place, freeze every non-LoRA parameter, return ``module``."""
    peft = require("peft", "vision")
    targets = resolve_targets(module, settings.target_modules)
    if not targets:
        raise ConfigError(
            f"LoRA target_modules={settings.target_modules} match no Linear or Conv layer of {type(module).__name__}; "
            "use names such as 'to_q', 'to_k', 'to_v', 'to_out.0', 'conv1', 'conv2'"
        )
    config = peft.LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=targets,
        init_lora_weights=True if settings.init == "default" else settings.init,
    )
    try:
        peft.inject_adapter_in_model(config, module)
    except ValueError as exc:
        raise ConfigError(f"LoRA target_modules={settings.target_modules} match nothing usable in {type(module).__name__}: {exc}") from None
    for name, p in module.named_parameters():
        p.requires_grad_("lora_" in name)
    return module


def resolve_targets(module: nn.Module, suffixes: list[str]) -> list[str]:
    """Full names of the ``nn.Linear`` / ``nn.Conv2d`` / ``nn.Conv3d`` layers whose name ends with a suffix
    or that sit inside a top-level container named by one.

    Matching by layer type as well as name skips containers that share a name (the temporal
    ``conv1`` of a UNet3D block is an ``nn.Sequential``).
    """
    kinds = (nn.Linear, nn.Conv2d, nn.Conv3d)
    return [
        name
        for name, m in module.named_modules()
        if isinstance(m, kinds) and any(name == s or name.endswith("." + s) or name.startswith(s + ".") for s in suffixes)
    ]


def is_lora_name(name: str) -> bool:
    return "lora_" in name


def lora_state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    """The LoRA parameters of ``module`` by name (what an adapter file stores)."""
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items() if is_lora_name(k)}


def load_lora_state_dict(module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load LoRA weights into a module that already has matching adapters; every key must match."""
    own = {k for k in module.state_dict() if is_lora_name(k)}
    missing, unexpected = sorted(own - set(state)), sorted(set(state) - own)
    if missing or unexpected:
        raise ConfigError(
            f"adapter does not match the model: missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}; use the LoRA settings it was trained with"
        )
    module.load_state_dict(state, strict=False)


@contextmanager
def adapters_disabled(module: nn.Module) -> Iterator[None]:
    """Run ``module`` as its frozen base model (every LoRA branch off) inside the block."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    layers = [m for m in module.modules() if isinstance(m, BaseTunerLayer)]
    for m in layers:
        m.enable_adapters(False)
    try:
        yield
    finally:
        for m in layers:
            m.enable_adapters(True)
            for p_name, p in m.named_parameters():
                p.requires_grad_(is_lora_name(p_name))


def merge_lora(module: nn.Module) -> nn.Module:
    """Fold every LoRA update into its base weight (``W <- W + (α/r) B A``) for inference."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    for m in module.modules():
        if isinstance(m, BaseTunerLayer):
            m.merge()
    return module
