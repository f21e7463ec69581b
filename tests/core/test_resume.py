"""A campaign run by the CLI in a subprocess is killed with SIGKILL mid-run and resumed with `gendesign resume`.

The helper plugin's strategy blocks inside ``tell`` of a chosen round (after writing a marker file),
i.e. after the round's batch was scored and committed to the ledger but before the round's
checkpoint. Killing the process there leaves evaluations that no checkpoint knows about: the resumed run must serve them from the ledger instead of scoring them
again. The counting objective appends every key it scores to a log file (fsynced), so the test sees
exactly what the objective was asked across both processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import torch

from gendesign.core.ledger import Ledger

PLUGIN = '''
import time

from gendesign import hookimpl
from gendesign.core.sequence_space import SequenceSpace
from gendesign.core.strategy import SearchStrategy, StrategyOptions
from gendesign.testing.fixtures import CountingObjective


def score(xs):
    return [[x.count("a"), x.count("b") * 0.5 + x.find("ab")] for x in xs]


def counting(space, log_path: str, delay: float = 0.0):
    """Counts what it scores into log_path."""
    return CountingObjective(score, space, names=["a", "b"], log_path=log_path, delay=delay)


class PausingUniform(SearchStrategy):
    """Uniform samples; the pause_at-th tell writes a marker file and blocks, so a kill lands
    after that round's batch was committed and before the round's checkpoint."""

    class Options(StrategyOptions):
        pause_at: int = 0
        marker: str = ""

    def __init__(self, space, specs, *, seed=0, device="cpu", options=None):
        super().__init__(space, specs, seed=seed, device=device, options=options)
        self.tells = 0

    def ask(self, n):
        return self.space.sample(n, self.rng)

    def tell(self, designs, scores):
        self.tells += 1
        if self.tells == self.options.pause_at:
            with open(self.options.marker, "w") as fh:
                fh.write("paused")
            time.sleep(600)


@hookimpl
def register_design_spaces(register):
    register("ab_strings", SequenceSpace)


@hookimpl
def register_objectives(register):
    register("counting", counting)


@hookimpl
def register_search_strategies(register):
    register("pausing_uniform", PausingUniform)
'''

RUNNER = '''
import sys

import gendesign.core.plugins as plugins

plugins._SYSTEM = plugins.PluginSystem(builtins=plugins.BUILTIN_PLUGINS + ("counting_plugin",), entry_points=False)

from gendesign.cli import main

sys.argv = ["gendesign", *sys.argv[1:]]
main()
'''

BUDGET = 96
BATCH = 8


def _config(log: Path, pause_at: int, marker: Path) -> str:
    return textwrap.dedent(
        f"""
        [campaign]
        budget = {BUDGET}
        batch_size = {BATCH}
        seed = 11
        progress = false
        plots = false

        [space]
        name = "ab_strings"
        options = {{ alphabet = "ab", length = 12 }}

        [objective]
        name = "counting"
        options = {{ log_path = {json.dumps(str(log))} }}

        [strategy]
        name = "pausing_uniform"
        options = {{ pause_at = {pause_at}, marker = {json.dumps(str(marker))} }}
        """
    )


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _run_until_paused(cmd: list[str], env: dict[str, str], marker: Path) -> None:
    """Start ``cmd``, wait for the strategy's pause marker, SIGKILL the process."""
    marker.unlink(missing_ok=True)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline, "the campaign never reached the pause"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # inside tell: the batch is committed, the round is not checkpointed
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def _set_pause(run_dir: Path, old: int, new: int) -> None:
    resolved = run_dir / "config.resolved.toml"
    text = resolved.read_text()
    assert f"pause_at = {old}" in text
    resolved.write_text(text.replace(f"pause_at = {old}", f"pause_at = {new}"))


def test_sigkill_mid_run_then_resume_scores_every_design_exactly_once(tmp_path):
    """Kill in round 1 (no checkpoint yet), resume and kill again in round 3, resume to the end."""
    (tmp_path / "counting_plugin.py").write_text(PLUGIN)
    (tmp_path / "runner.py").write_text(RUNNER)
    log, marker, run_dir = tmp_path / "scored.log", tmp_path / "paused", tmp_path / "run"
    config = tmp_path / "campaign.toml"
    config.write_text(_config(log, 1, marker))
    env = {**os.environ, "PYTHONPATH": str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
    runner = [sys.executable, str(tmp_path / "runner.py")]

    _run_until_paused([*runner, "run", str(config), "--run-dir", str(run_dir)], env, marker)
    first = _lines(log)
    assert len(first) == BATCH and not (run_dir / "checkpoint.pt").exists()

    _set_pause(run_dir, 1, 3)  # the resumed process replays round 1 (tell 1), scores round 2 (tell 2), pauses in round 3
    _run_until_paused([*runner, "resume", str(run_dir), "--no-progress"], env, marker)
    second = _lines(log)
    assert len(second) == 3 * BATCH and second[:BATCH] == first, "round 1 was served from the ledger, not scored again"
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert state["counters"]["round"] == 2 and state["counters"]["evaluations"] == 2 * BATCH

    _set_pause(run_dir, 3, 0)
    done = subprocess.run([*runner, "resume", str(run_dir), "--no-progress"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    scored = _lines(log)
    counts = Counter(scored)
    assert [k for k, c in counts.items() if c > 1] == [], "a design was scored twice"
    assert len(scored) == BUDGET and scored[: len(second)] == second
    with Ledger(run_dir / "ledger.sqlite") as ledger:
        rows = [ev for _, ev in ledger]
        trajectory = ledger.trajectory(ledger.get_meta("run_id"))
    assert len(rows) == BUDGET and len({r.key for r in rows}) == BUDGET
    assert sorted(r.key for r in rows) == sorted(scored)
    assert [t.evaluation.key for t in trajectory] == scored, "the resumed runs replay the killed rounds from the ledger, in order"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["evaluations"] == BUDGET and summary["paid_evaluations"] == BUDGET and summary["stop_reason"] == "budget"
    assert "outputs:" in done.stdout
