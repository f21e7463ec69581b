"""Executors: how a campaign runs an objective on a batch of designs.

The campaign hands every batch of new designs to an executor and gets :class:`Scores` on the CPU
back, chunk by chunk as each part of the batch finishes, with the wall seconds the objective took.
:class:`InlineExecutor` calls the objective in the campaign's process (the default; right for
torch objectives that batch internally or use a GPU).
:class:`ProcessPoolExecutor` splits a batch over worker processes, for CPU-bound Python
objectives; the objective must be picklable.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, Scores


@dataclass(frozen=True)
class Chunk:
    """A finished part of a batch.

    Attributes:
        start: the part covers ``designs[start : start + len(scores)]`` of the batch.
        scores: its :class:`Scores`, on the CPU and detached.
        seconds: wall seconds attributed to it; the chunks of a batch add up to the batch's wall time.
    """

    start: int
    scores: Scores
    seconds: float


class Executor(ABC):
    """Runs ``objective(designs)`` and reports the results on the CPU with their wall time.

    :meth:`chunks` hands back each part of a batch as soon as it is finished, so the campaign can
    write finished results to the ledger while the rest of the batch is still being scored (a run
    killed mid-batch then pays again only for the designs still in flight).

    Attributes:
        workers: how many submissions it scores at once (the default ``max_in_flight`` of an
            asynchronous campaign).
        chunk_size: designs per chunk of a batch (``None``: the executor's default; an
            asynchronous campaign then submits designs one by one).
    """

    workers: int = 1
    chunk_size: int | None = None

    @abstractmethod
    def chunks(self, objective: Objective, designs: Sequence[Any]) -> Iterator[Chunk]:
        """Score ``designs``, yielding finished :class:`Chunk` s (in any order) that together cover the batch once."""

    def submit(self, objective: Objective, designs: Sequence[Any]) -> concurrent.futures.Future[Scores]:
        """Start scoring ``designs`` and return a future of their :class:`Scores` (CPU, detached).

        Asynchronous campaigns keep several submissions in flight and collect them with
        :meth:`wait`. The default scores in this process before returning an already finished
        future, so every executor can run an asynchronous campaign (without any overlap).
        """
        future: concurrent.futures.Future[Scores] = concurrent.futures.Future()
        try:
            future.set_result(_score_chunk(objective, list(designs)))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future

    def wait(self, futures: Sequence[concurrent.futures.Future[Scores]], timeout: float | None = None) -> set[concurrent.futures.Future[Scores]]:
        """Block until at least one of ``futures`` is finished (or ``timeout`` seconds pass); return the finished ones."""
        done, _ = concurrent.futures.wait(futures, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED)
        return set(done)

    def cancel(self, future: concurrent.futures.Future[Scores]) -> bool:
        """Stop a submission that ran past its timeout; True when its worker was actually stopped.

        The default can only drop a submission that has not started; executors that can kill a
        running task (Ray) override it.
        """
        return future.cancel()

    def close(self) -> None:  # noqa: B027 - optional hook: executors without workers have nothing to release
        """Release workers; the executor cannot be used afterwards."""


def _check_chunk_size(owner: str, chunk_size: int | None) -> int | None:
    if chunk_size is not None and chunk_size < 1:
        raise ConfigError(f"{owner}: chunk_size={chunk_size}; use 1 or more, or None")
    return None if chunk_size is None else int(chunk_size)


def _score_chunk(objective: Objective, designs: list[Any]) -> Scores:
    return objective(designs).detach().to("cpu")


class InlineExecutor(Executor):
    """Call the objective directly in this process.

    Args:
        chunk_size: score a batch in calls of at most this many designs, handing back each call's
            results before the next starts (``None``: the whole batch in one call, which suits
            objectives that batch internally or use a GPU).
    """

    def __init__(self, chunk_size: int | None = None) -> None:
        self.chunk_size = _check_chunk_size("InlineExecutor", chunk_size)

    def chunks(self, objective: Objective, designs: Sequence[Any]) -> Iterator[Chunk]:
        designs = list(designs)
        size = self.chunk_size or max(len(designs), 1)
        for start in range(0, len(designs), size):
            began = time.perf_counter()
            scores = _score_chunk(objective, designs[start : start + size])
            yield Chunk(start, scores, time.perf_counter() - began)


class ProcessPoolExecutor(Executor):
    """Split each batch into contiguous chunks scored in worker processes, handed back as each finishes.

    Workers are started with the ``spawn`` method, so CUDA and threaded libraries are safe; the
    objective is pickled once per chunk. A chunk's seconds are the wall time between its
    completion and the previous one's (the batch's start for the first), so they add up to the
    batch's wall time.

    Args:
        workers: number of worker processes (``>= 1``).
        chunk_size: designs per chunk (default ``ceil(B / workers)``: one chunk per worker). Smaller
            chunks hand results back sooner, at the cost of pickling the objective more often.
    """

    def __init__(self, workers: int = 2, chunk_size: int | None = None) -> None:
        if workers < 1:
            raise ConfigError(f"ProcessPoolExecutor: workers={workers}; use 1 or more")
        self.workers = int(workers)
        self.chunk_size = _check_chunk_size("ProcessPoolExecutor", chunk_size)
        self._pool = concurrent.futures.ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))

    def chunks(self, objective: Objective, designs: Sequence[Any]) -> Iterator[Chunk]:
        designs = list(designs)
        size = self.chunk_size or -(-len(designs) // self.workers) or 1
        futures = {self._pool.submit(_score_chunk, objective, designs[i : i + size]): i for i in range(0, len(designs), size)}
        last = time.perf_counter()
        try:
            for future in concurrent.futures.as_completed(futures):
                scores = future.result()
                now = time.perf_counter()
                yield Chunk(futures[future], scores, now - last)
                last = now
        finally:
            for future in futures:
                future.cancel()

    def submit(self, objective: Objective, designs: Sequence[Any]) -> concurrent.futures.Future[Scores]:
        return self._pool.submit(_score_chunk, objective, list(designs))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
