"""Executors: how a campaign runs an objective on a batch of designs.

The campaign hands every batch of new designs to an executor and gets :class:`Scores` on the CPU
back, plus the wall seconds the objective took. :class:`InlineExecutor` calls the objective in the
campaign's process (the default; right for torch objectives that batch internally or use a GPU).
:class:`ProcessPoolExecutor` splits a batch over worker processes, for CPU-bound Python
objectives; the objective must be picklable.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, Scores


class Executor(ABC):
    """Runs ``objective(designs)`` and reports the result on the CPU with its wall time."""

    @abstractmethod
    def evaluate(self, objective: Objective, designs: Sequence[Any]) -> tuple[Scores, float]:
        """Score ``designs``.

        Returns:
            ``(scores, seconds)``: :class:`Scores` with `[B, K]` values on the CPU, detached, and
            the wall seconds spent.
        """

    def close(self) -> None:  # noqa: B027 - optional hook: executors without workers have nothing to release
        """Release workers; the executor cannot be used afterwards."""


class InlineExecutor(Executor):
    """Call the objective directly in this process."""

    def evaluate(self, objective: Objective, designs: Sequence[Any]) -> tuple[Scores, float]:
        start = time.perf_counter()
        scores = objective(designs)
        scores = scores.detach().to("cpu")
        return scores, time.perf_counter() - start


def _score_chunk(objective: Objective, designs: list[Any]) -> Scores:
    return objective(designs).detach().to("cpu")


class ProcessPoolExecutor(Executor):
    """Split each batch into ``workers`` contiguous chunks scored in worker processes.

    Workers are started with the ``spawn`` method, so CUDA and threaded libraries are safe; the
    objective is pickled once per chunk.

    Args:
        workers: number of worker processes (``>= 1``).
    """

    def __init__(self, workers: int = 2) -> None:
        if workers < 1:
            raise ConfigError(f"ProcessPoolExecutor: workers={workers}; use 1 or more")
        self.workers = int(workers)
        self._pool = concurrent.futures.ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))

    def evaluate(self, objective: Objective, designs: Sequence[Any]) -> tuple[Scores, float]:
        start = time.perf_counter()
        designs = list(designs)
        size = -(-len(designs) // self.workers) or 1
        chunks = [designs[i : i + size] for i in range(0, len(designs), size)]
        futures = [self._pool.submit(_score_chunk, objective, chunk) for chunk in chunks]
        parts = [f.result() for f in futures]
        scores = Scores.cat(parts) if parts else Scores.failed(0, objective.specs, "")
        return scores, time.perf_counter() - start

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def make_executor(name: str, workers: int = 2) -> Executor:
    """``"inline"`` or ``"process"`` (with ``workers``)."""
    if name == "inline":
        return InlineExecutor()
    if name == "process":
        return ProcessPoolExecutor(workers)
    raise ConfigError(f"executor={name!r} is not known; choose 'inline' or 'process'")
