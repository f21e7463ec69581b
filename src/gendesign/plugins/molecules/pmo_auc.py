"""The PMO sample-efficiency metric: area under the top-K-mean curve against oracle calls.

Gao, Fu, Coley & Sun, "Sample efficiency matters: a benchmark for practical molecular
optimization", NeurIPS 2022 Datasets and Benchmarks (arXiv 2206.12411). A run is the sequence of
oracle values of the *distinct* molecules it scored, in the order they were first scored (a
molecule scored again is free and does not enter the trace; neither does a string that is not a
molecule). With a budget ``B`` (10,000), a logging period ``p`` (100) and ``n = min(len, B)`` calls:

* the curve is ``m_K(c)``, the mean of the ``K`` best values among the first ``c`` calls (the mean
  of all ``c`` when ``c < K``), read at ``c = p, 2p, ...`` below ``n`` and at ``c = n``, with
  ``m_K(0) = 0``;
* it is integrated with the trapezoid rule between consecutive readings;
* a run that stopped before ``B`` calls keeps its last reading from ``n`` to ``B`` (carried forward);
* the area is divided by ``B``, so a run that finds a molecule of value 1 at its first call scores
  ``1 - p / (2B)``.

::

    AUC_K = (1 / B) [ sum_j (c_j - c_{j-1}) (m_K(c_j) + m_K(c_{j-1})) / 2 + (B - n) m_K(n) ]
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Sequence

from gendesign.core.errors import ConfigError


def first_occurrences(keys: Iterable[Hashable], values: Iterable[float]) -> list[float]:
    """The values of the first occurrence of each key, in call order (repeated keys are free)."""
    seen: set[Hashable] = set()
    out: list[float] = []
    for key, value in zip(keys, values, strict=True):
        if key not in seen:
            seen.add(key)
            out.append(float(value))
    return out


def top_k_curve(values: Sequence[float], top_k: int, checkpoints: Sequence[int]) -> list[float]:
    """``m_K(c)`` for each ``c`` in ``checkpoints`` (increasing): the mean of the ``K`` best of ``values[:c]``."""
    if top_k < 1:
        raise ConfigError(f"top_k={top_k} must be >= 1")
    heap: list[float] = []
    total = 0.0
    out: list[float] = []
    seen = 0
    for c in checkpoints:
        if c < seen or c > len(values):
            raise ConfigError(f"checkpoints must increase within 0..{len(values)}, got {list(checkpoints)}")
        for v in values[seen:c]:
            if len(heap) < top_k:
                heapq.heappush(heap, v)
                total += v
            elif v > heap[0]:
                total += v - heapq.heapreplace(heap, v)
        seen = c
        out.append(total / len(heap) if heap else 0.0)
    return out


def pmo_auc(values: Sequence[float], top_k: int, budget: int = 10_000, log_every: int = 100) -> float:
    """PMO's AUC of the top-``K`` mean (module docstring) of a trace of distinct-molecule values in call order.

    Args:
        values: oracle values of the distinct molecules, in the order they were first scored;
            entries past ``budget`` are ignored.
        top_k: ``K`` (PMO reports 1, 10 and 100).
        budget: ``B``, the oracle-call budget the area is normalised by.
        log_every: ``p``, the calls between readings of the curve.

    Returns:
        The area in ``[min value, max value]`` units; 0 for an empty trace.
    """
    if budget < 1 or log_every < 1:
        raise ConfigError(f"budget={budget} and log_every={log_every} must be >= 1")
    n = min(len(values), budget)
    if n == 0:
        return 0.0
    checkpoints = [*range(log_every, n, log_every), n]
    curve = top_k_curve(values[:n], top_k, checkpoints)
    area, prev_c, prev_m = 0.0, 0, 0.0
    for c, m in zip(checkpoints, curve, strict=True):
        area += (c - prev_c) * (m + prev_m) / 2.0
        prev_c, prev_m = c, m
    area += (budget - n) * prev_m
    return area / budget
