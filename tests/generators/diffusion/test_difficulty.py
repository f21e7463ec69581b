"""Balanced online difficulty filtering (Bae et al. 2025): masks, variance mode, refill, state, end to end."""

from __future__ import annotations

import math

import pytest
import torch

from gendesign.core.errors import ConfigError, ObjectiveError
from gendesign.core.plugins import PluginSystem
from gendesign.generators.diffusion.algorithm import PromptRollout
from gendesign.generators.diffusion.config import parse_finetune_config
from gendesign.generators.diffusion.difficulty import DifficultyFilter, DifficultySettings, group_stats, keep_mask
from gendesign.generators.diffusion.lora import lora_state_dict
from gendesign.generators.diffusion.trainer import FinetuneTrainer
from gendesign.objectives.image_rewards import ConditionedImage, PromptBrightness

PLUGINS = PluginSystem(entry_points=False)


def _table(groups: list[list[float]]) -> tuple[torch.Tensor, torch.Tensor]:
    values = torch.tensor([v for g in groups for v in g])
    ids = torch.tensor([i for i, g in enumerate(groups) for _ in g])
    return values, ids


def test_pass_rate_filter_keeps_exactly_the_groups_in_the_inclusive_band():
    # pass rates at τ = 0.5: 0, 1/4, 2/4, 3/4, 1, and 1/4 (a NaN counts as a failure)
    values, ids = _table([[0, 0, 0.4, 0.1], [0.5, 0, 0, 0], [1, 0.6, 0, 0.2], [1, 1, 0.9, 0.3], [1, 1, 1, 0.5], [0.7, math.nan, 0, 0]])
    stats = group_stats(values, ids, threshold=0.5)
    assert stats.pass_rate.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0, 0.25]
    mask = keep_mask(stats, DifficultySettings(threshold=0.5, p_lo=0.25, p_hi=0.75))
    assert mask.tolist() == [False, True, True, True, False, True]
    narrow = keep_mask(stats, DifficultySettings(threshold=0.5, p_lo=0.3, p_hi=0.6))
    assert narrow.tolist() == [False, False, True, False, False, False]
    assert bool((stats.variance[mask] > 0).all())


def test_variance_mode_keeps_groups_whose_reward_variance_exceeds_epsilon():
    groups = [[0.3, 0.3, 0.3], [0.1, 0.2, 0.6], [1.0, 1.001, 1.0], [2.0, math.nan, 4.0]]
    values, ids = _table(groups)
    stats = group_stats(values, ids)
    expected = [torch.tensor([v for v in g if not math.isnan(v)], dtype=torch.float64).var(unbiased=False) for g in groups]
    assert torch.allclose(stats.variance, torch.stack(expected))
    assert torch.isnan(stats.pass_rate).all()
    mask = keep_mask(stats, DifficultySettings(metric="variance", min_variance=1e-8))
    assert mask.tolist() == [False, True, True, True]
    assert keep_mask(stats, DifficultySettings(metric="variance", min_variance=1e-6)).tolist() == [False, True, False, True]


class ScriptedAlgorithm:
    """Rewards fixed by the prompt: ``mid*`` alternates 0/1 (p̂ = 0.5), ``easy*`` is 1, ``hard*`` is 0."""

    def __init__(self) -> None:
        self.screened: list[str] = []
        self.learned: list[str] = []

    def rollout(self, ctx, prompts):
        del ctx
        self.screened += prompts
        value = {"mid": lambda i: float(i % 2), "easy": lambda i: 1.0, "hard": lambda i: 0.0}
        return PromptRollout(prompts, torch.tensor([value[p.rstrip("0123456789")](i) for i, p in enumerate(prompts)]))

    def cat_rollouts(self, parts):
        return PromptRollout([p for part in parts for p in part.prompts], torch.cat([part.rewards for part in parts]))

    def learn(self, ctx, rollout):
        del ctx
        self.learned = rollout.prompts
        return {"reward_mean": float(rollout.rewards.mean())}


class _Ctx:
    generator = torch.Generator().manual_seed(0)


POOL = ["mid0", "mid1", "easy0", "easy1", "easy2", "hard0", "hard1", "hard2"]


