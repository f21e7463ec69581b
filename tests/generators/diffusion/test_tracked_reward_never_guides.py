"""``[tracked_reward]``, fine-tuning's held-out evaluation oracle, is logged but never shapes the update."""

from __future__ import annotations

import torch

from gendesign.core.plugins import PluginSystem
from gendesign.generators.diffusion.config import parse_finetune_config
from gendesign.generators.diffusion.lora import lora_state_dict
from gendesign.generators.diffusion.trainer import FinetuneTrainer

PLUGINS = PluginSystem(entry_points=False)


def _config(out, tracked):
    cfg = {
        "run": {"output_dir": str(out), "steps": 2, "batch_size": 4, "eval_every": 1, "save_every": 0, "seed": 3},
        "model": {"tiny": {"kind": "pixel", "image_size": 8, "prompts": ["a", "b", "c"], "block_out_channels": [8, 16]}},
        "sampler": {"num_steps": 3, "eta": 0.0, "image_size": 8},
        "training": {"algorithm": "draft", "learning_rate": 1e-2},
        "reward": {"name": "brightness"},
        "prompts": {"train": ["a", "b"], "heldout": ["c"], "samples_per_prompt": 2},
    }
    if tracked is not None:
        cfg["tracked_reward"] = {"name": tracked}
    return parse_finetune_config(cfg)


def test_weights_do_not_depend_on_the_tracked_reward(tmp_path):
    torch.set_num_threads(1)
    runs = {}
    for tracked in (None, "colourfulness"):
        trainer = FinetuneTrainer(_config(tmp_path / str(tracked), tracked), plugins=PLUGINS)
        result = trainer.train()
        runs[tracked] = (lora_state_dict(trainer.trained), result)
    plain, watched = runs[None][0], runs["colourfulness"][0]
    assert plain.keys() == watched.keys()
    assert any("lora_B" in k and bool(v.abs().sum() > 0) for k, v in plain.items())  # training moved the weights
    assert all(torch.equal(plain[k], watched[k]) for k in plain)
    assert "tracked_reward" in runs["colourfulness"][1].evaluations[-1]
    assert "tracked_reward" not in runs[None][1].evaluations[-1]
