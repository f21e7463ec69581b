"""Conformance tests every :class:`~gendesign.core.designs.DesignSpace` should pass.

Subclass :class:`DesignSpaceConformance` in a pytest test class and provide the space (and
optionally designs that must be rejected); pytest collects the ``test_*`` methods below::

    from gendesign.testing.spaces import DesignSpaceConformance

    class TestMySpace(DesignSpaceConformance):
        def make_space(self):
            return MySpace(...)

        def make_invalid_designs(self):
            return ["", "not a design"]

The checks: samples are valid and canonical, keys are stable and agree with equality of the
canonical form, ``to_json``/``from_json`` round-trip losslessly, variation operators return valid
designs, and every operator is reproducible from a seeded :class:`numpy.random.Generator`.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import InvalidDesignError

__all__ = ["DesignSpaceConformance"]


class DesignSpaceConformance:
    """Pytest mixin: the DesignSpace contract.

    Attributes:
        num_samples: designs drawn per test.
        seed: seed of the generators the tests use.
    """

    num_samples: int = 16
    seed: int = 0

    @abstractmethod
    def make_space(self) -> DesignSpace:
        """The space under test; called afresh by each test."""
        raise NotImplementedError(f"{type(self).__name__} must define make_space() returning the DesignSpace under test")

    def make_invalid_designs(self) -> Sequence[Any]:
        """Designs that :meth:`DesignSpace.validate` must reject; empty by default."""
        return []

    def _samples(self, space: DesignSpace, seed: int | None = None) -> list[Any]:
        return space.sample(self.num_samples, np.random.default_rng(self.seed if seed is None else seed))

    def test_sample_count_and_validity(self) -> None:
        space = self.make_space()
        designs = self._samples(space)
        assert len(designs) == self.num_samples, f"sample({self.num_samples}) returned {len(designs)} designs"
        for d in designs:
            assert space.is_valid(d), f"sampled design {d!r} is not valid in its own space"

    def test_validate_is_idempotent(self) -> None:
        space = self.make_space()
        for d in self._samples(space):
            canon = space.validate(d)
            assert space.validate(canon) == canon, f"validate is not idempotent on {d!r}"

    def test_key_is_deterministic_and_consistent(self) -> None:
        space = self.make_space()
        designs = self._samples(space)
        for d in designs:
            key = space.key(d)
            assert isinstance(key, str), f"key must be a str, got {type(key).__name__}"
            assert key == space.key(space.validate(d)) == self.make_space().key(d), f"key of {d!r} is unstable"
        for a in designs:
            for b in designs:
                same = space.validate(a) == space.validate(b)
                assert (space.key(a) == space.key(b)) == same, f"keys of {a!r} and {b!r} disagree with equality"

    def test_json_round_trip(self) -> None:
        space = self.make_space()
        for d in self._samples(space):
            text = space.to_json(d)
            assert isinstance(text, str)
            json.loads(text)
            back = space.from_json(text)
            assert space.key(back) == space.key(d), f"to_json/from_json changed {d!r} into {back!r}"
            assert space.to_json(back) == text, "to_json(from_json(text)) must reproduce text"

    def test_display_is_text(self) -> None:
        space = self.make_space()
        for d in self._samples(space):
            assert isinstance(space.display(d), str)
            assert isinstance(space.describe(d), dict)

    def test_invalid_designs_are_rejected(self) -> None:
        space = self.make_space()
        for d in self.make_invalid_designs():
            with pytest.raises(InvalidDesignError):
                space.validate(d)
            assert not space.is_valid(d)

    def test_mutate_returns_valid_designs(self) -> None:
        space = self.make_space()
        rng = np.random.default_rng(self.seed)
        designs = self._samples(space)
        for d in designs:
            assert space.is_valid(space.mutate(d, rng)), f"mutate({d!r}) left the space"
        many = space.mutate_many(designs, rng)
        assert len(many) == len(designs), "mutate_many must return one design per input"
        assert all(space.is_valid(m) for m in many)

    def test_mutation_moves(self) -> None:
        space = self.make_space()
        rng = np.random.default_rng(self.seed)
        designs = self._samples(space)
        changed = sum(space.key(space.mutate(d, rng)) != space.key(d) for d in designs)
        assert changed > 0, "mutate never changed any design"

    def test_crossover_returns_valid_designs(self) -> None:
        space = self.make_space()
        rng = np.random.default_rng(self.seed)
        designs = self._samples(space)
        for a, b in zip(designs, designs[1:] + designs[:1]):
            assert space.is_valid(space.crossover(a, b, rng)), f"crossover({a!r}, {b!r}) left the space"
        for a in designs:
            child = space.crossover(a, a, rng)
            assert space.is_valid(child)

    def test_operators_reproducible_from_seed(self) -> None:
        def run(seed: int) -> list[str]:
            space = self.make_space()
            rng = np.random.default_rng(seed)
            designs = space.sample(self.num_samples, rng)
            mutated = [space.mutate(d, rng) for d in designs]
            crossed = [space.crossover(a, b, rng) for a, b in zip(designs, mutated)]
            return [space.key(d) for d in designs + mutated + crossed]

        assert run(self.seed) == run(self.seed), "the same seed must give the same designs"

    def test_config_is_json(self) -> None:
        space = self.make_space()
        cfg = space.config()
        assert json.loads(json.dumps(cfg)) == cfg, "config() must be JSON-able"