def test_refill_stacks_kept_groups_from_the_pool_until_the_batch_is_full():
    settings = DifficultySettings(group_size=4, threshold=0.5, oversample=2.0, max_rounds=10)
    filt, algo = DifficultyFilter(settings, POOL), ScriptedAlgorithm()
    metrics = filt.step(algo, _Ctx(), batch_size=16)
    assert len(algo.learned) == 16 and all(p.startswith("mid") for p in algo.learned)
    assert [algo.learned[i : i + 4].count(algo.learned[i]) for i in range(0, 16, 4)] == [4, 4, 4, 4]
    assert metrics["difficulty_kept"] == 4 and metrics["difficulty_padded"] == 0
    assert metrics["difficulty_screened_samples"] == len(algo.screened) == 4 * metrics["difficulty_candidates"]
    assert metrics["difficulty_rounds"] >= 2  # 8 candidates hold at most 2 mid prompts, so one round cannot fill 4 groups
    table = {row["prompt"]: row for row in filt.pool_table()}
    assert sum(row["screened"] for row in table.values()) == metrics["difficulty_candidates"]
    assert all(table[p]["kept"] == 0 for p in POOL[2:])
    assert filt.weights().tolist() == [1.0 if table[p]["screened"] == 0 or p.startswith("mid") else settings.explore for p in POOL]


def test_the_attempt_cap_pads_the_batch_with_rejected_groups_and_logs_it():
    settings = DifficultySettings(group_size=2, threshold=0.5, oversample=1.0, max_rounds=3)
    filt, algo = DifficultyFilter(settings, POOL[2:]), ScriptedAlgorithm()
    metrics = filt.step(algo, _Ctx(), batch_size=8)
    assert metrics["difficulty_rounds"] == 3 and metrics["difficulty_kept"] == 0 and metrics["difficulty_padded"] == 4
    assert len(algo.learned) == 8 and metrics["difficulty_screened_samples"] == 3 * 8


def test_prioritized_candidates_follow_the_pool_statistics():
    settings = DifficultySettings(group_size=2, threshold=0.5, prioritize=True, explore=1e-6, oversample=1.0)
    filt, algo = DifficultyFilter(settings, POOL), ScriptedAlgorithm()
    filt.last_kept = torch.tensor([p.startswith("mid") for p in POOL])
    filt.step(algo, _Ctx(), batch_size=4)
    assert set(algo.screened) == {"mid0", "mid1"}


def test_filter_state_round_trips():
    settings = DifficultySettings(group_size=2, threshold=0.5)
    filt = DifficultyFilter(settings, POOL)
    filt.step(ScriptedAlgorithm(), _Ctx(), batch_size=4)
    again = DifficultyFilter(settings, POOL)
    again.load_state_dict(filt.state_dict())
    assert again.state_dict() == filt.state_dict()
    assert torch.equal(again.screened, filt.screened) and torch.equal(again.last_kept, filt.last_kept)
    assert torch.equal(again.last_stat.isnan(), filt.last_stat.isnan())
    with pytest.raises(ConfigError, match="pool differs"):
        DifficultyFilter(settings, POOL[:3]).load_state_dict(filt.state_dict())


def test_prompt_brightness_scores_each_prompt_against_its_own_target():
    reward = PromptBrightness({"dark": 0.1, "light": 0.9})
    grey = torch.full((3, 4, 4), 0.5)
    scores = reward([ConditionedImage(grey, None, "dark"), ConditionedImage(grey, None, "light"), ConditionedImage(grey * 0.2, None, "dark")])
    assert torch.allclose(scores.values[:, 0], torch.tensor([-0.16, -0.16, 0.0]), atol=1e-6)
    with pytest.raises(ObjectiveError, match="no target for prompts"):
        reward.evaluate([ConditionedImage(grey, None, "dusk")])
    with pytest.raises(ConfigError, match="target luma"):
        PromptBrightness({"x": 1.5})


