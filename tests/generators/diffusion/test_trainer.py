"""gendesign finetune: config validation, outputs and provenance, reload, exact resume, early stopping."""

from __future__ import annotations

import json
import math

import pytest
import torch
from click.testing import CliRunner

from gendesign.core.errors import CampaignError, ConfigError
from gendesign.core.plugins import PluginSystem
from gendesign.generators.diffusion.config import load_finetune_config, parse_finetune_config
from gendesign.generators.diffusion.lora import lora_state_dict
from gendesign.generators.diffusion.trainer import FinetuneTrainer, choose_algorithm, generate, load_finetuned, read_provenance
from gendesign.objectives.image_rewards import Brightness, JpegCompressibility, SobelEdgeAgreement

PLUGINS = PluginSystem(entry_points=False)


def small_config(tmp_path, **over):
    cfg = {
        "run": {"output_dir": str(tmp_path / "run"), "steps": 2, "batch_size": 4, "eval_every": 1, "save_every": 1, "seed": 3},
        "model": {"tiny": {"kind": "pixel", "image_size": 8, "prompts": ["a", "b", "c"], "block_out_channels": [8, 16]}},
        "sampler": {"num_steps": 3, "eta": 0.0, "image_size": 8},
        "training": {"algorithm": "draft", "learning_rate": 1e-2},
        "reward": {"name": "brightness"},
        "tracked_reward": {"name": "colourfulness"},
        "prompts": {"train": ["a", "b"], "heldout": ["c"], "samples_per_prompt": 2},
    }
    for key, value in over.items():
        section, _, field = key.partition("__")
        if field:
            cfg.setdefault(section, {})[field] = value
        else:
            cfg[section] = value
    return parse_finetune_config(cfg)


