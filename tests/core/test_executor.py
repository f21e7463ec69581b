"""Executors hand a batch back in chunks that cover it exactly once."""

from __future__ import annotations

import pytest

from gendesign.api.parts import build_executor
from gendesign.core.errors import ConfigError
from gendesign.core.executor import InlineExecutor, ProcessPoolExecutor
from gendesign.core.objective import FunctionObjective
from gendesign.core.plugins import PluginSystem


def test_inline_chunks_partition_the_batch_in_calls_of_chunk_size():
    calls: list[list[int]] = []

    def square(xs):
        calls.append(list(xs))
        return [x * x for x in xs]

    obj = FunctionObjective(square, names="sq")
    chunks = list(InlineExecutor(chunk_size=3).chunks(obj, list(range(7))))
    assert [(c.start, len(c.scores)) for c in chunks] == [(0, 3), (3, 3), (6, 1)]
    assert calls == [[0, 1, 2], [3, 4, 5], [6]]
    assert [v for c in chunks for v in c.scores.values.squeeze(-1).tolist()] == [x * x for x in range(7)]
    whole = list(InlineExecutor().chunks(obj, list(range(7))))
    assert len(whole) == 1 and len(whole[0].scores) == 7 and calls[-1] == list(range(7))


def test_chunk_size_must_be_positive():
    with pytest.raises(ConfigError, match="chunk_size=0; use 1 or more"):
        build_executor("inline", chunk_size=0, plugins=PluginSystem(entry_points=False))


def test_executors_come_from_the_registry_with_their_options_checked():
    plugins = PluginSystem(entry_points=False)
    assert {"inline", "process", "ray"} <= {e.name for e in plugins.executors}
    assert isinstance(build_executor("inline", chunk_size=4, plugins=plugins), InlineExecutor)
    with pytest.raises(ConfigError, match=r"unknown executor 'threads'. Available: inline, process, ray"):
        build_executor("threads", plugins=plugins)
    with pytest.raises(ConfigError, match="adress"):
        build_executor("process", {"adress": "x"}, plugins=plugins)
    pool = build_executor("process", workers=1, plugins=plugins)
    try:
        assert isinstance(pool, ProcessPoolExecutor) and pool.workers == 1
    finally:
        pool.close()


def test_submit_and_wait_hand_back_each_submission():
    obj = FunctionObjective(lambda xs: [x + 1 for x in xs], names="f")
    executor = InlineExecutor()
    futures = [executor.submit(obj, [i, i + 10]) for i in range(3)]
    done = executor.wait(futures)
    assert done == set(futures)
    assert [f.result().values.squeeze(-1).tolist() for f in futures] == [[1, 11], [2, 12], [3, 13]]
