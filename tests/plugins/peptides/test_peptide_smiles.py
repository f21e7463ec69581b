"""SMILES construction and the strict backbone parser."""

import numpy as np
import pytest

Chem = pytest.importorskip("rdkit.Chem")

from gendesign.core.errors import InvalidDesignError  # noqa: E402
from gendesign.plugins.peptides.monomers import CANONICAL_CODES, MONOMERS, resolve_monomer_set  # noqa: E402
from gendesign.plugins.peptides.notation import Peptide, parse_peptide  # noqa: E402
from gendesign.plugins.peptides.smiles import (  # noqa: E402
    has_amide_bond,
    is_peptide_smiles,
    peptide_to_smiles,
    smiles_to_peptide,
)


def _canon(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


@pytest.mark.parametrize("code", CANONICAL_CODES)
def test_canonical_residue_matches_rdkit_sequence_builder(code):
    assert peptide_to_smiles(Peptide((code,))) == _canon(Chem.MolToSmiles(Chem.MolFromSequence(code)))


def test_long_canonical_peptide_matches_rdkit_sequence_builder():
    seq = "GLWSKIKEVGKEAAKAAAKAAGKAALGAVSEAVACDEFHMNPQRTY"
    assert peptide_to_smiles(parse_peptide(seq)) == Chem.MolToSmiles(Chem.MolFromSequence(seq))


def _cip(smiles: str) -> list[str]:
    from rdkit.Chem import rdCIPLabeler

    mol = Chem.MolFromSmiles(smiles)
    rdCIPLabeler.AssignCIPLabels(mol)
    return [a.GetProp("_CIPCode") for a in mol.GetAtoms() if a.HasProp("_CIPCode")]


@pytest.mark.parametrize("code, labels", [("I", ["S", "S"]), ("T", ["S", "R"]), ("Hyp", ["S", "R"]), ("A", ["S"]), ("C", ["R"])])
def test_stereocentres_have_their_textbook_cip_labels(code, labels):
    assert sorted(_cip(peptide_to_smiles(Peptide((code,))))) == sorted(labels)


@pytest.mark.parametrize("code", ["A", "I", "T", "W", "P", "K"])
def test_d_residue_is_the_mirror_image_of_l(code):
    flip = {"R": "S", "S": "R"}
    l_labels = _cip(peptide_to_smiles(Peptide((code,))))
    d_labels = _cip(peptide_to_smiles(Peptide(("d" + code,))))
    assert sorted(d_labels) == sorted(flip[x] for x in l_labels)
    assert peptide_to_smiles(Peptide(("d" + code,))) != peptide_to_smiles(Peptide((code,)))


def test_every_monomer_has_a_distinct_structure():
    forms = {peptide_to_smiles(Peptide((c,))) for c in MONOMERS}
    assert len(forms) == len(MONOMERS)


def test_n_methyl_residues_carry_one_more_methyl():
    from rdkit.Chem.rdMolDescriptors import CalcMolFormula

    assert CalcMolFormula(Chem.MolFromSmiles(peptide_to_smiles(Peptide(("meA",))))) == "C4H9NO2"
    assert CalcMolFormula(Chem.MolFromSmiles(peptide_to_smiles(Peptide(("Sar",))))) == "C3H7NO2"


def _random_peptide(rng, codes):
    n = int(rng.integers(1, 14))
    res = tuple(codes[i] for i in rng.integers(0, len(codes), size=n))
    if n >= 2 and rng.random() < 0.3:
        return Peptide(res, cyclic=True)
    return Peptide(res, n_cap=["H", "Ac"][int(rng.integers(2))], c_cap=["OH", "NH2"][int(rng.integers(2))])


def test_round_trip_over_random_peptides_of_every_monomer_cap_and_cyclisation():
    rng = np.random.default_rng(0)
    codes = list(MONOMERS)
    for _ in range(150):
        pep = _random_peptide(rng, codes)
        smiles = peptide_to_smiles(pep)
        assert smiles_to_peptide(smiles) == pep
        randomised = Chem.MolToSmiles(Chem.MolFromSmiles(smiles), doRandom=True)
        assert smiles_to_peptide(randomised) == pep


def test_cyclic_rotations_are_one_design():
    a, b = parse_peptide("cyclo(GLWK)"), parse_peptide("cyclo(WKGL)")
    assert a == b and str(a) == "cyclo(GLWK)"
    assert peptide_to_smiles(a) == peptide_to_smiles(b)
    assert peptide_to_smiles(a) != peptide_to_smiles(parse_peptide("GLWK"))


def test_caps_change_the_structure_and_parse_back():
    for text in ["Ac-GLWK", "GLWK-NH2", "Ac-GLWK-NH2", "GLWK"]:
        assert str(smiles_to_peptide(peptide_to_smiles(parse_peptide(text)))) == text


@pytest.mark.parametrize(
    "smiles, fragment",
    [
        ("C1CC", "cannot parse"),
        ("NCC(=O)NCC(=O)O.CCO", "disconnected"),
        ("NC(C)C(=O)NC(C)C(=O)O", "except for stereochemistry"),
        ("NCC(=O)NCC=O", "aldehyde"),
        ("CCO", "not a known monomer"),
        ("NCC(=O)NCC(=O)NCCCC[C@H](NC(=O)CN)C(=O)O", "branched"),
    ],
)
def test_bad_smiles_get_a_clear_error(smiles, fragment):
    with pytest.raises(InvalidDesignError, match=fragment):
        smiles_to_peptide(smiles)
    assert not is_peptide_smiles(smiles)


def test_strict_check_rejects_what_the_amide_filter_accepts():
    n_methylacetamide = "CC(=O)NC"
    assert has_amide_bond(n_methylacetamide)
    assert not is_peptide_smiles(n_methylacetamide)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("GL[Onr]K", "Did you mean"),
        ("GLwK", "cannot read a residue"),
        ("GL[A]K", "without brackets"),
        ("cyclo(GLK", "does not end"),
        ("GLK-COOH", "C-terminal cap"),
        ("", "empty"),
    ],
)
def test_bad_notation_gets_a_clear_error(text, fragment):
    with pytest.raises(InvalidDesignError, match=fragment):
        parse_peptide(text)


def test_cyclic_with_caps_is_rejected():
    with pytest.raises(InvalidDesignError, match="no termini"):
        Peptide(("G", "L"), n_cap="Ac", cyclic=True)


def test_monomer_sets_expand_and_reject_duplicates():
    assert resolve_monomer_set("canonical") == CANONICAL_CODES
    assert set(resolve_monomer_set(["canonical", "d"])) >= {"dA", "A"}
    with pytest.raises(Exception, match="twice"):
        resolve_monomer_set(["A", "canonical"])


def test_notation_round_trips_including_histidine_next_to_the_h_cap():
    rng = np.random.default_rng(5)
    codes = list(MONOMERS)
    for _ in range(200):
        pep = _random_peptide(rng, codes)
        assert parse_peptide(str(pep)) == pep
    assert parse_peptide("H-NH2") == Peptide(("H",), c_cap="NH2")
    assert parse_peptide("H-GLK-OH") == Peptide(("G", "L", "K"))
