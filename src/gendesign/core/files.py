"""Files a loader opens from a model directory stay inside that directory.

The user chooses a model directory, but its contents may come from someone else. A symlink inside
it (``model.safetensors -> ~/.ssh/id_rsa``, ``weights.pt -> /dev/zero``) or a name read from its
config (``"weights": "../../elsewhere/model.pt"``) would make a loader open a file the user never
pointed at. Every loader therefore opens model files through :func:`file_in`, and checks a folder
that a third-party library reads on its own (diffusers pipelines, transformers models) with
:func:`check_tree`. Both resolve symlinks and refuse anything that ends outside the resolved
directory or is not a regular file or directory (a FIFO or device would hang or stream forever).
The directory itself may be a symlink: the user named it.
"""

from __future__ import annotations

import os
from pathlib import Path

from gendesign.core.errors import ConfigError

_FIX = "keep the real file inside the directory (copy it in, for example with cp -L, instead of naming or linking a path outside)"


def file_in(root: str | Path, name: str | Path, *, what: str = "model file") -> Path:
    """The resolved path of ``root / name``; refuse one that resolves outside ``root``.

    The returned path may not exist: callers check existence with their own message.

    Args:
        root: the model directory (itself resolved first, so it may be a symlink).
        name: a path relative to ``root``, as written by the loader or read from the directory's config.
        what: what the file is, for the error message.

    Raises:
        ConfigError: ``name`` is absolute, climbs out with ``..``, or is (or passes through) a
            symlink whose target is outside ``root``; or it exists but is not a regular file or directory.
    """
    base = Path(root).expanduser().resolve()
    try:
        target = (base / name).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop (Python < 3.13 raises; later versions stop on the link)
        raise ConfigError(f"{what} {str(name)!r} in {root} cannot be resolved ({exc}); {_FIX}") from None
    if target.is_symlink():
        raise ConfigError(f"{what} {str(name)!r} in {root} is a symlink loop; {_FIX}")
    if target != base and base not in target.parents:
        raise ConfigError(f"{what} {str(name)!r} resolves to {target}, outside the model directory {root}; {_FIX}")
    if target.exists() and not (target.is_file() or target.is_dir()):
        raise ConfigError(f"{what} {str(name)!r} in {root} is not a regular file (a FIFO, socket or device); replace it with the real file")
    return target


def check_tree(root: str | Path, *, what: str = "model directory") -> Path:
    """Refuse ``root`` when any entry below it resolves outside it; return the resolved ``root``.

    For folders that a library such as diffusers or transformers walks and reads by itself, where
    :func:`file_in` cannot be put in front of each open.
    """
    base = Path(root).expanduser().resolve()
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        for entry in (*dirnames, *filenames):
            path = Path(dirpath) / entry
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                file_in(base, path.relative_to(base), what=f"{what} entry")
    return base
