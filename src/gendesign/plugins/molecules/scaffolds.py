"""Molecular scaffolds, and the scaffold memory keys of the diversity filter.

* Bemis-Murcko scaffold (Bemis and Murcko, "The properties of known drugs. 1. Molecular
  frameworks", J. Med. Chem. 39, 2887, 1996): the ring systems and the linkers between them, side
  chains removed, atoms and bond orders kept (``rdkit.Chem.Scaffolds.MurckoScaffold.GetScaffoldForMol``);
* topological (generic) scaffold: the Murcko scaffold with every atom made carbon and every bond
  single (``MurckoScaffold.MakeScaffoldGeneric``), so scaffolds that differ only in heteroatoms or
  aromaticity share a key, as in REINVENT's ``IdenticalTopologicalScaffold`` filter.

An acyclic molecule has the empty scaffold ``""``; all acyclic molecules share that bucket. Keys are
canonical SMILES; a design RDKit cannot parse gets ``None`` (no bucket).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from gendesign.plugins.molecules.mols import parse_smiles
from gendesign.plugins.molecules.smiles import rdkit_chem

__all__ = ["ScaffoldKey", "murcko_scaffold", "scaffold_of", "topological_scaffold"]

ScaffoldKind = Literal["murcko", "topological"]


def murcko_scaffold(mol: Any) -> str:
    """Canonical SMILES of the Bemis-Murcko scaffold of an RDKit molecule (``""`` when acyclic)."""
    from rdkit.Chem.Scaffolds import MurckoScaffold

    chem = rdkit_chem()
    return chem.MolToSmiles(MurckoScaffold.GetScaffoldForMol(mol))


def topological_scaffold(mol: Any) -> str:
    """Canonical SMILES of the generic (all-carbon, all-single-bond) Murcko scaffold (``""`` when acyclic)."""
    from rdkit.Chem.Scaffolds import MurckoScaffold

    chem = rdkit_chem()
    core = MurckoScaffold.GetScaffoldForMol(mol)
    if core.GetNumAtoms() == 0:
        return ""
    generic = MurckoScaffold.MakeScaffoldGeneric(core)
    return chem.MolToSmiles(MurckoScaffold.GetScaffoldForMol(generic))


def scaffold_of(smiles: str, kind: ScaffoldKind = "murcko") -> str | None:
    """The ``kind`` scaffold of a SMILES, or ``None`` when it does not parse."""
    mol, _ = parse_smiles(smiles)
    if mol is None:
        return None
    return murcko_scaffold(mol) if kind == "murcko" else topological_scaffold(mol)


class ScaffoldKey:
    """Memory key of the diversity filter: the scaffold of each molecule (see the module docstring).

    Args:
        kind: ``"murcko"`` (Bemis-Murcko) or ``"topological"`` (generic).
    """

    def __init__(self, kind: ScaffoldKind = "murcko") -> None:
        self.kind = kind

    def __call__(self, designs: Sequence[Any]) -> list[str | None]:
        return [scaffold_of(d, self.kind) if isinstance(d, str) else None for d in designs]


def murcko_key() -> ScaffoldKey:
    """Bemis-Murcko scaffold buckets (REINVENT ``IdenticalMurckoScaffold``)."""
    return ScaffoldKey("murcko")


def topological_key() -> ScaffoldKey:
    """Generic (topological) scaffold buckets (REINVENT ``IdenticalTopologicalScaffold``)."""
    return ScaffoldKey("topological")
