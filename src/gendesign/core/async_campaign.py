"""The asynchronous campaign loop: keep ``max_in_flight`` designs scoring, tell each result as it arrives.

A synchronous round waits for its slowest design, so one straggler idles every other worker. Here
the campaign keeps up to ``max_in_flight`` designs submitted to the executor. Whenever a submission
finishes, its results are recorded, told to the strategy, and the freed slots are refilled by a
new ``ask`` (a *round*; its size is the number of free slots, at most ``batch_size``). A
:class:`~gendesign.core.strategy.PendingAware` strategy hears of the designs still in flight
before each ask.

Bookkeeping, in the order it happens, so that a run killed at any point resumes exactly:

1. the designs a round will score are charged to the budget and written to the ledger's
   ``pending`` table (a design is pending or recorded, never both: the ledger moves it from one to
   the other in the same commit that records its result);
2. they are submitted in chunks of ``chunk_size`` designs (default 1);
3. a finished chunk is recorded, then told to the strategy, then the checkpoint is saved with the
   number of trajectory entries the strategy has been told.

On resume (:meth:`~gendesign.core.campaign.Campaign._restore_continuous`) results recorded after
the last checkpoint are told, and the pending designs are submitted again before anything new is
asked. A design is never recorded twice and never charged twice; a design that was being scored
when the process died is scored again, because its result never reached the ledger.

With ``timeout``, a submission running longer is cancelled (:meth:`Executor.cancel`; only an
executor that can stop a running task frees its worker, see ``docs/scale.md``) and its designs are
recorded as failed with the reason. A submission that raises in the executor (a worker died, Ray
gave up after its retries) is recorded as failed with the error; the failure policy of
:mod:`gendesign.core.failures` still stops a run whose every design fails the same way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gendesign.core.ledger import PendingDesign
from gendesign.core.objective import Scores
from gendesign.core.progress import Progress

if TYPE_CHECKING:
    from gendesign.core.campaign import Campaign

POLL_SECONDS = 0.05
"""How often the loop wakes to check timeouts while every submission is still running."""


@dataclass
class Submission:
    """A chunk of designs handed to the executor.

    Attributes:
        batch: ``(key, canonical design)`` pairs, in the order they were asked.
        round: the round that asked for them.
        started: ``time.perf_counter()`` at submission.
    """

    batch: list[tuple[str, Any]]
    round: int
    started: float


def run_async(campaign: Campaign, progress: Progress) -> str:
    """Run ``campaign`` asynchronously to a stop condition; returns the stop reason.

    Stop reasons are those of a synchronous run (``budget``, ``max_rounds``, ``patience``,
    ``strategy_exhausted``); once one holds no more designs are asked, and the run ends when every
    design in flight has been recorded.
    """
    c = campaign
    counters = c.counters
    submissions: dict[Future[Scores], Submission] = {}
    chunk = c.executor.chunk_size or 1

    def submit(batch: Sequence[tuple[str, Any]], round_: int) -> None:
        for start in range(0, len(batch), chunk):
            part = list(batch[start : start + chunk])
            future = c.executor.submit(c.objective, [design for _, design in part])
            submissions[future] = Submission(part, round_, time.perf_counter())

    resumed = c.ledger.pending(c.run_id)
    for p in resumed:
        c._in_flight[p.key] = c.space.from_json(p.design)
    for round_ in sorted({p.round for p in resumed}):
        submit([(p.key, c._in_flight[p.key]) for p in resumed if p.round == round_], round_)

    exhausted = False
    while True:
        reason = _asking_stops(c, exhausted)
        while reason is None and len(c._in_flight) < c.max_in_flight:
            n = min(c.max_in_flight - len(c._in_flight), c.batch_size, c.budget - counters.evaluations - len(c._in_flight))
            asked = c._ask(n)
            if not asked:
                exhausted = True
                break
            round_ = counters.round + 1
            resolved, fresh, new = c._admit(asked, round_, progress)
            counters.round = round_
            counters.idle_rounds = 0 if new else counters.idle_rounds + 1
            if fresh:
                c.ledger.add_pending(c.run_id, [PendingDesign(key, c.space.to_json(d), round_) for key, d in fresh])
                c._in_flight.update(fresh)
                submit(fresh, round_)
            c._tell(resolved)
            c._save()
            reason = _asking_stops(c, exhausted)
        if not submissions:
            return reason or _asking_stops(c, True) or "strategy_exhausted"
        done = c.executor.wait(list(submissions), timeout=POLL_SECONDS if c.timeout is not None else None)
        finished: list[tuple[Submission, Scores]] = []
        for future, sub in list(submissions.items()):
            if future in done:
                finished.append((sub, _result(c, future, sub)))
            elif c.timeout is not None and time.perf_counter() - sub.started > c.timeout:
                c.executor.cancel(future)
                error = f"timed out: scoring took longer than timeout = {c.timeout:g} s and was cancelled"
                finished.append((sub, Scores.failed(len(sub.batch), c.specs, error)))
            else:
                continue
            del submissions[future]
        now = time.perf_counter()
        for sub, scores in finished:
            per_design = (now - sub.started) / len(sub.batch)
            c._commit(sub.batch, scores, [per_design] * len(sub.batch), sub.round, progress)
            c._tell([(design, key) for key, design in sub.batch])
        if finished:
            c._save()


def _result(campaign: Campaign, future: Future[Scores], sub: Submission) -> Scores:
    """The scores of a finished submission; an executor failure (worker death, retries exhausted) fails its designs with the error."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - recorded per design, never lost
        return Scores.failed(len(sub.batch), campaign.specs, f"executor failed: {type(exc).__name__}: {exc}")


def _asking_stops(campaign: Campaign, exhausted: bool) -> str | None:
    """Why no more designs are asked (``None``: keep asking); the budget counts designs in flight."""
    c = campaign.counters
    if c.evaluations + len(campaign._in_flight) >= campaign.budget:
        return "budget"
    if exhausted:
        return "strategy_exhausted"
    if campaign.max_rounds is not None and c.round >= campaign.max_rounds:
        return "max_rounds"
    if c.idle_rounds >= campaign.patience_rounds:
        return "patience"
    return None
