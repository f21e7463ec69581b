"""SequenceSpace: parsing, keys, storage and variation operators."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.core.sequence_space import SequenceSpace
from gendesign.testing.spaces import DesignSpaceConformance


class TestFixedLengthConformance(DesignSpaceConformance):
    def make_space(self) -> SequenceSpace:
        return SequenceSpace("ACDEFGHIKLMNPQRSTVWY", length=12)

    def make_invalid_designs(self) -> list[object]:
        return ["ACDE", "ACDEFGHIKLMNP", "ACDEFGHIKLMZ", [0, 1, 2], 42, [0] * 11 + [20]]


class TestVariableLengthConformance(DesignSpaceConformance):
    def make_space(self) -> SequenceSpace:
        return SequenceSpace("ACGT", min_length=3, max_length=9)

    def make_invalid_designs(self) -> list[object]:
        return ["AC", "ACGTACGTAC", "ACGU"]


class TestMultiCharConformance(DesignSpaceConformance):
    def make_space(self) -> SequenceSpace:
        return SequenceSpace(["A", "dA", "Orn", "K"], min_length=2, max_length=6, separator="-")

    def make_invalid_designs(self) -> list[object]:
        return ["A-X", ("A",), "A-dA-Orn-K-A-dA-K"]


def test_accepts_strings_token_lists_ids_arrays_and_tensors() -> None:
    space = SequenceSpace("ACDE", length=4)
    forms = ["CADE", ["C", "A", "D", "E"], [1, 0, 2, 3], np.array([1, 0, 2, 3]), torch.tensor([1, 0, 2, 3])]
    assert {space.validate(f) for f in forms} == {"CADE"}
    assert {space.key(f) for f in forms} == {"CADE"}
    assert space.ids("CADE") == [1, 0, 2, 3]


def test_rejections_name_the_problem() -> None:
    space = SequenceSpace("ACDE", length=4)
    with pytest.raises(InvalidDesignError, match="unknown token 'X' at position 2"):
        space.validate("ACXE")
    with pytest.raises(InvalidDesignError, match="length 3; this space needs exactly 4"):
        space.validate("ACD")
    with pytest.raises(InvalidDesignError, match="token id 7 at position 1 is outside 0..3"):
        space.validate([0, 7, 1, 2])
    with pytest.raises(InvalidDesignError, match="1-D integer"):
        space.validate(torch.zeros(4))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alphabet": "", "length": 3}, "empty"),
        ({"alphabet": "AAB", "length": 3}, "duplicate"),
        ({"alphabet": "AB"}, "length=N or max_length"),
        ({"alphabet": "AB", "length": 3, "max_length": 4}, "not both"),
        ({"alphabet": "AB", "min_length": 5, "max_length": 4}, "min_length <= max_length"),
        ({"alphabet": "AB", "length": 3, "mutation_weights": (0.0, 1.0, 1.0)}, "substitution > 0"),
        ({"alphabet": ["a-b", "c"], "length": 3, "separator": "-"}, "separator"),
    ],
)
def test_bad_configuration(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        SequenceSpace(**kwargs)


def test_multichar_tokens_greedy_split_and_keys() -> None:
    space = SequenceSpace(["A", "dA", "Orn"], min_length=1, max_length=5)
    assert space.validate("dAOrnA") == ("dA", "Orn", "A")
    assert space.key(("dA", "A")) != space.key(("dA", "A", "A"))
    assert space.from_json(space.to_json(("Orn", "dA"))) == ("Orn", "dA")
    with pytest.raises(InvalidDesignError, match="cannot split"):
        space.validate("dX")


def test_encode_decode_round_trip_with_padding() -> None:
    space = SequenceSpace("ACGT", min_length=1, max_length=5)
    designs = ["ACG", "T", "GGTTA"]
    ids = space.encode(designs)
    assert ids.shape == (3, 5) and ids.dtype == torch.long
    assert ids[1].tolist() == [3, space.pad_id, space.pad_id, space.pad_id, space.pad_id]
    assert space.decode(ids) == designs
    with pytest.raises(InvalidDesignError, match="more than the width"):
        space.encode(designs, length=4)


def test_point_mutation_is_one_substitution_to_a_different_token() -> None:
    space = SequenceSpace("ACDE", length=6)
    rng = np.random.default_rng(0)
    for design in space.sample(200, rng):
        child = space.mutate(design, rng)
        assert sum(a != b for a, b in zip(design, child)) == 1


def test_substitutions_cover_every_single_site_neighbour() -> None:
    space = SequenceSpace("ABC", length=2)
    rng = np.random.default_rng(1)
    reached = {space.mutate("AB", rng) for _ in range(500)}
    assert reached == {"BB", "CB", "AA", "AC"}


def test_variable_length_mutations_respect_bounds_and_use_all_operators() -> None:
    space = SequenceSpace("AC", min_length=2, max_length=4, mutation_weights=(1.0, 1.0, 1.0))
    rng = np.random.default_rng(2)
    lengths = set()
    for _ in range(300):
        child = space.mutate("ACA", rng)
        assert 2 <= len(child) <= 4
        lengths.add(len(child))
    assert lengths == {2, 3, 4}
    assert all(len(space.mutate("ACAC", rng)) in (3, 4) for _ in range(50))
    assert all(len(space.mutate("AC", rng)) in (2, 3) for _ in range(50))


def test_two_point_crossover_takes_one_segment_from_the_second_parent() -> None:
    space = SequenceSpace("AB", length=8)
    rng = np.random.default_rng(3)
    children = {space.crossover("AAAAAAAA", "BBBBBBBB", rng) for _ in range(400)}
    for child in children:
        runs = [k for k, _ in itertools.groupby(child)]
        assert runs in (["A"], ["B"], ["A", "B"], ["B", "A"], ["A", "B", "A"])
    assert "AABBBAAA" in children and "AAAAAAAA" in children


def test_variable_length_crossover_stays_in_bounds() -> None:
    space = SequenceSpace("ACGT", min_length=3, max_length=6)
    rng = np.random.default_rng(4)
    for _ in range(200):
        child = space.crossover("ACGTAC", "GGG", rng)
        assert 3 <= len(child) <= 6


def test_sampling_is_uniform_over_tokens_and_lengths() -> None:
    space = SequenceSpace("ACGT", min_length=2, max_length=3)
    samples = space.sample(4000, np.random.default_rng(5))
    counts = np.bincount([space.index[c] for s in samples for c in s], minlength=4)
    assert np.all(np.abs(counts / counts.sum() - 0.25) < 0.02)
    share_len3 = np.mean([len(s) == 3 for s in samples])
    assert abs(share_len3 - 0.5) < 0.03


def test_tiny_space_sampling_reaches_every_design() -> None:
    space = SequenceSpace("AB", length=3)
    assert {space.key(d) for d in space.sample(200, np.random.default_rng(6))} == {
        "".join(p) for p in itertools.product("AB", repeat=3)
    }


def test_registered_as_sequence_and_built_from_options() -> None:
    from gendesign.core.plugins import PluginSystem

    system = PluginSystem(entry_points=False)
    space = system.spaces.build("sequence", {"alphabet": "ACGT", "length": 5})
    assert isinstance(space, SequenceSpace) and space.fixed_length and space.vocab_size == 4
    assert system.spaces.get("sequence").plugin == "gendesign.plugins.core_parts"
