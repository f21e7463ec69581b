"""Training through ``gendesign train``: dispatch on the config's generator, exact resumption, saved provenance."""

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner

from gendesign.cli import cli
from gendesign.core.errors import ConfigError
from gendesign.generators.tnp import TransformerNeuralProcess
from gendesign.generators.tnp.train_config import load_train_config
from gendesign.generators.tnp.training import train

TOML = """
generator = "tnp"
[prior]
name = "mixture"
components = [{{ name = "gp", weight = 2.0, options = {{ kernels = ["matern32"] }} }}, {{ name = "bnn", weight = 1.0 }}]
[model]
max_dim = 2
max_context = 6
num_buckets = 12
d_model = 16
n_layers = 1
n_heads = 2
d_ff = 32
[training]
max_steps = 6
batch_size = 4
num_targets = 4
border_batches = 3
val_batches = 2
checkpoint_every_steps = 3
warmup_steps = 2
[output]
dir = "{out}"
"""


def _config(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(TOML.format(out=(tmp_path / name).as_posix()))
    return path


class _StopAt:
    """A Lightning callback that stops training after ``step`` optimiser steps (a simulated kill)."""

    def __init__(self, step: int) -> None:
        import lightning.pytorch as pl

        outer = self

        class Stop(pl.Callback):
            def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
                if trainer.global_step >= outer.step:
                    trainer.should_stop = True

        self.step = step
        self.callback = Stop()


def test_gendesign_train_dispatches_to_tnp_and_resumption_is_exact(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["train", str(_config(tmp_path, "straight"))], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "saved TransformerNeuralProcess" in result.output and "after 6 steps" in result.output
    straight = TransformerNeuralProcess.from_pretrained(tmp_path / "straight")
    meta = TransformerNeuralProcess.load_meta(tmp_path / "straight")
    saved = json.loads((tmp_path / "straight" / "config.json").read_text())
    assert saved["prior"]["name"] == "mixture" and saved["prior"]["components"][0]["options"]["kernels"] == ["matern32"]
    assert meta["global_step"] == 6 and meta["val_nll"] is not None

    cfg = _config(tmp_path, "interrupted")
    train(cfg, callbacks=[_StopAt(3).callback])
    assert TransformerNeuralProcess.load_meta(tmp_path / "interrupted")["global_step"] == 3
    resumed = train(cfg)
    assert TransformerNeuralProcess.load_meta(tmp_path / "interrupted")["resumed_from"] is not None
    for (k, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), f"{k} differs between the uninterrupted and the resumed run"


def test_borders_come_from_the_prior(tmp_path: Path) -> None:
    cfg = load_train_config(_config(tmp_path, "b"))
    from gendesign.generators.tnp.priors import build_prior
    from gendesign.generators.tnp.tasks import BORDER_STREAM
    from gendesign.generators.tnp.training import prior_borders, task_sampler

    sampler = task_sampler(cfg, build_prior(cfg.prior))
    borders = prior_borders(sampler, 12, 3)
    targets = torch.cat([sampler.task(BORDER_STREAM, i).y_target.flatten() for i in range(3)])
    inside = ((targets >= borders[5]) & (targets < borders[6])).double().mean()
    assert borders.shape == (13,) and abs(float(inside) - 1 / 12) < 0.05


def test_unknown_generator_and_bad_config_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('generator = "nope"\n[output]\ndir = "x"\n')
    result = CliRunner().invoke(cli, ["train", str(bad)])
    assert isinstance(result.exception, ConfigError) and "'nope'" in str(result.exception) and "tnp" in str(result.exception)
    bad.write_text('generator = "gflownet"\n[output]\ndir = "x"\n')
    result = CliRunner().invoke(cli, ["train", str(bad)])
    assert isinstance(result.exception, ConfigError) and "train_from_config" in str(result.exception)
    with pytest.raises(ConfigError, match="min_dim"):
        load_train_config({"model": {"max_dim": 2}, "training": {"min_dim": 3}, "output": {"dir": "x"}})
    with pytest.raises(ConfigError, match="unknown prior"):
        train({"prior": {"name": "gpp"}, "output": {"dir": str(tmp_path / "x")}})
