"""Peptide <-> SMILES: exact construction, and a parser that decodes the backbone into residues.

Construction (:func:`peptide_to_smiles`) concatenates backbone fragments (see
:mod:`~gendesign.plugins.peptides.monomers`) and lets RDKit canonicalise the result, so every
design has exactly one SMILES.

Parsing (:func:`smiles_to_peptide`) is the strict validity check PepTune describes as
SMILES2PEPTIDE (Tang et al., arXiv 2412.17780, Alg. 8) and its released search code replaces by
"contains one amide bond". Here a SMILES is a peptide only when

1. RDKit parses it into one connected molecule;
2. cutting every backbone peptide bond, matched by
   ``[NX3][CX4][CX3](=O)-[NX3][CX4]`` (carbonyl of residue ``i`` to the alpha nitrogen of
   residue ``i+1``), leaves fragments that are each a known monomer, stereochemistry included,
   with a terminal cap only where a terminus is;
3. the peptide bonds chain the residues into one unbranched path (linear) or one ring
   (head-to-tail cyclic).

The parsed residues round-trip: ``smiles_to_peptide(peptide_to_smiles(p)) == p``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from gendesign.core.errors import InvalidDesignError, require
from gendesign.plugins.peptides.monomers import C_CAPS, CYCLE_BOND, MONOMERS, N_CAPS
from gendesign.plugins.peptides.notation import Peptide

BACKBONE_BOND_SMARTS = "[NX3][CX4][CX3](=[OX1])[NX3][CX4]"
"""Atoms 2 (carbonyl C of residue i) and 4 (N of residue i+1) form the peptide bond that is cut."""

AMIDE_SMARTS = "[NX3][CX3](=[OX1])"
"""The loose check PepTune's search uses (any amide); kept for comparisons only."""


def _chem() -> Any:
    require("rdkit", "peptides")
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    return Chem


def chain_smiles(peptide: Peptide) -> str:
    """The uncanonicalised SMILES string: ``cap_N + fragments + cap_C`` (ring bond ``%99`` when cyclic)."""
    frags = [MONOMERS[c].fragment for c in peptide.residues]
    if peptide.cyclic:
        first, last = frags[0], frags[-1]
        frags[0] = "N" + CYCLE_BOND + first[1:]
        frags[-1] = last.removesuffix("C(=O)") + "C" + CYCLE_BOND + "(=O)"
        return "".join(frags)
    return N_CAPS[peptide.n_cap] + "".join(frags) + C_CAPS[peptide.c_cap]


@lru_cache(maxsize=65536)
def peptide_to_smiles(peptide: Peptide) -> str:
    """Canonical isomeric SMILES of ``peptide``.

    Raises:
        InvalidDesignError: if RDKit rejects the assembled molecule (a library bug, reported as such).
    """
    Chem = _chem()
    raw = chain_smiles(peptide)
    mol = Chem.MolFromSmiles(raw)
    if mol is None:
        raise InvalidDesignError(f"RDKit rejected the SMILES {raw!r} built for {peptide}; the monomer library has a bad fragment")
    return Chem.MolToSmiles(mol)


@lru_cache(maxsize=1)
def _residue_forms() -> tuple[dict[str, tuple[str, str | None, str | None]], dict[str, list[str]]]:
    """Canonical SMILES of every monomer in every terminal context -> (code, n_cap, c_cap).

    ``n_cap`` is ``None`` for an amine that may be internal or a free N-terminus, ``c_cap`` is
    ``None`` for an internal carbonyl (an aldehyde once the peptide bond is cut and capped with H).
    The second table maps stereo-free SMILES to codes, to explain stereo mismatches.
    """
    Chem = _chem()
    forms: dict[str, tuple[str, str | None, str | None]] = {}
    flat: dict[str, list[str]] = {}
    for code, m in MONOMERS.items():
        body = m.fragment.removesuffix("C(=O)")
        for n_cap, n_smi in [(None, ""), *((k, v) for k, v in N_CAPS.items() if k != "H")]:
            for c_cap, c_smi in [(None, "C=O"), *((k, "C(=O)" + v) for k, v in C_CAPS.items())]:
                mol = Chem.MolFromSmiles(n_smi + body + c_smi)
                key = Chem.MolToSmiles(mol)
                if key in forms and forms[key][0] != code:
                    raise InvalidDesignError(f"monomers {forms[key][0]!r} and {code!r} share the form {key}")
                forms[key] = (code, n_cap, c_cap)
                flat.setdefault(Chem.MolToSmiles(mol, isomericSmiles=False), []).append(code)
    return forms, flat


