"""Reading SMILES files line by line, with bad lines reported by their line numbers.

A SMILES file holds one molecule per line; the SMILES is the first whitespace-separated field (a
name or other columns may follow, as in ``.smi`` files). Blank lines, lines starting with ``#``
and a first-line header whose first field is ``smiles`` (any case) are skipped. A line whose
SMILES is not a valid molecule is skipped and reported in one :class:`SmilesFileWarning` that
names the file, each bad line's number, its value and the reason; a file with no valid line at
all is a :class:`~gendesign.core.errors.ConfigError`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gendesign.core.errors import ConfigError, InvalidDesignError, short_repr

MAX_REPORTED = 10
"""Bad lines named one by one in a warning or error; the rest are counted."""


class SmilesFileWarning(UserWarning):
    """Lines of a SMILES file were skipped; the message names the file and each line's number, value and reason."""


@dataclass(frozen=True)
class BadLine:
    """A skipped line: its 1-based number, its SMILES field and why it was refused."""

    line: int
    value: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {short_repr(self.value)}: {self.reason}"


def _listing(bad: list[BadLine]) -> str:
    shown = "; ".join(str(b) for b in bad[:MAX_REPORTED])
    more = f"; and {len(bad) - MAX_REPORTED} more" if len(bad) > MAX_REPORTED else ""
    return shown + more


def read_smiles_lines(path: str | Path, validate: Callable[[str], str], *, what: str = "SMILES file") -> tuple[list[tuple[int, str]], list[BadLine]]:
    """``([(line, canonical), ...], bad_lines)`` of a SMILES file, without warning.

    Args:
        path: the file.
        validate: maps a SMILES to its canonical form or raises :class:`InvalidDesignError` saying why
            (a design space's ``validate``, or :func:`canonical_or_raise`).
        what: what the file is, for error messages (e.g. ``"initial_designs_file"``).

    Raises:
        ConfigError: the file does not exist or is not UTF-8 text.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} {str(p)!r} does not exist")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {str(p)!r} is not UTF-8 text: {exc}") from None
    good: list[tuple[int, str]] = []
    bad: list[BadLine] = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#") or (number == 1 and fields[0].lower() == "smiles"):
            continue
        try:
            good.append((number, validate(fields[0])))
        except InvalidDesignError as exc:
            bad.append(BadLine(number, fields[0], str(exc)))
    return good, bad


def read_smiles_file(path: str | Path, validate: Callable[[str], str] | None = None, *, what: str = "SMILES file") -> list[str]:
    """The valid molecules of a SMILES file, canonical, in file order (duplicates kept).

    Bad lines are skipped with one :class:`SmilesFileWarning` naming ``path`` and each line.

    Args:
        path: the file.
        validate: canonicaliser that raises :class:`InvalidDesignError` for a bad SMILES; default
            :func:`canonical_or_raise` (any molecule RDKit parses).
        what: what the file is, for messages.

    Raises:
        ConfigError: the file is missing, unreadable, or holds no valid SMILES (the message lists
            the bad lines).
    """
    good, bad = read_smiles_lines(path, validate or canonical_or_raise, what=what)
    if not good:
        detail = f": {_listing(bad)}" if bad else " (it has no SMILES lines)"
        raise ConfigError(f"{what} {str(path)!r} holds no valid SMILES{detail}")
    if bad:
        warnings.warn(
            f"{what} {str(path)!r}: skipped {len(bad)} of {len(good) + len(bad)} SMILES lines that are not valid here: {_listing(bad)}",
            SmilesFileWarning,
            stacklevel=2,
        )
    return [smiles for _, smiles in good]


def canonical_or_raise(smiles: str) -> str:
    """RDKit canonical SMILES of ``smiles``, or :class:`InvalidDesignError` saying why not."""
    from gendesign.plugins.molecules.mols import parse_smiles
    from gendesign.plugins.molecules.smiles import rdkit_chem

    mol, error = parse_smiles(smiles)
    if mol is None:
        raise InvalidDesignError(error)
    return str(rdkit_chem().MolToSmiles(mol))
