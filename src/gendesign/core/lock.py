"""Run directory locks: one writer per run directory, and whole output sets.

A campaign that writes a run directory holds an exclusive ``fcntl.flock`` on ``run_dir/run.lock``
for its whole life. The operating system drops the lock when the process dies, however it dies,
so a lock file left behind by a killed run is recovered by the next writer without any guessing
about PIDs: the file is only a place to hold the lock and to record who holds it (PID, host and
start time, as JSON), for the message a second writer gets.

``--force`` breaks a held lock: the lock file is unlinked and a fresh one is locked. The old
holder, if it is in fact alive, keeps a lock on an inode nobody else can reach any more, so only
use it after checking the holder is dead (a lock can outlive its process when the process forked
children that inherited the descriptor, or on a file system whose locks do not follow the process).

Output files (``evaluations.csv``, ``pareto.csv``, ``summary.json``, plots) are written under a
second, blocking lock on ``run_dir/outputs.lock``, taken *before* the ledger snapshot is read, so
whoever writes last also read last: a ``report`` taken during a run never leaves an older
snapshot on top of a newer one, nor a mix of the two.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gendesign.core.errors import RunDirLockedError

LOCK_NAME = "run.lock"
OUTPUTS_LOCK_NAME = "outputs.lock"


def _holder_text(info: dict[str, Any]) -> str:
    if not info:
        return "another process (it has not recorded its PID yet)"
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(info.get("started", 0.0))))
    return f"PID {info.get('pid', '?')} on {info.get('host', '?')} (since {started})"


def read_holder(path: Path) -> dict[str, Any]:
    """The holder record in lock file ``path`` (empty when absent, unwritten or unreadable)."""
    try:
        text = path.read_text()
        info = json.loads(text) if text.strip() else {}
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _wait_for_holder(path: Path, tries: int = 100) -> dict[str, Any]:
    """The holder record, waiting up to ~1 s for a holder that took the lock but has not written it yet."""
    for _ in range(tries):
        info = read_holder(path)
        if info:
            return info
        time.sleep(0.01)
    return {}


class RunDirLock:
    """An exclusive, process-lifetime lock on a run directory.

    Use :meth:`acquire`; call :meth:`release` (or use it as a context manager) when done. The
    lock is not re-entrant: a second :meth:`acquire` on the same directory in the same process
    is refused like any other.

    Attributes:
        run_dir: the locked directory.
        path: the lock file, ``run_dir/run.lock``.
    """

    def __init__(self, run_dir: Path, fd: int) -> None:
        self.run_dir = run_dir
        self.path = run_dir / LOCK_NAME
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, run_dir: str | Path, *, force: bool = False) -> RunDirLock:
        """Lock ``run_dir`` (created when missing) for this process.

        Args:
            run_dir: the run directory.
            force: break a lock another process holds (only after checking it is dead).

        Raises:
            RunDirLockedError: another live process holds the lock and ``force`` is False.
        """
        directory = Path(run_dir)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / LOCK_NAME
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if not force:
                    raise RunDirLockedError(
                        f"run dir {directory} is in use by {_holder_text(_wait_for_holder(path))}; wait for it to finish, "
                        "or pass --force (force=True) after checking that process is dead"
                    ) from None
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                force = False
                continue
            # A forced break may have unlinked the file between our open and flock: then we hold
            # a lock on an orphaned inode and must start over on the file now at ``path``.
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, record, 0)
        return cls(directory, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Drop the lock (idempotent); the lock file stays, emptied, for the next writer."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)

    def __del__(self) -> None:
        # A campaign dropped without close() must not keep its directory locked until the process exits.
        with contextlib.suppress(Exception):
            self.release()

    def __enter__(self) -> RunDirLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def outputs_lock(run_dir: str | Path) -> Iterator[None]:
    """Hold ``run_dir/outputs.lock`` (blocking) while one whole set of output files is read and written."""
    directory = Path(run_dir)
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / OUTPUTS_LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
