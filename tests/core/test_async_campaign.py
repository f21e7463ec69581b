"""Asynchronous campaigns: event order against a reference simulation, resume mid-flight, timeouts, pending-aware strategies."""

from __future__ import annotations

import heapq
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from gendesign import optimize
from gendesign.core.campaign import Campaign
from gendesign.core.errors import ConfigError
from gendesign.core.executor import ProcessPoolExecutor
from gendesign.core.ledger import Ledger
from gendesign.core.objective import FunctionObjective, Scores
from gendesign.core.sequence_space import SequenceSpace
from gendesign.core.strategy import SearchStrategy, StrategyOptions
from gendesign.testing.executors import VirtualClockExecutor

SPACE = SequenceSpace("ACDE", length=4)


def latency(design: Any) -> float:
    """Seeded lognormal latency (σ = 1) per design."""
    return random.Random(f"lat:{design}").lognormvariate(0.0, 1.0)


def value(xs):
    return [x.count("A") + 0.1 * x.count("C") for x in xs]


class Queue(SearchStrategy):
    """Asks designs from a fixed list in order, whatever it is told; records tells and pending sets."""

    class Options(StrategyOptions):
        designs: list[str] = []

    def __init__(self, space, specs, *, seed=0, device="cpu", options=None):
        super().__init__(space, specs, seed=seed, device=device, options=options)
        self.position = 0
        self.told: list[str] = []
        self.pending_seen: list[list[str]] = []

    def ask(self, n):
        out = self.options.designs[self.position : self.position + n]
        self.position += len(out)
        return out

    def tell(self, designs, scores: Scores):
        self.told.extend(designs)

    def set_pending(self, designs):
        self.pending_seen.append(list(designs))

    def state_dict(self):
        return {**super().state_dict(), "position": self.position}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.position = state["position"]


def reference_events(designs: list[str], slots: int, lat) -> tuple[list[str], float]:
    """Discrete-event simulation of 'keep ``slots`` designs in flight, refill on every completion'; returns completion order and makespan."""
    queue = list(designs)
    clock, seq = 0.0, 0
    running: list[tuple[float, int, str]] = []
    order: list[str] = []
    while queue or running:
        while queue and len(running) < slots:
            d = queue.pop(0)
            heapq.heappush(running, (clock + lat(d), seq, d))
            seq += 1
        finish, _, d = heapq.heappop(running)
        clock = finish
        order.append(d)
    return order, clock


def all_designs(n: int) -> list[str]:
    rng = random.Random(3)
    out: list[str] = []
    while len(out) < n:
        d = "".join(rng.choice("ACDE") for _ in range(4))
        if d not in out:
            out.append(d)
    return out


def test_async_mode_equals_a_reference_event_simulation():
    designs = all_designs(40)
    obj = FunctionObjective(value, names="v")
    executor = VirtualClockExecutor(latency, workers=4)
    strategy = Queue(SPACE, obj.specs, options=Queue.Options(designs=designs))
    result = Campaign(obj, SPACE, strategy, budget=40, batch_size=4, executor=executor, mode="async", progress=False).run()
    order, makespan = reference_events(designs, 4, latency)
    assert [r.design for r in result.history] == order
    assert strategy.told == order
    assert executor.now == pytest.approx(makespan, abs=1e-12)
    assert result.summary["evaluations"] == 40 and result.summary["stop_reason"] == "budget"

    sync_executor = VirtualClockExecutor(latency, workers=4)
    sync = Queue(SPACE, obj.specs, options=Queue.Options(designs=designs))
    Campaign(obj, SPACE, sync, budget=40, batch_size=4, executor=sync_executor, progress=False).run()
    assert sync.told == designs
    # Under σ = 1 lognormal latency a synchronous round waits for its slowest design.
    assert executor.now < 0.85 * sync_executor.now


def test_async_with_one_slot_replays_the_synchronous_run_of_batch_size_one():
    obj = FunctionObjective(value, names="v")
    runs = []
    for mode in ("sync", "async"):
        runs.append(optimize(obj, SPACE, "evolution", budget=30, batch_size=1, seed=5, mode=mode, max_in_flight=1, progress=False, population_size=4))
    sync, asynchronous = runs
    assert [r.design for r in asynchronous.history] == [r.design for r in sync.history]
    assert [r.values for r in asynchronous.history] == [r.values for r in sync.history]


def test_pending_designs_reach_a_pending_aware_strategy_and_are_never_submitted_twice():
    designs = all_designs(12)
    obj = FunctionObjective(value, names="v")
    strategy = Queue(SPACE, obj.specs, options=Queue.Options(designs=designs[:6] + designs[:3] + designs[6:]))
    executor = VirtualClockExecutor(latency, workers=3)
    result = Campaign(obj, SPACE, strategy, budget=12, batch_size=3, executor=executor, mode="async", progress=False).run()
    submitted = [d for _, batch in executor.finished for d in batch]
    assert sorted(submitted) == sorted(designs) and len(submitted) == 12
    assert strategy.pending_seen[0] == []
    assert all(len(p) <= 3 for p in strategy.pending_seen) and any(p for p in strategy.pending_seen)
    assert result.summary["duplicates"] == 3


class Crash(Exception):
    pass


class CrashingClock(VirtualClockExecutor):
    """Dies (like a killed driver) when handing back its ``crash_after``-th submission, before the campaign sees it."""

    def __init__(self, crash_after: int, **kw):
        super().__init__(latency, **kw)
        self.crash_after = crash_after

    def wait(self, futures, timeout=None):
        if len(self.finished) + 1 == self.crash_after:
            raise Crash
        return super().wait(futures, timeout)


