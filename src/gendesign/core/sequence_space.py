"""A categorical sequence space: strings over an alphabet with fixed or bounded length."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, InvalidDesignError

Sequence_ = str | tuple[str, ...]
MAX_SEQUENCE_LENGTH = 100_000
"""Largest ``length``/``max_length`` of a :class:`SequenceSpace`; models allocate `[B, L, V]` tensors."""


class SequenceSpace(DesignSpace):
    """Sequences over a finite alphabet of tokens.

    With single-character tokens (``alphabet="ACDE..."``) a design is a ``str``; with multi-character
    tokens (``alphabet=["A", "dA", "Orn"]``) it is a ``tuple`` of token strings, displayed joined by
    ``separator``. :meth:`validate` also accepts integer token ids (a list, numpy array or 1-D
    tensor) and returns the canonical form.

    Token ids are positions in :attr:`tokens`; :attr:`pad_id` ``== len(tokens)`` pads
    :meth:`encode`'s `[B, L]` output.

    Args:
        alphabet: the tokens, as a string of single characters or a sequence of strings.
        length: fixed length; exclusive with ``min_length``/``max_length``.
        min_length: shortest admissible length (variable-length spaces).
        max_length: longest admissible length (variable-length spaces).
        separator: joins multi-character tokens for display and parses them back.
        mutation_weights: relative rates of (substitution, insertion, deletion) in :meth:`mutate`;
            insertion and deletion are used only where the length bounds allow them.
    """

    def __init__(
        self,
        alphabet: str | Sequence[str],
        length: int | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        separator: str = "",
        mutation_weights: tuple[float, float, float] = (0.8, 0.1, 0.1),
    ) -> None:
        tokens = list(alphabet)
        if not tokens:
            raise ConfigError("alphabet is empty; give at least one token")
        if len(set(tokens)) != len(tokens):
            dup = sorted({t for t in tokens if tokens.count(t) > 1})
            raise ConfigError(f"alphabet has duplicate tokens {dup}")
        if any(not isinstance(t, str) or not t for t in tokens):
            raise ConfigError(f"alphabet tokens must be non-empty strings, got {tokens!r}")
        if length is not None and (min_length is not None or max_length is not None):
            raise ConfigError(f"give either length={length} or min_length/max_length, not both")
        if length is not None:
            min_length = max_length = length
        if max_length is None:
            raise ConfigError("a sequence space needs length=N or max_length=N")
        min_length = 1 if min_length is None else min_length
        if max_length > MAX_SEQUENCE_LENGTH:
            raise ConfigError(f"length/max_length={max_length} is above the limit of {MAX_SEQUENCE_LENGTH} tokens")
        if not 1 <= min_length <= max_length:
            raise ConfigError(f"need 1 <= min_length <= max_length, got min_length={min_length}, max_length={max_length}")
        if any(w < 0 for w in mutation_weights) or mutation_weights[0] <= 0:
            raise ConfigError(f"mutation_weights={mutation_weights}: all must be >= 0 and substitution > 0")
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}
        self._max_chars = int(max_length) * (max(len(t) for t in tokens) + len(separator))
        self.min_length = int(min_length)
        self.max_length = int(max_length)
        self.separator = separator
        self.char_level = all(len(t) == 1 for t in tokens) and separator == ""
        self.mutation_weights = tuple(float(w) for w in mutation_weights)
        if not self.char_level and separator and any(separator in t for t in tokens):
            raise ConfigError(f"separator {separator!r} occurs inside a token; choose another separator")

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @property
    def pad_id(self) -> int:
        return len(self.tokens)

    @property
    def fixed_length(self) -> bool:
        return self.min_length == self.max_length

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "alphabet": self.tokens,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "separator": self.separator,
        }

    def tokenize(self, design: Any) -> list[str]:
        """The token list of ``design`` (string, token sequence or id sequence); no length check."""
        if isinstance(design, Tensor):
            if design.ndim != 1 or design.dtype.is_floating_point:
                raise InvalidDesignError(f"a tensor design must be 1-D integer token ids, got dtype {design.dtype} shape {list(design.shape)}")
            design = design.tolist()
        elif isinstance(design, np.ndarray):
            design = design.tolist()
        if isinstance(design, (str, list, tuple)) and len(design) > 2 * self._max_chars + 64:
            raise InvalidDesignError(
                f"a design of {len(design)} characters/items ({str(design)[:40]!r}...) cannot fit max_length={self.max_length} tokens"
            )
        if isinstance(design, str):
            return self._split(design)
        if isinstance(design, (list, tuple)):
            out = []
            for pos, item in enumerate(design):
                if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                    if not 0 <= int(item) < len(self.tokens):
                        raise InvalidDesignError(f"token id {int(item)} at position {pos} is outside 0..{len(self.tokens) - 1}")
                    out.append(self.tokens[int(item)])
                elif isinstance(item, str):
                    if item not in self.index:
                        raise InvalidDesignError(f"unknown token {item!r} at position {pos}; the alphabet is {self._alphabet_text()}")
                    out.append(item)
                else:
                    raise InvalidDesignError(f"design element {item!r} at position {pos} is neither a token string nor an integer id")
            return out
        raise InvalidDesignError(f"cannot read a sequence from {type(design).__name__} {design!r}; pass a string, tokens or token ids")

    def _alphabet_text(self) -> str:
        return "".join(self.tokens) if self.char_level else repr(self.tokens)

    def _split(self, text: str) -> list[str]:
        if self.char_level:
            for pos, ch in enumerate(text):
                if ch not in self.index:
                    raise InvalidDesignError(f"unknown token {ch!r} at position {pos} in {text!r}; the alphabet is {self._alphabet_text()}")
            return list(text)
        if self.separator:
            parts = text.split(self.separator) if text else []
            for pos, p in enumerate(parts):
                if p not in self.index:
                    raise InvalidDesignError(f"unknown token {p!r} at position {pos} in {text!r}; the alphabet is {self._alphabet_text()}")
            return parts
        return self._greedy_split(text)

    def _greedy_split(self, text: str) -> list[str]:
        longest = max(len(t) for t in self.tokens)
        out, i = [], 0
        while i < len(text):
            for size in range(min(longest, len(text) - i), 0, -1):
                if text[i : i + size] in self.index:
                    out.append(text[i : i + size])
                    i += size
                    break
            else:
                raise InvalidDesignError(f"cannot split {text!r} into tokens at offset {i}; the alphabet is {self._alphabet_text()}")
        return out

    def _canonical(self, tokens: list[str]) -> Sequence_:
        return "".join(tokens) if self.char_level else tuple(tokens)

    def validate(self, design: Any) -> Sequence_:
        tokens = self.tokenize(design)
        if not self.min_length <= len(tokens) <= self.max_length:
            bound = f"exactly {self.min_length}" if self.fixed_length else f"between {self.min_length} and {self.max_length}"
            raise InvalidDesignError(f"sequence {self.display(self._canonical(tokens))!r} has length {len(tokens)}; this space needs {bound}")
        return self._canonical(tokens)

    def key(self, design: Any) -> str:
        tokens = self.tokenize(design)
        return "".join(tokens) if self.char_level else "\x1f".join(tokens)

    def to_json(self, design: Any) -> str:
        seq = self.validate(design)
        return json.dumps(seq if isinstance(seq, str) else list(seq))

    def from_json(self, text: str) -> Sequence_:
        return self.validate(json.loads(text))

    def display(self, design: Any) -> str:
        tokens = self.tokenize(design)
        return (self.separator or "").join(tokens) if not self.char_level else "".join(tokens)

    def ids(self, design: Any) -> list[int]:
        """Token ids of ``design``."""
        return [self.index[t] for t in self.tokenize(design)]

    def encode(self, designs: Sequence[Any], length: int | None = None) -> Tensor:
        """Token ids `[B, L]` (long), right-padded with :attr:`pad_id`; ``L`` defaults to the longest design."""
        return pad_token_ids([self.ids(d) for d in designs], self.pad_id, length, designs)

    def decode(self, ids: Tensor) -> list[Sequence_]:
        """Designs from ids `[B, L]`; :attr:`pad_id` (and anything after it) ends a sequence."""
        pad, tokens = self.pad_id, self.tokens
        out = []
        for row in ids.tolist():
            end = row.index(pad) if pad in row else len(row)
            out.append(self._canonical([tokens[i] for i in row[:end]]))
        return out

    def sample(self, n: int, rng: np.random.Generator) -> list[Sequence_]:
        lengths = rng.integers(self.min_length, self.max_length + 1, size=n)
        return [self._canonical([self.tokens[i] for i in rng.integers(0, len(self.tokens), size=int(m))]) for m in lengths]

    def mutate(self, design: Any, rng: np.random.Generator) -> Sequence_:
        """A substitution (to a different token), insertion or deletion at a uniform position."""
        tokens = self.tokenize(design)
        weights = np.array(self.mutation_weights)
        if len(tokens) >= self.max_length:
            weights[1] = 0.0
        if len(tokens) <= self.min_length:
            weights[2] = 0.0
        if len(self.tokens) == 1:
            weights[0] = 0.0
        if weights.sum() == 0:
            return self._canonical(tokens)
        op = rng.choice(3, p=weights / weights.sum())
        if op == 0:
            pos = int(rng.integers(len(tokens)))
            new = int(rng.integers(len(self.tokens) - 1))
            old = self.index[tokens[pos]]
            tokens[pos] = self.tokens[new + (new >= old)]
        elif op == 1:
            pos = int(rng.integers(len(tokens) + 1))
            tokens.insert(pos, self.tokens[int(rng.integers(len(self.tokens)))])
        else:
            del tokens[int(rng.integers(len(tokens)))]
        return self._canonical(tokens)

    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> Sequence_:
        """Two-point crossover for fixed length; one cut point per parent for variable length."""
        ta, tb = self.tokenize(a), self.tokenize(b)
        if self.fixed_length and len(ta) == len(tb):
            i, j = sorted(rng.integers(0, len(ta) + 1, size=2).tolist())
            return self._canonical(ta[:i] + tb[i:j] + ta[j:])
        for _ in range(16):
            i, j = int(rng.integers(len(ta) + 1)), int(rng.integers(len(tb) + 1))
            child = ta[:i] + tb[j:]
            if self.min_length <= len(child) <= self.max_length:
                return self._canonical(child)
        return self._canonical(ta)


def pad_token_ids(rows: Sequence[Sequence[int]], pad_id: int, length: int | None = None, designs: Sequence[Any] | None = None) -> Tensor:
    """Stack token-id rows into `[B, L]` (long), right-padded with ``pad_id``.

    ``L`` defaults to the longest row; a row longer than ``length`` raises
    :class:`InvalidDesignError` naming the design (from ``designs`` when given).
    """
    width = length if length is not None else max((len(r) for r in rows), default=0)
    out = torch.full((len(rows), width), pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        if len(r) > width:
            name = repr(designs[i]) if designs is not None else str(i)
            raise InvalidDesignError(f"design {name} has {len(r)} tokens, more than the width {width}")
        out[i, : len(r)] = torch.tensor(list(r), dtype=torch.long)
    return out
