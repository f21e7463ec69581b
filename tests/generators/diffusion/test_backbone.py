"""Backbones: tiny builds, save_pretrained -> from_pretrained round trips, prompt handling, LoRA."""

from __future__ import annotations

import pytest
import torch

from gendesign.core.errors import ConfigError, GendesignError
from gendesign.generators.diffusion.backbone import DiffusionBackbone, TinyBackboneConfig
from gendesign.generators.diffusion.lora import LoraSettings, adapters_disabled, add_lora, lora_state_dict


@pytest.mark.parametrize("kind", ["pixel", "latent", "video", "controlnet"])
def test_save_pretrained_then_from_pretrained_gives_identical_predictions(kind, tmp_path):
    cfg = TinyBackboneConfig(kind=kind, image_size=8, num_frames=2, prompts=["a", "b"] if kind == "pixel" else [], block_out_channels=(8, 16))
    backbone = DiffusionBackbone.build_tiny(cfg).eval()
    n_params = sum(p.numel() for p in backbone.parameters())
    assert 10_000 < n_params < 1_000_000
    backbone.save_pretrained(tmp_path / "pipe")
    assert (tmp_path / "pipe" / "model_index.json").is_file()
    loaded = DiffusionBackbone.from_pretrained(tmp_path / "pipe").eval()
    assert loaded.kind == kind
    g = torch.Generator().manual_seed(0)
    x = torch.randn(backbone.latent_shape(2, 8), generator=g)
    control = torch.rand(2, 1, 8, 8, generator=g) if kind == "controlnet" else None
    outs = []
    for bb in (backbone, loaded):
        cond = bb.encode_prompts(["a", "b"], guidance_scale=1.0, control=control)
        with torch.no_grad():
            outs.append((bb.predict_noise(x, 500, cond), bb.decode(x)))
    torch.testing.assert_close(outs[0][0], outs[1][0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(outs[0][1], outs[1][1], atol=1e-5, rtol=1e-5)
    images = outs[0][1]
    assert images.shape[-3:] == (3, 8, 8) and images.min() >= 0 and images.max() <= 1
    if kind == "video":
        assert images.shape[:2] == (2, 2)


def test_pixel_backbone_rejects_prompts_outside_its_vocabulary(pixel_backbone):
    with pytest.raises(ConfigError, match="vocabulary"):
        pixel_backbone.encode_prompts(["zebra"])


def test_from_pretrained_needs_a_pipeline_folder(tmp_path):
    with pytest.raises(GendesignError, match="model_index.json"):
        DiffusionBackbone.from_pretrained(tmp_path)


def test_lora_starts_as_identity_and_can_be_switched_off(pixel_backbone):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 8, 8, generator=g)
    cond = pixel_backbone.encode_prompts(["a", "b"])
    with torch.no_grad():
        base = pixel_backbone.predict_noise(x, 300, cond)
    add_lora(pixel_backbone.unet, LoraSettings(rank=2))
    trainable = [n for n, p in pixel_backbone.unet.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    with torch.no_grad():
        torch.testing.assert_close(pixel_backbone.predict_noise(x, 300, cond), base)
        assert all(("lora_A" in k or "lora_B" in k) for k in lora_state_dict(pixel_backbone.unet))
        for name, p in pixel_backbone.unet.named_parameters():
            if "lora_B" in name:
                p.add_(0.1)
        moved = pixel_backbone.predict_noise(x, 300, cond)
        assert (moved - base).abs().max() > 1e-4
        with adapters_disabled(pixel_backbone.unet):
            torch.testing.assert_close(pixel_backbone.predict_noise(x, 300, cond), base)
    assert [n for n, p in pixel_backbone.unet.named_parameters() if p.requires_grad] == trainable
