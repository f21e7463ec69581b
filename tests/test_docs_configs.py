"""Every complete campaign config in docs/campaigns.md, docs/peptides.md, docs/spaces.md and docs/mcts.md validates and runs.

A complete config is a ```toml block with ``[[objectives]]`` and ``[strategy]`` tables. Among them are the reference
config of ``docs/campaigns.md``, the ``directions``/``columns``/``transforms`` example on an
objective without ``[space]`` (wrappers keep the objective's default space) and the
``peptide_smiles`` campaign of ``docs/peptides.md``. (Configs that need files made by the reader,
like a user model directory, are tested with those files next to their own docs.)
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import torch

from gendesign.api import dump_toml, run_config, validate_config
from gendesign.core.config import parse_config

torch.set_num_threads(1)
DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCKS = [
    (f"{path.name}#{i}", block)
    for path in (DOCS / "campaigns.md", DOCS / "peptides.md", DOCS / "spaces.md", DOCS / "mcts.md")
    for i, block in enumerate(re.findall(r"```toml\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S))
    if "[strategy]" in block and "[[objectives]]" in block
]


def test_the_examples_this_file_promises_are_there():
    text = "\n".join(block for _, block in BLOCKS)
    assert 'name = "peptide_smiles"' in text
    assert any("[space]" not in block and "directions" in block and "transforms" in block for _, block in BLOCKS)


@pytest.mark.parametrize(("where", "block"), BLOCKS, ids=[w for w, _ in BLOCKS])
def test_docs_config_validates_and_runs(where, block, tmp_path):
    data = tomllib.loads(block)
    campaign = data.setdefault("campaign", {})
    campaign.pop("ledger", None)
    campaign.update(run_dir=str(tmp_path / "run"), budget=min(campaign.get("budget", 16), 16), plots=False, progress=False)
    path = tmp_path / "config.toml"
    path.write_text(dump_toml(data))
    assert len(validate_config(path)) == 4
    result = run_config(parse_config(data))
    assert result.summary["evaluations"] > 0
