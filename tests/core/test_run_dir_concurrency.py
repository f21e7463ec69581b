"""Real processes on one run directory: racing writers, a report during a run, and a SIGKILL mid-batch.

Every campaign here runs ``gendesign.optimize`` in a subprocess with the ``gated`` objective below.
It appends each design it is asked to score to a log file (fsynced, before scoring), so the test
sees every objective call across processes; from the ``block_at``-th call on it writes a marker
and waits until a gate file exists, which holds a process at a known point without timing.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gendesign.core.ledger import Ledger
from gendesign.core.lock import outputs_lock

GATED = '''
import os
import time
from pathlib import Path

LOG = Path(os.environ["GATED_LOG"])
GATE = Path(os.environ["GATED_GATE"])
MARKER = Path(os.environ["GATED_MARKER"])
BLOCK_AT = int(os.environ.get("GATED_BLOCK_AT", "0"))
DELAY = float(os.environ.get("GATED_DELAY", "0"))


def score(xs):
    out = []
    for x in xs:
        with open(LOG, "a", encoding="utf-8") as fh:
            fh.write(x + "\\n")
            fh.flush()
            os.fsync(fh.fileno())
        if BLOCK_AT and len(LOG.read_text().splitlines()) >= BLOCK_AT and not GATE.exists():
            with open(MARKER, "a", encoding="utf-8") as fh:
                fh.write(x + "\\n")
            while not GATE.exists():
                time.sleep(0.01)
        time.sleep(DELAY)
        out.append([x.count("a"), x.count("b") * 0.5 + x.find("ab")])
    return out
'''

DRIVER = '''
import json
import os
import sys
import time
from pathlib import Path

from gendesign import optimize
from gendesign.core.executor import InlineExecutor, ProcessPoolExecutor
from gendesign.core.sequence_space import SequenceSpace

import gated


def main():
    run_dir, budget, executor, barrier = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if barrier:
        Path(barrier + f".{os.getpid()}").touch()
        while not Path(barrier).exists():
            time.sleep(0.005)
    runner = InlineExecutor(chunk_size=1) if executor == "inline1" else ProcessPoolExecutor(workers=2, chunk_size=1) if executor == "pool1" else InlineExecutor()
    result = optimize(
        gated.score, SequenceSpace("ab", length=12), "random", names=["a", "b"], budget=budget, batch_size=8, seed=11,
        run_dir=run_dir, progress=False, plots=False, executor=runner,
    )
    print(json.dumps({"evaluations": result.summary["evaluations"]}))


if __name__ == "__main__":
    main()
'''


class Harness:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "gated.py").write_text(GATED)
        (root / "driver.py").write_text(DRIVER)
        self.log, self.gate, self.marker, self.run_dir = root / "calls.log", root / "gate", root / "blocked", root / "run"
        self.procs: list[subprocess.Popen[str]] = []

    def env(self, block_at: int = 0, delay: float = 0.0) -> dict[str, str]:
        paths = [str(self.root), *sys.path]
        return {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(paths),
            "GATED_LOG": str(self.log),
            "GATED_GATE": str(self.gate),
            "GATED_MARKER": str(self.marker),
            "GATED_BLOCK_AT": str(block_at),
            "GATED_DELAY": str(delay),
        }

    def start(self, budget: int, *, executor: str = "inline", barrier: Path | None = None, **env: float) -> subprocess.Popen[str]:
        cmd = [sys.executable, str(self.root / "driver.py"), str(self.run_dir), str(budget), executor, str(barrier or "")]
        proc = subprocess.Popen(cmd, env=self.env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.procs.append(proc)
        return proc

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def harness(tmp_path):
    h = Harness(tmp_path)
    yield h
    h.kill_all()


def _wait_for(condition, procs, what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        for p in procs:
            assert p.poll() is None or condition(), f"{what}: a process ended early: {p.communicate()}"
        assert time.monotonic() < deadline, f"never reached: {what}"
        time.sleep(0.02)


def test_two_campaigns_released_together_on_one_run_dir_exactly_one_proceeds(tmp_path, harness):
    h = harness
    barrier = tmp_path / "go"
    procs = [h.start(24, barrier=barrier, block_at=1) for _ in range(2)]
    _wait_for(lambda: len(list(tmp_path.glob("go.*"))) == 2, procs, "both processes at the barrier")
    barrier.touch()
    # The winner holds the lock inside its first objective call until the gate opens, so the loser
    # meets a held lock whatever the scheduling.
    _wait_for(lambda: any(p.poll() is not None for p in procs), [], "one process refused")
    loser = next(p for p in procs if p.poll() is not None)
    winner = next(p for p in procs if p is not loser)
    _, err = loser.communicate()
    assert loser.returncode != 0
    assert f"is in use by PID {winner.pid} on " in err and "--force" in err, err
    h.gate.touch()
    out, err = winner.communicate(timeout=240)
    assert winner.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["evaluations"] == 24
    assert len(h.calls()) == 24, "the refused process scored nothing"
    with Ledger(h.run_dir / "ledger.sqlite") as ledger:
        assert ledger.count() == 24 and len(ledger.runs()) == 1


def test_a_report_during_a_live_run_is_one_snapshot(harness):
    from gendesign.api import report_run

    h = harness
    proc = h.start(96, block_at=20, delay=0.01)
    reports = []
    try:
        _wait_for(lambda: h.marker.exists(), [proc], "the run blocked mid-run")
        while True:
            alive = proc.poll() is None
            summary = report_run(h.run_dir, plots=False)
            with outputs_lock(h.run_dir):
                written = json.loads((h.run_dir / "summary.json").read_text())
                with open(h.run_dir / "evaluations.csv", newline="") as fh:
                    rows = [r for r in csv.DictReader(fh) if r["evaluation"]]
            assert written["evaluations"] == len(rows), "summary.json and evaluations.csv describe different moments"
            assert [int(r["evaluation"]) for r in rows] == list(range(1, len(rows) + 1))
            reports.append(summary["evaluations"])
            h.gate.touch()  # the first report was taken while the run was held mid-batch
            if not alive:
                break
    finally:
        h.gate.touch()
        out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    assert 0 < reports[0] < 96 and reports[-1] == 96 and reports == sorted(reports)


def _kill_mid_batch_then_resume(h: Harness, executor: str, block_at: int, budget: int) -> tuple[set[str], set[str], set[str], list[str]]:
    """SIGKILL a run whose objective blocked at call ``block_at``; resume it. Returns (written, in flight, scored again, calls after resume)."""
    proc = h.start(budget, executor=executor, block_at=block_at)
    _wait_for(lambda: h.marker.exists(), [proc], "the objective blocked mid-batch")
    with Ledger(h.run_dir / "ledger.sqlite") as ledger:
        written = {ev.key for _, ev in ledger}
    os.killpg(proc.pid, signal.SIGKILL)  # the campaign and any pool workers
    proc.communicate()
    before = h.calls()
    in_flight = set(before) - written
    resumed = h.start(budget, executor=executor)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["evaluations"] == budget
    after = h.calls()[len(before) :]
    return written, in_flight, set(after) & set(before), after


def test_results_written_before_a_sigkill_are_not_scored_again(harness):
    """Inline chunks of one design: the 13th call (5th of round 2) blocks; 12 results are in the ledger, one is in flight."""
    written, in_flight, again, after = _kill_mid_batch_then_resume(harness, "inline1", block_at=13, budget=40)
    assert len(written) == 12 and len(in_flight) == 1
    assert again == in_flight, "only the design in flight at the kill is scored again"
    assert len(after) == 40 - 12 and len(harness.calls()) == 41


@pytest.mark.slow
def test_process_pool_results_written_before_a_sigkill_are_not_scored_again(harness):
    """Two spawned workers, chunks of one design: only the (at most two) designs in flight are scored again."""
    written, in_flight, again, after = _kill_mid_batch_then_resume(harness, "pool1", block_at=13, budget=40)
    assert again == in_flight and 1 <= len(in_flight) <= 2
    assert len(after) == 40 - len(written)


PLUGIN = """
import gated
from gendesign import hookimpl
from gendesign.core.objective import FunctionObjective
from gendesign.core.sequence_space import SequenceSpace


