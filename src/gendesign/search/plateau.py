"""Which single-site substitutions were already tried on the current best plateau.

On a plateau-rich landscape (Ehrlich functions, most sequence fitness functions with a few
important sites) a hill climber spends most of its evaluations on substitutions that leave the
value unchanged or lower it, and random mutation keeps retrying the same ones: with ``M`` improving
moves among ``L (V - 1)``, the number of draws to find one is geometric with a long tail.
:class:`SiteNovelty` turns that into sampling (nearly) without replacement:

* every child proposed from a parent on the current best plateau (value equal to the best) adds
  ``1 / |D|`` to the count ``n[p, x_p]`` of each site ``p`` in the set ``D`` where it differs from
  its parent (one full count for a single substitution, a shared one for a multi-site child whose
  failure could not be pinned on one site); counting at proposal time keeps one batch from
  proposing the same move twice, and a child that improves clears the counts anyway;
* a substitution ``(p, t)`` is drawn with probability proportional to ``decay ** (4 n[p, t])`` (a
  share in a child with up to four changed sites weighs like one failure), so untried moves come first and a move tried
  once is retried only after the untried ones thin out;
* when nearly every substitution of the current best (95 %) was part of an evaluated child, the
  plateau is *exhausted*: probably no single substitution improves it, a local optimum, and the
  caller restarts;
* a strict improvement opens a new plateau and clears the counts.

A move that is neutral for one member of the plateau is assumed neutral for the others (they
differ from each other by neutral moves); this is what makes the counts shareable across parents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from gendesign.core.errors import ConfigError


class SiteNovelty:
    """Counts of non-improving substitutions per ``(position, token)`` on the current plateau.

    Args:
        length: sequence length ``L`` (fixed).
        vocab_size: number of tokens ``V``.
        decay: weight factor per try, in ``(0, 1)``; a move with count ``n`` is drawn with weight ``decay ** (4 n)``.

    Attributes:
        counts: `[L, V]` float64 ``n[p, t]``.
    """

    def __init__(self, length: int, vocab_size: int, decay: float = 0.05) -> None:
        if length < 1 or vocab_size < 2:
            raise ConfigError(f"SiteNovelty needs length >= 1 and vocab_size >= 2, got {length} and {vocab_size}")
        if not 0.0 < decay < 1.0:
            raise ConfigError(f"SiteNovelty decay={decay} must lie in (0, 1)")
        self.length = int(length)
        self.vocab_size = int(vocab_size)
        self.decay = float(decay)
        self.counts = np.zeros((self.length, self.vocab_size))

    def reset(self) -> None:
        """A new plateau: forget every count."""
        self.counts[:] = 0.0

    def record(self, parent: Sequence[int], child: Sequence[int]) -> None:
        """Count a non-improving child of a plateau parent (token ids, same length)."""
        a, b = np.asarray(parent, dtype=np.int64), np.asarray(child, dtype=np.int64)
        diff = np.nonzero(a != b)[0]
        if diff.size:
            self.counts[diff, b[diff]] += 1.0 / diff.size

    def propose(self, ids: Sequence[int], rng: np.random.Generator) -> tuple[int, int]:
        """A substitution ``(position, new token)`` of ``ids``, drawn with weight ``decay ** (4 n)``."""
        x = np.asarray(ids, dtype=np.int64)
        weight = np.power(self.decay, 4.0 * self.counts)
        weight[np.arange(self.length), x] = 0.0
        flat = weight.ravel()
        idx = int(rng.choice(flat.size, p=flat / flat.sum()))
        return idx // self.vocab_size, idx % self.vocab_size

    def exhausted(self, ids: Sequence[int], coverage: float = 0.95) -> bool:
        """Whether at least ``coverage`` of the substitutions of ``ids`` were tried on this plateau.

        A substitution counts as tried once it was part of one proposed child with at most four
        changed sites (``n >= 1/4``). Full coverage is rarely reached: a substitution that the feasibility model
        keeps rejecting is never evaluated.
        """
        x = np.asarray(ids, dtype=np.int64)
        tried = self.counts >= 0.25 - 1e-9
        tried[np.arange(self.length), x] = False
        return int(tried.sum()) >= coverage * self.length * (self.vocab_size - 1)

    def state_dict(self) -> dict[str, Any]:
        return {"counts": torch.from_numpy(self.counts.copy())}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        counts = state["counts"].numpy().astype(np.float64)
        if counts.shape != self.counts.shape:
            raise ConfigError(f"SiteNovelty state has shape {tuple(counts.shape)}, this model {self.counts.shape}")
        self.counts = counts.copy()
