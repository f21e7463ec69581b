"""A peptide as residues plus termini, and its one-line text notation.

Notation (a small subset of what peptide chemists write by hand):

* canonical residues are one upper-case letter, every other monomer is its code in brackets:
  ``GLW[dK][Orn]A``;
* an N-terminal cap precedes the chain with a hyphen, a C-terminal cap follows it:
  ``Ac-GLWK-NH2``; the defaults ``H-`` and ``-OH`` are omitted in the canonical form;
* a head-to-tail cyclic peptide is ``cyclo(GLWK)``; it has no caps. Its canonical form is the
  lexicographically smallest rotation of the token list, so every rotation of a ring has one key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from gendesign.core.errors import InvalidDesignError
from gendesign.plugins.peptides.monomers import C_CAPS, MONOMERS, N_CAPS, monomer

_TOKENS = {code: m.token for code, m in MONOMERS.items()}
_TOKEN = re.compile(r"\[([A-Za-z0-9]+)\]|([A-Z])")


@dataclass(frozen=True)
class Peptide:
    """A peptide: residue codes `[n]`, terminal caps and cyclisation.

    Attributes:
        residues: monomer codes from :data:`~gendesign.plugins.peptides.monomers.MONOMERS`.
        n_cap: key of :data:`~gendesign.plugins.peptides.monomers.N_CAPS` (``"H"`` is the free amine).
        c_cap: key of :data:`~gendesign.plugins.peptides.monomers.C_CAPS` (``"OH"`` is the free acid).
        cyclic: head-to-tail amide between the last carbonyl and the first nitrogen.
    """

    residues: tuple[str, ...]
    n_cap: str = "H"
    c_cap: str = "OH"
    cyclic: bool = False

    def __post_init__(self) -> None:
        if not self.residues:
            raise InvalidDesignError("a peptide needs at least one residue")
        if not MONOMERS.keys() >= set(self.residues):
            for pos, code in enumerate(self.residues):
                if code not in MONOMERS:
                    try:
                        monomer(code)
                    except InvalidDesignError as exc:
                        raise InvalidDesignError(f"residue {pos}: {exc}") from None
        if self.n_cap not in N_CAPS:
            raise InvalidDesignError(f"unknown N-terminal cap {self.n_cap!r}; choose one of {sorted(N_CAPS)}")
        if self.c_cap not in C_CAPS:
            raise InvalidDesignError(f"unknown C-terminal cap {self.c_cap!r}; choose one of {sorted(C_CAPS)}")
        if self.cyclic:
            if (self.n_cap, self.c_cap) != ("H", "OH"):
                raise InvalidDesignError(
                    f"a head-to-tail cyclic peptide has no termini, so n_cap={self.n_cap!r}, c_cap={self.c_cap!r} "
                    "are meaningless; use n_cap='H', c_cap='OH'"
                )
            if len(self.residues) < 2:
                raise InvalidDesignError("a head-to-tail cyclic peptide needs at least 2 residues")
            object.__setattr__(self, "residues", min_rotation(self.residues))

    @classmethod
    def from_checked(cls, residues: tuple[str, ...], n_cap: str = "H", c_cap: str = "OH", cyclic: bool = False) -> Peptide:
        """A peptide from parts already known to be valid, without the checks of ``__post_init__``.

        For decoders whose codes come from a fixed, checked alphabet; ``residues`` of a cyclic
        peptide must already be its minimal rotation.
        """
        pep = object.__new__(cls)
        pep.__dict__.update(residues=residues, n_cap=n_cap, c_cap=c_cap, cyclic=cyclic)
        return pep

    def __len__(self) -> int:
        return len(self.residues)

    @property
    def chain(self) -> str:
        """The residue part of the notation, e.g. ``GLW[dK]``."""
        return "".join([_TOKENS[c] for c in self.residues])

    @cached_property
    def notation(self) -> str:
        """The peptide string, e.g. ``Ac-GLW[dK]-NH2`` or ``cyclo(GLW)`` (computed once)."""
        if self.cyclic:
            return f"cyclo({self.chain})"
        head = "" if self.n_cap == "H" else f"{self.n_cap}-"
        tail = "" if self.c_cap == "OH" else f"-{self.c_cap}"
        return f"{head}{self.chain}{tail}"

    def __str__(self) -> str:
        return self.notation


def min_rotation(tokens: Sequence[str]) -> tuple[str, ...]:
    """The lexicographically smallest rotation of ``tokens`` (canonical start of a ring)."""
    t = tuple(tokens)
    return min(t[i:] + t[:i] for i in range(len(t)))


def split_chain(chain: str) -> tuple[str, ...]:
    """Residue codes of a chain string such as ``GLW[dK]``; any other character is an error."""
    matches = list(_TOKEN.finditer(chain))
    if sum(m.end() - m.start() for m in matches) == len(chain) and all(
        (m.group(2) in MONOMERS) if m.group(2) else (m.group(1) in MONOMERS and len(m.group(1)) > 1) for m in matches
    ):
        return tuple(m.group(1) or m.group(2) for m in matches)
    return _split_chain_checked(chain)


def _split_chain_checked(chain: str) -> tuple[str, ...]:
    """:func:`split_chain` token by token, so that the first bad character or code is named."""
    out: list[str] = []
    pos = 0
    while pos < len(chain):
        m = _TOKEN.match(chain, pos)
        if m is None:
            raise InvalidDesignError(
                f"cannot read a residue at offset {pos} of {chain!r} (character {chain[pos]!r}); write canonical "
                "residues as one upper-case letter and other monomers in brackets, e.g. 'GL[dK][Orn]'"
            )
        code = m.group(1) or m.group(2)
        if m.group(1) is not None and code in MONOMERS and len(code) == 1:
            raise InvalidDesignError(f"canonical residue {code!r} at offset {pos} of {chain!r} must be written without brackets")
        try:
            monomer(code)
        except InvalidDesignError as exc:
            raise InvalidDesignError(f"{exc} (at offset {pos} of {chain!r})") from None
        out.append(code)
        pos = m.end()
    return tuple(out)


def parse_peptide(text: str) -> Peptide:
    """Read the notation described in the module docstring; errors name the offending part.

    Results are memoised (peptides are immutable), since searches parse the same designs repeatedly;
    see :func:`remember`.
    """
    if not isinstance(text, str):
        raise InvalidDesignError(f"a peptide string is required, got {type(text).__name__} {text!r}")
    pep = _MEMO.get(text)
    if pep is None:
        pep = _parse(text)
        remember(pep, text)
    return pep


_MEMO: dict[str, Peptide] = {}
_MEMO_SIZE = 1 << 16


def remember(pep: Peptide, text: str | None = None) -> None:
    """Memoise ``pep`` as what :func:`parse_peptide` returns for ``text`` (default: its own notation).

    Code that builds a :class:`Peptide` and hands out its notation (e.g. decoding model output)
    calls this so that reading the string back costs a dictionary lookup; notation and parsing are
    inverse, so the result is the one parsing would give.
    """
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    _MEMO[pep.notation if text is None else text] = pep


def _parse(text: str) -> Peptide:
    s = text.strip()
    if not s:
        raise InvalidDesignError("empty peptide string")
    if s.startswith("cyclo("):
        if not s.endswith(")"):
            raise InvalidDesignError(f"{text!r} opens 'cyclo(' but does not end with ')'")
        return Peptide(split_chain(s[6:-1]), cyclic=True)
    head, sep, rest = s.partition("-")
    if sep and head in N_CAPS:
        try:
            return _linear(text, rest, head)
        except InvalidDesignError:
            if head != "H":
                raise
    elif sep and rest.rpartition("-")[2] not in C_CAPS and _is_chain(rest.rpartition("-")[2]):
        raise InvalidDesignError(f"unknown N-terminal cap {head!r} in {text!r}; choose one of {sorted(N_CAPS)}")
    return _linear(text, s, "H")


def _is_chain(s: str) -> bool:
    try:
        split_chain(s)
    except InvalidDesignError:
        return False
    return bool(s)


def _linear(text: str, s: str, n_cap: str) -> Peptide:
    """``s`` is the chain with an optional C cap; ``H-`` is also histidine, so the caller retries without it."""
    c_cap = "OH"
    body, sep, tail = s.rpartition("-")
    if sep:
        if tail not in C_CAPS:
            raise InvalidDesignError(f"unknown C-terminal cap {tail!r} in {text!r}; choose one of {sorted(C_CAPS)}")
        c_cap, s = tail, body
    if "-" in s:
        raise InvalidDesignError(
            f"cannot read {text!r}: the only hyphens allowed separate an N cap {sorted(N_CAPS)} or a C cap {sorted(C_CAPS)}"
        )
    return Peptide(split_chain(s), n_cap=n_cap, c_cap=c_cap)
