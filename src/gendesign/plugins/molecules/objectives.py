"""Small RDKit molecule objectives: QED, heavy-atom count and Crippen logP.

Every objective reads designs as SMILES (the ``smiles`` and ``selfies`` spaces store canonical
SMILES); a design RDKit cannot parse comes back ``valid=False`` with the reason, never an exception.

* ``qed``: quantitative estimate of drug-likeness in ``[0, 1]``, the weighted geometric mean of
  eight desirability functions of molecular properties (Bickerton et al., "Quantifying the chemical
  beauty of drugs", Nat. Chem. 4, 90, 2012), computed by ``rdkit.Chem.QED.qed`` (maximised);
* ``heavy_atoms``: number of non-hydrogen atoms (``Mol.GetNumHeavyAtoms``), a size measure;
* ``logp``: Crippen's atom-additive octanol/water partition coefficient (Wildman and Crippen,
  J. Chem. Inf. Comput. Sci. 39, 868, 1999), ``rdkit.Chem.Crippen.MolLogP``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, ObjectiveSpec, Scores
from gendesign.plugins.molecules.smiles import rdkit_chem


def _qed(mol: Any) -> float:
    from rdkit.Chem import QED

    return float(QED.qed(mol))


def _heavy_atoms(mol: Any) -> float:
    return float(mol.GetNumHeavyAtoms())


def _logp(mol: Any) -> float:
    from rdkit.Chem import Crippen

    return float(Crippen.MolLogP(mol))


PROPERTIES: dict[str, tuple[Callable[[Any], float], tuple[float, float] | None, str]] = {
    "qed": (_qed, (0.0, 1.0), "QED drug-likeness (Bickerton 2012), RDKit"),
    "heavy_atoms": (_heavy_atoms, None, "number of heavy (non-hydrogen) atoms"),
    "logp": (_logp, None, "Crippen logP (Wildman and Crippen 1999), RDKit"),
}


class MoleculeProperty(Objective):
    """One RDKit property of a molecule given as SMILES (see the module docstring for definitions).

    Args:
        prop: ``"qed"``, ``"heavy_atoms"`` or ``"logp"``.
        direction: ``"max"`` or ``"min"``.
    """

    def __init__(self, prop: str, direction: Literal["max", "min"] = "max") -> None:
        if prop not in PROPERTIES:
            raise ConfigError(f"unknown molecule property {prop!r}; choose from {sorted(PROPERTIES)}")
        self.prop = prop
        self.fn, bounds, description = PROPERTIES[prop]
        self.specs = (ObjectiveSpec(prop, direction, bounds=bounds, description=description),)

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        chem = rdkit_chem()
        values = torch.full((len(designs), 1), math.nan)
        errors: list[str | None] = [None] * len(designs)
        for i, design in enumerate(designs):
            mol = chem.MolFromSmiles(design) if isinstance(design, str) and design else None
            if mol is None:
                errors[i] = f"RDKit cannot parse SMILES {design!r}"
                continue
            values[i, 0] = self.fn(mol)
        return Scores(values=values, valid=~values[:, 0].isnan(), specs=self.specs, errors=errors)


def qed() -> MoleculeProperty:
    """QED drug-likeness in ``[0, 1]`` (Bickerton et al. 2012), maximised."""
    return MoleculeProperty("qed", "max")


def heavy_atoms(direction: Literal["max", "min"] = "min") -> MoleculeProperty:
    """Number of heavy atoms; minimised by default (smaller molecules)."""
    return MoleculeProperty("heavy_atoms", direction)


def logp(direction: Literal["max", "min"] = "max") -> MoleculeProperty:
    """Crippen logP (Wildman and Crippen 1999); maximised by default."""
    return MoleculeProperty("logp", direction)
