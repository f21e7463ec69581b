"""The campaign engine: an ask/tell loop over a ledger that is also a persistent cache.

One round:

1. ``designs = strategy.ask(n)`` with ``n = min(batch_size, budget left)``;
2. every design goes through ``space.validate``; one the space rejects is recorded in the ledger as
   invalid with the space's error (source ``"space"``), never scored, and told to the strategy as
   invalid;
3. designs are de-duplicated by ``space.key`` within the batch, against this run's history, and
   against the ledger's cache under the objective's fingerprint (from any earlier run when the
   objective is deterministic; otherwise only from this run, which covers a resume);
4. the new designs are scored in batches of ``batch_size`` through the executor; each result
   that succeeds is committed to the ledger's cache as soon as the executor hands back its chunk,
   and the whole batch joins the run's trajectory when its last chunk returns;
5. ``strategy.tell`` receives every asked design with its scores (cached ones included);
6. the strategy's ``state_dict()`` and the run's counters are checkpointed atomically.

The budget counts unique designs the objective scored in this run (cache hits from earlier runs
count, because they are part of this run's search, but cost no objective call); raw calls count
every asked design, duplicates included. A run stops at the budget, after ``max_rounds`` rounds,
after ``patience_rounds`` rounds in a row that proposed nothing new, or when the strategy proposes
nothing. A systemic failure (every design of a batch failed with the same error; see
:mod:`gendesign.core.failures`) raises :class:`CampaignError` before that batch is recorded; what was
recorded before stays in the ledger, and the run resumes from its last checkpoint once the cause is
fixed.

Resuming (:meth:`Campaign.run` on a run directory that holds a checkpoint) reloads the strategy
state and counters of the last finished round, forgets the run's trajectory after that round, and
replays: the designs scored after the checkpoint are found in the ledger and served from it. A
design whose result was written to the ledger is never scored again; only the designs still being
scored when the process died are (at most one executor chunk per worker, see
:mod:`gendesign.core.executor`).

A campaign with a run directory holds its lock (:mod:`gendesign.core.lock`) from construction to
:meth:`Campaign.close`: a second campaign on the same directory is refused while the first lives.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gendesign.core.atomic import atomic_open, atomic_write_text
from gendesign.core.designs import DesignSpace
from gendesign.core.errors import CampaignError, ConfigError, InvalidDesignError
from gendesign.core.evaluate import HeldOut, When, as_held_out
from gendesign.core.executor import Executor, InlineExecutor
from gendesign.core.failures import DEFAULT_MAX_FAILED_BATCHES, FailurePolicy
from gendesign.core.ledger import Evaluation, Ledger
from gendesign.core.lock import RunDirLock
from gendesign.core.objective import (
    Objective,
    ObjectiveSpec,
    Scores,
    canonical_values,
    constraint_satisfied,
    guide_columns,
    guide_specs,
)
from gendesign.core.pareto import ParetoFront, reference_point
from gendesign.core.paths import check_run_dir
from gendesign.core.progress import Progress
from gendesign.core.protocols import OnlineReward, conforms
from gendesign.core.report import ReportExtension, front_indices, specs_to_json, write_outputs
from gendesign.core.strategy import PendingAware, SearchStrategy

CHECKPOINT_NAME = "checkpoint.pt"
LEDGER_NAME = "ledger.sqlite"
RUN_FILE = "run.json"
CHECKPOINT_FORMAT = 1
MODES = ("sync", "async", "lab")


@dataclass
class Counters:
    """Run statistics, checkpointed with the strategy state.

    Attributes:
        round: rounds finished.
        evaluations: unique designs the objective scored for this run (the budget count).
        paid: of those, how many this run's objective calls produced.
        cache_hits: of those, how many came from the ledger's cache of earlier runs.
        raw_calls: designs asked for, duplicates and rejected ones included.
        duplicates: asked designs that were already known to this run or repeated in the batch.
        rejected: designs the space rejected.
        failed: scored designs the objective marked invalid.
        idle_rounds: rounds in a row that proposed nothing new.
        objective_seconds: wall seconds inside the objective.
        strategy_seconds: wall seconds inside ``strategy.ask`` and ``strategy.tell``.
        wall_seconds: wall seconds of the whole run, over all sessions.
        evaluate_calls: designs the held-out evaluation objectives scored (one per design and objective).
        stop_reason: why the run stopped (``None`` while running).
    """

    round: int = 0
    evaluations: int = 0
    paid: int = 0
    cache_hits: int = 0
    raw_calls: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed: int = 0
    idle_rounds: int = 0
    objective_seconds: float = 0.0
    strategy_seconds: float = 0.0
    wall_seconds: float = 0.0
    evaluate_calls: int = 0
    stop_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Record:
    """One design of the run's history.

    Attributes:
        design: the canonical design (or the raw object the space rejected).
        key: its canonical key.
        values: column name -> natural value (NaN when invalid).
        valid: scored successfully.
        feasible: valid and every constraint satisfied.
        error: why it is invalid.
        round: the round that first asked for it.
        evaluation: 1-based count of scored designs at this one (``None`` for rejected designs).
        cached: served from an earlier run's evaluation rather than scored by this run.
    """

    design: Any
    key: str
    values: dict[str, float]
    valid: bool
    feasible: bool
    error: str | None
    round: int
    evaluation: int | None
    cached: bool = False


@dataclass(frozen=True)
class ParetoPoint:
    """A feasible non-dominated design and its natural values (column name -> value)."""

    design: Any
    key: str
    values: dict[str, float]


@dataclass
class CampaignResult:
    """What a campaign returns.

    Attributes:
        pareto: the feasible non-dominated designs (objective columns, directions respected).
        best: objective column name -> the feasible design with the best value there (``None``
            when nothing is feasible).
        history: every design of the run in order of first appearance.
        summary: the ``summary.json`` content.
        run_dir: where the outputs went (``None`` for an in-memory run).
    """

    pareto: list[ParetoPoint]
    best: dict[str, ParetoPoint | None]
    history: list[Record]
    summary: dict[str, Any]
    run_dir: Path | None = None
    specs: tuple[ObjectiveSpec, ...] = field(default_factory=tuple)

    def values(self) -> Tensor:
        """`[N, K]` natural values of :attr:`history`."""
        names = [s.name for s in self.specs]
        return torch.tensor([[r.values[n] for n in names] for r in self.history], dtype=torch.float64).reshape(len(self.history), len(names))


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a uniquely named temporary file, ``fsync``, then ``os.replace``: a reader sees the old or the new file, never half of one."""
    with atomic_open(path, "wb") as fh:
        torch.save(state, fh)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint with ``torch.load(weights_only=True)``: tensors and JSON-like values only."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means an unusable checkpoint
        raise CampaignError(
            f"cannot load checkpoint {path}: {type(exc).__name__}: {exc}. Strategy state must hold only tensors and "
            "JSON-like values (dict, list, tuple, str, int, float, bool, None)"
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CampaignError(f"{path} is not a gendesign campaign checkpoint (format {CHECKPOINT_FORMAT})")
    return state


def _as_float32(rows: list[list[float]]) -> Tensor:
    top = torch.finfo(torch.float32).max
    return torch.tensor(rows, dtype=torch.float64).clamp(-top, top).to(torch.float32)


def _invalid_key(design: Any) -> str:
    try:
        text = json.dumps(design, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        text = repr(design)
    return "invalid:" + text


class Campaign:
    """An ask/tell campaign with a ledger, checkpoints and outputs.

    Args:
        objective: scores designs; its :meth:`~Objective.fingerprint` keys the ledger's cache.
        space: validates and keys designs.
        strategy: proposes designs.
        budget: unique designs to score.
        batch_size: designs asked for per round and scored per objective call.
        run_dir: where the ledger, checkpoint and outputs go; ``None`` keeps everything in memory.
        ledger: a ledger file (or :class:`Ledger`) to use instead of ``run_dir/ledger.sqlite``, e.g.
            one shared by several campaigns as a cache.
        max_rounds: stop after this many rounds.
        patience_rounds: stop after this many rounds in a row that proposed nothing new.
        max_failed_batches: raise :class:`CampaignError` after this many scored batches in a row
            that failed on every design with the same error (``0``: never); see
            :mod:`gendesign.core.failures`.
        progress: draw a progress bar on a terminal.
        plots: write PNG plots with the outputs.
        strategy_name: the strategy's registered name, for the ledger.
        executor: how batches are scored (default :class:`InlineExecutor`).
        run_id: the run's id (default: read from the run directory's checkpoint, else a new one).
        metadata: extra JSON-able metadata stored with the run (e.g. the resolved config).
        lock: the run directory's lock, already held by the caller (the campaign releases it on
            :meth:`close`); by default the campaign takes it itself.
        force: break a lock another process holds on ``run_dir`` (only after checking it is dead).
        mode: ``"sync"`` (rounds: ask ``batch_size``, score them all, tell them all), ``"async"``
            (keep ``max_in_flight`` designs scoring; tell each result as it arrives, ask for more;
            :mod:`gendesign.core.async_campaign`) or ``"lab"`` (designs leave with
            :func:`gendesign.core.lab.ask` and their measurements return with
            :func:`gendesign.core.lab.tell`; :meth:`run` refuses).
        max_in_flight: designs scoring at once in ``"async"`` mode (default: the executor's
            ``workers``, else 1).
        timeout: seconds one submission may run in ``"async"`` mode before it is cancelled and its
            designs recorded as failed with the reason.
        reports: report extensions (name -> :class:`~gendesign.core.report.ReportExtension`) that
            write extra outputs into ``run_dir``, e.g. the molecule grid.
        evaluate: held-out evaluation objectives (:class:`~gendesign.core.evaluate.HeldOut`, or
            bare objectives for ``when="final"``), reported as ``eval:<column>`` and never told
            to the strategy; see :mod:`gendesign.core.evaluate`.

    Raises:
        ConfigError: ``run_dir`` names a file, or ``run_dir`` or ``ledger`` cannot be written.
        RunDirLockedError: another live process is running a campaign in ``run_dir``.
    """

    def __init__(
        self,
        objective: Objective,
        space: DesignSpace,
        strategy: SearchStrategy,
        *,
        budget: int,
        batch_size: int = 64,
        run_dir: str | Path | None = None,
        ledger: str | Path | Ledger | None = None,
        max_rounds: int | None = None,
        patience_rounds: int = 20,
        max_failed_batches: int = DEFAULT_MAX_FAILED_BATCHES,
        progress: bool = True,
        plots: bool = True,
        strategy_name: str | None = None,
        executor: Executor | None = None,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        lock: RunDirLock | None = None,
        force: bool = False,
        mode: str = "sync",
        max_in_flight: int | None = None,
        timeout: float | None = None,
        reports: Mapping[str, ReportExtension] | None = None,
        evaluate: Sequence[Objective | HeldOut] = (),
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"mode={mode!r}; choose one of {', '.join(MODES)}")
        if max_in_flight is not None and max_in_flight < 1:
            raise ConfigError(f"max_in_flight={max_in_flight}; use 1 or more, or None for the executor's worker count")
        if timeout is not None and not timeout > 0:
            raise ConfigError(f"timeout={timeout}; give seconds > 0, or None for no timeout")
        if budget < 1:
            raise ConfigError(f"budget={budget}; give at least 1 design to evaluate")
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size}; use 1 or more")
        if max_rounds is not None and max_rounds < 1:
            raise ConfigError(f"max_rounds={max_rounds}; use 1 or more, or None for no limit")
        if patience_rounds < 1:
            raise ConfigError(f"patience_rounds={patience_rounds}; use 1 or more")
        if tuple(strategy.specs) != guide_specs(objective.specs):
            raise ConfigError(
                f"the strategy was built for columns {[s.name for s in strategy.specs]} but the objective guides with "
                f"{[s.name for s in guide_specs(objective.specs)]}; build the strategy with specs=guide_specs(objective.specs)"
            )
        self.mode = mode
        self.timeout = timeout
        self.objective = objective
        self.space = space
        self.strategy = strategy
        self.specs = tuple(objective.specs)
        self._guide = guide_columns(self.specs)
        self.evaluate = as_held_out(tuple(evaluate))
        self._eval_fingerprints = [h.objective.fingerprint() for h in self.evaluate]
        self.budget = int(budget)
        self.batch_size = int(batch_size)
        self.max_rounds = max_rounds
        self.patience_rounds = int(patience_rounds)
        self.max_failed_batches = int(max_failed_batches)
        self._failures = FailurePolicy(self.max_failed_batches)  # renewed by every run(): each session has a first batch
        self.progress = progress
        self.plots = plots
        self.strategy_name = strategy_name or type(strategy).__name__
        self.executor = executor or InlineExecutor()
        self.max_in_flight = int(max_in_flight or self.executor.workers)
        self.metadata = dict(metadata or {})
        self.reports = dict(reports or {})
        self.run_dir = check_run_dir(run_dir) if run_dir is not None else None
        self._lock = lock
        if self.run_dir is not None and lock is None:
            self._lock = RunDirLock.acquire(self.run_dir, force=force)
        try:
            if isinstance(ledger, Ledger):
                self.ledger = ledger
            elif ledger is not None:
                self.ledger = Ledger(ledger)
            else:
                self.ledger = Ledger(self.run_dir / LEDGER_NAME if self.run_dir is not None else None)
        except BaseException:
            self._release()
            raise
        self.fingerprint = objective.fingerprint()
        try:
            run_id = self._check_run(run_id)
        except BaseException:
            if not isinstance(ledger, Ledger):
                self.ledger.close()
            self._release()
            raise
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.counters = Counters()
        self._known: dict[str, Evaluation] = {}
        self._order: list[str] = []
        self._in_flight: dict[str, Any] = {}
        # The running front (progress bar hypervolume) exists for K >= 2 objective columns only.
        self._front = ParetoFront(len(self._objective_columns)) if len(self._objective_columns) >= 2 else None
        self._best = torch.full((len(self._objective_columns),), -math.inf, dtype=torch.float64)
        self._restored = False

    @property
    def _objective_columns(self) -> list[int]:
        return [k for k, s in enumerate(self.specs) if s.kind == "objective"]

    def _check_run(self, run_id: str | None) -> str | None:
        """Read the checkpoint and reconcile ``run_id`` with the one the run directory holds."""
        self._checkpoint = self._read_checkpoint()
        if self._checkpoint is not None:
            saved = self._checkpoint["run_id"]
            if run_id is not None and run_id != saved:
                raise CampaignError(f"{self.run_dir} holds run {saved!r}, not {run_id!r}; use another run_dir to start a new run")
            run_id = saved
            if self._checkpoint["fingerprint"] != self.fingerprint:
                raise CampaignError(
                    f"{self.run_dir} was run with objective fingerprint {self._checkpoint['fingerprint']}, but this objective has "
                    f"{self.fingerprint}: the objective or its options changed. Resume with the original configuration or use a new run_dir"
                )
        elif run_id is None and self.run_dir is not None and (self.run_dir / RUN_FILE).is_file():
            run_id = json.loads((self.run_dir / RUN_FILE).read_text())["run_id"]
        return run_id

    def _read_checkpoint(self) -> dict[str, Any] | None:
        if self.run_dir is None or not (self.run_dir / CHECKPOINT_NAME).is_file():
            return None
        return load_checkpoint(self.run_dir / CHECKPOINT_NAME)

    def _write_metadata(self) -> None:
        meta = {
            "run_id": self.run_id,
            "objective": self.objective.name,
            "fingerprint": self.fingerprint,
            "specs": specs_to_json(self.specs),
            "strategy": self.strategy_name,
            "budget": self.budget,
            "batch_size": self.batch_size,
            "space": self.space.config(),
            "evaluate": [
                {
                    "objective": h.objective.name,
                    "fingerprint": fp,
                    "when": h.when,
                    "deterministic": h.objective.deterministic,
                    "specs": specs_to_json(h.objective.specs),
                }
                for h, fp in zip(self.evaluate, self._eval_fingerprints)
            ],
            **self.metadata,
        }
        with self.ledger.transaction():
            self.ledger.set_meta("run_id", self.run_id)
            self.ledger.set_meta(f"run:{self.run_id}", meta)
        if self.run_dir is not None:
            ledger_path = str(self.ledger.path.resolve()) if self.ledger.path is not None else None
            atomic_write_text(self.run_dir / RUN_FILE, json.dumps({"run_id": self.run_id, "ledger": ledger_path}, indent=2))

    def _restore(self) -> None:
        """Load the checkpoint (if any), forget the trajectory after it, and rebuild the run's state from the ledger."""
        meta = self.ledger.get_meta(f"run:{self.run_id}")
        if meta is not None and meta.get("fingerprint") != self.fingerprint:
            raise CampaignError(
                f"run {self.run_id!r} in this ledger was scored with objective fingerprint {meta.get('fingerprint')}, but this objective "
                f"has {self.fingerprint}: the objective or its options changed. Resume with the original configuration or use a new run_dir"
            )
        ckpt = self._checkpoint
        last_round = 0
        if ckpt is not None:
            self.strategy.load_state_dict(ckpt["strategy"])
            if "objective" in ckpt and conforms(self.objective, OnlineReward):
                self.objective.load_state_dict(ckpt["objective"])  # type: ignore[attr-defined]
            self.counters = Counters(**ckpt["counters"])
            self.counters.stop_reason = None
            last_round = self.counters.round
        if self.mode != "sync":
            self._restore_continuous(0 if ckpt is None else int(ckpt.get("told", 0)))
            return
        self.ledger.truncate_trajectory(self.run_id, last_round)
        self._remember([entry.evaluation for entry in self.ledger.trajectory(self.run_id)])

    def _restore_continuous(self, told: int) -> None:
        """Rebuild an asynchronous or lab run: keep its whole trajectory, tell the strategy what it missed, reload what is in flight.

        Unlike a synchronous run, nothing is replayed: every result in the ledger is part of the run.
        The checkpoint records how many trajectory entries its strategy state had been told
        (``told``); results recorded after it (the process died between recording and
        checkpointing) are told now. The run's counts of scored designs are recounted from the
        trajectory, so they are exact whatever the checkpoint missed. Designs still pending in the
        ledger are in flight again: an asynchronous run re-submits them, a lab run waits for them.
        """
        entries = [entry.evaluation for entry in self.ledger.trajectory(self.run_id)]
        self._remember(entries)
        c = self.counters
        scored = [ev for ev in entries if ev.source == "objective"]
        c.evaluations = len(scored)
        c.paid = sum(ev.run_id == self.run_id for ev in scored)
        c.cache_hits = c.evaluations - c.paid
        c.failed = sum(not ev.valid for ev in scored)
        c.rejected = len(entries) - len(scored)
        missed = [ev for ev in entries[told:] if ev.source == "objective"]
        if missed:
            self._tell([(self.space.from_json(ev.design), ev.key) for ev in missed])
        self._in_flight = {p.key: self.space.from_json(p.design) for p in self.ledger.pending(self.run_id)}

    def _remember(self, evs: Sequence[Evaluation]) -> None:
        """Add evaluations to the run's state: known keys, best values, and rows pending for the running front."""
        for ev in evs:
            self._known[ev.key] = ev
            self._order.append(ev.key)
        scored = [ev.values for ev in evs if ev.source == "objective" and ev.valid]
        if not scored:
            return
        values = torch.tensor(scored, dtype=torch.float64).reshape(len(scored), len(self.specs))
        values = values[constraint_satisfied(values, self.specs)]
        if values.shape[0] == 0:
            return
        cols = self._objective_columns
        canon = canonical_values(values[:, cols], [self.specs[k] for k in cols])
        self._best = torch.maximum(self._best, canon.max(dim=0).values)
        if self._front is not None:
            self._front.add(canon)

    def _advance(self, progress: Progress, evaluations: int) -> None:
        if progress.enabled:
            progress.update(evaluations, *self._progress_stats())

    def _progress_stats(self) -> tuple[dict[str, float], float | None]:
        """Best natural value per objective column, and the hypervolume of the feasible front (K >= 2)."""
        cols = self._objective_columns
        best = {self.specs[k].name: float(self._best[i]) * self.specs[k].sign for i, k in enumerate(cols)}
        if self._front is None or len(self._front) == 0:
            return best, None
        specs = [self.specs[k] for k in cols]
        signs = torch.tensor([s.sign for s in specs], dtype=torch.float64)
        return best, self._front.hypervolume(reference_point(specs, self._front.values * signs))

    def _evaluations(self, batch: Sequence[tuple[str, Any]], scores: Scores, round_: int, seconds: Sequence[float]) -> list[Evaluation]:
        """Ledger rows for a scored batch of ``(key, canonical design)`` with each design's objective ``seconds``."""
        values = scores.values.tolist()
        std = scores.std.tolist() if scores.std is not None else [None] * len(batch)
        valid = scores.valid.tolist()
        return [
            Evaluation(
                key=key,
                design=self.space.to_json(design),
                values=tuple(values[i]),
                std=None if std[i] is None else tuple(std[i]),
                valid=valid[i],
                error=scores.errors[i],
                source="objective",
                run_id=self.run_id,
                round=round_,
                strategy=self.strategy_name,
                seconds=seconds[i],
            )
            for i, (key, design) in enumerate(batch)
        ]

    def _score(self, batch: Sequence[tuple[str, Any]], round_: int) -> tuple[Scores, list[float], list[Evaluation], set[str]]:
        """Score a batch of ``(key, canonical design)`` chunk by chunk.

        Returns:
            its scores, each design's seconds, its ledger rows in batch order, and the keys already
            written to the ledger's cache.

        Each chunk's successful results go into the ledger's cache the moment the executor hands
        them back, so a run killed mid-batch finds them on resume instead of paying for them
        again. They join the run's trajectory, in batch order, only with the whole batch; failed
        designs wait for the whole batch too, so a batch that fails systemically leaves nothing
        cached that a fixed objective would have to overrule.
        """
        parts: list[tuple[int, Scores]] = []
        seconds = [0.0] * len(batch)
        evs: list[Evaluation] = [None] * len(batch)  # type: ignore[list-item]
        written: set[str] = set()
        for chunk in self.executor.chunks(self.objective, [d for _, d in batch]):
            n = len(chunk.scores)
            seconds[chunk.start : chunk.start + n] = [chunk.seconds / n] * n
            done = self._evaluations(batch[chunk.start : chunk.start + n], chunk.scores, round_, seconds[chunk.start : chunk.start + n])
            evs[chunk.start : chunk.start + n] = done
            finished = [ev for ev in done if ev.valid]
            if finished:
                self.ledger.record(self.fingerprint, finished)
                written.update(ev.key for ev in finished)
            parts.append((chunk.start, chunk.scores))
        parts.sort(key=lambda part: part[0])
        return Scores.cat([p for _, p in parts]), seconds, evs, written

    def _round(self, asked: Sequence[Any], round_: int, progress: Progress) -> int:
        """Resolve, score and tell one round; returns the number of designs new to this run."""
        resolved, fresh, new = self._admit(asked, round_, progress)
        for start in range(0, len(fresh), self.batch_size):
            batch = fresh[start : start + self.batch_size]
            scores, seconds, evs, written = self._score(batch, round_)
            self._commit(batch, scores, seconds, round_, progress, evs=evs, written=written)
        self._tell(resolved)
        return new

    def _admit(self, asked: Sequence[Any], round_: int, progress: Progress) -> tuple[list[tuple[Any, str]], list[tuple[str, Any]], int]:
        """Validate and de-duplicate asked designs; record the rejected and the cached ones.

        Returns:
            ``resolved``: every asked design as ``(design, key)``, to be told once known;
            ``fresh``: ``(key, canonical design)`` to score, within the budget left after the
            designs in flight (the budget is charged when a design is submitted);
            the number of designs new to this run.
        """
        c = self.counters
        c.raw_calls += len(asked)
        k = len(self.specs)
        resolved: list[tuple[Any, str]] = []
        rejected: list[Evaluation] = []
        pending: dict[str, Any] = {}
        for design in asked:
            try:
                canonical = self.space.validate(design)
                key = self.space.key(canonical)
            except InvalidDesignError as exc:
                key = _invalid_key(design)
                resolved.append((design, key))
                if key not in self._known and all(e.key != key for e in rejected):
                    rejected.append(
                        Evaluation(key, key[len("invalid:") :], (math.nan,) * k, None, False, f"rejected by the design space: {exc}", "space", self.run_id, round_, self.strategy_name)
                    )
                else:
                    c.duplicates += 1
                continue
            resolved.append((canonical, key))
            if key in self._known or key in pending or key in self._in_flight:
                c.duplicates += 1
            else:
                pending[key] = canonical
        if rejected:
            self.ledger.record(self.fingerprint, rejected, run_id=self.run_id, round=round_)
            self._remember(rejected)
            c.rejected += len(rejected)
        hits = self.ledger.lookup(self.fingerprint, pending, run_id=None if self.objective.deterministic else self.run_id)
        room = self.budget - c.evaluations - len(self._in_flight)
        fresh: list[tuple[str, Any]] = []
        cached: list[str] = []
        for key, canonical in pending.items():
            if room <= 0:
                break
            room -= 1
            if key in hits:
                cached.append(key)
            else:
                fresh.append((key, canonical))
        if cached:
            self.ledger.extend_trajectory(self.run_id, self.fingerprint, cached, round_)
            self._remember([hits[key] for key in cached])
            for key in cached:
                ev = hits[key]
                if ev.run_id == self.run_id:
                    c.paid += 1
                    c.objective_seconds += ev.seconds
                else:
                    c.cache_hits += 1
                c.failed += int(not ev.valid)
            c.evaluations += len(cached)
            self._advance(progress, len(cached))
            self._evaluate("batch", cached, round_)
        return resolved, fresh, len(rejected) + len(cached) + len(fresh)

    def _commit(
        self,
        batch: Sequence[tuple[str, Any]],
        scores: Scores,
        seconds: Sequence[float],
        round_: int,
        progress: Progress,
        *,
        evs: list[Evaluation] | None = None,
        written: Collection[str] = (),
    ) -> None:
        """Record a scored batch of ``(key, canonical design)`` in the ledger and the run's state.

        ``evs`` are the batch's ledger rows when :meth:`_score` built them already, and ``written``
        the keys it wrote as their chunks finished (they only join the trajectory now).

        Raises:
            CampaignError: the failure policy found a systemic failure; nothing of the batch is recorded.
        """
        c = self.counters
        stop = self._failures.observe(scores)
        if stop is not None:
            raise CampaignError(self._failure_message(stop))
        if evs is None:
            evs = self._evaluations(batch, scores, round_, seconds)
        self.ledger.record(self.fingerprint, evs, run_id=self.run_id, round=round_, resolve=bool(self._in_flight), written=written)
        for key, _ in batch:
            self._in_flight.pop(key, None)
        self._remember(evs)
        c.evaluations += len(batch)
        c.paid += len(batch)
        c.failed += sum(not ev.valid for ev in evs)
        c.objective_seconds += sum(seconds)
        self._advance(progress, len(batch))
        self._evaluate("batch", [key for key, _ in batch], round_)

    def _evaluate(self, when: When, keys: Sequence[str], round_: int) -> None:
        """Score the valid designs among ``keys`` with the evaluation objectives due ``when``; the ledger's copy wins.

        Results go to the ledger under each evaluation objective's fingerprint and to no trajectory,
        so they never reach :meth:`_scores` (what the strategy is told).
        """
        todo = [k for k in dict.fromkeys(keys) if self._known[k].source == "objective" and self._known[k].valid]
        for held, fp in zip(self.evaluate, self._eval_fingerprints):
            if held.when != when or not todo:
                continue
            have = self.ledger.lookup(fp, todo, run_id=None if held.objective.deterministic else self.run_id)
            missing = [k for k in todo if k not in have]
            if not missing:
                continue
            start = time.perf_counter()
            scores = held.objective([self.space.from_json(self._known[k].design) for k in missing]).to("cpu")
            seconds = (time.perf_counter() - start) / len(missing)
            self.counters.evaluate_calls += len(missing)
            std = scores.std.tolist() if scores.std is not None else None
            rows = [
                Evaluation(
                    key,
                    self._known[key].design,
                    tuple(float(v) for v in scores.values[i].tolist()),
                    tuple(std[i]) if std is not None else None,
                    bool(scores.valid[i]),
                    scores.errors[i],
                    "objective",
                    self.run_id,
                    round_,
                    "evaluate:" + when,
                    seconds,
                )
                for i, key in enumerate(missing)
            ]
            self.ledger.record(fp, rows)

    def _front_keys(self) -> list[str]:
        """Keys of the run's feasible non-dominated designs (all feasible designs when no column is an objective)."""
        rows = [self._known[k] for k in self._order if self._known[k].source == "objective" and self._known[k].valid]
        if not rows:
            return []
        values = torch.tensor([list(ev.values) for ev in rows], dtype=torch.float64).reshape(len(rows), len(self.specs))
        feasible = constraint_satisfied(values, self.specs)
        rows = [ev for ev, ok in zip(rows, feasible.tolist()) if ok]
        values = values[feasible]
        cols = self._objective_columns
        if not rows or not cols:
            return [ev.key for ev in rows]
        front = front_indices(canonical_values(values[:, cols], [self.specs[k] for k in cols]))
        return [rows[i].key for i in front]

    def _ask(self, n: int) -> list[Any]:
        """``strategy.ask(n)``, after telling a :class:`PendingAware` strategy what is in flight (asynchronous and lab modes)."""
        start = time.perf_counter()
        if self.mode != "sync" and conforms(self.strategy, PendingAware):
            self.strategy.set_pending(list(self._in_flight.values()))  # type: ignore[attr-defined]
        asked = list(self.strategy.ask(n))
        self.counters.strategy_seconds += time.perf_counter() - start
        return asked

    def _tell(self, resolved: Sequence[tuple[Any, str]]) -> None:
        """Tell the strategy every design of ``resolved`` whose result is known."""
        told = [(d, key) for d, key in resolved if key in self._known]
        if told:
            scores = self._scores([key for _, key in told])
            start = time.perf_counter()
            self.strategy.tell([d for d, _ in told], scores)
            self.counters.strategy_seconds += time.perf_counter() - start

    def _failure_message(self, reason: str) -> str:
        c = self.counters
        if self.run_dir is None:
            where = "The campaign ran in memory, so nothing was kept"
        else:
            where = (
                f"The ledger keeps the {c.evaluations} evaluations made before this batch; fix the cause and continue with "
                f"`gendesign resume {self.run_dir}` (or the same optimize(..., run_dir=...) call)"
            )
        return f"campaign stopped in round {c.round + 1}: {reason}. {where}"

    def _scores(self, keys: Sequence[str]) -> Scores:
        """What the strategy is told: float32 values (its models' precision), saturated at float32's finite range.

        The ledger and the outputs keep float64; saturating keeps a valid 1e300 from reaching a
        strategy as ``inf``.
        """
        evs = [self._known[k] for k in keys]
        cols = self._guide
        values = _as_float32([[e.values[k] for k in cols] for e in evs]).reshape(len(evs), len(cols))
        valid = torch.tensor([e.valid for e in evs], dtype=torch.bool)
        std = None
        if evs and all(e.std is not None for e in evs):
            std = _as_float32([[e.std[k] for k in cols] for e in evs])  # type: ignore[index]
        return Scores(values=values, valid=valid, specs=self.strategy.specs, std=std, errors=[e.error for e in evs])

    def _save(self) -> None:
        self.ledger.set_meta(f"counters:{self.run_id}", self.counters.to_dict())
        report = self.strategy.report()
        if report:
            self.ledger.set_meta(f"strategy_report:{self.run_id}", report)
        if self.run_dir is None:
            return
        state = {
            "format": CHECKPOINT_FORMAT,
            "run_id": self.run_id,
            "fingerprint": self.fingerprint,
            "counters": self.counters.to_dict(),
            "strategy": self.strategy.state_dict(),
        }
        if conforms(self.objective, OnlineReward):
            state["objective"] = self.objective.state_dict()  # type: ignore[attr-defined]
        if self.mode != "sync":
            state["told"] = len(self._order)
        save_checkpoint(self.run_dir / CHECKPOINT_NAME, state)

    def _stop_reason(self) -> str | None:
        c = self.counters
        if c.evaluations >= self.budget:
            return "budget"
        if self.max_rounds is not None and c.round >= self.max_rounds:
            return "max_rounds"
        if c.idle_rounds >= self.patience_rounds:
            return "patience"
        return None

    def run(self) -> CampaignResult:
        """Run (or continue) the campaign to a stop condition and write the outputs.

        The first call restores the run directory's checkpoint, if any; later calls on the same
        object continue from its live state (e.g. after raising :attr:`budget`).
        """
        if self.mode == "lab":
            raise CampaignError(
                f"this campaign is in lab mode: its designs are measured outside gendesign. Propose a plate with "
                f"`gendesign ask {self.run_dir or 'RUN_DIR'} -n 96 --out plate.csv` and import the measurements with "
                f"`gendesign tell {self.run_dir or 'RUN_DIR'} results.csv`"
            )
        self.prepare()
        self._failures = FailurePolicy(self.max_failed_batches)
        session_start = time.perf_counter()
        wall_before = self.counters.wall_seconds
        progress = Progress(self.budget, initial=self.counters.evaluations, enabled=self.progress, description=self.strategy_name)
        if self.mode == "async":
            from gendesign.core.async_campaign import run_async

            try:
                reason = run_async(self, progress)
                self.counters.stop_reason = reason
                self._evaluate("final", self._front_keys(), self.counters.round)
                self.counters.wall_seconds = wall_before + time.perf_counter() - session_start
                self._save()
            finally:
                progress.close()
            return self.result()
        try:
            while (reason := self._stop_reason()) is None:
                n = min(self.batch_size, self.budget - self.counters.evaluations)
                start = time.perf_counter()
                asked = list(self.strategy.ask(n))
                self.counters.strategy_seconds += time.perf_counter() - start
                if not asked:
                    reason = "strategy_exhausted"
                    break
                new = self._round(asked, self.counters.round + 1, progress)
                self.counters.round += 1
                self.counters.idle_rounds = 0 if new else self.counters.idle_rounds + 1
                self.counters.wall_seconds = wall_before + time.perf_counter() - session_start
                self._save()
            self.counters.stop_reason = reason
            self._evaluate("final", self._front_keys(), self.counters.round)
            self.counters.wall_seconds = wall_before + time.perf_counter() - session_start
            self._save()
        finally:
            progress.close()
        return self.result()

    def prepare(self) -> None:
        """Restore the run directory's checkpoint once (later calls keep the live state) and write the run's metadata."""
        if not self._restored:
            self._restore()
            self._restored = True
        self._write_metadata()

    def result(self) -> CampaignResult:
        """The run's Pareto set, best designs, history and summary (writing the outputs when there is a run directory)."""
        if self.run_dir is not None:
            summary = write_outputs(self.run_dir, self.ledger, self.run_id, space=self.space, plots=self.plots, extensions=self.reports)
        else:
            from gendesign.core.report import load_run, summarize

            summary = summarize(load_run(self.ledger, self.run_id), self.space)
        return self._result(summary)

    def _result(self, summary: dict[str, Any]) -> CampaignResult:
        names = [s.name for s in self.specs]
        history: list[Record] = []
        scored = 0
        for key in self._order:
            ev = self._known[key]
            is_scored = ev.source == "objective"
            scored += int(is_scored)
            values = torch.tensor(ev.values, dtype=torch.float64).unsqueeze(0)
            feasible = ev.valid and bool(constraint_satisfied(values, self.specs)[0])
            design = self.space.from_json(ev.design) if is_scored else ev.design
            history.append(
                Record(design, key, dict(zip(names, ev.values)), ev.valid, feasible, ev.error, ev.round or 0, scored if is_scored else None, ev.run_id != self.run_id)
            )
        cols = self._objective_columns
        feasible_rows = [r for r in history if r.feasible]
        pareto: list[ParetoPoint] = []
        if feasible_rows and cols:
            Y = torch.tensor([[r.values[names[k]] for k in cols] for r in feasible_rows], dtype=torch.float64)
            front = front_indices(canonical_values(Y, [self.specs[k] for k in cols]))
            pareto = [ParetoPoint(feasible_rows[i].design, feasible_rows[i].key, feasible_rows[i].values) for i in front]
        best: dict[str, ParetoPoint | None] = {}
        for k in cols:
            spec = self.specs[k]
            if not feasible_rows:
                best[spec.name] = None
                continue
            top = max(feasible_rows, key=lambda r: spec.sign * r.values[spec.name])
            best[spec.name] = ParetoPoint(top.design, top.key, top.values)
        return CampaignResult(pareto, best, history, summary, self.run_dir, self.specs)

    def close(self) -> None:
        """Release the executor's workers, the ledger and the run directory's lock."""
        try:
            self.executor.close()
            self.ledger.close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
