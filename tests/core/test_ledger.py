"""The SQLite ledger: uniqueness, round trips, trajectories, WAL mode and persistence across connections."""

from __future__ import annotations

import math
import sqlite3

import pytest

from gendesign.core.errors import CampaignError
from gendesign.core.ledger import Evaluation, Ledger


def _ev(key: str, values=(1.0, 2.0), **kw) -> Evaluation:
    return Evaluation(key=key, design=f'"{key}"', values=tuple(values), **kw)


def test_record_and_lookup_round_trip_nan_and_std(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.record(
            "fp",
            [
                _ev("a", (1.5, -2.25), std=(0.1, 0.2), run_id="r", round=1, strategy="s", seconds=0.5),
                _ev("b", (math.nan, math.nan), valid=False, error="boom", run_id="r", round=1),
            ],
            run_id="r",
            round=1,
        )
        found = ledger.lookup("fp", ["a", "b", "missing"])
    assert set(found) == {"a", "b"}
    a, b = found["a"], found["b"]
    assert a.values == (1.5, -2.25) and a.std == (0.1, 0.2) and a.valid and a.error is None
    assert a.run_id == "r" and a.round == 1 and a.strategy == "s" and a.seconds == 0.5 and a.created > 0
    assert all(math.isnan(v) for v in b.values) and not b.valid and b.error == "boom" and b.std is None


def test_unique_per_fingerprint_and_key_first_row_wins(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.record("fp", [_ev("a", (1.0, 1.0))])
        ledger.record("fp", [_ev("a", (9.0, 9.0))])
        ledger.record("other", [_ev("a", (5.0, 5.0))])
        assert ledger.count("fp") == 1 and ledger.count("other") == 1 and ledger.count() == 2
        assert ledger.lookup("fp", ["a"])["a"].values == (1.0, 1.0)
        assert ledger.lookup("other", ["a"])["a"].values == (5.0, 5.0)
        with pytest.raises(sqlite3.IntegrityError):
            ledger.conn.execute(
                'INSERT INTO evaluations (fingerprint, key, design, "values", valid, source, created) VALUES (?, ?, ?, ?, ?, ?, ?)',
                ("fp", "a", "x", "[]", 1, "objective", 0.0),
            )


def test_lookup_filtered_by_run_and_chunked(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        keys = [f"k{i}" for i in range(1203)]
        ledger.record("fp", [_ev(k, (float(i), 0.0), run_id="r1" if i % 2 else "r2") for i, k in enumerate(keys)])
        everything = ledger.lookup("fp", keys)
        mine = ledger.lookup("fp", keys, run_id="r1")
    assert len(everything) == 1203
    assert set(mine) == {k for i, k in enumerate(keys) if i % 2}
    assert everything["k1202"].values == (1202.0, 0.0)


def test_trajectory_order_dedup_and_truncate(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.record("fp", [_ev("a"), _ev("b")], run_id="r", round=1)
        ledger.extend_trajectory("r", "fp", ["b", "a"], 2)
        ledger.record("fp", [_ev("c"), _ev("a")], run_id="r", round=2)
        ledger.record("fp", [_ev("d")], run_id="r", round=3)
        ledger.extend_trajectory("other", "fp", ["d", "a"], 1)
        traj = ledger.trajectory("r")
        assert [(t.evaluation.key, t.round, t.seq) for t in traj] == [("a", 1, 0), ("b", 1, 1), ("c", 2, 2), ("d", 3, 3)]
        assert [t.evaluation.key for t in ledger.trajectory("other")] == ["d", "a"]
        assert ledger.truncate_trajectory("r", 1) == 2
        assert [t.evaluation.key for t in ledger.trajectory("r")] == ["a", "b"]
        assert ledger.count("fp") == 4, "truncating a trajectory must keep the cached evaluations"
        assert ledger.runs() == ["r", "other"]


def test_persists_across_connections_in_wal_mode(tmp_path):
    path = tmp_path / "l.sqlite"
    with Ledger(path) as ledger:
        assert ledger.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert ledger.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        ledger.record("fp", [_ev("a")])
        ledger.set_meta("thing", {"x": [1, 2]})
    with Ledger(path, synchronous="FULL") as again:
        assert again.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert again.lookup("fp", ["a"])["a"].values == (1.0, 2.0)
        assert again.get_meta("thing") == {"x": [1, 2]}
        assert again.get_meta("absent", 7) == 7
        assert [fp for fp, _ in again] == ["fp"]


def test_failed_transaction_rolls_back(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        with pytest.raises(RuntimeError):
            with ledger.transaction():
                ledger.set_meta("x", 1)
                raise RuntimeError("interrupted")
        assert ledger.get_meta("x") is None


def test_rejects_non_ledger_files_and_newer_schemas(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CampaignError, match="not a usable gendesign ledger"):
        Ledger(junk)
    path = tmp_path / "new.sqlite"
    with Ledger(path) as ledger:
        ledger.set_meta("schema_version", 999)
    with pytest.raises(CampaignError, match="newer"):
        Ledger(path)
    with pytest.raises(CampaignError, match="synchronous"):
        Ledger(None, synchronous="OFF")  # type: ignore[arg-type]


def test_in_memory_ledger_works():
    ledger = Ledger()
    ledger.record("fp", [_ev("a")], run_id="r", round=1)
    assert ledger.path is None and ledger.count() == 1 and len(ledger.trajectory("r")) == 1
