"""An executor on a virtual clock, for exact tests of asynchronous campaigns.

:class:`VirtualClockExecutor` scores a submission when it is submitted but hands it back only when
the virtual clock reaches its finish time, ``submitted + latency(design)`` (a chunk's latency is
the largest of its designs', as if they ran side by side on one worker). :meth:`~VirtualClockExecutor.wait`
advances the clock to the earliest finish among the submissions waited on. The order in which
results reach the campaign is therefore a pure function of the latencies and the campaign's
policy, with no dependence on the machine's load, so a test can compare it with a reference
event simulation, and a latency model gives the wall time an asynchronous or synchronous run
would take without sleeping.

Example:
    >>> import random
    >>> def lognormal(design):  # seeded per design
    ...     return random.Random(str(design)).lognormvariate(0.0, 1.0)
    >>> executor = VirtualClockExecutor(lognormal, workers=4)
"""

from __future__ import annotations

import concurrent.futures
import heapq
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from gendesign.core.executor import Chunk, Executor, _score_chunk
from gendesign.core.objective import Objective, Scores


class VirtualClockExecutor(Executor):
    """Scores in this process and finishes submissions in virtual time.

    Args:
        latency: seconds of virtual time one design takes to score (``>= 0``).
        workers: the ``workers`` an asynchronous campaign reads as its default ``max_in_flight``.

    Attributes:
        now: the virtual clock, in seconds.
        finished: ``(finish time, designs)`` of every submission handed back, in order.
    """

    def __init__(self, latency: Callable[[Any], float], workers: int = 1) -> None:
        self.latency = latency
        self.workers = workers
        self.now = 0.0
        self.finished: list[tuple[float, list[Any]]] = []
        self._due: dict[concurrent.futures.Future[Scores], tuple[float, int, list[Any], Scores]] = {}
        self._order = itertools.count()

    def submit(self, objective: Objective, designs: Sequence[Any]) -> concurrent.futures.Future[Scores]:
        designs = list(designs)
        future: concurrent.futures.Future[Scores] = concurrent.futures.Future()
        finish = self.now + max(float(self.latency(d)) for d in designs)
        self._due[future] = (finish, next(self._order), designs, _score_chunk(objective, designs))
        return future

    def wait(self, futures: Sequence[concurrent.futures.Future[Scores]], timeout: float | None = None) -> set[concurrent.futures.Future[Scores]]:
        done = {f for f in futures if f.done()}
        if done:
            return done
        waiting = [f for f in futures if f in self._due]
        if not waiting:
            return set()
        # Ties go to the earlier submission, as a FIFO worker pool would hand them back.
        first = min(waiting, key=lambda f: self._due[f][:2])
        finish, _, designs, scores = self._due.pop(first)
        self.now = max(self.now, finish)
        self.finished.append((finish, designs))
        first.set_result(scores)
        return {first}

    def chunks(self, objective: Objective, designs: Sequence[Any]) -> Iterator[Chunk]:
        """A synchronous batch on a FIFO pool of ``workers``: each design starts when a worker frees; the batch ends with the last."""
        designs = list(designs)
        free = [self.now] * self.workers
        for d in designs:
            start = heapq.heappop(free)
            heapq.heappush(free, start + float(self.latency(d)))
        self.now = max(free)
        yield Chunk(0, _score_chunk(objective, designs), 0.0)
