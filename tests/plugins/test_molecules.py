"""SmilesSpace: RDKit canonical keys, validity errors, graph mutation and crossover that stay valid."""

import numpy as np
import pytest

pytest.importorskip("rdkit")

from gendesign.core.errors import InvalidDesignError  # noqa: E402
from gendesign.core.plugins import get_plugins  # noqa: E402
from gendesign.plugins.molecules import SmilesSpace, canonical_smiles, nci_smiles_path  # noqa: E402


@pytest.fixture(scope="module")
def space():
    return SmilesSpace()


def test_canonical_key_identifies_spellings(space):
    assert space.key("OCC") == space.key("C(O)C") == "CCO"
    assert space.key("c1ccccc1") == space.key("C1=CC=CC=C1")
    assert space.from_json(space.to_json("OCC")) == "CCO"
    assert canonical_smiles("C1CC") is None


def test_invalid_designs_name_the_problem(space):
    with pytest.raises(InvalidDesignError, match="cannot parse"):
        space.validate("C1CC")
    with pytest.raises(InvalidDesignError, match="disconnected"):
        space.validate("CC.O")
    assert SmilesSpace(allow_fragments=True).is_valid("CC.O")
    with pytest.raises(InvalidDesignError, match="heavy atoms"):
        SmilesSpace(max_heavy_atoms=3).validate("CCCCC")
    with pytest.raises(InvalidDesignError, match="non-empty SMILES"):
        space.validate(42)


def test_pool_is_the_packaged_nci_set(space):
    assert nci_smiles_path().name == "first_5K.smi"
    pool = space.pool()
    assert 4000 < len(pool) <= 5000 and len(set(pool)) == len(pool)
    rng = np.random.default_rng(0)
    assert space.sample(5, np.random.default_rng(0)) == space.sample(5, rng)


def test_mutation_and_crossover_return_valid_new_molecules(space):
    rng = np.random.default_rng(0)
    parents = space.sample(40, rng)
    children = [space.mutate(p, rng) for p in parents]
    assert all(space.is_valid(c) for c in children)
    assert sum(c != p for p, c in zip(parents, children)) >= 38
    kids = [space.crossover(parents[i], parents[i + 1], rng) for i in range(0, 40, 2)]
    assert all(space.is_valid(k) for k in kids)
    assert sum(k not in (parents[i * 2], parents[i * 2 + 1]) for i, k in enumerate(kids)) >= 15


def test_registered_as_smiles():
    assert get_plugins().spaces.get("smiles").factory is SmilesSpace
