"""Lab in the loop: ask writes a plate and records it as pending; tell imports partial plates, idempotently, and refuses what it cannot trust."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gendesign.api import ask_run, run_status, tell_run
from gendesign.cli import cli
from gendesign.core.errors import CampaignError, ConfigError
from gendesign.core.ledger import Ledger
from gendesign.core.plugins import PluginSystem

PLUGINS = PluginSystem(entry_points=False)
CONFIG = """
[campaign]
mode = "lab"
budget = 12
seed = 4

[space]
name = "sequence"
options = { alphabet = "ACDE", length = 4 }

[objective]
name = "lab"
options = { columns = [ { name = "activity", direction = "max" }, { name = "tox", direction = "min", kind = "constraint", threshold = 0.5 } ] }

[strategy]
name = "evolution"
options = { population_size = 4 }
"""


def measure(design: str) -> tuple[float, float]:
    return float(design.count("A")), 0.1 * design.count("D")


def fill(plate: Path, out: Path, *, blank: set[int] = frozenset(), failed: set[int] = frozenset()) -> list[dict]:
    rows = list(csv.DictReader(plate.open()))
    for i, row in enumerate(rows):
        if i in failed:
            row["error"] = "did not express"
        elif i not in blank:
            row["activity"], row["tox"] = (repr(v) for v in measure(row["design"]))
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "lab.toml"
    path.write_text(CONFIG)
    return path


def test_ask_tell_round_trip_with_a_partial_plate_and_a_duplicate_import(tmp_path, config):
    run = tmp_path / "run"
    plate = ask_run(run, 5, tmp_path / "p1.csv", config=config, plugins=PLUGINS)
    assert len(plate.designs) == 5 and plate.name == "plate-1"
    header = next(csv.reader((tmp_path / "p1.csv").open()))
    assert header == ["id", "design", "plate", "activity", "tox", "error"]
    assert run_status(run)["pending"] == 5 and run_status(run)["evaluations"] == 0

    rows = fill(tmp_path / "p1.csv", tmp_path / "r1.csv", blank={3}, failed={4})
    report = tell_run(run, tmp_path / "r1.csv", plugins=PLUGINS)
    assert (report.recorded, report.failed, report.already, report.still_pending, report.pending_left) == (4, 1, 0, 1, 1)
    again = tell_run(run, tmp_path / "r1.csv", plugins=PLUGINS)
    assert (again.recorded, again.already, again.pending_left) == (0, 4, 1), "re-importing the same file changes nothing"

    status = run_status(run)
    assert status["evaluations"] == 4 and status["failed"] == 1 and status["pending_by_batch"] == {"plate-1": 1}
    with Ledger(run / "ledger.sqlite") as ledger:
        run_id = ledger.get_meta("run_id")
        recorded = {e.evaluation.design: e.evaluation for e in ledger.trajectory(run_id)}
    for row in rows[:3]:
        assert recorded[json.dumps(row["design"])].values == measure(row["design"])
    assert recorded[json.dumps(rows[4]["design"])].error == "lab: did not express"

    fill(tmp_path / "p1.csv", tmp_path / "r1b.csv", failed={4})
    tell_run(run, tmp_path / "r1b.csv", plugins=PLUGINS)
    assert run_status(run)["pending"] == 0

    second = ask_run(run, 4, tmp_path / "p2.csv", plugins=PLUGINS)
    asked = {d for _, d in plate.designs} | {d for _, d in second.designs}
    assert len(asked) == 9, "a new plate never repeats a design already measured or pending"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["evaluations"] == 5


def test_tell_refuses_unknown_ids_bad_cells_and_contradictions(tmp_path, config):
    run = tmp_path / "run"
    ask_run(run, 3, tmp_path / "p.csv", config=config, plugins=PLUGINS)
    rows = fill(tmp_path / "p.csv", tmp_path / "r.csv")

    forged = tmp_path / "forged.csv"
    forged.write_text("id,activity,tox\nabcdef012345,1,0\n" + f"{rows[0]['id']},1,0\n")
    with pytest.raises(ConfigError, match=r"1 id\(s\) were never asked for by this run: abcdef012345"):
        tell_run(run, forged, plugins=PLUGINS)
    blank = tmp_path / "blank.csv"
    blank.write_text(f"id,activity,tox\n{rows[0]['id']},2,\n")
    with pytest.raises(ConfigError, match=r"line 2: column 'tox' is blank while others are filled"):
        tell_run(run, blank, plugins=PLUGINS)
    text = tmp_path / "text.csv"
    text.write_text(f"id,activity,tox\n{rows[0]['id']},high,0.1\n")
    with pytest.raises(ConfigError, match=r"line 2: column 'activity' holds 'high', not a number"):
        tell_run(run, text, plugins=PLUGINS)
    missing = tmp_path / "missing.csv"
    missing.write_text(f"id,activity\n{rows[0]['id']},1\n")
    with pytest.raises(ConfigError, match=r"missing column\(s\) \['tox'\]"):
        tell_run(run, missing, plugins=PLUGINS)
    assert run_status(run)["evaluations"] == 0, "a refused file records nothing"

    tell_run(run, tmp_path / "r.csv", plugins=PLUGINS)
    changed = tmp_path / "changed.csv"
    changed.write_text(f"id,activity,tox\n{rows[0]['id']},99,0\n")
    with pytest.raises(ConfigError, match=r"imported before with values .* never overwritten"):
        tell_run(run, changed, plugins=PLUGINS)


def test_budget_run_and_cli(tmp_path, config):
    run = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(cli, ["ask", str(run), "-n", "12", "--out", str(tmp_path / "p.csv"), "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0 and "12 designs of plate-1" in result.output
    with pytest.raises(CampaignError, match=r"budget of 12 designs is used: 0 measured and 12 pending"):
        ask_run(run, 1, tmp_path / "q.csv", plugins=PLUGINS)
    with pytest.raises(CampaignError, match="already holds a run; leave out --config"):
        ask_run(run, 1, tmp_path / "q.csv", config=config, plugins=PLUGINS)
    fill(tmp_path / "p.csv", tmp_path / "r.csv")
    result = runner.invoke(cli, ["tell", str(run), str(tmp_path / "r.csv")], catch_exceptions=False)
    assert "imported 12 designs (0 failed)" in result.output and "0 pending" in result.output
    result = runner.invoke(cli, ["status", str(run), "--json"], catch_exceptions=False)
    assert json.loads(result.output)["evaluations"] == 12
    result = runner.invoke(cli, ["run", str(config), "--run-dir", str(tmp_path / "other")])
    assert isinstance(result.exception, CampaignError) and "gendesign ask" in str(result.exception)
    result = runner.invoke(cli, ["resume", str(run)])
    assert isinstance(result.exception, CampaignError) and "lab mode" in str(result.exception)
    pareto = list(csv.DictReader((run / "pareto.csv").open()))
    assert pareto and all(float(r["tox"]) <= 0.5 for r in pareto), "the constraint column filters the front"
