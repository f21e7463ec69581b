"""Checks that a run directory or a ledger file can be written, before anything is written.

Both checks only look (they create nothing), so ``gendesign validate`` runs them too. Each failure
is a :class:`~gendesign.core.errors.ConfigError` that names the option, the path and the fix,
instead of a ``FileNotFoundError`` or ``FileExistsError`` traceback halfway into a run.
"""

from __future__ import annotations

import os
from pathlib import Path

from gendesign.core.errors import ConfigError


def _creatable(path: Path, what: str) -> None:
    """``path`` does not exist: its nearest existing ancestor must be a writable directory."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{what} {str(path)!r} cannot be created: {str(parent)!r} is a file, not a directory; choose a path under a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {str(path)!r} cannot be created: {str(parent)!r} is not writable; choose a writable location")


def check_run_dir(path: str | Path, what: str = "run_dir") -> Path:
    """Refuse a run directory that names a file or that cannot be created or written.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    target = Path(path)
    if target.exists():
        if not target.is_dir():
            raise ConfigError(f"{what} {str(target)!r} is an existing file, not a directory; choose a directory path (it is created when missing)")
        if not os.access(target, os.W_OK | os.X_OK):
            raise ConfigError(f"{what} {str(target)!r} is not writable; fix its permissions or choose another directory")
        return target
    _creatable(target, what)
    return target


def check_ledger_path(path: str | Path, what: str = "ledger") -> Path:
    """Refuse a ledger path that names a directory or that cannot be created or written.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    target = Path(path)
    if target.is_dir():
        raise ConfigError(f"{what} {str(target)!r} is a directory; give a file path such as {str(target / 'ledger.sqlite')!r}")
    if target.exists():
        if not os.access(target, os.R_OK | os.W_OK) or not os.access(target.parent, os.W_OK | os.X_OK):
            raise ConfigError(
                f"{what} {str(target)!r} is not writable (SQLite also writes beside it, in {str(target.parent)!r}); fix the permissions or choose another path"
            )
        return target
    _creatable(target, what)
    return target
