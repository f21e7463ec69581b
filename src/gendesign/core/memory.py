"""Memory keys: which bucket of a diversity filter's memory a design falls into.

A diversity filter (:mod:`gendesign.search.diversity`) remembers the good designs it has seen in
buckets and penalises a design whose bucket is already full. What counts as "the same bucket" is a
domain question, so it is an extension point: plugins register :class:`MemoryKey` factories through
the ``register_memory_keys`` hook (``gendesign list memory_keys``). The core registers
``identical`` (one bucket per design, REINVENT's ``PenalizeSameSmiles``); the molecules plugin
registers Bemis-Murcko and topological scaffolds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from gendesign.core.designs import DesignSpace

__all__ = ["IdenticalKey", "MemoryKey"]


@runtime_checkable
class MemoryKey(Protocol):
    """Maps a batch of canonical designs to their bucket keys; ``None`` puts a design in no bucket."""

    def __call__(self, designs: Sequence[Any]) -> list[str | None]: ...


class IdenticalKey:
    """One bucket per design: the space's canonical key.

    Args:
        space: the design space that keys the designs.
    """

    def __init__(self, space: DesignSpace) -> None:
        self.space = space

    def __call__(self, designs: Sequence[Any]) -> list[str | None]:
        return [self.space.key(d) for d in designs]
