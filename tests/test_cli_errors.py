"""Errors on the command line: a broken campaign exits non-zero with the cause on screen; --traceback shows where."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence
from typing import Any

import pytest
import torch
from torch import Tensor

import gendesign.core.plugins as plugins_module
from gendesign.cli import main
from gendesign.core.ledger import Ledger
from gendesign.core.objective import Objective, make_specs
from gendesign.core.plugins import BUILTIN_PLUGINS, PluginSystem

CAMPAIGN = """
[campaign]
budget = 24
batch_size = 8
progress = false
plots = false

[space]
name = "sequence"
options = { alphabet = "01", length = 6 }

[[objectives]]
name = "counts"

[strategy]
name = "random"
"""

STATE = {"broken": True, "calls": 0}


class Counts(Objective):
    """Ones and zeros of a bit string; while ``STATE["broken"]`` it returns a third column too."""

    def __init__(self) -> None:
        self.specs = make_specs(["ones", "zeros"])

    def evaluate(self, designs: Sequence[Any]) -> Tensor:
        STATE["calls"] += 1
        rows = [[d.count("1"), d.count("0")] + ([1.0] if STATE["broken"] else []) for d in designs]
        return torch.tensor(rows, dtype=torch.float32)


def gendesign(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["gendesign", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def medchem(tmp_path, monkeypatch):
    """A plugin system in which the plugin ``medchem`` fails to import a missing dependency."""
    (tmp_path / "medchem.py").write_text("import rdkit_not_installed_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    system = PluginSystem(builtins=(*BUILTIN_PLUGINS, "medchem"), entry_points=False)
    monkeypatch.setattr(plugins_module, "_SYSTEM", system)
    return system


def test_wrong_shape_objective_stops_the_cli_run_in_its_first_batch_and_resume_finishes_after_the_fix(
    tmp_path, fresh_plugins, monkeypatch, capsys
):
    fresh_plugins.objectives.register("counts", Counts, plugin="test")
    monkeypatch.setitem(STATE, "broken", True)
    monkeypatch.setitem(STATE, "calls", 0)
    config = tmp_path / "c.toml"
    config.write_text(textwrap.dedent(CAMPAIGN))
    run_dir = tmp_path / "run"
    code, _, err = gendesign(monkeypatch, capsys, "run", str(config), "--run-dir", str(run_dir))
    assert code != 0 and STATE["calls"] == 1
    assert "returned values of shape [8, 3]; expected [8, 2] (2 columns from its specs: ones, zeros)" in err
    assert f"gendesign resume {run_dir}" in err and "Traceback" not in err
    STATE["broken"] = False
    code, out, err = gendesign(monkeypatch, capsys, "resume", str(run_dir))
    assert code == 0, err
    assert "evaluations 24 (budget 24" in out
    with Ledger(run_dir / "ledger.sqlite") as ledger:
        assert ledger.count() == 24 and all(ev.valid for _, ev in ledger)


def test_directions_mismatch_is_refused_by_validate_and_by_run_before_any_evaluation(
    tmp_path, fresh_plugins, monkeypatch, capsys
):
    fresh_plugins.objectives.register("counts", Counts, plugin="test")
    monkeypatch.setitem(STATE, "calls", 0)
    config = tmp_path / "c.toml"
    config.write_text(textwrap.dedent(CAMPAIGN).replace('name = "counts"', 'name = "counts"\ndirections = ["max"]'))
    for command in (["validate", str(config)], ["run", str(config), "--run-dir", str(tmp_path / "run")]):
        code, _, err = gendesign(monkeypatch, capsys, *command)
        assert code == 2 and "directions = ['max'] has 1 entries but 'counts' has 2 columns ['ones', 'zeros']" in err, command
    assert STATE["calls"] == 0 and not (tmp_path / "run" / "ledger.sqlite").exists()


def test_unknown_name_says_which_plugin_failed_to_load(tmp_path, medchem, monkeypatch, capsys):
    config = tmp_path / "c.toml"
    config.write_text(textwrap.dedent(CAMPAIGN).replace('name = "counts"', 'name = "synthesizability"'))
    expected = "unknown objective 'synthesizability'; plugin 'medchem' failed to load: ModuleNotFoundError: No module named 'rdkit_not_installed_here'"
    for command in ("validate", "run"):
        code, _, err = gendesign(
            monkeypatch, capsys, command, str(config), *(["--run-dir", str(tmp_path / "r")] if command == "run" else [])
        )
        assert code == 2 and expected in err, command
    code, out, err = gendesign(monkeypatch, capsys, "list", "objectives")
    assert code == 0 and "dtlz2" in out
    assert "FAILED medchem: ModuleNotFoundError: No module named 'rdkit_not_installed_here'" in err


def test_traceback_flag_and_debug_variable_show_files_and_lines(tmp_path, medchem, monkeypatch, capsys):
    config = tmp_path / "c.toml"
    config.write_text(textwrap.dedent(CAMPAIGN).replace('name = "counts"', 'name = "synthesizability"'))
    code, _, plain = gendesign(monkeypatch, capsys, "validate", str(config))
    assert code == 2 and "Traceback" not in plain and len(plain.strip().splitlines()) == 1
    code, _, full = gendesign(monkeypatch, capsys, "--traceback", "validate", str(config))
    assert code == 2 and full.strip().splitlines()[-1] == plain.strip()
    assert "Traceback (most recent call last)" in full and 'registry.py", line ' in full, "the error's own traceback"
    assert f'{tmp_path / "medchem.py"}", line 1' in full, "the failed plugin's traceback"
    code, _, again = gendesign(monkeypatch, capsys, "validate", str(config))
    assert "Traceback" not in again, "--traceback must not stick to later invocations"
    monkeypatch.setenv("GENDESIGN_DEBUG", "1")
    code, _, env = gendesign(monkeypatch, capsys, "validate", str(config))
    assert code == 2 and 'registry.py", line ' in env


def test_an_internal_error_is_one_line_with_a_hint_unless_traceback(tmp_path, fresh_plugins, monkeypatch, capsys):
    def broken_factory() -> Objective:
        return None.specs  # type: ignore[attr-defined]

    fresh_plugins.objectives.register("broken", broken_factory, plugin="test")
    config = tmp_path / "c.toml"
    config.write_text(textwrap.dedent(CAMPAIGN).replace('name = "counts"', 'name = "broken"'))
    code, _, err = gendesign(monkeypatch, capsys, "validate", str(config))
    assert code == 2 and "AttributeError" in err and "Traceback" not in err
    code, _, err = gendesign(monkeypatch, capsys, "--traceback", "validate", str(config))
    assert "Traceback (most recent call last)" in err and 'test_cli_errors.py", line ' in err, (
        "the chained cause shows where the factory broke"
    )
