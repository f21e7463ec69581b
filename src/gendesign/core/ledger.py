"""The evaluation ledger: an SQLite file that records every evaluation as it happens.

The ledger is both the campaign's record and a persistent cache. Three tables:

``evaluations``
    One row per (objective fingerprint, design key), ``UNIQUE(fingerprint, key)``: the design's
    lossless text form (``space.to_json``), the values `[K]` and optional std `[K]` as JSON lists
    (``null`` for NaN), validity, the error text, where the verdict came from (``"objective"`` for a
    scored design, ``"space"`` for a design the space rejected, which the objective never saw),
    the run, round and strategy that paid for it, the objective seconds spent on it (its share of
    the batch) and a UNIX timestamp. A second campaign with the same objective fingerprint finds
    its designs here and never pays for them again.
``trajectory``
    Which designs each run touched, in order of first appearance (``seq``), with the round. A run's
    history, Pareto front and budget come from here joined with ``evaluations``; a cached design
    enters a run's trajectory without a new ``evaluations`` row.
``meta``
    Key/value run metadata (JSON text): objective specs, the run's counters, the resolved config.

Durability: the database runs in WAL mode with ``synchronous=NORMAL`` by default. Every batch is
committed as soon as the objective returns, so a process killed at any moment (SIGKILL included)
loses nothing that was committed; with ``NORMAL`` an operating-system crash or power loss can
roll back the most recent commits (the WAL is synced at checkpoints only). Pass
``synchronous="FULL"`` to sync every commit at some cost in speed.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gendesign.core.errors import CampaignError
from gendesign.core.paths import check_ledger_path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL,
    key TEXT NOT NULL,
    design TEXT NOT NULL,
    "values" TEXT NOT NULL,
    std TEXT,
    valid INTEGER NOT NULL,
    error TEXT,
    source TEXT NOT NULL CHECK (source IN ('objective', 'space')),
    run_id TEXT,
    round INTEGER,
    strategy TEXT,
    seconds REAL NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    UNIQUE (fingerprint, key)
);
CREATE TABLE IF NOT EXISTS trajectory (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    key TEXT NOT NULL,
    round INTEGER NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX IF NOT EXISTS trajectory_order ON trajectory (run_id, seq);
CREATE TABLE IF NOT EXISTS pending (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    design TEXT NOT NULL,
    round INTEGER NOT NULL,
    batch TEXT,
    submitted REAL NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

_CHUNK = 500


@dataclass(frozen=True)
class Evaluation:
    """One ledger row.

    Attributes:
        key: the design's canonical key (``space.key``).
        design: the design's text form (``space.to_json`` of the canonical design).
        values: `[K]` values in natural units; NaN where invalid.
        std: `[K]` standard deviations, or ``None``.
        valid: whether the design was scored successfully (and accepted by the space).
        error: why it is invalid, else ``None``.
        source: ``"objective"`` (scored) or ``"space"`` (rejected by the space, never scored).
        run_id: the run that paid for it.
        round: the round of that run.
        strategy: the strategy name of that run.
        seconds: objective wall seconds attributed to this design (batch time / batch size).
        created: UNIX time of the write.
    """

    key: str
    design: str
    values: tuple[float, ...]
    std: tuple[float, ...] | None = None
    valid: bool = True
    error: str | None = None
    source: Literal["objective", "space"] = "objective"
    run_id: str | None = None
    round: int | None = None
    strategy: str | None = None
    seconds: float = 0.0
    created: float = 0.0


@dataclass(frozen=True)
class PendingDesign:
    """A design submitted for scoring (to a worker, or to a lab) whose result is not in the ledger yet.

    Attributes:
        key: the design's canonical key.
        design: its text form (``space.to_json``).
        round: the round that asked for it.
        batch: the submission it belongs to (a plate name in lab mode), or ``None``.
        submitted: UNIX time of the submission.
    """

    key: str
    design: str
    round: int
    batch: str | None = None
    submitted: float = 0.0


@dataclass(frozen=True)
class TrajectoryEntry:
    """A design in a run's history: its order of first appearance, round, and ledger row."""

    seq: int
    round: int
    evaluation: Evaluation

    @property
    def paid(self) -> bool:
        """Whether this run's own objective call produced the evaluation (not a cache hit from another run)."""
        return self.evaluation.source == "objective" and self.evaluation.run_id is not None