def test_resume_mid_flight_records_every_design_once_and_charges_none_twice(tmp_path):
    designs = all_designs(30)
    calls: list[str] = []

    def counted(xs):
        calls.extend(xs)
        return value(xs)

    obj = FunctionObjective(counted, names="v")
    first = Queue(SPACE, obj.specs, options=Queue.Options(designs=designs))
    campaign = Campaign(obj, SPACE, first, budget=30, batch_size=4, executor=CrashingClock(13, workers=4), mode="async", run_dir=tmp_path, progress=False, plots=False)
    with pytest.raises(Crash):
        campaign.run()
    campaign.close()
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        run_id = ledger.get_meta("run_id")
        in_flight = {p.key for p in ledger.pending(run_id)}
        recorded_before = len(ledger.trajectory(run_id))
    assert len(in_flight) == 4 and recorded_before == 12

    second = Queue(SPACE, obj.specs, options=Queue.Options(designs=designs))
    resumed = Campaign(obj, SPACE, second, budget=30, batch_size=4, executor=VirtualClockExecutor(latency, workers=4), mode="async", run_dir=tmp_path, progress=False, plots=False)
    result = resumed.run()
    resumed.close()
    keys = [r.key for r in result.history]
    assert sorted(keys) == sorted(designs), "every design recorded exactly once"
    assert result.summary["evaluations"] == 30 and result.summary["stop_reason"] == "budget"
    twice = {d for d in calls if calls.count(d) > 1}
    assert twice <= in_flight, "only designs in flight at the crash are scored again"
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        assert ledger.pending(run_id) == []
        assert ledger.count() == 30
    assert first.position == 16 and second.position == 30, "the resumed strategy continues where the checkpoint left it"


def slow_on_d(xs):
    time.sleep(4.0 if any("D" in x for x in xs) else 0.2)
    return value(xs)


def test_a_submission_past_its_timeout_is_cancelled_and_recorded_as_failed():
    obj = FunctionObjective(slow_on_d, names="v")
    strategy = Queue(SPACE, obj.specs, options=Queue.Options(designs=["AAAA", "ACDA", "CCCC", "EEEE"]))
    pool = ProcessPoolExecutor(workers=2, chunk_size=1)
    warm = [pool.submit(obj, ["EEEE"]) for _ in range(2)]  # both workers started, so the timeout measures scoring only
    assert [f.result().valid.item() for f in warm] == [True, True]
    campaign = Campaign(obj, SPACE, strategy, budget=4, executor=pool, mode="async", timeout=1.5, max_failed_batches=0, progress=False)
    try:
        result = campaign.run()
    finally:
        campaign.close()
    by = {r.design: r for r in result.history}
    assert not by["ACDA"].valid and "timed out" in by["ACDA"].error and "timeout = 1.5 s" in by["ACDA"].error
    assert all(by[d].valid for d in ("AAAA", "CCCC", "EEEE"))
    assert result.summary["evaluations"] == 4


def test_async_options_are_checked():
    obj = FunctionObjective(value, names="v")
    strategy = Queue(SPACE, obj.specs)
    with pytest.raises(ConfigError, match="mode='fast'; choose one of sync, async, lab"):
        Campaign(obj, SPACE, strategy, budget=4, mode="fast", progress=False)
    with pytest.raises(ConfigError, match="max_in_flight=0"):
        Campaign(obj, SPACE, strategy, budget=4, mode="async", max_in_flight=0, progress=False)
    with pytest.raises(ConfigError, match="timeout=-1"):
        Campaign(obj, SPACE, strategy, budget=4, mode="async", timeout=-1, progress=False)


DRIVER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {src!r})
    from gendesign import optimize
    from gendesign.core.sequence_space import SequenceSpace

    LOG = {log!r}

    def oracle(xs):
        time.sleep(0.3)
        with open(LOG, "a") as fh:
            fh.write("".join(x + "\\n" for x in xs))
        return [x.count("A") for x in xs]

    if __name__ == "__main__":
        optimize(oracle, SequenceSpace("ACDE", length=5), "random", budget=24, batch_size=4, seed=1, run_dir={run!r}, names="a",
                 executor="process", workers=2, mode="async", max_in_flight=4, progress=False, plots=False)
    """
)


@pytest.mark.slow
def test_sigkilled_async_driver_resumes_with_each_design_once(tmp_path):
    src = str(Path(__file__).resolve().parents[2] / "src")
    log, run = tmp_path / "calls.log", tmp_path / "run"
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(src=src, log=str(log), run=str(run)))
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and (not log.exists() or len(log.read_text().split()) < 8):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with Ledger(run / "ledger.sqlite") as ledger:
        run_id = ledger.get_meta("run_id")
        in_flight = {json.loads(p.design) for p in ledger.pending(run_id)}
        before = len(ledger.trajectory(run_id))
    assert 0 < before < 24
    subprocess.run([sys.executable, str(script)], check=True, timeout=300)
    with Ledger(run / "ledger.sqlite") as ledger:
        entries = ledger.trajectory(run_id)
        assert ledger.pending(run_id) == []
    keys = [e.evaluation.key for e in entries]
    assert len(keys) == 24 and len(set(keys)) == 24
    calls = log.read_text().split()
    twice = {d for d in calls if calls.count(d) > 1}
    assert twice <= in_flight
