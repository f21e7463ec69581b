"""The monomer library: canonical and non-canonical alpha-amino acids as backbone SMILES fragments.

Every monomer is written as a *backbone fragment*: a SMILES string that starts with the backbone
nitrogen and ends with the backbone carbonyl ``C(=O)``, so a linear peptide is the concatenation
``cap_N + frag_1 + frag_2 + ... + frag_n + cap_C``. Ring-closure digits used inside a fragment are
closed inside it, so fragments can be concatenated without renumbering (SMILES allows a digit to
be reused once its ring is closed).

Stereochemistry: an L residue is written ``N[C@@H](R)C(=O)`` and its D enantiomer
``N[C@H](R)C(=O)``; the neighbour order of the alpha carbon (N, H, side chain, carbonyl) is the
same in every fragment, so the tag alone fixes the configuration. Residues with a second
stereocentre (Ile, Thr, Hyp) carry it in the side chain and the D form inverts both centres
(D-Ile is the enantiomer of L-Ile, not D-allo-Ile).

Sources: side chains of the 20 canonical residues follow IUPAC-IUB nomenclature (Eur. J. Biochem.
138, 9-37, 1984) and agree atom for atom with RDKit's ``MolFromSequence`` (checked by the tests).
Non-canonical residues are the common building blocks of peptide chemistry catalogued in
SwissSidechain (Gfeller et al., Nucleic Acids Res. 41, D327, 2013) and used by CycloPs /
p2smi-style peptide generators: D-amino acids, backbone N-methylation (Chatterjee et al.,
Acc. Chem. Res. 41, 1331, 2008), ornithine, 2,4-diaminobutyric acid, 2,3-diaminopropionic acid,
2-aminoisobutyric acid, norleucine, norvaline, 2-aminobutyric acid, citrulline,
trans-4-hydroxyproline, homoarginine, cyclohexylalanine, 2-naphthylalanine, phenylglycine,
tert-leucine and sarcosine.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Literal

from gendesign.core.errors import ConfigError, InvalidDesignError

Chirality = Literal["L", "D", "achiral"]


@dataclass(frozen=True)
class Monomer:
    """One residue type.

    Attributes:
        code: the token; one upper-case letter for canonical residues, a short name otherwise
            (written in brackets in peptide strings, e.g. ``[dK]``).
        name: full name.
        fragment: backbone SMILES fragment ``N...C(=O)`` (see the module docstring).
        parent: the canonical residue whose side chain is closest (used by sequence-level
            descriptors and the AMP classifier, which are defined on the 20 canonical residues).
        chirality: ``"L"``, ``"D"`` or ``"achiral"`` at the alpha carbon.
        n_methyl: the backbone nitrogen carries a methyl group.
        charge: formal side-chain charge class at pH 7: ``+1`` basic, ``-1`` acidic, ``0`` otherwise.
        side_chain_pka: pKa of the ionisable side chain, ``None`` when it has none.
        source: where the structure comes from.
    """

    code: str
    name: str
    fragment: str
    parent: str
    chirality: Chirality
    n_methyl: bool = False
    side_chain_pka: float | None = None
    source: str = "IUPAC-IUB 1984"

    @property
    def canonical(self) -> bool:
        return len(self.code) == 1

    @cached_property
    def token(self) -> str:
        """How the residue is written in a peptide string: ``A`` or ``[dA]``."""
        return self.code if self.canonical else f"[{self.code}]"


def _l(side: str) -> str:
    return f"N[C@@H]({side})C(=O)"


def _d(side: str) -> str:
    return f"N[C@H]({side})C(=O)"


def _mirror(smiles: str) -> str:
    """Swap every ``@`` and ``@@`` tag: the enantiomer of a fragment."""
    return smiles.replace("@@", "\x00").replace("@", "@@").replace("\x00", "@")


# side chain SMILES (attached to the alpha carbon), pKa of ionisable side chains (EMBOSS set:
# Rice, Longden & Bleasby, Trends Genet. 16, 276, 2000).
_CANONICAL: dict[str, tuple[str, str, float | None]] = {
    "A": ("alanine", "C", None),
    "C": ("cysteine", "CS", 8.5),
    "D": ("aspartic acid", "CC(=O)O", 3.9),
    "E": ("glutamic acid", "CCC(=O)O", 4.1),
    "F": ("phenylalanine", "Cc1ccccc1", None),
    "H": ("histidine", "Cc1c[nH]cn1", 6.5),
    "I": ("isoleucine", "[C@@H](C)CC", None),
    "K": ("lysine", "CCCCN", 10.8),
    "L": ("leucine", "CC(C)C", None),
    "M": ("methionine", "CCSC", None),
    "N": ("asparagine", "CC(N)=O", None),
    "Q": ("glutamine", "CCC(N)=O", None),
    "R": ("arginine", "CCCNC(=N)N", 12.5),
    "S": ("serine", "CO", None),
    "T": ("threonine", "[C@H](O)C", None),
    "V": ("valine", "C(C)C", None),
    "W": ("tryptophan", "Cc1c[nH]c2ccccc12", None),
    "Y": ("tyrosine", "Cc1ccc(O)cc1", 10.1),
}


def _build() -> dict[str, Monomer]:
    lib: dict[str, Monomer] = {}
    lib["G"] = Monomer("G", "glycine", "NCC(=O)", "G", "achiral")
    lib["P"] = Monomer("P", "proline", "N1[C@@H](CCC1)C(=O)", "P", "L")
    for code, (name, side, pka) in _CANONICAL.items():
        lib[code] = Monomer(code, name, _l(side), code, "L", side_chain_pka=pka)
    for code in sorted({*_CANONICAL, "P"}):
        base = lib[code]
        lib["d" + code] = Monomer(
            "d" + code,
            "D-" + base.name,
            _mirror(base.fragment),
            code,
            "D",
            side_chain_pka=base.side_chain_pka,
            source="enantiomer of the L residue (SwissSidechain D-amino acids)",
        )
    nme = "N-methyl amino acid (Chatterjee et al. 2008)"
    for code in ("A", "L", "F", "V", "I", "K", "S", "T", "Y"):
        name, side, pka = _CANONICAL[code]
        lib["me" + code] = Monomer(
            "me" + code, "N-methyl-" + name, f"N(C)[C@@H]({side})C(=O)", code, "L", n_methyl=True, side_chain_pka=pka, source=nme
        )
    lib["Sar"] = Monomer("Sar", "sarcosine (N-methylglycine)", "N(C)CC(=O)", "G", "achiral", n_methyl=True, source=nme)
    ss = "SwissSidechain (Gfeller et al. 2013)"
    extra: list[tuple[str, str, str, str, Chirality, float | None]] = [
        ("Orn", "L-ornithine", _l("CCCN"), "K", "L", 10.8),
        ("Dab", "L-2,4-diaminobutyric acid", _l("CCN"), "K", "L", 10.0),
        ("Dap", "L-2,3-diaminopropionic acid", _l("CN"), "K", "L", 9.4),
        ("Har", "L-homoarginine", _l("CCCCNC(=N)N"), "R", "L", 12.5),
        ("Cit", "L-citrulline", _l("CCCNC(N)=O"), "Q", "L", None),
        ("Aib", "2-aminoisobutyric acid", "NC(C)(C)C(=O)", "A", "achiral", None),
        ("Abu", "L-2-aminobutyric acid", _l("CC"), "A", "L", None),
        ("Nva", "L-norvaline", _l("CCC"), "V", "L", None),
        ("Nle", "L-norleucine", _l("CCCC"), "L", "L", None),
        ("Tle", "L-tert-leucine", _l("C(C)(C)C"), "V", "L", None),
        ("Cha", "L-cyclohexylalanine", _l("CC1CCCCC1"), "F", "L", None),
        ("Nal", "L-3-(2-naphthyl)alanine", _l("Cc1ccc2ccccc2c1"), "W", "L", None),
        ("Phg", "L-phenylglycine", _l("c1ccccc1"), "F", "L", None),
        ("Hyp", "trans-4-hydroxy-L-proline", "N1[C@@H](C[C@@H](O)C1)C(=O)", "P", "L", None),
    ]
    for code, name, frag, parent, chir, pka in extra:
        lib[code] = Monomer(code, name, frag, parent, chir, side_chain_pka=pka, source=ss)
    return lib


MONOMERS: dict[str, Monomer] = _build()
"""Every known monomer by code."""

CANONICAL_CODES: tuple[str, ...] = tuple("ACDEFGHIKLMNPQRSTVWY")
"""The 20 proteinogenic residues in alphabetical one-letter order."""

NONCANONICAL_CODES: tuple[str, ...] = tuple(c for c in MONOMERS if c not in CANONICAL_CODES)
"""D-amino acids, N-methylated residues and the other non-canonical monomers."""

BASIC_SIDE_CHAINS = frozenset({"K", "R", "H", "Orn", "Dab", "Dap", "Har"})
ACIDIC_SIDE_CHAINS = frozenset({"D", "E", "C", "Y"})

N_CAPS: dict[str, str] = {"H": "", "Ac": "CC(=O)"}
"""N-terminal caps: ``H`` is the free amine, ``Ac`` an acetyl amide."""

C_CAPS: dict[str, str] = {"OH": "O", "NH2": "N"}
"""C-terminal caps: ``OH`` is the free acid, ``NH2`` the primary amide."""

CYCLE_BOND = "%99"


def monomer(code: str) -> Monomer:
    """The monomer ``code`` or :class:`InvalidDesignError` listing close matches."""
    try:
        return MONOMERS[code]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(code, list(MONOMERS), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise InvalidDesignError(f"unknown monomer {code!r}.{hint} Known codes: {', '.join(MONOMERS)}") from None


def resolve_monomer_set(names: str | list[str]) -> tuple[str, ...]:
    """Expand a monomer-set spec: ``"canonical"``, ``"all"``, ``"d"``, ``"nme"`` or an explicit code list.

    A list may mix codes and the set names above; order is preserved and duplicates are an error.
    """
    groups = {
        "canonical": list(CANONICAL_CODES),
        "all": list(MONOMERS),
        "d": [c for c in MONOMERS if MONOMERS[c].chirality == "D"],
        "nme": [c for c in MONOMERS if MONOMERS[c].n_methyl],
        "noncanonical": list(NONCANONICAL_CODES),
    }
    items = [names] if isinstance(names, str) else list(names)
    out: list[str] = []
    for item in items:
        codes = groups.get(item, [item])
        for c in codes:
            monomer(c)
            if c in out:
                raise ConfigError(f"monomer {c!r} appears twice in monomers={names!r}; list each code once")
            out.append(c)
    if not out:
        raise ConfigError("monomers is empty; give 'canonical', 'all' or a list of codes")
    return tuple(out)


@lru_cache(maxsize=1)
def fragment_table() -> dict[str, str]:
    """Canonical isomeric SMILES of each monomer as an isolated ``H-X-H`` amino aldehyde -> code.

    The SMILES parser cuts peptide bonds and caps both ends with hydrogen, so an internal residue
    becomes exactly this amino-aldehyde form; the table is how it recognises the residue.
    """
    from rdkit import Chem

    table: dict[str, str] = {}
    for code, m in MONOMERS.items():
        mol = Chem.MolFromSmiles(m.fragment.removesuffix("C(=O)") + "C=O")
        if mol is None:
            raise ConfigError(f"monomer {code!r} has an unparsable fragment {m.fragment!r}")
        key = Chem.MolToSmiles(mol)
        if key in table:
            raise ConfigError(f"monomers {table[key]!r} and {code!r} have the same structure {key}")
        table[key] = code
    return table
