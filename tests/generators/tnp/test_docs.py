"""docs/metabo.md's TNP examples run, and its training config is the shipped example config."""

import re
import tomllib
from pathlib import Path

import pytest

from gendesign.generators.tnp.train_config import load_train_config

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "metabo.md").read_text(encoding="utf-8")


def test_loading_example_runs() -> None:
    blocks = [b for b in re.findall(r"```python\n(.*?)```", DOC, flags=re.S) if "TransformerNeuralProcess.shipped()" in b]
    assert len(blocks) == 1
    namespace: dict = {}
    exec(compile(blocks[0], "docs/metabo.md", "exec"), namespace)
    post, pool = namespace["post"], namespace["pool"]
    assert post.mean.shape == (256, 1) and bool((namespace["best"] == pool).all(-1).any())


def test_training_config_in_the_docs_is_the_example_file() -> None:
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", DOC, flags=re.S) if 'generator = "tnp"' in b]
    assert len(blocks) == 1
    documented = load_train_config(tomllib.loads(blocks[0]))
    assert documented == load_train_config(ROOT / "examples" / "tnp_gp_prior.toml")


@pytest.mark.parametrize("name", ["tnp_gp_prior.toml", "tnp_gp_prior_gpu.toml", "tnp_shipped.toml"])
def test_example_configs_validate(name: str) -> None:
    cfg = load_train_config(ROOT / "examples" / name)
    assert cfg.generator == "tnp"
