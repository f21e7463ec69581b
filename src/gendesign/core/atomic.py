"""Atomic file replacement: readers see the old file or the new one, never half of one.

Every file is written to a uniquely named temporary file in the destination's directory (so two
writers never share a temporary name, and ``os.replace`` stays on one file system), flushed and
``fsync``-ed, then renamed over the destination. A writer that dies midway leaves only a
``.<name>.*.tmp`` file behind, never a truncated destination.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing; on a clean exit it replaces ``path``.

    Args:
        path: the destination file.
        mode: ``"w"`` (text) or ``"wb"``.
        **kwargs: passed to :func:`open`, e.g. ``encoding="utf-8", newline=""``.
    """
    target = Path(path)
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode={mode!r}; use 'w' or 'wb'")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs get the usual permissions
        with open(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