def test_config_errors_name_the_field_the_value_and_the_choices(tmp_path):
    base = small_config(tmp_path).model_dump(mode="json")
    base["training"]["algoritm"] = "draft"
    with pytest.raises(ConfigError, match=r"training.algoritm = 'draft': unknown field"):
        parse_finetune_config(base)
    base["training"].pop("algoritm")
    base["training"]["algorithm"] = "ppo"
    with pytest.raises(ConfigError, match=r"training.algorithm = 'ppo'.*'ddpo'"):
        parse_finetune_config(base)
    base["training"]["algorithm"] = "draft"
    base["model"] = {}
    with pytest.raises(ConfigError, match="exactly one of model.path"):
        parse_finetune_config(base)
    (tmp_path / "bad.toml").write_text("[run\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_finetune_config(tmp_path / "bad.toml")


def test_bad_algorithm_options_are_reported_with_the_algorithm(tmp_path):
    cfg = small_config(tmp_path, training__options={"kk": 2})
    with pytest.raises(ConfigError, match=r"(?s)algorithm 'draft'.*kk = 2: unknown field; allowed fields: k"):
        FinetuneTrainer(cfg, plugins=PLUGINS)


def test_auto_algorithm_follows_what_the_reward_declares():
    assert choose_algorithm("auto", "pixel", JpegCompressibility(), False) == "ddpo"
    assert choose_algorithm("auto", "pixel", Brightness(), False) == "draft"
    assert choose_algorithm("auto", "video", Brightness(), True) == "instructvideo"
    assert choose_algorithm("auto", "controlnet", SobelEdgeAgreement(), True) == "ctrl_u"
    assert choose_algorithm("alignprop", "pixel", Brightness(), False) == "alignprop"


def test_cli_run_writes_curves_samples_and_an_adapter_that_reloads_identically(tmp_path):
    from gendesign.cli import cli

    cfg = small_config(tmp_path)
    path = tmp_path / "ft.toml"
    path.write_text(_to_toml(cfg.model_dump(mode="json")))
    result = CliRunner().invoke(cli, ["finetune", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "algorithm=draft" in result.output and "adapter:" in result.output
    run = tmp_path / "run"
    for name in ("metrics.csv", "eval.csv", "history.json", "samples/step_000002.png", "adapter/adapter_model.safetensors"):
        assert (run / name).is_file(), name
    history = json.loads((run / "history.json").read_text())
    assert [r["step"] for r in history["train"]] == [1, 2] and [r["step"] for r in history["eval"]] == [0, 1, 2]
    assert (run / "samples" / "step_000000.png").is_file()
    assert {"heldout_reward", "tracked_reward"} <= set(history["eval"][0])
    meta = read_provenance(run / "adapter")
    assert meta["reward"]["name"] == "brightness" and len(meta["reward"]["fingerprint"]) == 16
    assert meta["reward"]["fingerprint"] == Brightness().fingerprint()
    assert meta["tracked_reward"]["name"] == "colourfulness"
    assert meta["sampler"] == {"num_steps": 3, "eta": 0.0, "guidance_scale": 1.0, "image_size": 8}
    assert meta["seed"] == 3 and meta["step"] == 2 and meta["algorithm"] == "draft"

    trainer = FinetuneTrainer(cfg, plugins=PLUGINS, resume=True)
    reloaded = load_finetuned(run / "adapter")
    cond = trainer.backbone.encode_prompts(["a", "c"])
    images = [generate(bb, cond, cfg.sampler, torch.Generator().manual_seed(0)) for bb in (trainer.backbone, reloaded)]
    torch.testing.assert_close(images[0], images[1], atol=1e-5, rtol=1e-5)
    from peft.tuners.tuners_utils import BaseTunerLayer

    merged_bb = load_finetuned(run / "adapter", merge=True)
    layers = [m for m in merged_bb.unet.modules() if isinstance(m, BaseTunerLayer)]
    assert layers and all(m.merged for m in layers)
    merged = generate(merged_bb, cond, cfg.sampler, torch.Generator().manual_seed(0))
    torch.testing.assert_close(merged, images[0], atol=1e-4, rtol=1e-4)
    base = FinetuneTrainer(small_config(tmp_path, run__output_dir=str(tmp_path / "fresh")), plugins=PLUGINS)
    assert (generate(base.backbone, cond, cfg.sampler, torch.Generator().manual_seed(0)) - images[0]).abs().max() > 1e-4


@pytest.mark.parametrize("algorithm", ["ddpo", "draft"])
def test_resume_continues_bit_identically(tmp_path, algorithm):
    over = {"training__algorithm": algorithm, "run__eval_every": 2, "run__save_every": 2}
    if algorithm == "ddpo":
        over |= {"sampler__eta": 1.0, "training__options": {"minibatch_size": 2, "min_count": 2, "clip_range": 0.2}}
    straight = small_config(tmp_path / "a", run__steps=4, **over)
    full = FinetuneTrainer(straight, plugins=PLUGINS).train()
    first = small_config(tmp_path / "b", run__steps=2, **over)
    FinetuneTrainer(first, plugins=PLUGINS).train()
    resumed_cfg = small_config(tmp_path / "b", run__steps=4, **over)
    resumed = FinetuneTrainer(resumed_cfg, plugins=PLUGINS, resume=True)
    assert resumed.step == 2
    out = resumed.train()
    a = lora_state_dict(FinetuneTrainer(straight, plugins=PLUGINS, resume=True).trained)
    b = lora_state_dict(resumed.trained)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_time"} for r in rows]  # noqa: E731
    assert strip(full.history) == strip(out.history)
    assert strip(full.evaluations) == strip(out.evaluations)


def test_resume_refuses_a_changed_config(tmp_path):
    FinetuneTrainer(small_config(tmp_path, run__steps=1), plugins=PLUGINS).train()
    with pytest.raises(CampaignError, match="config changed"):
        FinetuneTrainer(small_config(tmp_path, run__steps=2, training__learning_rate=0.5), plugins=PLUGINS, resume=True)
    with pytest.raises(CampaignError, match="no checkpoint"):
        FinetuneTrainer(small_config(tmp_path / "other"), plugins=PLUGINS, resume=True)


def test_early_stopping_on_a_falling_heldout_reward(tmp_path, monkeypatch):
    cfg = small_config(tmp_path, run__steps=10, guards={"patience": 2, "tolerance": 0.05})
    trainer = FinetuneTrainer(cfg, plugins=PLUGINS)
    values = iter([0.5, 0.6, 0.58, 0.5, 0.4, 0.3, 0.2])
    original = trainer.evaluate

    def fake():
        metrics, images = original()
        return {**metrics, "heldout_reward": next(values)}, images

    monkeypatch.setattr(trainer, "evaluate", fake)
    result = trainer.train()
    assert result.stopped_early and result.steps_done == 4
    assert [e["heldout_reward"] for e in result.evaluations] == [0.5, 0.6, 0.58, 0.5, 0.4]
    assert [e["step"] for e in result.evaluations] == [0, 1, 2, 3, 4]
    assert read_provenance(tmp_path / "run" / "adapter_best")["step"] == 1
    assert not math.isnan(result.history[-1]["reward_mean"])


def _to_toml(data: dict, prefix: str = "") -> str:
    scalars, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif value is not None:
            scalars.append(f"{key} = {json.dumps(value)}")
    out = ([f"[{prefix}]"] if prefix and scalars else []) + scalars
    for key, value in tables:
        if not value:
            continue
        out.append(_to_toml(value, f"{prefix}.{key}" if prefix else key))
    return "\n".join(out) + "\n"


def test_full_weight_training_with_a_kl_regulariser(tmp_path):
    cfg = small_config(tmp_path, run__steps=2, training__use_lora=False, training__kl_weight=0.5)
    trainer = FinetuneTrainer(cfg, plugins=PLUGINS)
    before = {k: v.clone() for k, v in trainer.trained.state_dict().items()}
    assert all(p.requires_grad for p in trainer.trained.parameters())
    result = trainer.train()
    assert all("kl" in row for row in result.history) and result.history[-1]["kl"] > 0
    after = trainer.trained.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    reloaded = load_finetuned(tmp_path / "run" / "adapter")
    for k, v in reloaded.unet.state_dict().items():
        torch.testing.assert_close(v, after[k])


def test_video_runs_write_gifs_and_lift_image_rewards(tmp_path):
    from PIL import Image

    from gendesign.objectives.video_rewards import SegmentalVideoReward

    cfg = small_config(
        tmp_path,
        run__steps=1,
        model={"tiny": {"kind": "video", "image_size": 8, "num_frames": 4, "block_out_channels": [8, 16]}},
        training__algorithm="auto",
        data={"num_items": 4},
        video={"num_segments": 2, "tar_lambda": 1.0},
        prompts={"train": ["a", "b"], "samples_per_prompt": 1},
    )
    trainer = FinetuneTrainer(cfg, plugins=PLUGINS)
    assert trainer.algorithm_name == "instructvideo" and isinstance(trainer.reward, SegmentalVideoReward)
    assert trainer.reward.num_segments == 2
    trainer.train()
    with Image.open(tmp_path / "run" / "samples" / "step_000001.gif") as gif:
        assert gif.n_frames == 4
