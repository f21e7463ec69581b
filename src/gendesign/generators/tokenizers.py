"""Tokenizers that turn designs into id tensors for sequence generators, and back.

Id layout shared by every tokenizer here: the ``V`` real tokens have ids ``0 .. V-1``, then
``pad_id = V`` and ``mask_id = V + 1``. Padding agrees with :class:`~gendesign.core.sequence_space.SequenceSpace`,
whose ``pad_id`` is also ``len(tokens)``, so a space's ids need no remapping. Generators that fix
the length of a design in advance (as :class:`~gendesign.generators.mdlm.model.MaskedDiffusionLM`
does) need no begin/end tokens.

* :class:`SmilesTokenizer`: atom-level SMILES tokens from the regular expression of Schwaller et al.
  2019 (Molecular Transformer, ACS Cent. Sci. 5, 1572): bracket atoms, two-letter halogens, ring
  bond labels ``%nn`` and single characters.
* :class:`SelfiesTokenizer`: SMILES in and out, SELFIES symbols inside (Krenn et al., "Self-referencing
  embedded strings (SELFIES): a 100% robust molecular string representation", Mach. Learn. Sci.
  Technol. 1, 045024, 2020; the ``selfies`` package, Apache-2.0). Every sequence of SELFIES symbols
  decodes to a valid molecule, so a generator over these tokens cannot emit invalid SMILES.
* :class:`ResidueTokenizer`: the alphabet of a sequence space (residues or arbitrary tokens).

All round-trip through :meth:`Tokenizer.to_config` / :func:`tokenizer_from_config`, which is how a
model saves its tokenizer in its ``config.json``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from torch import Tensor

from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.core.sequence_space import pad_token_ids

SMILES_REGEX = (
    r"(\[[^\]]+\]|Br|Cl|%\d{2}|[BCNOSPFIbcnosp]|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$|\d)"
)


class Tokenizer(ABC):
    """Maps designs to id lists and back. Subclasses define :meth:`tokenize` and :meth:`join`.

    Args:
        tokens: the real tokens; their positions are their ids.
    """

    kind: str = ""

    def __init__(self, tokens: Sequence[str]) -> None:
        tokens = list(tokens)
        if not tokens:
            raise ConfigError("a tokenizer needs at least one token")
        if len(set(tokens)) != len(tokens):
            dup = sorted({t for t in tokens if tokens.count(t) > 1})
            raise ConfigError(f"tokenizer has duplicate tokens {dup}")
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}

    @property
    def vocab_size(self) -> int:
        """Number of real tokens ``V``."""
        return len(self.tokens)

    @property
    def pad_id(self) -> int:
        return len(self.tokens)

    @property
    def mask_id(self) -> int:
        return len(self.tokens) + 1

    @property
    def num_ids(self) -> int:
        """Size of the id space: real tokens, pad and mask."""
        return len(self.tokens) + 2

    @abstractmethod
    def tokenize(self, design: Any) -> list[str]:
        """The token strings of one design."""

    @abstractmethod
    def join(self, tokens: list[str]) -> Any:
        """The design made of ``tokens``."""

    def ids(self, design: Any) -> list[int]:
        """Token ids of one design; an unknown token raises :class:`InvalidDesignError`."""
        out = []
        for pos, tok in enumerate(self.tokenize(design)):
            if tok not in self.index:
                raise InvalidDesignError(f"token {tok!r} at position {pos} of {design!r} is not in this tokenizer's vocabulary of {len(self.tokens)} tokens")
            out.append(self.index[tok])
        return out

    def encode(self, designs: Sequence[Any], length: int | None = None) -> Tensor:
        """Ids `[B, L]` (long), right-padded with :attr:`pad_id`; ``L`` defaults to the longest design."""
        return pad_token_ids([self.ids(d) for d in designs], self.pad_id, length, designs)

    def decode(self, ids: Tensor) -> list[Any]:
        """Designs from ids `[B, L]`: pad tokens are dropped; a mask id raises :class:`InvalidDesignError`."""
        out = []
        for row in ids.tolist():
            toks = []
            for pos, i in enumerate(row):
                if i == self.pad_id:
                    continue
                if not 0 <= i < len(self.tokens):
                    raise InvalidDesignError(f"id {i} at position {pos} is not a real token (mask id {self.mask_id}); finish denoising before decoding")
                toks.append(self.tokens[i])
            out.append(self.join(toks))
        return out

    def to_config(self) -> dict[str, Any]:
        """JSON-able description; :func:`tokenizer_from_config` inverts it."""
        return {"kind": self.kind, "tokens": list(self.tokens)}


class SmilesTokenizer(Tokenizer):
    """Atom-level SMILES tokenizer (regex of Schwaller et al. 2019).

    Tokenising checks that the tokens concatenate back to the input, so an unparsable character is
    reported instead of dropped.

    Example:
        >>> SmilesTokenizer.fit(["CC(=O)Cl"]).tokenize("CC(=O)Cl")
        ['C', 'C', '(', '=', 'O', ')', 'Cl']
    """

    kind = "smiles"
    pattern = re.compile(SMILES_REGEX)

    def tokenize(self, design: Any) -> list[str]:
        if not isinstance(design, str):
            raise InvalidDesignError(f"a SMILES design must be a string, got {type(design).__name__} {design!r}")
        tokens = self.pattern.findall(design)
        if "".join(tokens) != design:
            consumed = 0
            for tok in tokens:
                if design.startswith(tok, consumed):
                    consumed += len(tok)
                else:
                    break
            raise InvalidDesignError(f"cannot tokenise SMILES {design!r} at offset {consumed} ({design[consumed:consumed + 5]!r})")
        return tokens

    def join(self, tokens: list[str]) -> str:
        return "".join(tokens)

    @classmethod
    def fit(cls, smiles: Iterable[str], min_count: int = 1) -> SmilesTokenizer:
        """A tokenizer whose vocabulary is every token seen at least ``min_count`` times, most frequent first."""
        counts: Counter[str] = Counter()
        for s in smiles:
            counts.update(cls.pattern.findall(s))
        tokens = [t for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count]
        return cls(tokens)


class SelfiesTokenizer(Tokenizer):
    """SMILES designs as SELFIES symbols; decoding always yields a valid SMILES string.

    ``tokenize`` encodes a SMILES string (kekulised by ``selfies``) and splits it into symbols such
    as ``[C]``, ``[=O]``, ``[Ring1]`` and ``[Branch1]``; ``join`` decodes symbols back to SMILES.
    Decoding is total: symbols that would break a valence rule are skipped or bond orders lowered,
    which is what makes every sample a molecule (possibly a small one: report sizes next to
    validity). Needs the ``selfies`` package (``pip install 'gendesign[molecules]'``).

    Example:
        >>> tok = SelfiesTokenizer.fit(["CC(=O)O"])
        >>> tok.tokenize("CC(=O)O")
        ['[C]', '[C]', '[=Branch1]', '[C]', '[=O]', '[O]']
        >>> tok.join(tok.tokenize("CC(=O)O"))
        'CC(=O)O'
    """

    kind = "selfies"

    def tokenize(self, design: Any) -> list[str]:
        sf = _selfies()
        if not isinstance(design, str):
            raise InvalidDesignError(f"a SMILES design must be a string, got {type(design).__name__} {design!r}")
        try:
            return list(sf.split_selfies(sf.encoder(design)))
        except sf.EncoderError as exc:
            reason = " ".join(str(exc).split())
            raise InvalidDesignError(
                f"SMILES {design!r} cannot be written as SELFIES ({reason}); it must parse with RDKit and respect SELFIES' valence limits"
            ) from None

    def join(self, tokens: list[str]) -> str:
        return str(_selfies().decoder("".join(tokens)))

    @classmethod
    def fit(cls, smiles: Iterable[str], min_count: int = 1) -> SelfiesTokenizer:
        """A tokenizer over every SELFIES symbol of ``smiles`` seen at least ``min_count`` times, most frequent first.

        Molecules that SELFIES cannot encode are skipped here; tokenising them later raises.
        """
        counts: Counter[str] = Counter()
        probe = cls(["[C]"])
        for s in smiles:
            try:
                counts.update(probe.tokenize(s))
            except InvalidDesignError:
                continue
        return cls([t for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count])


def _selfies() -> Any:
    from gendesign.core.errors import require

    return require("selfies", "molecules")


class ResidueTokenizer(Tokenizer):
    """The tokens of a sequence space: single characters, or multi-character tokens split by a separator.

    Args:
        tokens: the alphabet, in the space's order (so ids agree with ``SequenceSpace.ids``).
        separator: joins multi-character tokens in text form; ``""`` with single-character tokens.
    """

    kind = "residue"

    def __init__(self, tokens: Sequence[str], separator: str = "") -> None:
        super().__init__(tokens)
        self.separator = separator
        self.char_level = all(len(t) == 1 for t in self.tokens) and separator == ""
        self._longest = max(len(t) for t in self.tokens)

    @classmethod
    def from_space(cls, space: Any) -> ResidueTokenizer:
        """The tokenizer of a :class:`~gendesign.core.sequence_space.SequenceSpace` (same ids, same pad id)."""
        return cls(space.tokens, getattr(space, "separator", ""))

    def tokenize(self, design: Any) -> list[str]:
        if isinstance(design, (list, tuple)):
            return [str(t) for t in design]
        if not isinstance(design, str):
            raise InvalidDesignError(f"a sequence design must be a string or a token sequence, got {type(design).__name__} {design!r}")
        if self.char_level:
            return list(design)
        if self.separator:
            return design.split(self.separator) if design else []
        out, i = [], 0
        while i < len(design):
            for size in range(min(self._longest, len(design) - i), 0, -1):
                if design[i : i + size] in self.index:
                    out.append(design[i : i + size])
                    i += size
                    break
            else:
                raise InvalidDesignError(f"cannot split {design!r} into tokens at offset {i}")
        return out

    def join(self, tokens: list[str]) -> str | tuple[str, ...]:
        return "".join(tokens) if self.char_level else tuple(tokens)

    def to_config(self) -> dict[str, Any]:
        return {**super().to_config(), "separator": self.separator}


TOKENIZERS: dict[str, type[Tokenizer]] = {"smiles": SmilesTokenizer, "selfies": SelfiesTokenizer, "residue": ResidueTokenizer}


def tokenizer_from_config(config: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from :meth:`Tokenizer.to_config`."""
    cfg = dict(config)
    kind = cfg.pop("kind", None)
    if kind not in TOKENIZERS:
        raise ConfigError(f"tokenizer kind {kind!r} is unknown; choose one of {sorted(TOKENIZERS)}")
    return TOKENIZERS[kind](**cfg)
