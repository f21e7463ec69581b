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
