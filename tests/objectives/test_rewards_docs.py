"""Every Python example in docs/rewards.md runs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "rewards.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_python_example_runs(index, capsys):
    exec(compile(EXAMPLES[index], f"{DOC}:example{index}", "exec"), {"__name__": "docs_example"})
    assert capsys.readouterr().out.strip()


def test_toml_snippets_parse():
    snippets = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(snippets) == 3
    for s in snippets:
        tomllib.loads(s)
