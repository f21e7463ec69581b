"""The Ray executor on a real local cluster (``ray.init(num_cpus=2)``, once per session): retries, actor restarts, timeouts, campaigns.

Deselected by default (marker ``ray``); run with ``pytest -m ray`` after ``pip install 'gendesign[ray]'``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
import torch

from gendesign import optimize
from gendesign.core.campaign import Campaign
from gendesign.core.objective import FunctionObjective
from gendesign.core.sequence_space import SequenceSpace
from gendesign.core.strategy import SearchStrategy, StrategyOptions
from gendesign.objectives.ehrlich import Ehrlich

pytestmark = pytest.mark.ray
ray = pytest.importorskip("ray")

SPACE = SequenceSpace("ACDE", length=4)


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


class FailsOnce:
    """Raises on its first call (a marker file remembers it across worker processes), then counts 'A's."""

    def __init__(self, marker: Path, exit_process: bool = False) -> None:
        self.marker = str(marker)
        self.exit_process = exit_process

    def __call__(self, xs):
        if not os.path.exists(self.marker):
            Path(self.marker).write_text("failed once")
            if self.exit_process:
                os._exit(1)
            raise RuntimeError("flaky oracle")
        return [x.count("A") for x in xs]


def test_a_task_that_raises_once_is_retried_and_succeeds(tmp_path):
    from gendesign.core.ray_executor import RayExecutor

    obj = FunctionObjective(FailsOnce(tmp_path / "m"), names="a")
    executor = RayExecutor(workers=2, retry_exceptions=True, max_retries=2)
    try:
        chunks = list(executor.chunks(obj, ["AAAA", "ACDE", "CCCC", "AACC"]))
    finally:
        executor.close()
    values = {c.start: c.scores.values.squeeze(-1).tolist() for c in chunks}
    assert values == {0: [4.0, 1.0], 2: [0.0, 2.0]}


def always_dies(xs):
    os._exit(3)


def test_a_task_whose_worker_keeps_dying_is_recorded_as_failed_after_its_retries():
    from gendesign.core.ray_executor import RayExecutor

    obj = FunctionObjective(always_dies, names="a")
    result = optimize(obj, SPACE, "random", budget=4, batch_size=4, executor=RayExecutor(workers=1, max_retries=1), max_failed_batches=0, progress=False)
    assert len(result.history) == 4 and all(not r.valid for r in result.history)
    assert all(r.error.startswith("executor failed: WorkerCrashedError") for r in result.history)


def test_an_actor_that_exits_once_is_restarted_and_its_batch_completes(tmp_path):
    from gendesign.core.ray_executor import RayExecutor

    obj = FunctionObjective(FailsOnce(tmp_path / "m", exit_process=True), names="a")
    executor = RayExecutor(workers=2, actors=True, max_restarts=2, max_task_retries=2)
    try:
        chunks = list(executor.chunks(obj, ["AAAA", "ACDE", "CCCC", "AACC"]))
    finally:
        executor.close()
    assert sorted((c.start, c.scores.values.squeeze(-1).tolist(), c.scores.errors) for c in chunks) == [(0, [4.0, 1.0], [None, None]), (2, [0.0, 2.0], [None, None])]
    assert (tmp_path / "m").read_text() == "failed once"


class Queue(SearchStrategy):
    """Asks designs from a fixed list in order."""

    class Options(StrategyOptions):
        designs: list[str] = []

    def __init__(self, space, specs, *, seed=0, device="cpu", options=None):
        super().__init__(space, specs, seed=seed, device=device, options=options)
        self.position = 0

    def ask(self, n):
        out = self.options.designs[self.position : self.position + n]
        self.position += len(out)
        return out

    def tell(self, designs, scores):
        pass


def hangs_on_d(xs):
    time.sleep(60 if any("D" in x for x in xs) else 0.0)
    return [x.count("A") for x in xs]


def test_a_hung_evaluation_is_cancelled_at_the_timeout_and_recorded_as_failed():
    from gendesign.core.ray_executor import RayExecutor

    obj = FunctionObjective(hangs_on_d, names="a")
    warm = RayExecutor(workers=2, chunk_size=1)
    list(warm.chunks(obj, ["AAAA", "CCCC"]))
    strategy = Queue(SPACE, obj.specs, options=Queue.Options(designs=["AAAA", "ADDA", "CCAC", "EEEE", "AACC"]))
    start = time.perf_counter()
    campaign = Campaign(obj, SPACE, strategy, budget=5, executor=warm, mode="async", timeout=3.0, max_failed_batches=0, progress=False)
    try:
        result = campaign.run()
    finally:
        campaign.close()
    assert time.perf_counter() - start < 50, "the hung task must not be waited for"
    by = {r.design: r for r in result.history}
    assert not by["ADDA"].valid and "timed out" in by["ADDA"].error
    assert [by[d].values["a"] for d in ("AAAA", "CCAC", "EEEE", "AACC")] == [4.0, 1.0, 0.0, 2.0]


def test_ray_campaign_equals_the_inline_campaign_and_the_example_runs(tmp_path):
    from gendesign.api import run_config
    from gendesign.core.config import load_config

    obj = Ehrlich(num_states=4, length=8, num_motifs=1, motif_length=2, random_seed=0)
    inline = optimize(obj, None, "evolution", budget=64, batch_size=16, seed=2, progress=False)
    on_ray = optimize(obj, None, "evolution", budget=64, batch_size=16, seed=2, executor="ray", workers=2, progress=False)
    assert [r.key for r in on_ray.history] == [r.key for r in inline.history]
    torch.testing.assert_close(on_ray.values(), inline.values(), rtol=0, atol=0, equal_nan=True)

    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "ray_ehrlich.toml")
    config.campaign.budget = 96
    result = run_config(config, run_dir=tmp_path / "run", progress=False)
    assert result.summary["evaluations"] == 96
