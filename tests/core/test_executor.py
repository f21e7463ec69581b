"""Executors hand a batch back in chunks that cover it exactly once."""

from __future__ import annotations

import pytest

from gendesign.core.errors import ConfigError
from gendesign.core.executor import InlineExecutor, make_executor
from gendesign.core.objective import FunctionObjective


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
        make_executor("inline", chunk_size=0)
