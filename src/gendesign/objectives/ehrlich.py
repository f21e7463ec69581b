"""Ehrlich functions: closed-form, feasibility-constrained sequence benchmarks.

S. Stanton, R. Alberstein, N. Frey, et al.
"Closed-Form Test Functions for Biophysical Sequence Design."
arXiv:2407.00236 (2024). The reference implementation is ``pytorch-holo`` 0.0.5
(``holo.test_functions.closed_form.Ehrlich``). This module is written independently but makes the
same random draws in the same order and dtypes, so ``Ehrlich(random_seed=s)`` is holo's instance for
seed ``s`` (same transition matrix, motifs, spacings and ``initial_solution()``) and every value
agrees; ``benchmarks/ehrlich_semantics.py`` checks this against an installed holo. Two documented
differences: an infeasible sequence is an invalid item (NaN) rather than ``-inf``, and a mask that is
not primitive is redrawn where holo raises ``RuntimeError`` (so seeds holo accepts are unchanged).

An instance is fixed by ``(v, L, c, k, q, random_seed)``:

* **Feasibility.** A discrete Markov process (DMP) over the ``v`` states with a sparse transition
  matrix ``A`` `[v, v]`. A circulant band mask ``M[i, j] = 1`` iff ``(j - i) mod v`` lies in
  ``[-w, w]`` with bandwidth ``w = floor(0.4 v)`` has its rows shuffled by a random permutation and
  its diagonal forced on (self-transitions are always allowed). ``A = normalise(M * softmax(Z / 0.5))``
  with ``Z ~ N(0, 1)`` `[v, v]`. The mask must be *primitive* (``M^m > 0`` for
  ``m = (v - 1)^2 + 1``, Wielandt's bound), which makes the chain ergodic; a draw that fails is
  redrawn. A sequence ``x`` is feasible iff its log-likelihood
  ``log(1/v) + sum_t log A[x_{t-1}, x_t]`` is finite, i.e. every adjacent pair is an allowed transition.
  A uniform random pair is allowed with probability about ``(2w + 1) / v``.
* **Motifs.** One DMP trajectory of length ``c k`` (started from the stationary distribution) is
  cut into ``c`` motifs ``a^(i)`` of length ``k``, so a feasible sequence holding all of them exists.
* **Spacings.** Motif ``i`` has offsets ``s^(i)`` with ``s_1 = 0`` and
  ``s_{j+1} - s_j = 1 + floor(floor((L - c k) / c) w_j)`` for weights ``w = u / sum(u)``,
  ``u ~ U(0, 1)^(k-1)`` (holo's draw: normalised uniforms, not a Dirichlet). Each spaced motif then
  spans at most ``L / c`` positions, and usually nearly that many.
* **Quality.** ``h_i(x) = max_l q(#{j : x[l + s_j] = a_j}) / k`` over all offsets ``l`` where the
  spaced motif fits, quantised to ``q`` levels:
  ``h_i = floor(count / ceil(k / q)) / (k / ceil(k / q))``.
* **Value.** ``f(x) = prod_i r(h_i)`` with response ``r(h) = h`` or, with epistasis ``e > 0``,
  ``r(h) = (1 + e h (h - 1)) h``, which penalises partially present motifs. ``f in [0, 1]`` and the
  maximum ``1`` is attained by :meth:`Ehrlich.optimal_solution`. Infeasible sequences are invalid
  items (NaN values) whose error names the first forbidden transition.

With ``objectives="motifs"`` the ``c`` responses ``r(h_i)`` are returned as separate maximised
columns, a ``c``-objective variant (two objectives for ``c = 2``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, ObjectiveSpec, Scores, resolve_device
from gendesign.core.sequence_space import SequenceSpace

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
"""Token ``i`` of an Ehrlich instance is ``ALPHABET[i]``; instances support ``v <= 62``."""

SOFTMAX_TEMPERATURE = 0.5
BANDWIDTH_FRACTION = 0.4
_MAX_MATRIX_DRAWS = 1000


def band_mask(num_states: int, bandwidth: int) -> Tensor:
    """Circulant band `[v, v]` bool: ``M[i, j]`` iff ``(j - i) mod v in [-bandwidth, bandwidth]``."""
    offset = (torch.arange(num_states).unsqueeze(0) - torch.arange(num_states).unsqueeze(1)) % num_states
    return (offset <= bandwidth) | (offset >= num_states - bandwidth)


def is_primitive(mask: Tensor) -> bool:
    """Whether the 0/1 matrix ``mask`` `[v, v]` is primitive: ``mask^m > 0`` with ``m = (v-1)^2 + 1``.

    A non-negative matrix is primitive iff some power is entrywise positive, and Wielandt's bound
    says ``(v - 1)^2 + 1`` suffices. A Markov chain whose support is primitive is irreducible and
    aperiodic, hence ergodic. Computed on booleans by repeated squaring, so nothing underflows.
    """
    v = mask.shape[0]
    power = (v - 1) ** 2 + 1
    base = mask.to(torch.float64).clamp(max=1.0)
    result = torch.eye(v, dtype=torch.float64)
    while power:
        if power & 1:
            result = (result @ base).clamp(max=1.0)
        base = (base @ base).clamp(max=1.0)
        power >>= 1
    return bool((result > 0).all())


def stationary_distribution(transition: Tensor) -> Tensor:
    """`[v]` stationary distribution ``pi`` of a row-stochastic ``transition`` `[v, v]`: ``pi A = pi``.

    Solves the over-determined system ``[(I - A)^T; 1^T] pi = [0; 1]`` by least squares in float64.
    """
    v = transition.shape[0]
    a = torch.cat([(torch.eye(v, dtype=torch.float64) - transition.to(torch.float64)).T, torch.ones(1, v, dtype=torch.float64)])
    b = torch.zeros(v + 1, 1, dtype=torch.float64)
    b[-1] = 1.0
    pi = torch.linalg.lstsq(a, b).solution.squeeze(-1).clamp_min(0.0)
    return pi / pi.sum()


def sample_dmp(initial: Tensor, transition: Tensor, length: int, generator: torch.Generator, num_samples: int = 1) -> Tensor:
    """Trajectories `[num_samples, length]` (long) of the DMP with start distribution ``initial`` `[v]`.

    Draws in float32 with one ``torch.multinomial`` call per step over all samples, the order
    pytorch-holo uses, so a generator in the same state gives the same trajectories.
    """
    init = initial.to(torch.float32)
    trans = transition.to(torch.float32)
    out = torch.zeros(num_samples, length, dtype=torch.long)
    out[:, 0] = torch.multinomial(init, num_samples, replacement=True, generator=generator)
    for t in range(1, length):
        out[:, t] = torch.multinomial(trans[out[:, t - 1]], 1, generator=generator).squeeze(-1)
    return out


def quantize(counts: Tensor, motif_length: int, quantization: int) -> Tensor:
    """Quantised motif fraction ``floor(count / ceil(k/q)) / (k / ceil(k/q))`` for integer ``counts``."""
    step = math.ceil(motif_length / quantization)
    return torch.div(counts, step, rounding_mode="floor").to(torch.float64) / (motif_length / step)


class Ehrlich(Objective):
    """Ehrlich function (Stanton et al. 2024): spaced-motif presence under a banded Markov-chain feasibility constraint.

    Designs are strings over ``ALPHABET[:num_states]`` of length ``length`` (or integer token lists).
    Values are ``f(x)`` `[B, 1]` (``objectives="product"``) or ``r(h_i)`` `[B, c]`
    (``objectives="motifs"``), all maximised with bounds ``(0, 1)``.

    Args:
        num_states: vocabulary size ``v`` (2..62).
        length: sequence length ``L``; needs ``L >= c k``.
        num_motifs: number of motifs ``c``.
        motif_length: motif length ``k``.
        quantization: number of levels ``q`` with ``1 <= q <= k``; ``None`` means ``q = k``.
        epistasis: ``e`` in the response ``(1 + e h (h - 1)) h``; 0 disables it. Range ``[0, 1]``.
        random_seed: seeds the instance (transition matrix, motifs, spacings, initial solution).
        objectives: ``"product"`` for the single value ``f``; ``"motifs"`` for one column per motif.
        device: where evaluation runs.

    Example:
        >>> f = Ehrlich(num_states=32, length=32, num_motifs=2, motif_length=4, quantization=4)
        >>> f([f.optimal_solution()]).values.item()
        1.0
    """

    def __init__(
        self,
        num_states: int = 32,
        length: int = 32,
        num_motifs: int = 2,
        motif_length: int = 4,
        quantization: int | None = None,
        epistasis: float = 0.0,
        random_seed: int = 0,
        objectives: Literal["product", "motifs"] = "product",
        device: str | torch.device = "cpu",
    ) -> None:
        if not 2 <= num_states <= len(ALPHABET):
            raise ConfigError(f"Ehrlich num_states={num_states} must lie in 2..{len(ALPHABET)}")
        if num_motifs < 1 or motif_length < 1:
            raise ConfigError(f"Ehrlich needs num_motifs >= 1 and motif_length >= 1, got {num_motifs} and {motif_length}")
        if length < num_motifs * motif_length:
            raise ConfigError(
                f"Ehrlich length={length} is shorter than num_motifs * motif_length = {num_motifs * motif_length}; "
                "no sequence could hold every motif, so raise length or lower num_motifs/motif_length"
            )
        q = motif_length if quantization is None else quantization
        if not 1 <= q <= motif_length:
            raise ConfigError(f"Ehrlich quantization={quantization} must lie in 1..motif_length={motif_length}")
        if not 0.0 <= epistasis <= 1.0:
            raise ConfigError(f"Ehrlich epistasis={epistasis} must lie in [0, 1]")
        if objectives not in ("product", "motifs"):
            raise ConfigError(f"Ehrlich objectives={objectives!r}; use 'product' or 'motifs'")
        self.num_states = int(num_states)
        self.length = int(length)
        self.num_motifs = int(num_motifs)
        self.motif_length = int(motif_length)
        self.quantization = int(q)
        self.epistasis = float(epistasis)
        self.random_seed = int(random_seed)
        self.objectives = objectives
        self.device = resolve_device(device)
        self.bandwidth = int(BANDWIDTH_FRACTION * num_states)
        self.space = SequenceSpace(ALPHABET[:num_states], length=length)
        if objectives == "product":
            self.specs = (ObjectiveSpec("ehrlich", "max", bounds=(0.0, 1.0), description="Ehrlich value f(x)"),)
        else:
            self.specs = tuple(
                ObjectiveSpec(f"motif_{i}", "max", bounds=(0.0, 1.0), description=f"response of motif {i}")
                for i in range(num_motifs)
            )
        self._build()

    def _build(self) -> None:
        # The draws below are pytorch-holo's, in its order and dtypes (float32), so that
        # ``random_seed=s`` is the same instance as ``holo.test_functions.closed_form.Ehrlich(random_seed=s)``.
        gen = torch.Generator().manual_seed(self.random_seed)
        v = self.num_states
        for _ in range(_MAX_MATRIX_DRAWS):
            noise = torch.randn(v, v, generator=gen)
            dense = torch.softmax(noise / SOFTMAX_TEMPERATURE, dim=-1)
            mask = band_mask(v, self.bandwidth)[torch.randperm(v, generator=gen)] | torch.eye(v, dtype=torch.bool)
            if is_primitive(mask):
                break
        else:
            raise ConfigError(
                f"no ergodic transition matrix in {_MAX_MATRIX_DRAWS} draws for num_states={v}; try another random_seed"
            )
        transition = torch.where(mask, dense, torch.zeros_like(dense))
        transition = transition / transition.sum(dim=-1, keepdim=True)
        self.allowed: Tensor = mask
        """`[v, v]` bool: ``allowed[a, b]`` iff token ``b`` may follow token ``a``."""
        self.transition: Tensor = transition.to(torch.float64)
        """`[v, v]` float64 row-stochastic DMP transition matrix ``A`` (drawn in float32)."""
        self.initial = torch.full((v,), 1.0 / v, dtype=torch.float64)
        """`[v]` DMP start distribution used by the likelihood (uniform)."""
        self.stationary = stationary_distribution(self.transition)
        chain = sample_dmp(self.stationary, self.transition, self.num_motifs * self.motif_length, gen)[0]
        self.motifs: Tensor = chain.view(self.num_motifs, self.motif_length)
        """`[c, k]` long motif tokens."""
        slack = (self.length - self.num_motifs * self.motif_length) // self.num_motifs
        offsets = []
        for _ in range(self.num_motifs):
            weights = torch.rand(self.motif_length - 1, generator=gen)
            gaps = 1 + torch.floor(slack * (weights / weights.sum())).long()
            offsets.append(torch.cat([torch.zeros(1, dtype=torch.long), gaps.cumsum(0)]))
        self.offsets: Tensor = torch.stack(offsets)
        """`[c, k]` long offsets ``s^(i)``; ``offsets[:, 0] == 0``."""

    def default_space(self) -> SequenceSpace:
        """The instance's design space: ``SequenceSpace(ALPHABET[:v], length=L)``."""
        return SequenceSpace(ALPHABET[: self.num_states], length=self.length)

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "num_states": self.num_states,
            "length": self.length,
            "num_motifs": self.num_motifs,
            "motif_length": self.motif_length,
            "quantization": self.quantization,
            "epistasis": self.epistasis,
            "random_seed": self.random_seed,
            "objectives": self.objectives,
        }

    def encode(self, designs: Sequence[Any]) -> Tensor:
        """Token ids `[B, L]` (long) of ``designs``; raises ``InvalidDesignError`` for a bad token or length."""
        return self.space.encode([self.space.validate(d) for d in designs], length=self.length)

    def decode(self, ids: Tensor) -> list[str]:
        """Strings from token ids `[B, L]`."""
        return [str(s) for s in self.space.decode(ids)]

    def log_likelihood(self, ids: Tensor) -> Tensor:
        """DMP log-likelihood `[B]` (float64) of token ids `[B, L]`; ``-inf`` exactly for infeasible rows."""
        ids = ids.cpu()
        ll = torch.log(self.initial[ids[:, 0]])
        if ids.shape[1] > 1:
            ll = ll + torch.log(self.transition[ids[:, :-1], ids[:, 1:]]).sum(dim=-1)
        return ll

    def motif_qualities(self, ids: Tensor) -> Tensor:
        """Quantised qualities ``h`` `[B, c]` (float64) of token ids `[B, L]`, ignoring feasibility."""
        ids = ids.cpu()
        out = torch.empty(ids.shape[0], self.num_motifs, dtype=torch.float64)
        for i in range(self.num_motifs):
            offsets = self.offsets[i]
            starts = torch.arange(self.length - int(offsets[-1]))
            windows = ids[:, starts.unsqueeze(1) + offsets.unsqueeze(0)]
            counts = (windows == self.motifs[i]).sum(dim=-1).max(dim=-1).values
            out[:, i] = quantize(counts, self.motif_length, self.quantization)
        return out

    def response(self, h: Tensor) -> Tensor:
        """Per-motif response ``(1 + e h (h - 1)) h`` of qualities ``h`` (any shape)."""
        return (1.0 + self.epistasis * h * (h - 1.0)) * h

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        ids = self.encode(designs)
        feasible = torch.isfinite(self.log_likelihood(ids))
        r = self.response(self.motif_qualities(ids))
        values = r.prod(dim=-1, keepdim=True) if self.objectives == "product" else r
        values = torch.where(feasible.unsqueeze(-1), values, torch.full_like(values, math.nan)).to(torch.float32)
        errors: list[str | None] = [None if bool(ok) else self._infeasibility(row) for ok, row in zip(feasible, ids)]
        return Scores(values=values.to(self.device), valid=feasible.to(self.device), specs=self.specs, errors=errors)

    def _infeasibility(self, row: Tensor) -> str:
        bad = torch.nonzero(~self.allowed[row[:-1], row[1:]]).flatten()
        t = int(bad[0]) + 1
        a, b = ALPHABET[int(row[t - 1])], ALPHABET[int(row[t])]
        return (
            f"infeasible under the Ehrlich DMP: transition {a!r} -> {b!r} at positions {t - 1}->{t} has probability 0 "
            f"({bad.numel()} forbidden transition(s) in the sequence)"
        )

    def optimal_solution(self) -> str:
        """A sequence with ``f = 1``: each motif at its spacing, gaps filled by repeating the last motif token.

        Motif ``i`` is written at offset ``sum_{i' < i} span_{i'}`` with ``span = s_k + 1 <= L / c``;
        between two motif elements the earlier one repeats (self-transitions are allowed), and the
        tail repeats the final motif token. Consecutive motif tokens are consecutive states of one DMP
        trajectory, so every transition is allowed.
        """
        out: list[int] = []
        for i in range(self.num_motifs):
            offsets = self.offsets[i].tolist()
            motif = self.motifs[i].tolist()
            for j in range(self.motif_length):
                run = (offsets[j + 1] - offsets[j]) if j + 1 < self.motif_length else 1
                out.extend([motif[j]] * run)
        out.extend([out[-1]] * (self.length - len(out)))
        return "".join(ALPHABET[t] for t in out)

    def initial_solution(self) -> str:
        """A feasible sequence: the DMP trajectory from the stationary distribution that holo's ``initial_solution()`` draws.

        Like holo, the generator is reset to ``random_seed`` first, so the value depends on the seed alone.
        """
        gen = torch.Generator().manual_seed(self.random_seed)
        return self._to_text(sample_dmp(self.stationary, self.transition, self.length, gen)[0])

    def random_feasible(self, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` DMP trajectories drawn with ``rng``: feasible designs for seeding a search."""
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
        return [self._to_text(row) for row in sample_dmp(self.stationary, self.transition, self.length, gen, num_samples=n)]

    @staticmethod
    def _to_text(ids: Tensor) -> str:
        return "".join(ALPHABET[t] for t in ids.tolist())

    def __repr__(self) -> str:
        return (
            f"Ehrlich(num_states={self.num_states}, length={self.length}, num_motifs={self.num_motifs}, "
            f"motif_length={self.motif_length}, quantization={self.quantization}, epistasis={self.epistasis}, "
            f"random_seed={self.random_seed}, objectives={self.objectives!r})"
        )
