"""Structural protocols that strategies consume instead of probing attributes.

:class:`TokenSpace`: a design space whose designs are token-id rows, so that a sequence
generator can propose designs by emitting ids. Implemented by
:class:`~gendesign.core.sequence_space.SequenceSpace`, the peptide spaces and the ``selfies``
molecule space; consumed by ``mcts`` and the GFlowNet sequence environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from torch import Tensor


@runtime_checkable
class TokenSpace(Protocol):
    """Designs as rows of token ids: real tokens ``0 .. V-1``, then ``pad_id = V``.

    Attributes:
        vocab_size: number of real tokens ``V``.
        pad_id: the padding id, ``V``.
        min_length, max_length: bounds on the number of tokens of an admissible design.
    """

    vocab_size: int
    pad_id: int
    min_length: int
    max_length: int

    def encode(self, designs: Sequence[Any], length: int | None = None) -> Tensor:
        """Ids `[B, L]` (long) of ``designs``, right-padded with ``pad_id``; ``L`` defaults to the longest."""

    def decode(self, ids: Tensor) -> list[Any]:
        """Designs of id rows `[B, L]` (pads dropped); a row may decode to an invalid design."""