@lru_cache(maxsize=65536)
def smiles_to_peptide(smiles: str) -> Peptide:
    """Decode a peptide SMILES into residues, caps and cyclisation.

    Args:
        smiles: any SMILES of the molecule (not necessarily canonical).

    Returns:
        The :class:`Peptide`; for a cyclic peptide the residues start at the canonical rotation.

    Raises:
        InvalidDesignError: naming the first problem: unparsable SMILES, several molecules, a
            fragment that is no known monomer (with the monomers it matches up to stereo, if any),
            a branched or broken backbone, or a cap where no terminus is.
    """
    if not isinstance(smiles, str) or not smiles.strip():
        raise InvalidDesignError(f"a SMILES string is required, got {smiles!r}")
    Chem = _chem()
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise InvalidDesignError(f"RDKit cannot parse the SMILES {smiles!r}")
    if len(Chem.GetMolFrags(mol)) != 1:
        raise InvalidDesignError(f"SMILES {smiles!r} holds {len(Chem.GetMolFrags(mol))} disconnected molecules; a peptide is one")
    pattern = _backbone_pattern()
    bonds: dict[int, tuple[int, int]] = {}
    for match in mol.GetSubstructMatches(pattern, uniquify=False):
        c_atom, n_atom = match[2], match[4]
        bond = mol.GetBondBetweenAtoms(c_atom, n_atom)
        bonds[bond.GetIdx()] = (c_atom, n_atom)
    if bonds:
        pieces = Chem.FragmentOnBonds(mol, list(bonds), addDummies=True)
        for atom in pieces.GetAtoms():
            if atom.GetAtomicNum() == 0:
                atom.SetAtomicNum(1)
                atom.SetIsotope(0)
        atom_groups: list[tuple[int, ...]] = []
        frags = Chem.GetMolFrags(pieces, asMols=True, sanitizeFrags=False, fragsMolAtomMapping=atom_groups)
        frags = [Chem.RemoveHs(f) for f in frags]
    else:
        frags, atom_groups = [mol], [tuple(range(mol.GetNumAtoms()))]
    owner: dict[int, int] = {}
    for fi, group in enumerate(atom_groups):
        for a in group:
            if a < mol.GetNumAtoms():
                owner[a] = fi
    forms, flat = _residue_forms()
    residues: list[tuple[str, str | None, str | None]] = []
    for fi, frag in enumerate(frags):
        key = Chem.MolToSmiles(frag)
        if key not in forms:
            near = flat.get(Chem.MolToSmiles(frag, isomericSmiles=False))
            hint = f"; it matches {near} except for stereochemistry" if near else ""
            raise InvalidDesignError(f"SMILES {smiles!r}: residue fragment {fi} ({key}) is not a known monomer{hint}")
        residues.append(forms[key])
    succ: dict[int, int] = {}
    pred: dict[int, int] = {}
    for c_atom, n_atom in bonds.values():
        a, b = owner[c_atom], owner[n_atom]
        if a in succ or b in pred or a == b:
            raise InvalidDesignError(f"SMILES {smiles!r}: the backbone is branched at residue fragment {a if a in succ else b}")
        succ[a], pred[b] = b, a
    n = len(frags)
    starts = [i for i in range(n) if i not in pred]
    cyclic = not starts
    if len(starts) > 1:
        raise InvalidDesignError(f"SMILES {smiles!r}: the peptide bonds do not chain the {n} residues into one backbone")
    order = [starts[0] if starts else min(range(n))]
    while order[-1] in succ and succ[order[-1]] != order[0]:
        order.append(succ[order[-1]])
    if len(order) != n:
        raise InvalidDesignError(f"SMILES {smiles!r}: the peptide bonds do not chain the {n} residues into one backbone")
    codes = tuple(residues[i][0] for i in order)
    n_cap = residues[order[0]][1] if not cyclic else None
    c_cap = residues[order[-1]][2] if not cyclic else None
    for pos, i in enumerate(order):
        _, nc, cc = residues[i]
        if nc is not None and (cyclic or pos != 0):
            raise InvalidDesignError(f"SMILES {smiles!r}: residue {pos} ({codes[pos]}) carries an N cap {nc!r} inside the chain")
        if cc is not None and (cyclic or pos != n - 1):
            raise InvalidDesignError(f"SMILES {smiles!r}: residue {pos} ({codes[pos]}) carries a C cap {cc!r} inside the chain")
    if not cyclic and c_cap is None:
        raise InvalidDesignError(
            f"SMILES {smiles!r}: the C-terminal residue {codes[-1]} ends in an aldehyde; supported C termini are {sorted(C_CAPS)}"
        )
    return Peptide(codes, n_cap=n_cap or "H", c_cap=c_cap or "OH", cyclic=cyclic)


@lru_cache(maxsize=1)
def _backbone_pattern() -> Any:
    return _chem().MolFromSmarts(BACKBONE_BOND_SMARTS)


def is_peptide_smiles(smiles: str) -> bool:
    """True when :func:`smiles_to_peptide` decodes ``smiles`` (the strict check)."""
    try:
        smiles_to_peptide(smiles)
    except InvalidDesignError:
        return False
    return True


def has_amide_bond(smiles: str) -> bool:
    """PepTune's search-time filter: RDKit parses it and it has one amide. Far weaker than :func:`is_peptide_smiles`."""
    Chem = _chem()
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) and smiles else None
    return mol is not None and mol.HasSubstructMatch(Chem.MolFromSmarts(AMIDE_SMARTS))


def canonical_smiles(smiles: str) -> str:
    """RDKit canonical isomeric SMILES, or :class:`InvalidDesignError` if it does not parse."""
    Chem = _chem()
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) and smiles else None
    if mol is None:
        raise InvalidDesignError(f"RDKit cannot parse the SMILES {smiles!r}")
    return Chem.MolToSmiles(mol)
