"""Residue-level and SMILES-level peptide design spaces."""

import numpy as np
import pytest

pytest.importorskip("rdkit")

from gendesign.core.errors import ConfigError, InvalidDesignError  # noqa: E402
from gendesign.plugins.peptides.smiles import peptide_to_smiles, smiles_to_peptide  # noqa: E402
from gendesign.plugins.peptides.space import PeptideSmilesSpace, PeptideSpace, tokenize_smiles  # noqa: E402


def test_validate_returns_canonical_notation_and_checks_the_space_rules():
    space = PeptideSpace(monomers=["canonical", "dK", "Orn"], min_length=3, max_length=6, n_caps=["H", "Ac"], c_caps=["OH"])
    assert space.validate("Ac-GL[dK]") == "Ac-GL[dK]"
    assert space.validate(["G", "L", "Orn"]) == "GL[Orn]"
    assert space.validate([0, 1, 2]) == "ACD"
    with pytest.raises(InvalidDesignError, match="outside this space's set"):
        space.validate("GL[dA]")
    with pytest.raises(InvalidDesignError, match="has 2 residues"):
        space.validate("GL")
    with pytest.raises(InvalidDesignError, match="caps"):
        space.validate("GLK-NH2")
    with pytest.raises(InvalidDesignError, match="cyclisation='none'"):
        space.validate("cyclo(GLK)")


def test_always_cyclic_space_applies_the_ring_to_token_ids():
    space = PeptideSpace(min_length=3, max_length=5, cyclisation="always")
    assert space.validate(["K", "G", "L"]) == "cyclo(GLK)"
    assert space.decode(space.encode(["cyclo(KGL)"])) == ["cyclo(GLK)"]
    with pytest.raises(InvalidDesignError, match="linear"):
        space.validate("KGL")


def test_bad_options_name_the_value():
    with pytest.raises(ConfigError, match="'Bz'"):
        PeptideSpace(n_caps=["Bz"])
    with pytest.raises(ConfigError, match="cyclisation"):
        PeptideSpace(cyclisation="sometimes")
    with pytest.raises(InvalidDesignError, match="Did you mean"):
        PeptideSpace(monomers=["Ornn"])


def test_encode_decode_round_trip_and_pad_ends_a_chain():
    space = PeptideSpace(monomers="all", min_length=2, max_length=8)
    designs = ["GL[dK][Orn]", "[Sar]WW", "KKLL[meA]"]
    ids = space.encode(designs)
    assert ids.shape == (3, 5)
    assert space.decode(ids) == designs
    assert ids[1, 3].item() == space.pad_id


def test_operators_stay_in_the_space_and_change_the_design():
    space = PeptideSpace(
        monomers=["canonical", "d"], min_length=4, max_length=10, n_caps=["H", "Ac"], c_caps=["OH", "NH2"], cyclisation="optional"
    )
    rng = np.random.default_rng(0)
    parents = space.sample(30, rng)
    changed = 0
    for a, b in zip(parents, parents[1:]):
        m = space.mutate(a, rng)
        assert space.validate(m) == m
        changed += m != a
        c = space.crossover(a, b, rng)
        assert space.validate(c) == c
    assert changed >= 25
    assert any(p.startswith("cyclo(") for p in parents) and any(p.startswith("Ac-") for p in parents)


def test_describe_gives_the_exact_smiles():
    space = PeptideSpace(monomers="all", min_length=1)
    info = space.describe("GL[dK]")
    assert info["smiles"] == peptide_to_smiles(smiles_to_peptide(info["smiles"]))
    assert str(smiles_to_peptide(info["smiles"])) == "GL[dK]" and info["length"] == 3


def test_smiles_space_canonicalises_and_round_trips_tokens():
    from rdkit import Chem

    space = PeptideSmilesSpace(monomers="all", min_length=2, max_length=12)
    rng = np.random.default_rng(1)
    designs = space.sample(10, rng)
    for d in designs:
        shuffled = Chem.MolToSmiles(Chem.MolFromSmiles(d), doRandom=True)
        assert space.validate(shuffled) == d
        assert space.describe(d)["sequence"] == str(smiles_to_peptide(d))
    assert space.decode(space.encode(designs)) == designs
    mutant = space.mutate(designs[0], rng)
    assert space.validate(mutant) == mutant != designs[0]


def test_smiles_space_rejects_non_peptides_and_foreign_monomers():
    space = PeptideSmilesSpace(monomers="canonical", min_length=1, max_length=10)
    with pytest.raises(InvalidDesignError, match="outside this space's set"):
        space.validate(peptide_to_smiles(smiles_to_peptide("N[C@H](C)C(=O)O")))
    with pytest.raises(InvalidDesignError):
        space.validate("CC(=O)NC")


def test_smiles_tokeniser_rejoins_exactly():
    s = "CC(C)C[C@H](NC(=O)[C@@H]1CCCN1)C(=O)N%99"
    assert "".join(tokenize_smiles(s)) == s
    assert "[C@H]" in tokenize_smiles(s) and "%99" in tokenize_smiles(s)


def test_checked_designs_are_memoised_per_space_and_failures_never_are():
    loose = PeptideSpace(monomers="canonical", min_length=3, max_length=10)
    strict = PeptideSpace(monomers="canonical", min_length=5, max_length=10)
    assert loose.validate("GLWK") == "GLWK"
    assert loose.validate("GLWK") == "GLWK"
    with pytest.raises(InvalidDesignError, match="4 residues"):
        strict.validate("GLWK")
    with pytest.raises(InvalidDesignError, match="4 residues"):
        strict.validate("GLWK")


def test_decoded_designs_parse_back_to_the_decoded_peptides():
    import torch

    from gendesign.plugins.peptides.notation import _parse, parse_peptide

    for cyclisation in ("always", "none"):
        space = PeptideSpace(monomers="all", min_length=2, max_length=8, cyclisation=cyclisation, c_caps=["NH2"])
        ids = torch.from_numpy(np.random.default_rng(0).integers(0, space.vocab_size, size=(16, 8)))
        for text in space.decode(ids):
            assert parse_peptide(text) == _parse(text)
            assert parse_peptide(text).notation == text
