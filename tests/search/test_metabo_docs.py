"""docs/metabo.md's strategy examples run, and the metabo/NAP example configs validate."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import torch

from gendesign.api import validate_config
from gendesign.core.config import parse_config
from gendesign.generators.nap.training import load_config

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "metabo.md").read_text(encoding="utf-8")


def test_python_example_runs_with_the_shipped_tnp():
    blocks = [b for b in re.findall(r"```python\n(.*?)```", DOC, flags=re.S) if 'strategy="metabo"' in b]
    assert len(blocks) == 1
    namespace: dict = {}
    exec(compile(blocks[0].replace("print(", "(lambda *a: None)("), "docs/metabo.md", "exec"), namespace)
    result = namespace["result"]
    assert result.summary["evaluations"] == 12
    assert result.summary["strategy_report"]["metabo"]["model_steps"] == 8


def test_documented_config_matches_the_example_and_validates():
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", DOC, flags=re.S) if 'name = "metabo"' in b]
    assert len(blocks) == 1
    example = tomllib.loads((ROOT / "examples" / "metabo_branin.toml").read_text())
    documented = tomllib.loads(blocks[0])
    assert documented["strategy"] == example["strategy"] and documented["objectives"] == example["objectives"]
    assert len(validate_config(ROOT / "examples" / "metabo_branin.toml")) == 4
    assert parse_config(example).strategy.name == "metabo"


def test_nap_configs_validate():
    for name in ("nap_cpu.toml", "nap_gpu.toml"):
        cfg = load_config(ROOT / "examples" / name)
        assert cfg.task.max_dim <= 8 and cfg.output.dir.startswith("runs/")
