"""Physicochemical descriptors of peptides, each with its formula and source.

Sequence-level descriptors are defined on the 20 canonical residues; a non-canonical monomer
contributes the value of its :attr:`~gendesign.plugins.peptides.monomers.Monomer.parent` (D- and
N-methyl residues their L parent, ornithine/Dab/Dap lysine, homoarginine arginine, Nle leucine, ...).
Structure-level descriptors (MW, TPSA, logP, HBD) are computed by RDKit on the exact SMILES, so they
see every modification. Charge uses each monomer's own side-chain pKa and the real termini.

=====================  ==================================================================================
``net_charge``         ``sum_basic 1/(1+10^(pH-pKa)) - sum_acidic 1/(1+10^(pKa-pH))`` at pH 7,
                       Henderson-Hasselbalch with the EMBOSS pKa set (Rice et al., Trends Genet. 16, 276,
                       2000); free N-terminus pKa 8.6 and C-terminus 3.6 only when uncapped and linear.
``gravy``              mean Kyte-Doolittle hydropathy (Kyte & Doolittle, J. Mol. Biol. 157, 105, 1982).
``hydrophobic_moment`` ``|sum_n h_n exp(i n delta)| / N`` with the Eisenberg consensus scale and
                       ``delta = 100 deg`` (alpha helix) (Eisenberg et al., Nature 299, 371, 1982).
``boman_index``        mean Radzicka-Wolfenden transfer free energy per residue, the Boman protein-binding
                       potential (Boman, J. Intern. Med. 254, 197, 2003); modlAMP's sign convention.
``instability_index``  ``(10/N) sum_i DIWV(x_i, x_{i+1})`` (Guruprasad et al., Protein Eng. 4, 155, 1990);
                       above 40 predicts an unstable protein.
``molecular_weight``   average molecular weight, Da (RDKit ``Descriptors.MolWt``).
``tpsa``               topological polar surface area, A^2 (Ertl et al., J. Med. Chem. 43, 3714, 2000).
``logp``               Crippen logP (Wildman & Crippen, J. Chem. Inf. Comput. Sci. 39, 868, 1999).
``hbd``                hydrogen-bond donors (RDKit ``CalcNumHBD``, Lipinski-style NH and OH count).
``n_methyl_count``     backbone N-methylated residues (N-methyl amino acids and sarcosine).
``length``             number of residues.
=====================  ==================================================================================
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from gendesign.core.errors import ConfigError, InvalidDesignError, require
from gendesign.plugins.peptides.monomers import MONOMERS
from gendesign.plugins.peptides.notation import Peptide, parse_peptide
from gendesign.plugins.peptides.smiles import peptide_to_smiles, smiles_to_peptide

N_TERMINUS_PKA = 8.6
C_TERMINUS_PKA = 3.6
_BASIC_PARENTS = frozenset("KRH")
_ACIDIC_PARENTS = frozenset("DECY")
HELIX_ANGLE_DEG = 100.0

DESCRIPTORS: tuple[str, ...] = (
    "net_charge",
    "gravy",
    "hydrophobic_moment",
    "boman_index",
    "instability_index",
    "molecular_weight",
    "tpsa",
    "logp",
    "hbd",
    "n_methyl_count",
    "length",
)
"""Every descriptor name :func:`descriptors` computes."""

DEFAULT_DIRECTIONS: dict[str, str] = {
    "net_charge": "max",
    "gravy": "min",
    "hydrophobic_moment": "max",
    "boman_index": "max",
    "instability_index": "min",
    "molecular_weight": "min",
    "tpsa": "min",
    "logp": "max",
    "hbd": "min",
    "n_methyl_count": "max",
    "length": "min",
}
"""Directions used when a descriptor is an objective and the config gives none (cationic, stable, permeable)."""


def as_peptide(design: Any) -> Peptide:
    """A :class:`Peptide` from a peptide object, peptide notation or a peptide SMILES.

    Text with ``=`` is read as SMILES (every peptide SMILES has a carbonyl ``=O``; the notation
    never contains ``=``), anything else as notation.
    """
    if isinstance(design, Peptide):
        return design
    if not isinstance(design, str):
        raise InvalidDesignError(f"expected a peptide string or SMILES, got {type(design).__name__} {design!r}")
    return smiles_to_peptide(design) if "=" in design else parse_peptide(design)


@lru_cache(maxsize=1)
def _scales() -> dict[str, Any]:
    require("modlamp", "peptides")
    from modlamp.core import aa_energies, load_scale

    return {
        "kd": {k: v[0] for k, v in load_scale("kytedoolittle")[1].items()},
        "eisenberg": {k: v[0] for k, v in load_scale("eisenberg")[1].items()},
        "boman": dict(aa_energies()),
        "diwv": load_scale("instability")[1],
    }


def parents(pep: Peptide) -> list[str]:
    """Canonical parent residue of each position."""
    return [MONOMERS[c].parent for c in pep.residues]


def net_charge(pep: Peptide, ph: float = 7.0) -> float:
    """Net charge at ``ph`` (Henderson-Hasselbalch; see the module table)."""
    q = 0.0
    if not pep.cyclic and pep.n_cap == "H":
        q += 1.0 / (1.0 + 10 ** (ph - N_TERMINUS_PKA))
    if not pep.cyclic and pep.c_cap == "OH":
        q -= 1.0 / (1.0 + 10 ** (C_TERMINUS_PKA - ph))
    for code in pep.residues:
        m = MONOMERS[code]
        if m.side_chain_pka is None:
            continue
        if m.parent in _BASIC_PARENTS:
            q += 1.0 / (1.0 + 10 ** (ph - m.side_chain_pka))
        elif m.parent in _ACIDIC_PARENTS:
            q -= 1.0 / (1.0 + 10 ** (m.side_chain_pka - ph))
    return q


def gravy(pep: Peptide) -> float:
    """Mean Kyte-Doolittle hydropathy of the parent residues."""
    kd = _scales()["kd"]
    return sum(kd[p] for p in parents(pep)) / len(pep)


def hydrophobic_moment(pep: Peptide, angle_deg: float = HELIX_ANGLE_DEG) -> float:
    """Eisenberg mean hydrophobic moment ``|sum_n h_n e^{i n delta}| / N`` over the whole chain."""
    h = _scales()["eisenberg"]
    delta = math.radians(angle_deg)
    total = sum(h[p] * cmath.exp(1j * n * delta) for n, p in enumerate(parents(pep)))
    return abs(total) / len(pep)


def mean_hydrophobicity(pep: Peptide) -> float:
    """Mean Eisenberg consensus hydrophobicity ``H`` (the partner of :func:`hydrophobic_moment`)."""
    h = _scales()["eisenberg"]
    return sum(h[p] for p in parents(pep)) / len(pep)


def boman_index(pep: Peptide) -> float:
    """Mean Radzicka-Wolfenden solubility value per residue (Boman 2003, modlAMP sign)."""
    e = _scales()["boman"]
    return sum(e[p] for p in parents(pep)) / len(pep)


def instability_index(pep: Peptide) -> float:
    """Guruprasad instability index ``(10/N) sum DIWV(x_i, x_{i+1})``; 0 for a single residue."""
    diwv = _scales()["diwv"]
    p = parents(pep)
    return 10.0 / len(p) * sum(diwv[a][b] for a, b in zip(p[:-1], p[1:]))


def n_methyl_count(pep: Peptide) -> int:
    """Number of residues with a methylated backbone nitrogen."""
    return sum(MONOMERS[c].n_methyl for c in pep.residues)


def structure_descriptors(smiles: str) -> dict[str, float]:
    """MW, TPSA, Crippen logP and HBD from the exact structure."""
    require("rdkit", "peptides")
    from rdkit import Chem
    from rdkit.Chem import Crippen, Descriptors, rdMolDescriptors

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise InvalidDesignError(f"RDKit cannot parse the SMILES {smiles!r}")
    return {
        "molecular_weight": float(Descriptors.MolWt(mol)),
        "tpsa": float(rdMolDescriptors.CalcTPSA(mol)),
        "logp": float(Crippen.MolLogP(mol)),
        "hbd": float(rdMolDescriptors.CalcNumHBD(mol)),
    }


_SEQUENCE_LEVEL = {
    "net_charge": net_charge,
    "gravy": gravy,
    "hydrophobic_moment": hydrophobic_moment,
    "boman_index": boman_index,
    "instability_index": instability_index,
    "n_methyl_count": n_methyl_count,
    "length": len,
}


def check_names(names: Sequence[str]) -> tuple[str, ...]:
    """Validate descriptor names; an unknown one raises :class:`ConfigError` listing the choices."""
    out = tuple(names)
    for n in out:
        if n not in DESCRIPTORS:
            raise ConfigError(f"unknown peptide descriptor {n!r}; choose from {', '.join(DESCRIPTORS)}")
    if not out:
        raise ConfigError(f"no descriptors requested; choose from {', '.join(DESCRIPTORS)}")
    return out


def descriptors(design: Any, names: Sequence[str] = DESCRIPTORS) -> dict[str, float]:
    """The descriptors ``names`` of one design (peptide, notation or SMILES)."""
    pep = as_peptide(design)
    names = check_names(names)
    out: dict[str, float] = {n: float(_SEQUENCE_LEVEL[n](pep)) for n in names if n in _SEQUENCE_LEVEL}
    if any(n not in _SEQUENCE_LEVEL for n in names):
        struct = structure_descriptors(peptide_to_smiles(pep))
        out.update({n: struct[n] for n in names if n in struct})
    return {n: out[n] for n in names}