def _encode_floats(xs: Sequence[float] | None) -> str | None:
    if xs is None:
        return None
    return json.dumps([None if (x is None or math.isnan(x)) else float(x) for x in xs])


def _decode_floats(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    return tuple(math.nan if x is None else float(x) for x in json.loads(text))


_COLUMN_NAMES = ("key", "design", '"values"', "std", "valid", "error", "source", "run_id", "round", "strategy", "seconds", "created")
_COLUMNS = ", ".join(_COLUMN_NAMES)


def _row_to_evaluation(row: Sequence[Any]) -> Evaluation:
    key, design, values, std, valid, error, source, run_id, rnd, strategy, seconds, created = row
    return Evaluation(
        key=key,
        design=design,
        values=_decode_floats(values) or (),
        std=_decode_floats(std),
        valid=bool(valid),
        error=error,
        source=source,
        run_id=run_id,
        round=rnd,
        strategy=strategy,
        seconds=float(seconds),
        created=float(created),
    )


class Ledger:
    """An SQLite evaluation ledger.

    Args:
        path: database file; ``None`` or ``":memory:"`` keeps it in memory (nothing persists).
        synchronous: SQLite ``synchronous`` pragma, ``"NORMAL"`` (default; safe against process
            death) or ``"FULL"`` (also safe against power loss).

    Raises:
        ConfigError: ``path`` is a directory or cannot be created or written.
        CampaignError: the file is not a gendesign ledger or has a newer schema.
    """

    def __init__(self, path: str | Path | None = None, *, synchronous: Literal["NORMAL", "FULL"] = "NORMAL") -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise CampaignError(f"Ledger: synchronous={synchronous!r}; use 'NORMAL' or 'FULL'")
        self.path = None if path in (None, ":memory:") else check_ledger_path(path)  # type: ignore[arg-type]
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        target = ":memory:" if self.path is None else str(self.path)
        try:
            self.conn = sqlite3.connect(target, isolation_level=None, timeout=30.0)
            if self.path is not None:
                self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute(f"PRAGMA synchronous={synchronous}")
            self.conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise CampaignError(f"{target} is not a usable gendesign ledger ({exc}); point to a ledger.sqlite or a new path") from None
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif int(version) > SCHEMA_VERSION:
            raise CampaignError(
                f"{target} has ledger schema {version}, newer than this gendesign's {SCHEMA_VERSION}; upgrade gendesign"
            )

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_meta(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-able) under ``key``, replacing any previous value."""
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def lookup(self, fingerprint: str, keys: Iterable[str], *, run_id: str | None = None) -> dict[str, Evaluation]:
        """Cached evaluations of ``keys`` under ``fingerprint`` (only those paid by ``run_id`` when given)."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, Evaluation] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT {_COLUMNS} FROM evaluations WHERE fingerprint = ? AND key IN ({marks})"
            params: list[Any] = [fingerprint, *chunk]
            if run_id is not None:
                sql += " AND run_id = ?"
                params.append(run_id)
            for row in self.conn.execute(sql, params):
                found[row[0]] = _row_to_evaluation(row)
        return found

    def record(
        self, fingerprint: str, evaluations: Sequence[Evaluation], *, run_id: str | None = None, round: int | None = None, resolve: bool = False
    ) -> None:
        """Write ``evaluations`` and (with ``run_id``) add them to that run's trajectory, in one commit.

        A (fingerprint, key) pair already present keeps its first row: the ledger never holds a
        design twice. With ``resolve``, the same commit removes the designs from ``run_id``'s
        pending designs, so a design is always either pending or recorded, never both or neither.
        """
        now = time.time()
        rows = [
            (
                fingerprint,
                e.key,
                e.design,
                _encode_floats(e.values),
                _encode_floats(e.std),
                int(e.valid),
                e.error,
                e.source,
                e.run_id,
                e.round,
                e.strategy,
                float(e.seconds),
                e.created or now,
            )
            for e in evaluations
        ]
        with self.transaction():
            self.conn.executemany(
                'INSERT OR IGNORE INTO evaluations (fingerprint, key, design, "values", std, valid, error, source, '
                "run_id, round, strategy, seconds, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            if run_id is not None and round is not None:
                self._extend(run_id, fingerprint, [e.key for e in evaluations], round)
            if resolve and run_id is not None:
                self.conn.executemany("DELETE FROM pending WHERE run_id = ? AND key = ?", [(run_id, e.key) for e in evaluations])

    def add_pending(self, run_id: str, designs: Sequence[PendingDesign]) -> None:
        """Record ``designs`` as submitted by ``run_id`` and not yet scored (a key already pending keeps its row)."""
        now = time.time()
        with self.transaction():
            self.conn.executemany(
                "INSERT OR IGNORE INTO pending (run_id, key, design, round, batch, submitted) VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, d.key, d.design, d.round, d.batch, d.submitted or now) for d in designs],
            )

    def pending(self, run_id: str) -> list[PendingDesign]:
        """``run_id``'s designs that were submitted and have no result yet, oldest first."""
        sql = "SELECT key, design, round, batch, submitted FROM pending WHERE run_id = ? ORDER BY submitted, rowid"
        return [PendingDesign(*row) for row in self.conn.execute(sql, (run_id,))]

    def extend_trajectory(self, run_id: str, fingerprint: str, keys: Sequence[str], round: int) -> None:
        """Append cached designs ``keys`` to ``run_id``'s trajectory (already-present keys are kept as they are)."""
        with self.transaction():
            self._extend(run_id, fingerprint, keys, round)

    def _extend(self, run_id: str, fingerprint: str, keys: Sequence[str], round: int) -> None:
        (last,) = self.conn.execute("SELECT COALESCE(MAX(seq), -1) FROM trajectory WHERE run_id = ?", (run_id,)).fetchone()
        rows = [(run_id, last + 1 + i, fingerprint, k, round) for i, k in enumerate(dict.fromkeys(keys))]
        self.conn.executemany("INSERT OR IGNORE INTO trajectory (run_id, seq, fingerprint, key, round) VALUES (?, ?, ?, ?, ?)", rows)

    def transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    def snapshot(self) -> _Transaction:
        """A read transaction: every query inside sees the ledger as of its first read, while other processes keep writing (WAL)."""
        return _Transaction(self.conn, "BEGIN DEFERRED")

    def trajectory(self, run_id: str) -> list[TrajectoryEntry]:
        """``run_id``'s designs in order of first appearance, with their evaluations."""
        cols = ", ".join(f"e.{c}" for c in _COLUMN_NAMES)
        sql = (
            f"SELECT t.seq, t.round, {cols} FROM trajectory t JOIN evaluations e "
            "ON e.fingerprint = t.fingerprint AND e.key = t.key WHERE t.run_id = ? ORDER BY t.seq"
        )
        return [TrajectoryEntry(seq=row[0], round=row[1], evaluation=_row_to_evaluation(row[2:])) for row in self.conn.execute(sql, (run_id,))]

    def truncate_trajectory(self, run_id: str, after_round: int) -> int:
        """Forget the designs ``run_id`` first touched after round ``after_round`` (their evaluations stay cached).

        Returns:
            The number of trajectory rows removed.
        """
        with self.transaction():
            cur = self.conn.execute("DELETE FROM trajectory WHERE run_id = ? AND round > ?", (run_id, after_round))
        return cur.rowcount

    def count(self, fingerprint: str | None = None) -> int:
        """Rows in ``evaluations`` (for one fingerprint when given)."""
        if fingerprint is None:
            return int(self.conn.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0])
        return int(self.conn.execute("SELECT COUNT(*) FROM evaluations WHERE fingerprint = ?", (fingerprint,)).fetchone()[0])

    def runs(self) -> list[str]:
        """Run ids present in the trajectory table, oldest first."""
        return [r[0] for r in self.conn.execute("SELECT run_id FROM trajectory GROUP BY run_id ORDER BY MIN(rowid)")]

    def __iter__(self) -> Iterator[tuple[str, Evaluation]]:
        """Every ``(fingerprint, evaluation)`` in insertion order."""
        for row in self.conn.execute(f"SELECT fingerprint, {_COLUMNS} FROM evaluations ORDER BY id"):
            yield row[0], _row_to_evaluation(row[1:])


class _Transaction:
    """``BEGIN IMMEDIATE`` (a write) or ``BEGIN DEFERRED`` (a read snapshot) ... ``COMMIT`` (``ROLLBACK`` on error); nested use joins the outer one."""

    def __init__(self, conn: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> None:
        self.conn = conn
        self.begin = begin
        self.owner = False

    def __enter__(self) -> sqlite3.Connection:
        if not self.conn.in_transaction:
            self.conn.execute(self.begin)
            self.owner = True
        return self.conn

    def __exit__(self, exc_type: object, *_: object) -> None:
        if not self.owner:
            return
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")
