"""gendesign export: LoRA and merged pipelines that diffusers alone loads and that predict like the fine-tuned model."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from gendesign.core.errors import ConfigError, GendesignError
from gendesign.core.plugins import PluginSystem
from gendesign.generators.diffusion.checkpoint import load_finetuned
from gendesign.generators.diffusion.config import parse_finetune_config
from gendesign.generators.diffusion.export import LORA_WEIGHTS, export_finetuned
from gendesign.generators.diffusion.trainer import FinetuneTrainer

PLUGINS = PluginSystem(entry_points=False)
LATENT = {"tiny": {"kind": "latent", "image_size": 8, "block_out_channels": [8, 16]}}


def small_config(tmp_path, *, model=None, lr=0.2, **training):
    """A one- or two-step DRaFT run on a tiny model under ``tmp_path / "run"``."""
    return parse_finetune_config(
        {
            "run": {"output_dir": str(tmp_path / "run"), "steps": 2, "batch_size": 4, "eval_every": 2, "save_every": 2, "seed": 3},
            "model": model or {"tiny": {"kind": "pixel", "image_size": 8, "prompts": ["a", "b"], "block_out_channels": [8, 16]}},
            "sampler": {"num_steps": 3, "eta": 0.0, "image_size": 8},
            "training": {"algorithm": "draft", "learning_rate": lr, **training},
            "reward": {"name": "brightness"},
            "prompts": {"train": ["a", "b"], "heldout": ["b"], "samples_per_prompt": 1},
        }
    )


@pytest.fixture(scope="module")
def latent_run(tmp_path_factory):
    """A LoRA (α ≠ r, so a dropped α would show) DRaFT run on a tiny latent model; large lr so it moves the UNet."""
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("latent")
    FinetuneTrainer(small_config(tmp, model=LATENT, lora={"rank": 2, "alpha": 5.0}), plugins=PLUGINS).train()
    return tmp / "run"


def _noise_prediction(unet: torch.nn.Module) -> torch.Tensor:
    """The UNet's output on a fixed latent, timestep and text state (`[2, 4, 4, 4]`)."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(2, 4, 4, 4, generator=g)
    text = torch.randn(2, 16, unet.config.cross_attention_dim, generator=g)
    with torch.no_grad():
        return unet(x, torch.tensor([500, 20]), encoder_hidden_states=text).sample


def test_lora_export_loads_with_diffusers_load_lora_weights(latent_run, tmp_path):
    import diffusers

    out = tmp_path / "lora"
    result = CliRunner().invoke(_cli(), ["export", str(latent_run), "--format", "lora", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (out / LORA_WEIGHTS).is_file()
    tuned = _noise_prediction(load_finetuned(latent_run / "adapter").unet.eval())
    pipe = diffusers.StableDiffusionPipeline.from_pretrained(str(latent_run / "base"), local_files_only=True)
    base = _noise_prediction(pipe.unet.eval())
    pipe.load_lora_weights(str(out))
    loaded = _noise_prediction(pipe.unet)
    assert (base - tuned).abs().max() > 1e-3  # the run moved the model, so "loaded nothing" would fail below
    torch.testing.assert_close(loaded, tuned, atol=1e-5, rtol=1e-5)


def test_pipeline_export_is_a_plain_merged_diffusers_folder(latent_run, tmp_path):
    import diffusers

    out = tmp_path / "pipe"
    export_finetuned(latent_run, out, format="pipeline")
    unet, info = diffusers.UNet2DConditionModel.from_pretrained(str(out / "unet"), local_files_only=True, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert not any("lora" in k or "base_layer" in k for k in unet.state_dict())
    tuned = _noise_prediction(load_finetuned(latent_run / "adapter").unet.eval())
    torch.testing.assert_close(_noise_prediction(unet.eval()), tuned, atol=1e-5, rtol=1e-5)
    base = diffusers.UNet2DConditionModel.from_pretrained(str(latent_run / "base" / "unet"), local_files_only=True)
    assert (_noise_prediction(base.eval()) - tuned).abs().max() > 1e-3
    pipe = diffusers.DiffusionPipeline.from_pretrained(str(out), local_files_only=True)
    torch.testing.assert_close(_noise_prediction(pipe.unet.eval()), tuned, atol=1e-5, rtol=1e-5)


def test_pixel_pipeline_export_and_refusals(tmp_path):
    import diffusers

    import gendesign

    result = gendesign.finetune(small_config(tmp_path).model_dump(mode="json"), plugins=PLUGINS)
    run = result.output_dir
    assert result.steps_done == 2 and result.adapter_dir == run / "adapter"
    with pytest.raises(ConfigError, match=r"'pixel' backbone.*--format pipeline"):
        export_finetuned(run, tmp_path / "lora", format="lora")
    export_finetuned(run / "adapter", tmp_path / "pipe", format="pipeline")
    pipe = diffusers.DDIMPipeline.from_pretrained(str(tmp_path / "pipe"), local_files_only=True)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1])
    tuned = load_finetuned(run / "adapter").unet.eval()
    with torch.no_grad():
        torch.testing.assert_close(pipe.unet.eval()(x, 300, class_labels=labels).sample, tuned(x, 300, class_labels=labels).sample, atol=1e-5, rtol=1e-5)

    full = tmp_path / "full"
    FinetuneTrainer(small_config(full, lr=1e-2, use_lora=False), plugins=PLUGINS).train()
    with pytest.raises(ConfigError, match="full fine-tune.*no LoRA"):
        export_finetuned(full / "run", tmp_path / "x", format="lora")
    with pytest.raises(GendesignError, match="is not a gendesign fine-tuning run"):
        export_finetuned(tmp_path / "nowhere", tmp_path / "x", format="pipeline")
    result = CliRunner().invoke(_cli(), ["export", str(tmp_path / "nowhere"), "--format", "lora", "--out", str(tmp_path / "x")])
    assert isinstance(result.exception, GendesignError) and "not a gendesign fine-tuning run" in str(result.exception)


def _cli():
    from gendesign.cli import cli

    return cli


def test_the_docs_export_example_runs(tmp_path, monkeypatch):
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    text = (root / "docs" / "finetune.md").read_text().split("## Export to diffusers", 1)[1]
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "finetune_latent.toml").write_text((root / "examples" / "finetune_latent.toml").read_text())
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "docs/finetune.md", "exec"), namespace)
    assert namespace["image"].size == (16, 16)
    assert (tmp_path / "runs" / "export_demo_lora" / LORA_WEIGHTS).is_file()
