"""The run directory lock: one writer per directory, refused clearly, recovered after death, breakable with force."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from gendesign.core.errors import RunDirLockedError
from gendesign.core.lock import LOCK_NAME, RunDirLock, read_holder


def test_a_second_writer_is_refused_with_the_holder_named_until_the_first_releases(tmp_path):
    first = RunDirLock.acquire(tmp_path / "run")
    holder = read_holder(tmp_path / "run" / LOCK_NAME)
    assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
    with pytest.raises(RunDirLockedError) as info:
        RunDirLock.acquire(tmp_path / "run")
    message = str(info.value)
    assert f"in use by PID {os.getpid()} on {socket.gethostname()}" in message and "--force" in message
    first.release()
    first.release()  # idempotent
    with RunDirLock.acquire(tmp_path / "run") as second:
        assert second.held
    assert not second.held


def test_a_lock_file_left_by_a_dead_process_is_taken_over(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_NAME).write_text(json.dumps({"pid": 2**22 + 17, "host": "elsewhere", "started": 0.0}))
    with RunDirLock.acquire(run):
        assert read_holder(run / LOCK_NAME)["pid"] == os.getpid()


def test_the_os_drops_the_lock_of_a_killed_holder(tmp_path):
    run = tmp_path / "run"
    script = textwrap.dedent(
        f"""
        import sys, time
        from gendesign.core.lock import RunDirLock
        lock = RunDirLock.acquire({str(run)!r})
        print("held", flush=True)
        time.sleep(600)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(RunDirLockedError, match=f"PID {proc.pid} "):
            RunDirLock.acquire(run)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert read_holder(run / LOCK_NAME)["pid"] == proc.pid, "the dead holder's record is still on disk"
    with RunDirLock.acquire(run):
        assert read_holder(run / LOCK_NAME)["pid"] == os.getpid()


def test_force_breaks_a_held_lock_and_the_new_holder_keeps_it(tmp_path):
    stuck = RunDirLock.acquire(tmp_path)
    forced = RunDirLock.acquire(tmp_path, force=True)
    stuck.release()  # the old holder's release must not free the new holder's lock
    with pytest.raises(RunDirLockedError):
        RunDirLock.acquire(tmp_path)
    forced.release()
    RunDirLock.acquire(tmp_path).release()
