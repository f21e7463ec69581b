"""Pytest fixtures for gendesign and its plugins, loaded automatically through the ``pytest11`` entry point.

Fixtures:

* ``fresh_plugins``: a :class:`~gendesign.core.plugins.PluginSystem` built from scratch for the test,
  installed as the process-wide system and forgotten afterwards (it honours
  ``GENDESIGN_LOAD_PLUGINS`` and ``GENDESIGN_DISABLE_PLUGINS``);
* ``installed_plugins``: the same, with every installed entry-point plugin loaded even when the
  suite set ``GENDESIGN_LOAD_PLUGINS=""`` to keep them out (gendesign's own suite does);
* ``tmp_run_dir``: an empty run directory under ``tmp_path``;
* ``counting_objective``: a factory for :class:`CountingObjective`, an objective that records how
  often it scored each design key.

:class:`CountingObjective` is importable on its own so that subprocess tests (a campaign killed with
SIGKILL and resumed) can register it from a helper plugin module.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor

from gendesign.core.designs import DesignSpace
from gendesign.core.objective import Direction, Objective, make_specs
from gendesign.core.plugins import PluginSystem, reset_plugins


class CountingObjective(Objective):
    """Wrap ``fn(designs) -> [B] or [B, K]`` and count the evaluations of every design key.

    Args:
        fn: the function that scores a batch of designs.
        space: turns a design into its canonical key for counting.
        names: column names (default ``f`` / ``f0, f1, ...``).
        directions: ``"max"`` or ``"min"`` per column.
        log_path: when given, every evaluated key is appended to this file, one line each, and
            flushed with ``os.fsync`` before the scores are returned, so that a process killed at
            any moment leaves a complete record of what the objective was asked.
        delay: seconds to sleep per batch (gives a subprocess test time to kill mid-run).

    Attributes:
        counts: ``Counter`` of evaluated keys in this process.
        calls: number of :meth:`evaluate` calls (batches).
    """

    def __init__(
        self,
        fn: Callable[[list[Any]], Any],
        space: DesignSpace,
        names: str | Sequence[str] | None = None,
        directions: Direction | Sequence[Direction] | None = None,
        *,
        log_path: str | Path | None = None,
        delay: float = 0.0,
    ) -> None:
        self.fn = fn
        self.space = space
        self.specs = make_specs(names, directions)
        self.log_path = Path(log_path) if log_path is not None else None
        self.delay = float(delay)
        self.counts: Counter[str] = Counter()
        self.calls = 0

    def evaluate(self, designs: Sequence[Any]) -> Tensor:
        self.calls += 1
        keys = [self.space.key(d) for d in designs]
        self.counts.update(keys)
        if self.delay:
            time.sleep(self.delay)
        values = torch.as_tensor(self.fn(list(designs)), dtype=torch.float32)
        if self.log_path is not None:
            with open(self.log_path, "a", encoding="utf-8") as fh:
                fh.write("".join(k + "\n" for k in keys))
                fh.flush()
                os.fsync(fh.fileno())
        return values

    def config(self) -> dict[str, Any]:
        fn = self.fn
        return {**super().config(), "fn": f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"}

    @property
    def total(self) -> int:
        """Number of design evaluations, duplicates included."""
        return sum(self.counts.values())

    def repeated(self) -> dict[str, int]:
        """Keys scored more than once, with their counts (empty when the cache works)."""
        return {k: c for k, c in self.counts.items() if c > 1}


def _installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginSystem]:
    import gendesign.core.plugins as plugins_module

    reset_plugins()
    system = PluginSystem()
    monkeypatch.setattr(plugins_module, "_SYSTEM", system)
    yield system
    reset_plugins()


@pytest.fixture
def fresh_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginSystem]:
    """A freshly built plugin system, installed as the process-wide one for the test's duration."""
    yield from _installed(monkeypatch)


@pytest.fixture
def installed_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginSystem]:
    """Like ``fresh_plugins``, with every installed entry-point plugin loaded whatever ``GENDESIGN_LOAD_PLUGINS`` says."""
    monkeypatch.delenv("GENDESIGN_LOAD_PLUGINS", raising=False)
    yield from _installed(monkeypatch)


@pytest.fixture
def tmp_run_dir(tmp_path: Path) -> Path:
    """A run directory path (not yet created) under the test's ``tmp_path``."""
    return tmp_path / "run"


@pytest.fixture
def counting_objective() -> Callable[..., CountingObjective]:
    """Factory: ``counting_objective(fn, space, names=..., directions=..., log_path=..., delay=...)``."""
    return CountingObjective
