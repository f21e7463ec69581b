"""Conformance tests every :class:`~gendesign.core.strategy.SearchStrategy` should pass.

Subclass :class:`SearchStrategyConformance` in a pytest test class and provide a strategy factory
and an objective; pytest collects the ``test_*`` methods below::

    from gendesign.testing.strategies import SearchStrategyConformance

    class TestMyStrategy(SearchStrategyConformance):
        def make_space(self):
            return SequenceSpace("ACDE", length=6)

        def make_objective(self, space):
            return FunctionObjective(lambda xs: [x.count("A") for x in xs])

        def make_strategy(self, space, specs, seed):
            return MyStrategy(space, specs, seed=seed)

The checks drive a small ask/tell loop: every asked design is valid in the space, ``ask`` never
repeats itself within a call, ``tell`` accepts invalid items (NaN values, ``valid=False``),
``state_dict`` survives ``torch.save``/``torch.load(weights_only=True)`` and a restored strategy
asks exactly what the original asks next, and equal seeds give equal runs.
"""

from __future__ import annotations

import io
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import pytest
import torch

from gendesign.core.designs import DesignSpace
from gendesign.core.objective import Objective, ObjectiveSpec, Scores
from gendesign.core.strategy import SearchStrategy

__all__ = ["SearchStrategyConformance"]


class SearchStrategyConformance:
    """Pytest mixin: the ask/tell contract.

    Attributes:
        batch_size: designs asked per round.
        rounds: rounds of the loop before the checks.
        seed: seed of the strategy under test.
        expect_no_repeats: the strategy promises never to propose a design twice in one run.
    """

    batch_size: int = 8
    rounds: int = 4
    seed: int = 0
    expect_no_repeats: bool = True

    @abstractmethod
    def make_space(self) -> DesignSpace:
        raise NotImplementedError(f"{type(self).__name__} must define make_space()")

    @abstractmethod
    def make_objective(self, space: DesignSpace) -> Objective:
        raise NotImplementedError(f"{type(self).__name__} must define make_objective(space)")

    @abstractmethod
    def make_strategy(self, space: DesignSpace, specs: Sequence[ObjectiveSpec], seed: int) -> SearchStrategy:
        raise NotImplementedError(f"{type(self).__name__} must define make_strategy(space, specs, seed)")

    def _setup(self, seed: int | None = None) -> tuple[DesignSpace, Objective, SearchStrategy]:
        space = self.make_space()
        objective = self.make_objective(space)
        return space, objective, self.make_strategy(space, objective.specs, self.seed if seed is None else seed)

    def _run(self, space: DesignSpace, objective: Objective, strategy: SearchStrategy, rounds: int) -> list[str]:
        keys: list[str] = []
        for _ in range(rounds):
            designs = strategy.ask(self.batch_size)
            if not designs:
                break
            keys.extend(space.key(d) for d in designs)
            strategy.tell(designs, objective(designs))
        return keys

    @staticmethod
    def _round_trip(state: dict[str, Any]) -> dict[str, Any]:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        buffer.seek(0)
        return torch.load(buffer, weights_only=True)

    def test_ask_returns_valid_distinct_designs(self) -> None:
        space, objective, strategy = self._setup()
        for _ in range(self.rounds):
            designs = strategy.ask(self.batch_size)
            assert 0 < len(designs) <= self.batch_size, f"ask({self.batch_size}) returned {len(designs)} designs"
            for d in designs:
                assert space.is_valid(d), f"ask returned {d!r}, which is not in the space"
            keys = [space.key(d) for d in designs]
            assert len(set(keys)) == len(keys), "one ask returned the same design twice"
            strategy.tell(designs, objective(designs))

    def test_tell_accepts_invalid_items(self) -> None:
        space, objective, strategy = self._setup()
        designs = strategy.ask(self.batch_size)
        failed = Scores.failed(len(designs), objective.specs, "infeasible in this test")
        strategy.tell(designs, failed)
        more = strategy.ask(self.batch_size)
        assert all(space.is_valid(d) for d in more)
        mixed = objective(more)
        if len(more) > 1:
            mixed.valid[0] = False
            mixed.values[0] = float("nan")
        strategy.tell(more, mixed)
        assert all(space.is_valid(d) for d in strategy.ask(self.batch_size))

    def test_state_dict_round_trip_gives_identical_next_asks(self) -> None:
        space, objective, strategy = self._setup()
        self._run(space, objective, strategy, self.rounds)
        state = self._round_trip(strategy.state_dict())
        restored = self.make_strategy(space, objective.specs, self.seed + 12345)
        restored.load_state_dict(state)
        for _ in range(2):
            a, b = strategy.ask(self.batch_size), restored.ask(self.batch_size)
            assert [space.key(d) for d in a] == [space.key(d) for d in b], "a restored strategy asked different designs"
            if not a:
                break
            scores = objective(a)
            strategy.tell(a, scores)
            restored.tell(b, scores)

    def test_no_repeats_across_rounds(self) -> None:
        if not self.expect_no_repeats:
            pytest.skip("expect_no_repeats = False: this strategy may propose a design again")
        space, objective, strategy = self._setup()
        keys = self._run(space, objective, strategy, self.rounds)
        assert len(set(keys)) == len(keys), "the strategy proposed an already evaluated design again"

    def test_same_seed_same_run(self) -> None:
        runs = []
        for _ in range(2):
            space, objective, strategy = self._setup(self.seed)
            runs.append(self._run(space, objective, strategy, self.rounds))
        assert runs[0] == runs[1], "two runs with the same seed differ"

    def test_different_seeds_differ(self) -> None:
        space, objective, a = self._setup(self.seed)
        _, _, b = self._setup(self.seed + 1)
        assert self._run(space, objective, a, self.rounds) != self._run(space, objective, b, self.rounds)