def _config(tmp_path, steps: int, algorithm: str = "ddpo", difficulty: dict | None = None, **run):
    targets = {"a": 0.45, "b": 0.3, "c": 0.95, "d": 0.05}
    training = {"algorithm": algorithm, "learning_rate": 1e-2, "difficulty": difficulty or {"group_size": 2, "threshold": -0.004, "max_rounds": 2}}
    if algorithm == "ddpo":
        training["options"] = {"minibatch_size": 2, "min_count": 2, "clip_range": 0.2}
    return parse_finetune_config(
        {
            "run": {"output_dir": str(tmp_path / "run"), "steps": steps, "batch_size": 4, "eval_every": 1, "save_every": 1, "seed": 1, **run},
            "model": {"tiny": {"kind": "pixel", "image_size": 8, "prompts": list(targets), "block_out_channels": [8, 16]}},
            "sampler": {"num_steps": 3, "eta": 1.0 if algorithm == "ddpo" else 0.0, "image_size": 8},
            "training": training,
            "reward": {"name": "prompt_brightness", "options": {"targets": targets}},
            "prompts": {"train": list(targets), "heldout": ["a"], "samples_per_prompt": 2},
        }
    )


def test_ddpo_with_the_filter_runs_end_to_end_and_resumes_bit_identically(tmp_path):
    torch.set_num_threads(1)
    full = FinetuneTrainer(_config(tmp_path / "a", 2), plugins=PLUGINS)
    out = full.train()
    assert all(row["difficulty_kept"] + row["difficulty_padded"] == 2 for row in out.history)
    assert out.history[-1]["difficulty_total_samples"] == sum(row["difficulty_screened_samples"] for row in out.history)
    FinetuneTrainer(_config(tmp_path / "b", 1), plugins=PLUGINS).train()
    resumed = FinetuneTrainer(_config(tmp_path / "b", 2), plugins=PLUGINS, resume=True)
    assert resumed.difficulty.state_dict()["samples"] == out.history[0]["difficulty_total_samples"]
    again = resumed.train()
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_time"} for r in rows]  # noqa: E731
    assert strip(again.history) == strip(out.history)
    a, b = lora_state_dict(full.trained), lora_state_dict(resumed.trained)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.difficulty.state_dict() == full.difficulty.state_dict()


@pytest.mark.parametrize("algorithm", ["draft", "alignprop"])
def test_backprop_algorithms_train_on_the_kept_prompts(tmp_path, algorithm, monkeypatch):
    torch.set_num_threads(1)
    trainer = FinetuneTrainer(_config(tmp_path, 1, algorithm, {"group_size": 2, "metric": "variance", "min_variance": 0.0}), plugins=PLUGINS)
    seen: list[list[str]] = []
    step = trainer.algorithm.step
    monkeypatch.setattr(trainer.algorithm, "step", lambda ctx, prompts: seen.append(prompts) or step(ctx, prompts))
    out = trainer.train()
    assert out.history[0]["difficulty_kept"] == 2 and len(seen) == 1 and len(seen[0]) == 4
    assert seen[0][0] == seen[0][1] and seen[0][2] == seen[0][3]
    assert math.isfinite(out.history[0]["reward_mean"])


def test_config_errors_name_the_field_and_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="needs threshold"):
        _config(tmp_path, 1, difficulty={"group_size": 2})
    with pytest.raises(ConfigError, match="batch_size=4 is not a multiple of training.difficulty.group_size=3"):
        _config(tmp_path, 1, difficulty={"group_size": 3, "threshold": 0.0})
    with pytest.raises(ConfigError, match="p_lo=0.8 must not exceed p_hi=0.5"):
        _config(tmp_path, 1, difficulty={"threshold": 0.0, "group_size": 2, "p_lo": 0.8, "p_hi": 0.5})
    with pytest.raises(ConfigError, match="grup_size"):
        _config(tmp_path, 1, difficulty={"grup_size": 2, "threshold": 0.0})


def test_the_example_config_builds_a_filtered_ddpo_trainer(tmp_path):
    from pathlib import Path

    from gendesign.generators.diffusion.config import load_finetune_config

    cfg = load_finetune_config(Path(__file__).parents[3] / "examples" / "finetune_difficulty.toml")
    cfg.run.output_dir = str(tmp_path / "run")
    trainer = FinetuneTrainer(cfg, plugins=PLUGINS)
    assert trainer.algorithm_name == "ddpo" and trainer.difficulty is not None
    assert trainer.difficulty.pool == cfg.prompts.train and set(trainer.reward.targets) == set(cfg.prompts.train)
