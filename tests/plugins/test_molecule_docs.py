"""The examples of the spaces, objectives, oracles and score-command sections of docs/molecules.md run as written."""

from __future__ import annotations

import csv
import re
import shlex
import subprocess
import tomllib
import warnings
from pathlib import Path

import pytest

pytest.importorskip("rdkit")

from click.testing import CliRunner  # noqa: E402

DOCS = Path(__file__).resolve().parents[2] / "docs" / "molecules.md"
SECTIONS = ("Molecule spaces", "Molecule objectives", "PMO oracles", "The `score` command")


def section(title: str) -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def blocks(title: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section(title), flags=re.S)


@pytest.mark.parametrize("title", SECTIONS[:3])
def test_python_examples_run(title, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = blocks(title, "python")
    assert code, title
    for block in code:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            exec(compile(block, f"docs/molecules.md ({title})", "exec"), {})  # noqa: S102 - our own docs
    out = capsys.readouterr().out
    if title == "Molecule spaces":
        assert "line 3: 'C1CC'" in out and "['CC(=O)Oc1ccccc1C(=O)O', 'Cc1ccc(S(N)(=O)=O)cc1']" in out
    if title == "PMO oracles":
        assert out.strip().endswith("20 1.0")


def test_the_objectives_campaign_runs(tmp_path):
    from gendesign.api import run_config
    from gendesign.core.config import parse_config

    configs = [b for b in blocks("Molecule objectives", "toml") if "[strategy]" in b]
    assert len(configs) == 1
    data = tomllib.loads(configs[0])
    data["campaign"].update(run_dir=str(tmp_path / "run"), budget=16, batch_size=8, plots=False, progress=False)
    result = run_config(parse_config(data))
    assert result.summary["evaluations"] > 0


def test_component_snippet_builds_four_columns():
    from gendesign.core.config import Part
    from gendesign.core.plugins import PluginSystem

    snippet = next(b for b in blocks("PMO oracles", "toml") if "components = true" in b)
    part = Part.model_validate(tomllib.loads(snippet)["objectives"][0])
    objective = PluginSystem(entry_points=False).registry("objectives").build(part.name, part.options)
    assert [s.name for s in objective.specs] == [
        "osimertinib_mpo_fcfp4_similarity",
        "osimertinib_mpo_ecfp6_similarity",
        "osimertinib_mpo_tpsa",
        "osimertinib_mpo_logp",
    ]


def test_score_commands_run_as_documented(tmp_path, monkeypatch):
    from gendesign.cli import cli

    monkeypatch.chdir(tmp_path)
    (script,) = blocks("The `score` command", "bash")
    for line in script.strip().splitlines():
        if line.startswith("printf"):
            subprocess.run(["bash", "-c", line], check=True)
            continue
        args = shlex.split(line)
        assert args[:2] == ["gendesign", "score"]
        result = CliRunner().invoke(cli, args[1:], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    rows = list(csv.reader(Path("scores.csv").open()))
    assert ",".join(rows[0]) == "line,smiles,name,qed,sa,osimertinib_mpo,valid,error"
    assert ",".join(rows[2]) == "3,C1CC,broken,,,,false,mols.smi:3: RDKit cannot parse or sanitise SMILES 'C1CC'"
