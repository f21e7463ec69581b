"""The `gendesign` command line: plugins, list, run, resume, report, validate, and error exits."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from gendesign.cli import main
from gendesign.core.ledger import Ledger

TINY = """
[campaign]
budget = 48
batch_size = 16
seed = 2

[[objectives]]
name = "branin_currin"

[strategy]
name = "random"
"""


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
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(textwrap.dedent(TINY))
    return path


def test_plugins_json_lists_builtins_and_failures(monkeypatch, capsys):
    code, out, _ = gendesign(monkeypatch, capsys, "plugins", "--json")
    data = json.loads(out)
    assert code == 0 and set(data) == {"plugins", "failed"}
    core = {p["name"]: p for p in data["plugins"]}["gendesign.plugins.core_parts"]
    assert core["builtin"] and {"random", "evolution"} <= set(core["registers"]["strategies"])
    assert {"dtlz2", "ehrlich"} <= set(core["registers"]["objectives"])
    code, text, _ = gendesign(monkeypatch, capsys, "plugins")
    assert "gendesign.plugins.core_parts" not in text, "the text listing shows third-party plugins unless --all"
    code, text, _ = gendesign(monkeypatch, capsys, "plugins", "--all")
    assert "gendesign.plugins.core_parts 0.1.0 (built-in)" in text and "strategies: " in text


def test_list_shows_names_with_one_line_docs(monkeypatch, capsys):
    code, out, _ = gendesign(monkeypatch, capsys, "list", "strategies")
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert code == 0 and "random" in lines and "evolution" in lines
    code, out, _ = gendesign(monkeypatch, capsys, "list", "objectives", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["dtlz2"]["plugin"] == "gendesign.plugins.core_parts" and rows["dtlz2"]["summary"]


def test_run_resume_report_cycle(tmp_path, tiny, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    code, out, err = gendesign(monkeypatch, capsys, "run", str(tiny), "--run-dir", str(run_dir), "--no-progress")
    assert code == 0, err
    assert f"outputs: {run_dir}" in out and "evaluations 48 (budget 48" in out and "hypervolume" in out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["evaluations"] == 48 and summary["strategy"] == "random"
    assert summary["reference_point"]["rule"] == "spec bounds"
    for name in ("config.resolved.toml", "ledger.sqlite", "pareto.csv", "evaluations.csv", "pareto_front.png", "hypervolume.png", "best.png"):
        assert (run_dir / name).is_file(), name

    code, out, err = gendesign(monkeypatch, capsys, "run", str(tiny), "--run-dir", str(run_dir))
    assert code == 2 and "already holds a run" in err and "gendesign resume" in err

    code, out, err = gendesign(monkeypatch, capsys, "resume", str(run_dir), "--no-progress")
    assert code == 0, err
    with Ledger(run_dir / "ledger.sqlite") as ledger:
        assert ledger.count() == 48, "resuming a finished run evaluates nothing"

    (run_dir / "pareto.csv").unlink()
    code, out, err = gendesign(monkeypatch, capsys, "report", str(run_dir), "--json", "--no-plots")
    assert code == 0, err
    assert json.loads(out)["evaluations"] == 48 and (run_dir / "pareto.csv").is_file()


def test_run_without_config_uses_the_embedded_default(tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "default"
    code, out, err = gendesign(monkeypatch, capsys, "run", "--run-dir", str(run_dir), "--budget", "40", "--no-progress")
    assert code == 0, err
    assert "built-in default campaign" in err
    resolved = (run_dir / "config.resolved.toml").read_text()
    assert "budget = 40" in resolved and 'name = "amp_probability"' in resolved and 'name = "mcts"' in resolved
    assert json.loads((run_dir / "summary.json").read_text())["evaluations"] == 40
    pareto = (run_dir / "pareto.csv").read_text().splitlines()
    assert "smiles" in pareto[0].lower() and len(pareto) > 1


def test_run_dir_defaults_to_a_timestamp_under_runs(tmp_path, tiny, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = gendesign(monkeypatch, capsys, "run", str(tiny), "--budget", "16", "--no-progress")
    assert code == 0, err
    (made,) = list((tmp_path / "runs").iterdir())
    assert f"outputs: {made.relative_to(tmp_path)}" in out and (made / "summary.json").is_file()


def test_validate_ok_and_errors(tmp_path, tiny, monkeypatch, capsys):
    code, out, _ = gendesign(monkeypatch, capsys, "validate", str(tiny))
    assert code == 0 and out.strip().endswith(": OK") and "branin_currin_f0" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY.replace('name = "random"', 'name = "rand"'))
    code, _, err = gendesign(monkeypatch, capsys, "validate", str(bad))
    assert code == 2 and "'rand'" in err and "evolution" in err and "random" in err and "Traceback" not in err
    bad.write_text(TINY.replace("budget = 48", "budget = -1"))
    code, _, err = gendesign(monkeypatch, capsys, "validate", str(bad))
    assert code == 2 and "campaign.budget = -1" in err


def test_resume_and_report_need_a_run_directory(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = gendesign(monkeypatch, capsys, "resume", str(empty))
    assert code == 2 and "config.resolved.toml" in err
    code, _, err = gendesign(monkeypatch, capsys, "report", str(empty))
    assert code == 2 and "ledger.sqlite" in err
    code, _, err = gendesign(monkeypatch, capsys, "resume", str(tmp_path / "nowhere"))
    assert code == 2 and "does not exist" in err


def test_a_held_run_dir_is_refused_and_force_breaks_the_lock(tmp_path, tiny, monkeypatch, capsys):
    from gendesign.core.lock import RunDirLock

    run_dir = tmp_path / "run"
    stuck = RunDirLock.acquire(run_dir)  # a holder that never lets go, e.g. a dead run's forked child
    try:
        code, _, err = gendesign(monkeypatch, capsys, "run", str(tiny), "--run-dir", str(run_dir), "--no-progress")
        assert code == 2 and f"run dir {run_dir} is in use by PID " in err and "--force" in err
        assert sorted(p.name for p in run_dir.iterdir()) == ["run.lock"], "a refused run writes nothing"
        code, out, err = gendesign(monkeypatch, capsys, "run", str(tiny), "--run-dir", str(run_dir), "--no-progress", "--force")
        assert code == 0 and "evaluations 48" in out, err
    finally:
        stuck.release()
    code, _, err = gendesign(monkeypatch, capsys, "resume", str(run_dir), "--no-progress")
    assert code == 0, err