def gated_objective():
    return FunctionObjective(gated.score, names=["a", "b"])


@hookimpl
def register_design_spaces(register):
    register("ab_strings", SequenceSpace)


@hookimpl
def register_objectives(register):
    register("gated", gated_objective)
"""

CLI = """
import sys

import gendesign.core.plugins as plugins

plugins._SYSTEM = plugins.PluginSystem(builtins=plugins.BUILTIN_PLUGINS + ("gated_plugin",), entry_points=False)

from gendesign.cli import main

sys.argv = ["gendesign", *sys.argv[1:]]
main()
"""

CONFIG = """
[campaign]
budget = 24
batch_size = 8
seed = 3
progress = false
plots = false

[space]
name = "ab_strings"
options = { alphabet = "ab", length = 12 }

[objective]
name = "gated"

[strategy]
name = "random"
"""


@pytest.mark.slow
def test_cli_run_and_resume_against_a_live_run_are_refused_with_the_holder(harness):
    h = harness
    (h.root / "gated_plugin.py").write_text(PLUGIN)
    (h.root / "cli.py").write_text(CLI)
    (h.root / "campaign.toml").write_text(CONFIG)

    def cli(*args: str, **env: float) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, str(h.root / "cli.py"), *args], env=h.env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        h.procs.append(proc)
        return proc

    live = cli("run", str(h.root / "campaign.toml"), "--run-dir", str(h.run_dir), block_at=10)
    _wait_for(lambda: h.marker.exists(), [live], "the run blocked in round 2")
    second = cli("run", str(h.root / "campaign.toml"), "--run-dir", str(h.run_dir))
    resume = cli("resume", str(h.run_dir))
    for proc in (second, resume):
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 2 and f"Error: run dir {h.run_dir} is in use by PID {live.pid} on " in err, err
        assert "Traceback" not in err
    assert len(h.calls()) == 10, "the refused processes scored nothing"
    h.gate.touch()
    out, err = live.communicate(timeout=240)
    assert live.returncode == 0, err
    summary = json.loads((h.run_dir / "summary.json").read_text())
    assert summary["evaluations"] == 24 and summary["stop_reason"] == "budget" and len(h.calls()) == 24
