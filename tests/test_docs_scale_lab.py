"""The examples of docs/scale.md and docs/lab.md run as written."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from click.testing import CliRunner

from gendesign.cli import cli

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _blocks(name: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", (DOCS / name).read_text(encoding="utf-8"), flags=re.S)


def test_scale_python_example_runs_an_async_campaign_on_the_process_pool():
    namespace: dict = {}
    exec(compile(_blocks("scale.md", "python")[0], "docs/scale.md", "exec"), namespace)
    result = namespace["result"]
    assert result.summary["evaluations"] == 48 and result.summary["stop_reason"] == "budget"


def test_lab_walkthrough_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lab.toml").write_text(_blocks("lab.md", "toml")[0])
    runner = CliRunner()
    out = runner.invoke(cli, ["ask", "runs/amp-lab", "--config", "lab.toml", "-n", "12", "--out", "plate1.csv"], catch_exceptions=False)
    assert "12 designs of plate-1" in out.output
    rows = list(csv.DictReader(open("plate1.csv")))
    assert list(rows[0]) == ["id", "design", "plate", "activity", "toxicity", "error"]
    for i, row in enumerate(rows[:10]):
        row["activity"], row["toxicity"] = str(row["design"].count("K")), str(0.05 * i)
    rows[10]["error"] = "did not express"
    with open("results1.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = runner.invoke(cli, ["tell", "runs/amp-lab", "results1.csv"], catch_exceptions=False)
    assert out.output.startswith("imported 11 designs (1 failed), 0 already imported, 1 left blank; 1 pending")
    out = runner.invoke(cli, ["status", "runs/amp-lab"], catch_exceptions=False)
    assert "11 of 384 designs scored, 1 failed" in out.output and "plate-1: 1" in out.output
    out = runner.invoke(cli, ["ask", "runs/amp-lab", "-n", "8", "--out", "plate2.csv"], catch_exceptions=False)
    assert "8 designs of plate-2" in out.output
    front = list(csv.DictReader(open("runs/amp-lab/pareto.csv")))
    assert front and all(float(r["toxicity"]) <= 0.3 for r in front)
