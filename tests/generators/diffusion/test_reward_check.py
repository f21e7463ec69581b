"""gendesign finetune stops before its first optimisation step when the reward is broken."""

from __future__ import annotations

import pytest
import torch

from gendesign.core.errors import ObjectiveError
from gendesign.generators.diffusion.config import parse_finetune_config
from gendesign.generators.diffusion.trainer import FinetuneTrainer
from gendesign.objectives.image_rewards import Brightness


class TwoColumnBrightness(Brightness):
    """Declares one column but returns `[B, 2]`: the bug the first reward call must catch."""

    def evaluate(self, designs):
        values = super().evaluate(designs)
        return torch.cat([values, values], dim=-1)


def test_wrong_shape_reward_stops_before_the_first_step(tmp_path, fresh_plugins, monkeypatch):
    fresh_plugins.objectives.register("two_column_brightness", TwoColumnBrightness, plugin="test")
    cfg = parse_finetune_config(
        {
            "run": {"output_dir": str(tmp_path / "run"), "steps": 2, "batch_size": 2, "eval_every": 1, "seed": 0},
            "model": {"tiny": {"kind": "pixel", "image_size": 8, "prompts": ["a", "b"], "block_out_channels": [8, 16]}},
            "sampler": {"num_steps": 2, "eta": 0.0, "image_size": 8},
            "training": {"algorithm": "draft"},
            "reward": {"name": "two_column_brightness"},
            "prompts": {"train": ["a"], "heldout": ["b"], "samples_per_prompt": 2},
        }
    )
    trainer = FinetuneTrainer(cfg)
    steps = []
    monkeypatch.setattr(trainer.algorithm, "step", lambda ctx, prompts: steps.append(prompts) or {})
    with pytest.raises(ObjectiveError) as err:
        trainer.train()
    assert steps == [] and trainer.step == 0
    msg = str(err.value)
    assert "first batch (2); no step was taken" in msg
    assert "returned values of shape [2, 2]; expected [2, 1] (1 column from its specs: brightness)" in msg
    assert not (tmp_path / "run" / "adapter").exists()
