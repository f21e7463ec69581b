"""The reward layer from TOML: constrained_reward and ensemble objectives in campaigns, GFlowNet's exponential log-reward."""

from __future__ import annotations

import pytest
import torch

from gendesign.core.campaign import CHECKPOINT_NAME, load_checkpoint
from gendesign.core.config import parse_config
from gendesign.core.objective import ObjectiveSpec
from gendesign.generators.gflownet.rewards import build_reward

torch.set_num_threads(1)

BC = {"name": "branin_currin"}


def _config(tmp_path, objective):
    return parse_config(
        {
            "campaign": {"budget": 48, "batch_size": 16, "seed": 0, "progress": False, "plots": False, "run_dir": str(tmp_path / "run")},
            "objective": objective,
            "strategy": {"name": "random"},
        }
    )


def test_constrained_reward_campaign_from_toml_keeps_its_multipliers_in_the_checkpoint(tmp_path):
    from gendesign.api.runs import run_config

    objective = {
        "name": "constrained_reward",
        "options": {
            "primary": BC,
            "primary_column": "branin_currin_f0",
            "constraints": [{"objective": BC, "column": "branin_currin_f1", "threshold": 2.0, "mode": "ge"}],
            "lr": 0.5,
        },
    }
    result = run_config(_config(tmp_path, objective))
    assert result.summary["evaluations"] == 48
    state = load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)["objective"]
    assert state["steps"] == 3, "one multiplier step per scored batch"
    assert state["lam"][0] != 0.0


def test_ensemble_objective_from_toml_with_zscore_reference():
    from gendesign.core.plugins import PluginSystem

    system = PluginSystem()
    ens = system.objectives.build(
        "ensemble",
        {"members": [BC, BC], "aggregate": "uwo", "lam": 0.5, "member_norm": "zscore", "reference": [[0.1, 0.2], [0.5, 0.5], [0.9, 0.3]]},
    )
    out = ens([[0.3, 0.3]])
    assert out.valid.all() and ens.aggregate == "uwo" and ens.specs[0].bounds is None
    with pytest.raises(Exception, match="aggregate"):
        system.objectives.build("ensemble", {"members": [BC], "aggregate": "max"})


def test_exponential_log_reward_takes_any_real_score():
    strategy = build_reward("exponential", [ObjectiveSpec("score")], beta=2.0, min_log_reward=-10.0)
    canonical = torch.tensor([[-3.0], [0.5], [-100.0], [float("nan")]])
    valid = torch.tensor([True, True, True, True])
    assert strategy.log_rewards(canonical, valid).tolist() == [-6.0, 1.0, -10.0, -10.0]
    assert strategy.log_rewards(canonical, torch.tensor([False, True, True, True]))[0].item() == -10.0
