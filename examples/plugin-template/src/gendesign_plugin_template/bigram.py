"""A bigram masked denoiser: a second, independent generator that strategies drive through gendesign's protocols.

The model is a first-order Markov chain over tokens with start and end states, fitted by counting
adjacent pairs in a corpus with additive smoothing ``alpha``::

    P(b | a) = (c(a, b) + alpha) / (sum_b' c(a, b') + alpha (V + 1)),

for ``a`` a token or the start state and ``b`` a token or the end state, plus the histogram of
design lengths. A design of ``n`` tokens has probability

    p(x) = p(n) * P(x_1 | start) prod_i P(x_{i+1} | x_i) P(end | x_n) / Z_n,

with ``Z_n`` the chain's mass of all length-``n`` sequences (a forward recursion), so
:meth:`BigramDenoiser.log_likelihood` is exact and :meth:`BigramDenoiser.sample_designs` draws
exactly from it (backward messages, then left to right).

As a masked denoiser (:meth:`BigramDenoiser.reverse_step`) each mask at time ``t`` is revealed by
``s`` with probability ``(t - s) / t`` (the log-linear schedule; every mask at ``s = 0``). Revealed
positions are drawn left to right, each from the smoothed bigram conditional given its revealed
neighbours, ``p(v) ∝ L(v) R(v)`` with ``L(v) = P(v | x_{i-1})`` (``P(v | start)`` at the first
position, the unigram frequency when the left neighbour is masked) and ``R(v) = P(x_{i+1} | v)``
(``P(end | v)`` at the last position, 1 when the right neighbour is masked); a position revealed
earlier in the same step counts as revealed. Pairs the corpus never shows thus stay (nearly)
impossible wherever one side is known.

It implements gendesign's ``StepwiseDenoiser``, ``AnchoredDenoiser``, ``Infiller``,
``SequenceSampler`` and ``LikelihoodScorer`` protocols and saves and loads like every
:class:`gendesign.core.generator.Generator` (``config.json`` + ``model.safetensors``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.core.generator import Generator


class BigramDenoiser(Generator):
    """A smoothed bigram chain over ``tokens`` with a length histogram, usable as a masked denoiser.

    Ids: tokens ``0 .. V-1``, :attr:`pad_id` ``= V``, :attr:`mask_id` ``= V + 1``. Designs are
    strings: tokens joined by ``separator``.

    Args:
        tokens: the vocabulary.
        max_length: longest design in tokens.
        smoothing: the additive pseudo-count ``alpha > 0``.
        separator: joins tokens into a design string (``""`` needs single-character tokens).

    Example:
        >>> model = BigramDenoiser.fit(["ABAB", "ABBA"], tokens="AB", max_length=4)
        >>> model.decode(model.encode(["ABBA"]))
        ['ABBA']
    """

    def __init__(self, tokens: Sequence[str], max_length: int, smoothing: float = 0.1, separator: str = "") -> None:
        super().__init__()
        tokens = list(tokens)
        if not tokens or len(set(tokens)) != len(tokens):
            raise ConfigError(f"tokens {tokens!r} must be a non-empty list without duplicates")
        if not separator and any(len(t) != 1 for t in tokens):
            raise ConfigError("multi-character tokens need a separator, e.g. separator = ' '")
        if max_length < 1 or smoothing <= 0:
            raise ConfigError(f"need max_length >= 1 and smoothing > 0; got max_length={max_length}, smoothing={smoothing}")
        self.register_config(tokens=tokens, max_length=max_length, smoothing=smoothing, separator=separator)
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}
        self.separator = separator
        self.smoothing = float(smoothing)
        self.vocab_size = len(tokens)
        self.max_length = int(max_length)
        self.register_buffer("pair_counts", torch.zeros(self.vocab_size + 1, self.vocab_size + 1, dtype=torch.float64))
        self.register_buffer("length_counts", torch.zeros(self.max_length + 1, dtype=torch.float64))

    @classmethod
    def fit(cls, corpus: Sequence[str], tokens: Sequence[str], max_length: int, smoothing: float = 0.1, separator: str = "") -> BigramDenoiser:
        """Count the pairs and lengths of ``corpus`` (design strings; those longer than ``max_length`` raise)."""
        model = cls(tokens, max_length, smoothing, separator)
        ids = model.encode(corpus)
        start, end = model.vocab_size, model.vocab_size
        for row in ids.tolist():
            seq = [i for i in row if i != model.pad_id]
            model.length_counts[len(seq)] += 1
            for a, b in zip([start, *seq], [*seq, end]):
                model.pair_counts[a, b] += 1
        return model

    @property
    def pad_id(self) -> int:
        return self.vocab_size

    @property
    def mask_id(self) -> int:
        return self.vocab_size + 1

    @property
    def device(self) -> torch.device:
        return self.length_counts.device

    # ------------------------------------------------------------------ probabilities
    def transitions(self) -> Tensor:
        """`[V + 1, V + 1]` ``P(b | a)``: rows ``a`` = tokens then start, columns ``b`` = tokens then end."""
        c = self.pair_counts + self.smoothing
        return c / c.sum(-1, keepdim=True)

    def unigram(self) -> Tensor:
        """`[V]` smoothed token frequencies (the left factor next to a masked neighbour)."""
        c = self.pair_counts[:, : self.vocab_size].sum(0) + self.smoothing
        return c / c.sum()

    def _conditional(self, x: Tensor, i: int, rows: Tensor, lengths: Tensor, temperature: float, top_p: float) -> Tensor:
        """`[R, V]` reveal distribution of position ``i`` in ``rows`` of ``x`` given the revealed neighbours."""
        p = self.transitions()
        v = self.vocab_size
        left = torch.empty((rows.numel(), v), dtype=torch.float64, device=x.device)
        if i == 0:
            left[:] = p[v, :v]
        else:
            prev = x[rows, i - 1]
            known = prev < v
            left[known] = p[prev[known], :v]
            left[~known] = self.unigram()
        right = torch.ones_like(left)
        last = lengths[rows] == i + 1
        right[last] = p[:v, v].expand(int(last.sum()), -1)
        if i + 1 < x.shape[1]:
            nxt = x[rows, i + 1]
            known = ~last & (nxt < v)
            right[known] = p[:v, nxt[known]].T
        probs = (left * right).pow(1.0 / temperature)
        probs = probs / probs.sum(-1, keepdim=True)
        if top_p < 1.0:
            ordered, order = probs.sort(-1, descending=True)
            keep = (ordered.cumsum(-1) - ordered) < top_p
            probs = torch.zeros_like(probs).scatter(-1, order, ordered * keep)
            probs = probs / probs.sum(-1, keepdim=True)
        return probs

    def _reveal(self, x_t: Tensor, reveal: Tensor, anchor: Tensor | None, temperature: float, top_p: float, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """Reveal the positions ``reveal`` `[B, L]` left to right; returns ``(x_s, log p(token))`` `[B, L]`."""
        x = x_t.clone()
        logp = torch.zeros(x.shape, dtype=torch.float64, device=x.device)
        lengths = (x != self.pad_id).sum(-1)
        for i in range(x.shape[1]):
            rows = reveal[:, i].nonzero(as_tuple=True)[0]
            if rows.numel() == 0:
                continue
            probs = self._conditional(x, i, rows, lengths, temperature, top_p)
            if anchor is None:
                tok = torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1).to(x.device)
            else:
                tok = anchor[rows, i]
            logp[rows, i] = probs.gather(-1, tok.unsqueeze(-1)).squeeze(-1).log()
            x[rows, i] = tok
        return x, logp

    def _step(self, x_t: Tensor, t: Tensor, s: Tensor, anchor: Tensor | None, temperature: float, top_p: float, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        if temperature <= 0 or not 0 < top_p <= 1:
            raise ConfigError(f"need temperature > 0 and 0 < top_p <= 1; got {temperature}, {top_p}")
        b = x_t.shape[0]
        t = torch.as_tensor(t, dtype=torch.float64).expand(b).cpu()
        s = torch.as_tensor(s, dtype=torch.float64).expand(b).cpu()
        if bool(((s < 0) | (s >= t) | (t > 1)).any()):
            raise ConfigError(f"reverse_step needs 0 <= s < t <= 1; got t={t.tolist()} s={s.tolist()}")
        q = torch.where(s <= 0, torch.ones_like(t), (t - s) / t).unsqueeze(-1).expand(x_t.shape)
        masked = (x_t == self.mask_id).cpu()
        reveal = masked & (torch.rand(x_t.shape, generator=generator, dtype=torch.float64) < q)
        x_s, token_lp = self._reveal(x_t.cpu(), reveal, None if anchor is None else anchor.cpu(), temperature, top_p, generator)
        stay = torch.log1p(-q.clamp(max=1.0))
        log_probs = torch.where(reveal, q.log() + token_lp, torch.where(masked, stay, torch.zeros_like(stay)))
        return x_s.to(x_t.device), log_probs.float().to(x_t.device)

    # ------------------------------------------------------------------ protocols
    def reverse_step(self, x_t: Tensor, t: Tensor, s: Tensor, *, temperature: float = 1.0, top_p: float = 1.0, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """One reverse step ``t -> s`` of ids `[B, L]` (StepwiseDenoiser): ``(x_s [B, L], log_probs [B, L])``."""
        return self._step(x_t, t, s, None, temperature, top_p, generator)

    def anchored_step(self, x_t: Tensor, t: Tensor, s: Tensor, anchor: Tensor, *, temperature: float = 1.0, top_p: float = 1.0, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Reveal masks as ``anchor`` `[B, L]`'s tokens, at the schedule's rate; log-probabilities under the model's own step."""
        return self._step(x_t, t, s, anchor, temperature, top_p, generator)

    def infill(self, x: Tensor, fixed_mask: Tensor, *, generator: torch.Generator | None = None, steps: int | None = None, temperature: float = 1.0, top_p: float = 1.0) -> Tensor:
        """Ids `[B, L]` equal to ``x`` where ``fixed_mask`` `[B, L]` is True (and at pads); the rest redrawn over ``steps`` reverse steps."""
        keep = fixed_mask.to(x.device).bool() | (x == self.pad_id)
        cur = torch.where(keep, x, torch.full_like(x, self.mask_id))
        steps = self.max_length if steps is None else steps
        grid = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
        for i in range(steps):
            if not bool((cur == self.mask_id).any()):
                break
            cur, _ = self.reverse_step(cur, grid[i], grid[i + 1], temperature=temperature, top_p=top_p, generator=generator)
        return cur

    def _length_log_norm(self, n: int) -> float:
        """``log Z_n``: the chain's total mass of length-``n`` sequences (start, ``n`` tokens, end)."""
        p = self.transitions()
        v = self.vocab_size
        alpha = p[v, :v].clone()
        for _ in range(n - 1):
            alpha = alpha @ p[:v, :v]
        return math.log(float(alpha @ p[:v, v]))

    def sample_designs(self, n: int, *, generator: torch.Generator | None = None, temperature: float = 1.0) -> tuple[list[str], Tensor | None]:
        """``n`` exact draws of ``p(x)`` (temperature 1) with their log-probabilities `[n]` (SequenceSampler)."""
        if n == 0:
            return [], torch.zeros(0, dtype=torch.float64)
        p = self.transitions().pow(1.0 / temperature)
        v = self.vocab_size
        counts = self.length_counts.cpu()
        lengths = torch.multinomial(counts, n, replacement=True, generator=generator)
        log_probs = (counts / counts.sum()).log()[lengths]
        out = torch.full((n, int(lengths.max())), self.pad_id, dtype=torch.long)
        for m in lengths.unique().tolist():
            rows = (lengths == m).nonzero(as_tuple=True)[0]
            beta = [p[:v, v]]
            for _ in range(m - 1):
                beta.insert(0, p[:v, :v] @ beta[0])
            weights = (p[v, :v] * beta[0]).expand(rows.numel(), -1)
            for i in range(m):
                probs = weights / weights.sum(-1, keepdim=True)
                tok = torch.multinomial(probs, 1, generator=generator).squeeze(1)
                log_probs[rows] += probs.gather(-1, tok.unsqueeze(-1)).squeeze(-1).log()
                out[rows, i] = tok
                if i + 1 < m:
                    weights = p[tok, :v] * beta[i + 1]
        return self.decode(out), (log_probs if temperature == 1.0 else None)

    def log_likelihood(self, designs: Sequence[Any], *, seed: int = 0, per_token: bool = False) -> Tensor:
        """Exact ``log p(x)`` `[B]` (LikelihoodScorer); NaN for designs the model cannot read. ``seed`` is unused (exact)."""
        p = self.transitions()
        v = self.vocab_size
        total = self.length_counts.sum()
        norms: dict[int, float] = {}
        out = torch.full((len(designs),), float("nan"), dtype=torch.float64)
        for k, d in enumerate(designs):
            try:
                seq = self.ids(d)
            except InvalidDesignError:
                continue
            n = len(seq)
            if not 1 <= n <= self.max_length:
                continue
            if n not in norms:
                norms[n] = self._length_log_norm(n)
            chain = sum(math.log(float(p[a, b])) for a, b in zip([v, *seq], [*seq, v]))
            value = math.log(float(self.length_counts[n] / total)) + chain - norms[n] if self.length_counts[n] > 0 else -math.inf
            out[k] = value / n if per_token else value
        return out

    # ------------------------------------------------------------------ text
    def ids(self, design: Any) -> list[int]:
        """Token ids of one design string; unknown tokens raise InvalidDesignError."""
        if not isinstance(design, str):
            raise InvalidDesignError(f"a bigram design is a string, got {type(design).__name__} {design!r}")
        parts = design.split(self.separator) if self.separator else list(design)
        unknown = [t for t in parts if t not in self.index]
        if unknown:
            raise InvalidDesignError(f"{design!r} has tokens {unknown} outside the vocabulary {self.tokens}")
        return [self.index[t] for t in parts]

    def encode(self, designs: Sequence[Any]) -> Tensor:
        """Ids `[B, L]` (long), right-padded; unknown tokens or designs longer than ``max_length`` raise InvalidDesignError."""
        rows = [self.ids(d) for d in designs]
        too_long = [d for d, r in zip(designs, rows) if len(r) > self.max_length]
        if too_long:
            raise InvalidDesignError(f"{too_long[0]!r} has more than max_length={self.max_length} tokens")
        out = torch.full((len(rows), max((len(r) for r in rows), default=0)), self.pad_id, dtype=torch.long)
        for i, r in enumerate(rows):
            out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        return out

    def decode(self, ids: Tensor) -> list[str]:
        """Design strings from ids `[B, L]`; a row ends at its first pad (or mask)."""
        out = []
        for row in ids.tolist():
            toks = []
            for i in row:
                if i >= self.vocab_size:
                    break
                toks.append(self.tokens[i])
            out.append(self.separator.join(toks))
        return out
