"""Parsing molecules once, and the base class of every RDKit molecule objective.

Objectives read designs as SMILES (the ``smiles`` and ``selfies`` spaces store canonical SMILES).
:func:`parse_smiles` turns a SMILES into a sanitised RDKit ``Mol`` or says why it cannot; its
results are kept in a bounded least-recently-used cache per process, so a molecule scored by
several objectives of one campaign (or by one objective in several rounds) is parsed once.
Cached molecules are shared: code that needs hydrogens or a 3-D conformer works on a copy
(``Chem.AddHs`` returns one).

:class:`MoleculeObjective` scores a batch: designs that do not parse come back ``valid=False``
with the reason; an RDKit error on one molecule (a descriptor that rejects it) marks that molecule
invalid with the message, never the batch.
"""

from __future__ import annotations

import functools
import math
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from gendesign.core.errors import ConfigError, short_repr
from gendesign.core.objective import Objective, Scores
from gendesign.plugins.molecules.smiles import MAX_SMILES_LENGTH, rdkit_chem, smiles_text_problem

PARSE_CACHE_SIZE = 1 << 15
"""Molecules kept by :func:`parse_smiles` per process (about 30 MB for drug-sized molecules)."""

RDKIT_ERRORS: tuple[type[BaseException], ...] = (ValueError, RuntimeError, ArithmeticError)
"""Exceptions RDKit raises for a molecule it cannot handle (C++ errors arrive as ValueError/RuntimeError);
anything else is a bug and propagates."""


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse(smiles: str) -> Any:
    problem = smiles_text_problem(smiles, MAX_SMILES_LENGTH)
    if problem is not None:
        return f"SMILES {short_repr(smiles)} {problem}"
    mol = rdkit_chem().MolFromSmiles(smiles)
    if mol is None:
        return f"RDKit cannot parse or sanitise SMILES {short_repr(smiles)}"
    if mol.GetNumAtoms() == 0:
        return f"SMILES {short_repr(smiles)} has no atoms"
    return mol


def parse_smiles(design: Any) -> tuple[Any | None, str | None]:
    """``(mol, None)`` for a SMILES RDKit parses and sanitises, else ``(None, reason)``; cached."""
    if not isinstance(design, str) or not design.strip():
        return None, f"a molecule design must be a non-empty SMILES string, got {short_repr(design)}"
    out = _parse(design.strip())
    return (None, out) if isinstance(out, str) else (out, None)


def mol_from_smiles(smiles: str, what: str) -> Any:
    """The molecule of a SMILES given in a configuration (a reference, a target), or :class:`ConfigError`."""
    mol, error = parse_smiles(smiles)
    if mol is None:
        raise ConfigError(f"{what} {smiles!r} is not a valid molecule: {error}")
    return mol


class MoleculeObjective(Objective):
    """Base of the RDKit molecule objectives: parse each design once (cached), score the molecules.

    Subclasses set :attr:`specs` and implement :meth:`score_mol`, returning the ``K`` column values
    of one molecule. Values are float64.
    """

    @abstractmethod
    def score_mol(self, mol: Any) -> Sequence[float]:
        """The ``K`` values of one sanitised RDKit molecule."""

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        k = len(self.specs)
        values = np.full((len(designs), k), math.nan)
        errors: list[str | None] = [None] * len(designs)
        for i, design in enumerate(designs):
            mol, error = parse_smiles(design)
            if mol is None:
                errors[i] = error
                continue
            try:
                values[i] = self.score_mol(mol)
            except RDKIT_ERRORS as exc:
                errors[i] = f"objective {self.name!r} cannot score {short_repr(design)}: {type(exc).__name__}: {exc}"
        tensor = torch.from_numpy(values)
        valid = torch.tensor([e is None for e in errors], dtype=torch.bool)
        return Scores(values=tensor, valid=valid, specs=self.specs, errors=errors)
