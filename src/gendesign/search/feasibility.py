"""A learned model of which adjacent token pairs make a sequence infeasible.

Many sequence constraints are local: a forbidden transition in a Markov process (Ehrlich
functions), a disallowed residue pair, a chemistry rule between neighbours. :class:`PairFeasibilityModel`
keeps a Beta posterior over the failure probability ``theta_ab`` of every ordered adjacent pair
``(a, b)``:

* a *valid* design is evidence that each of its distinct pairs is fine: ``s_ab += 1``;
* an *invalid* design spreads one unit of blame over its distinct pairs that no valid design has
  shown yet (``s_ab == 0``): ``f_ab += 1 / |U|``. When a child differs from a valid parent by a
  single edit, ``U`` holds just the one or two pairs the edit introduced, so the blame is sharp.
  An invalid design whose pairs are all cleared teaches nothing (its cause is not pairwise).

The posterior is ``theta_ab ~ Beta(alpha_0 + f_ab, beta_0 + s_ab)``. A proposal ``x`` is accepted
with probability ``prod_{(a, b) in U(x)} (1 - theta_ab)`` over its pairs ``U(x)`` that no valid design
has shown, under one Thompson sample of ``theta`` (Thompson 1933), so edits with a high estimated
failure rate are rarely proposed while unexplored pairs keep being tried in proportion to their
posterior plausibility. Pairs already seen in a valid design count as safe, mirroring the blame rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from gendesign.core.errors import ConfigError


class PairFeasibilityModel:
    """Beta-Bernoulli failure model over ordered adjacent token pairs.

    Args:
        vocab_size: number of tokens ``V``; pairs are indexed ``a * V + b``.
        prior: ``(alpha_0, beta_0)`` of the Beta prior on each pair's failure probability.

    Attributes:
        failures: `[V * V]` float64 fractional blame ``f``.
        successes: `[V * V]` float64 count ``s`` of valid designs containing each pair.
    """

    def __init__(self, vocab_size: int, prior: tuple[float, float] = (0.25, 0.75)) -> None:
        if vocab_size < 1:
            raise ConfigError(f"PairFeasibilityModel needs vocab_size >= 1, got {vocab_size}")
        if prior[0] <= 0 or prior[1] <= 0:
            raise ConfigError(f"PairFeasibilityModel prior={prior} needs both Beta parameters > 0")
        self.vocab_size = int(vocab_size)
        self.prior = (float(prior[0]), float(prior[1]))
        self.failures = np.zeros(self.vocab_size**2)
        self.successes = np.zeros(self.vocab_size**2)

    def pairs(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Distinct pair indices `[P]` of one token-id sequence."""
        arr = np.asarray(ids, dtype=np.int64)
        if arr.size < 2:
            return np.zeros(0, dtype=np.int64)
        return np.unique(arr[:-1] * self.vocab_size + arr[1:])

    def observe(self, ids: Sequence[int] | np.ndarray, valid: bool) -> None:
        """Update the posterior with one evaluated design (token ids) and its validity."""
        p = self.pairs(ids)
        if valid:
            self.successes[p] += 1.0
            return
        suspects = self.unproven(ids)
        if suspects.size:
            self.failures[suspects] += 1.0 / suspects.size

    def mean_failure(self) -> np.ndarray:
        """Posterior mean failure probability `[V * V]`."""
        a, b = self.prior
        return (a + self.failures) / (a + b + self.failures + self.successes)

    def sample_failure(self, rng: np.random.Generator) -> np.ndarray:
        """One Thompson sample ``theta`` `[V * V]` from the posterior."""
        a, b = self.prior
        return rng.beta(a + self.failures, b + self.successes)

    def unproven(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Distinct pair indices `[P]` of ``ids`` that no valid design has shown yet."""
        p = self.pairs(ids)
        return p[self.successes[p] == 0]

    def log_accept(self, ids: Sequence[int] | np.ndarray, theta: np.ndarray) -> float:
        """``sum_{(a, b) in U} log(1 - theta_ab)`` over the unproven pairs ``U``: log P(feasible) under ``theta`` `[V * V]`."""
        return float(np.log1p(-np.minimum(theta[self.unproven(ids)], 1.0 - 1e-12)).sum())

    def ok_matrix(self) -> np.ndarray:
        """`[V, V]` plausibility ``P(ok(a, b))``: 1 for proven pairs, ``1 - E[theta_ab]`` otherwise."""
        ok = 1.0 - self.mean_failure()
        ok[self.successes > 0] = 1.0
        return ok.reshape(self.vocab_size, self.vocab_size)

    def sample_walks(
        self, n: int, length: int, rng: np.random.Generator, *, repeat: float = 0.0, sharpness: float = 1.0
    ) -> np.ndarray:
        """``n`` token-id sequences `[n, length]` drawn as Markov walks on the learned pair plausibility.

        The first token is uniform. Each next token repeats the current one ``a`` with probability
        ``repeat * ok[a, a]``; otherwise it is ``b != a`` with probability proportional to
        ``ok[a, b] ** sharpness``, where ``ok`` is :meth:`ok_matrix`. A high ``repeat`` gives
        sequences with few distinct pairs, which are likely feasible before anything is known and
        make the blame of an infeasible one sharp; a high ``sharpness`` keeps walks on proven pairs
        once many are known, which gives diverse designs that are probably feasible.
        """
        ok = self.ok_matrix()
        move = ok**sharpness
        np.fill_diagonal(move, 0.0)
        totals = move.sum(axis=1)
        cdf = np.cumsum(move, axis=1) / np.where(totals > 0, totals, 1.0)[:, None]
        out = np.empty((n, length), dtype=np.int64)
        out[:, 0] = rng.integers(0, self.vocab_size, size=n)
        for t in range(1, length):
            a = out[:, t - 1]
            stay = (rng.random(n) < repeat * ok[a, a]) | (totals[a] <= 0)
            nxt = np.minimum((cdf[a] < rng.random(n)[:, None]).sum(axis=1), self.vocab_size - 1)
            out[:, t] = np.where(stay, a, nxt)
        return out

    def known_bad(self, threshold: float = 0.5) -> list[tuple[int, int]]:
        """Pairs ``(a, b)`` never seen in a valid design whose posterior mean failure exceeds ``threshold``."""
        idx = np.nonzero((self.mean_failure() > threshold) & (self.successes == 0))[0]
        return [(int(i) // self.vocab_size, int(i) % self.vocab_size) for i in idx]

    def state_dict(self) -> dict[str, Any]:
        return {
            "vocab_size": self.vocab_size,
            "prior": list(self.prior),
            "failures": torch.from_numpy(self.failures.copy()),
            "successes": torch.from_numpy(self.successes.copy()),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["vocab_size"]) != self.vocab_size:
            raise ConfigError(f"PairFeasibilityModel state has vocab_size={state['vocab_size']}, this model {self.vocab_size}")
        self.prior = (float(state["prior"][0]), float(state["prior"][1]))
        self.failures = state["failures"].numpy().astype(np.float64).copy()
        self.successes = state["successes"].numpy().astype(np.float64).copy()
