from __future__ import annotations

import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("peft")


@pytest.fixture
def pixel_backbone():
    from gendesign.generators.diffusion.backbone import DiffusionBackbone, TinyBackboneConfig

    return DiffusionBackbone.build_tiny(TinyBackboneConfig(kind="pixel", image_size=8, prompts=["a", "b"], block_out_channels=(8, 16)))


def make_context(backbone, reward, *, eta=0.0, num_steps=4, lr=1e-2, data=None, seed=0, image_size=8):
    from gendesign.generators.diffusion.algorithm import TrainContext
    from gendesign.generators.diffusion.lora import LoraSettings, add_lora
    from gendesign.generators.diffusion.sampling import SamplerSettings

    torch.manual_seed(seed)
    module = backbone.controlnet if backbone.kind == "controlnet" else backbone.unet
    add_lora(module, LoraSettings(rank=4))
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    sampler = SamplerSettings(num_steps=num_steps, eta=eta, image_size=image_size)
    return TrainContext(
        backbone,
        module,
        reward,
        opt,
        sampler,
        torch.Generator().manual_seed(seed),
        data=data,
        trained_attr="controlnet" if backbone.kind == "controlnet" else "unet",
        condition_fn=getattr(reward, "condition_of", None),
    )


@pytest.fixture
def context_factory():
    """``make_context(backbone, reward, **kw)``: a LoRA training context over a tiny backbone."""
    return make_context
