"""Tokenizers: SMILES regex tokens, residue ids agreeing with SequenceSpace, config round trips."""

import pytest
import torch

from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.core.sequence_space import SequenceSpace
from gendesign.generators.tokenizers import ResidueTokenizer, SmilesTokenizer, tokenizer_from_config


def test_smiles_tokens_are_atom_level():
    tok = SmilesTokenizer.fit(["CC(=O)Cl"])
    assert SmilesTokenizer.pattern.findall("Brc1ccc([N+](=O)[O-])cc1C%12CC%12") == [
        "Br", "c", "1", "c", "c", "c", "(", "[N+]", "(", "=", "O", ")", "[O-]", ")", "c", "c", "1", "C", "%12", "C", "C", "%12",
    ]
    assert tok.tokenize("CC(=O)Cl") == ["C", "C", "(", "=", "O", ")", "Cl"]
    assert tok.tokens[0] == "C"  # most frequent first


def test_smiles_round_trip_and_errors():
    corpus = ["c1ccccc1O", "C[C@H](N)C(=O)O", "[Na+].[Cl-]", "C/C=C/Br"]
    tok = SmilesTokenizer.fit(corpus)
    ids = tok.encode(corpus)
    assert ids.shape == (4, max(len(tok.tokenize(s)) for s in corpus))
    assert tok.decode(ids) == corpus
    with pytest.raises(InvalidDesignError, match="offset 1"):
        tok.tokenize("C&C")
    with pytest.raises(InvalidDesignError, match="'I'"):
        tok.ids("CI")
    with pytest.raises(InvalidDesignError, match="mask id"):
        tok.decode(torch.tensor([[0, tok.mask_id]]))


def test_residue_tokenizer_matches_sequence_space_ids():
    space = SequenceSpace("ACDEFGHIKLMNPQRSTVWY", min_length=2, max_length=6)
    tok = ResidueTokenizer.from_space(space)
    designs = ["ACD", "WYKLM", "GG"]
    assert torch.equal(tok.encode(designs), space.encode(designs))
    assert tok.pad_id == space.pad_id and tok.mask_id == space.pad_id + 1
    assert tok.decode(tok.encode(designs)) == designs
    multi = SequenceSpace(["A", "dA", "Orn"], max_length=4, separator="-")
    mt = ResidueTokenizer.from_space(multi)
    assert mt.tokenize("dA-Orn-A") == ["dA", "Orn", "A"]
    assert mt.decode(mt.encode(["dA-Orn-A"])) == [("dA", "Orn", "A")]


def test_config_round_trip():
    for tok in (SmilesTokenizer.fit(["CCO", "c1ccccc1"]), ResidueTokenizer(["A", "dA"], "-")):
        again = tokenizer_from_config(tok.to_config())
        assert type(again) is type(tok) and again.tokens == tok.tokens and again.to_config() == tok.to_config()
    with pytest.raises(ConfigError, match="kind"):
        tokenizer_from_config({"kind": "bpe", "tokens": ["a"]})
    with pytest.raises(ConfigError, match="duplicate"):
        ResidueTokenizer(["A", "A"])


def test_selfies_round_trips_molecules_and_decodes_any_token_string_to_a_molecule():
    pytest.importorskip("selfies")
    from rdkit import Chem

    from gendesign.generators.tokenizers import SelfiesTokenizer

    corpus = ["c1ccccc1O", "C[C@H](N)C(=O)O", "CC(=O)Nc1ccc(O)cc1", "O=C1CCCN1", "FC(F)(F)c1ccncc1"]
    tok = SelfiesTokenizer.fit(corpus)
    assert all(t.startswith("[") and t.endswith("]") for t in tok.tokens)
    for s, back in zip(corpus, tok.decode(tok.encode(corpus))):
        assert Chem.MolToSmiles(Chem.MolFromSmiles(back)) == Chem.MolToSmiles(Chem.MolFromSmiles(s))
    g = torch.Generator().manual_seed(0)
    random_ids = torch.randint(0, tok.vocab_size, (200, 12), generator=g)
    for smiles in tok.decode(random_ids):
        assert Chem.MolFromSmiles(smiles) is not None
    again = tokenizer_from_config(tok.to_config())
    assert isinstance(again, SelfiesTokenizer) and again.tokens == tok.tokens
    with pytest.raises(InvalidDesignError, match="SELFIES"):
        tok.tokenize("C1CC")
    with pytest.raises(InvalidDesignError, match="string"):
        tok.tokenize(5)
