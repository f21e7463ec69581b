"""Physico-chemical molecule objectives: QED, SA score, Crippen logP, TPSA, size and count descriptors, rule-of-5 and Veber violations.

Every objective reads designs as SMILES; a design RDKit cannot parse comes back ``valid=False``
with the reason. Definitions (all computed by RDKit):

========================  ==========================================================================  =========
name                      definition and source                                                       default
========================  ==========================================================================  =========
``qed``                   quantitative estimate of drug-likeness in ``[0, 1]``: weighted geometric       max
                          mean of eight property desirabilities (Bickerton et al., Nat. Chem. 4, 90,
                          2012), ``rdkit.Chem.QED.qed``
``sa``                    synthetic accessibility in ``[1, 10]`` (Ertl and Schuffenhauer, J. Cheminf.    min
                          1:8, 2009), RDKit Contrib ``sascorer`` (:mod:`.sascore`)
``logp``                  Crippen atom-additive octanol/water logP (Wildman and Crippen, JCICS 39,       max
                          868, 1999), ``Crippen.MolLogP``
``tpsa``                  topological polar surface area in Å² from N and O fragment contributions      min
                          (Ertl et al., J. Med. Chem. 43, 3714, 2000), ``rdMolDescriptors.CalcTPSA``
``mw``                    average molecular weight in Da (``Descriptors.MolWt``)                         min
``hbd`` / ``hba``         hydrogen-bond donors / acceptors, RDKit's SMARTS definitions                   min
                          (``rdMolDescriptors.CalcNumHBD`` / ``CalcNumHBA``)
``rotatable_bonds``       rotatable bonds, RDKit's strict definition                                     min
                          (``rdMolDescriptors.CalcNumRotatableBonds``)
``rings``                 rings of the smallest set of smallest rings (``CalcNumRings``)                 max
``aromatic_rings``        aromatic rings (``CalcNumAromaticRings``)                                      max
``formal_charge``         net formal charge (``Chem.GetFormalCharge``)                                   min
``heavy_atoms``           non-hydrogen atoms (``Mol.GetNumHeavyAtoms``)                                  min
``lipinski_violations``   broken rule-of-5 criteria, 0 to 4: MW > 500, logP > 5, more than 5 OH+NH      min
                          donors, more than 10 N+O acceptors (Lipinski et al., Adv. Drug Deliv. Rev.
                          23, 3, 1997; Crippen logP stands in for CLogP; ``CalcNumLipinskiHBD/HBA``)
``veber_violations``      broken Veber criteria, 0 to 2: more than 10 rotatable bonds, TPSA > 140 Å²     min
                          (Veber et al., J. Med. Chem. 45, 2615, 2002)
========================  ==========================================================================  =========

:class:`MoleculeDescriptors` computes several of them as one ``[B, K]`` objective.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gendesign.core.errors import ConfigError
from gendesign.core.objective import ObjectiveSpec
from gendesign.plugins.molecules.mols import MoleculeObjective

Direction = Literal["max", "min"]


def _qed(mol: Any) -> float:
    from rdkit.Chem import QED

    return float(QED.qed(mol))


def _sa(mol: Any) -> float:
    from gendesign.plugins.molecules.sascore import sa_score

    return sa_score(mol)


def _logp(mol: Any) -> float:
    from rdkit.Chem import Crippen

    return float(Crippen.MolLogP(mol))


def _tpsa(mol: Any) -> float:
    from rdkit.Chem import rdMolDescriptors

    return float(rdMolDescriptors.CalcTPSA(mol))


def _mw(mol: Any) -> float:
    from rdkit.Chem import Descriptors

    return float(Descriptors.MolWt(mol))


def _rd_count(function: str, mol: Any) -> float:
    from rdkit.Chem import rdMolDescriptors

    return float(getattr(rdMolDescriptors, function)(mol))


def _count(function: str) -> Callable[[Any], float]:
    return functools.partial(_rd_count, function)


def _formal_charge(mol: Any) -> float:
    from rdkit import Chem

    return float(Chem.GetFormalCharge(mol))


def _heavy_atoms(mol: Any) -> float:
    return float(mol.GetNumHeavyAtoms())


def _lipinski_violations(mol: Any) -> float:
    from rdkit.Chem import rdMolDescriptors

    broken = (
        _mw(mol) > 500,
        _logp(mol) > 5,
        rdMolDescriptors.CalcNumLipinskiHBD(mol) > 5,
        rdMolDescriptors.CalcNumLipinskiHBA(mol) > 10,
    )
    return float(sum(broken))


def _veber_violations(mol: Any) -> float:
    from rdkit.Chem import rdMolDescriptors

    return float((rdMolDescriptors.CalcNumRotatableBonds(mol) > 10) + (_tpsa(mol) > 140))


@dataclass(frozen=True)
class Descriptor:
    """One molecular descriptor: its function, natural range, default direction and a one-line definition."""

    fn: Callable[[Any], float]
    direction: Direction
    bounds: tuple[float, float] | None
    description: str


DESCRIPTORS: dict[str, Descriptor] = {
    "qed": Descriptor(_qed, "max", (0.0, 1.0), "QED drug-likeness (Bickerton 2012), RDKit"),
    "sa": Descriptor(_sa, "min", (1.0, 10.0), "synthetic accessibility 1 (easy) to 10 (hard) (Ertl 2009), RDKit Contrib sascorer"),
    "logp": Descriptor(_logp, "max", None, "Crippen logP (Wildman and Crippen 1999), RDKit"),
    "tpsa": Descriptor(_tpsa, "min", None, "topological polar surface area in Å² (Ertl 2000), RDKit"),
    "mw": Descriptor(_mw, "min", None, "average molecular weight in Da, RDKit MolWt"),
    "hbd": Descriptor(_count("CalcNumHBD"), "min", None, "hydrogen-bond donors, RDKit CalcNumHBD"),
    "hba": Descriptor(_count("CalcNumHBA"), "min", None, "hydrogen-bond acceptors, RDKit CalcNumHBA"),
    "rotatable_bonds": Descriptor(_count("CalcNumRotatableBonds"), "min", None, "rotatable bonds (strict), RDKit"),
    "rings": Descriptor(_count("CalcNumRings"), "max", None, "rings (SSSR), RDKit CalcNumRings"),
    "aromatic_rings": Descriptor(_count("CalcNumAromaticRings"), "max", None, "aromatic rings, RDKit CalcNumAromaticRings"),
    "formal_charge": Descriptor(_formal_charge, "min", None, "net formal charge, RDKit GetFormalCharge"),
    "heavy_atoms": Descriptor(_heavy_atoms, "min", None, "number of heavy (non-hydrogen) atoms"),
    "lipinski_violations": Descriptor(
        _lipinski_violations, "min", (0.0, 4.0), "rule-of-5 violations: MW>500, logP>5, HBD>5, HBA>10 (Lipinski 1997)"
    ),
    "veber_violations": Descriptor(_veber_violations, "min", (0.0, 2.0), "Veber violations: rotatable bonds>10, TPSA>140 (Veber 2002)"),
}


class MoleculeDescriptors(MoleculeObjective):
    """Several RDKit descriptors of a molecule as one objective, one column each (definitions in the module docstring).

    Args:
        names: descriptor names, in column order (``qed``, ``sa``, ``logp``, ``tpsa``, ``mw``, ``hbd``,
            ``hba``, ``rotatable_bonds``, ``rings``, ``aromatic_rings``, ``formal_charge``,
            ``heavy_atoms``, ``lipinski_violations``, ``veber_violations``).
        directions: one ``"max"``/``"min"`` per name; default each descriptor's own.
    """

    def __init__(self, names: Sequence[str] = ("qed", "sa"), directions: Sequence[Direction] | None = None) -> None:
        names = list(names)
        unknown = [n for n in names if n not in DESCRIPTORS]
        if unknown or not names:
            raise ConfigError(f"unknown molecule descriptor(s) {unknown or names}; choose from {sorted(DESCRIPTORS)}")
        if len(set(names)) != len(names):
            raise ConfigError(f"descriptor names {names} repeat a name; give each once")
        if directions is not None and len(directions) != len(names):
            raise ConfigError(f"got {len(directions)} directions {list(directions)} for {len(names)} descriptors {names}; give one per name")
        chosen = list(directions) if directions is not None else [DESCRIPTORS[n].direction for n in names]
        self.names = names
        self._fns = [DESCRIPTORS[n].fn for n in names]
        self.specs = tuple(
            ObjectiveSpec(n, d, bounds=DESCRIPTORS[n].bounds, description=DESCRIPTORS[n].description) for n, d in zip(names, chosen, strict=True)
        )

    def score_mol(self, mol: Any) -> list[float]:
        return [fn(mol) for fn in self._fns]


class MoleculeProperty(MoleculeDescriptors):
    """One RDKit descriptor of a molecule (see the module docstring for definitions).

    Args:
        prop: a descriptor name, e.g. ``"qed"`` or ``"tpsa"``.
        direction: ``"max"`` or ``"min"``; default the descriptor's own.
    """

    def __init__(self, prop: str, direction: Direction | None = None) -> None:
        if prop not in DESCRIPTORS:
            raise ConfigError(f"unknown molecule property {prop!r}; choose from {sorted(DESCRIPTORS)}")
        super().__init__([prop], None if direction is None else [direction])
        self.prop = prop


def qed() -> MoleculeProperty:
    """QED drug-likeness in ``[0, 1]`` (Bickerton et al. 2012), maximised."""
    return MoleculeProperty("qed", "max")


def sa(direction: Direction = "min") -> MoleculeProperty:
    """Synthetic accessibility score in ``[1, 10]`` (Ertl and Schuffenhauer 2009), RDKit Contrib sascorer; minimised by default."""
    return MoleculeProperty("sa", direction)


def logp(direction: Direction = "max") -> MoleculeProperty:
    """Crippen logP (Wildman and Crippen 1999); maximised by default."""
    return MoleculeProperty("logp", direction)


def tpsa(direction: Direction = "min") -> MoleculeProperty:
    """Topological polar surface area in Å² (Ertl et al. 2000); minimised by default."""
    return MoleculeProperty("tpsa", direction)


def mw(direction: Direction = "min") -> MoleculeProperty:
    """Average molecular weight in Da; minimised by default."""
    return MoleculeProperty("mw", direction)


def hbd(direction: Direction = "min") -> MoleculeProperty:
    """Hydrogen-bond donors (RDKit CalcNumHBD); minimised by default."""
    return MoleculeProperty("hbd", direction)


def hba(direction: Direction = "min") -> MoleculeProperty:
    """Hydrogen-bond acceptors (RDKit CalcNumHBA); minimised by default."""
    return MoleculeProperty("hba", direction)


def rotatable_bonds(direction: Direction = "min") -> MoleculeProperty:
    """Rotatable bonds (RDKit's strict definition); minimised by default."""
    return MoleculeProperty("rotatable_bonds", direction)


def rings(direction: Direction = "max") -> MoleculeProperty:
    """Number of rings (smallest set of smallest rings); maximised by default."""
    return MoleculeProperty("rings", direction)


def aromatic_rings(direction: Direction = "max") -> MoleculeProperty:
    """Number of aromatic rings; maximised by default."""
    return MoleculeProperty("aromatic_rings", direction)


def formal_charge(direction: Direction = "min") -> MoleculeProperty:
    """Net formal charge; minimised by default."""
    return MoleculeProperty("formal_charge", direction)


def heavy_atoms(direction: Direction = "min") -> MoleculeProperty:
    """Number of heavy atoms; minimised by default (smaller molecules)."""
    return MoleculeProperty("heavy_atoms", direction)


def lipinski_violations() -> MoleculeProperty:
    """Broken rule-of-5 criteria, 0 to 4 (Lipinski et al. 1997), minimised."""
    return MoleculeProperty("lipinski_violations", "min")


def veber_violations() -> MoleculeProperty:
    """Broken Veber criteria, 0 to 2: rotatable bonds > 10, TPSA > 140 Å² (Veber et al. 2002), minimised."""
    return MoleculeProperty("veber_violations", "min")
