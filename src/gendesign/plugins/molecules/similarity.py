"""Fingerprints and Tanimoto similarity to reference molecules.

Fingerprint kinds (RDKit ``rdFingerprintGenerator`` unless noted):

* ``ecfp4`` / ``ecfp6``: extended-connectivity (Morgan) fingerprints of radius 2 / 3 (Rogers and
  Hahn, "Extended-connectivity fingerprints", JCIM 50, 742, 2010);
* ``fcfp4`` / ``fcfp6``: the same with pharmacophoric feature invariants instead of atom invariants;
* ``atom_pair``: atom pairs with their topological distance up to 10 bonds (Carhart et al., JCICS 25,
  64, 1985);
* ``phco``: Gobbi-Poppinger 2-D pharmacophore fingerprint (Gobbi and Poppinger, Biotechnol. Bioeng.
  61, 47, 1998; ``rdkit.Chem.Pharm2D.Gobbi_Pharm2D``), always binary; about 100 times slower.

With ``counts=True`` (the default, and GuacaMol's convention) a fingerprint is the unfolded count
vector, and the Tanimoto similarity of count vectors ``a, b`` is
``sum_i min(a_i, b_i) / (sum_i a_i + sum_i b_i - sum_i min(a_i, b_i))``; with ``counts=False`` it
is a binary vector folded to ``fp_size`` bits and ``|a & b| / |a | b|``. These counts equal the
legacy ``AllChem.GetMorganFingerprint(mol, r)`` and ``GetAtomPairFingerprint(mol, maxLength=10)``
used by GuacaMol and PMO.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Literal

from gendesign.core.errors import ConfigError
from gendesign.core.objective import ObjectiveSpec
from gendesign.plugins.molecules.mols import MoleculeObjective, mol_from_smiles

FingerprintKind = Literal["ecfp4", "ecfp6", "fcfp4", "fcfp6", "atom_pair", "phco"]
FINGERPRINTS: tuple[str, ...] = ("ecfp4", "ecfp6", "fcfp4", "fcfp6", "atom_pair", "phco")
_MORGAN_RADIUS = {"ecfp4": 2, "ecfp6": 3, "fcfp4": 2, "fcfp6": 3}


@functools.cache
def _generator(kind: str, fp_size: int) -> Any:
    from rdkit.Chem import rdFingerprintGenerator as gen

    if kind in _MORGAN_RADIUS:
        invariants = gen.GetMorganFeatureAtomInvGen() if kind.startswith("fcfp") else None
        return gen.GetMorganGenerator(radius=_MORGAN_RADIUS[kind], fpSize=fp_size, atomInvariantsGenerator=invariants)
    return gen.GetAtomPairGenerator(maxDistance=10, fpSize=fp_size)


def fingerprint(mol: Any, kind: str, counts: bool = True, fp_size: int = 2048) -> Any:
    """The ``kind`` fingerprint of an RDKit molecule (see the module docstring).

    Returns an RDKit count vector (``counts=True``) or bit vector, for
    ``rdkit.DataStructs.TanimotoSimilarity``.
    """
    if kind not in FINGERPRINTS:
        raise ConfigError(f"fingerprint={kind!r} is not known; choose from {list(FINGERPRINTS)}")
    if kind == "phco":
        from rdkit.Chem.Pharm2D import Generate, Gobbi_Pharm2D

        return Generate.Gen2DFingerprint(mol, Gobbi_Pharm2D.factory)
    generator = _generator(kind, fp_size)
    return generator.GetSparseCountFingerprint(mol) if counts else generator.GetFingerprint(mol)


def tanimoto(a: Any, b: Any) -> float:
    """Tanimoto similarity of two RDKit fingerprints of the same kind."""
    from rdkit import DataStructs

    return float(DataStructs.TanimotoSimilarity(a, b))


@functools.lru_cache(maxsize=256)
def _reference_fingerprints(smiles: tuple[str, ...], kind: str, counts: bool, fp_size: int) -> list[Any]:
    return [fingerprint(mol_from_smiles(s, "reference molecule"), kind, counts, fp_size) for s in smiles]


class Similarity(MoleculeObjective):
    """Tanimoto similarity of a molecule to one or more reference molecules, the max or mean over the references.

    Args:
        references: reference SMILES.
        references_file: a SMILES file of further references (bad lines are reported by number and skipped).
        fingerprint: ``ecfp4``, ``ecfp6``, ``fcfp4``, ``fcfp6``, ``atom_pair`` or ``phco``.
        aggregate: ``"max"`` (nearest reference) or ``"mean"`` over the references.
        counts: count fingerprints (GuacaMol's convention) rather than folded bits.
        fp_size: bits of a folded fingerprint (``counts=False``).
        name: the column name.
    """

    def __init__(
        self,
        references: Sequence[str] = (),
        references_file: str | None = None,
        fingerprint: FingerprintKind = "ecfp4",
        aggregate: Literal["max", "mean"] = "max",
        counts: bool = True,
        fp_size: int = 2048,
        name: str = "similarity",
    ) -> None:
        refs = list(references)
        if references_file is not None:
            from gendesign.plugins.molecules.smiles_file import read_smiles_file

            refs += read_smiles_file(references_file, what="references_file")
        if not refs:
            raise ConfigError("similarity needs at least one reference molecule: give references = ['SMILES', ...] or references_file")
        for smiles in refs:
            mol_from_smiles(smiles, "reference molecule")
        if fingerprint not in FINGERPRINTS:
            raise ConfigError(f"fingerprint={fingerprint!r} is not known; choose from {list(FINGERPRINTS)}")
        if aggregate not in ("max", "mean"):
            raise ConfigError(f"aggregate={aggregate!r}; use 'max' or 'mean'")
        if fp_size < 64:
            raise ConfigError(f"fp_size={fp_size} is too small; use at least 64 bits (2048 is usual)")
        self.references = tuple(refs)
        self.kind = fingerprint
        self.aggregate = aggregate
        self.counts = bool(counts)
        self.fp_size = int(fp_size)
        where = f"{len(refs)} reference{'s' if len(refs) > 1 else ''}"
        self.specs = (
            ObjectiveSpec(name, "max", bounds=(0.0, 1.0), description=f"{aggregate} Tanimoto similarity ({fingerprint}) to {where}"),
        )

    def score_mol(self, mol: Any) -> list[float]:
        from rdkit import DataStructs

        refs = _reference_fingerprints(self.references, self.kind, self.counts, self.fp_size)
        sims = DataStructs.BulkTanimotoSimilarity(fingerprint(mol, self.kind, self.counts, self.fp_size), refs)
        return [max(sims) if self.aggregate == "max" else sum(sims) / len(sims)]

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "references": list(self.references),
            "fingerprint": self.kind,
            "aggregate": self.aggregate,
            "counts": self.counts,
            "fp_size": self.fp_size,
        }
