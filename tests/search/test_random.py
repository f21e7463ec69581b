"""RandomSearch: conformance, de-duplication, exhaustion, seeds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gendesign.core.box_space import BoxSpace
from gendesign.core.errors import ConfigError
from gendesign.core.objective import FunctionObjective, Scores
from gendesign.core.plugins import PluginSystem
from gendesign.core.sequence_space import SequenceSpace
from gendesign.search.random import RandomSearch
from gendesign.testing.strategies import SearchStrategyConformance


class TestRandomOnSequences(SearchStrategyConformance):
    def make_space(self) -> SequenceSpace:
        return SequenceSpace("ACDEFG", length=6)

    def make_objective(self, space):
        return FunctionObjective(lambda xs: [x.count("A") if "GG" not in x else float("nan") for x in xs])

    def make_strategy(self, space, specs, seed):
        return RandomSearch(space, specs, seed=seed)


class TestRandomOnBox(SearchStrategyConformance):
    def make_space(self) -> BoxSpace:
        return BoxSpace([[0, 1], [0, 1]])

    def make_objective(self, space):
        return FunctionObjective(lambda xs: [[x[0], -x[1]] for x in xs], names=["a", "b"])

    def make_strategy(self, space, specs, seed):
        return RandomSearch(space, specs, seed=seed)


def test_tiny_space_is_enumerated_exactly_once_then_exhausted() -> None:
    space = SequenceSpace("AB", length=3)
    objective = FunctionObjective(lambda xs: [0.0] * len(xs))
    strategy = RandomSearch(space, objective.specs, seed=0, options=RandomSearch.Options(max_tries=50))
    seen: list[str] = []
    for _ in range(10):
        batch = strategy.ask(3)
        if not batch:
            break
        seen.extend(space.key(d) for d in batch)
        strategy.tell(batch, objective(batch))
    assert sorted(seen) == sorted("".join(p) for p in itertools.product("AB", repeat=3))
    assert strategy.ask(3) == []


def test_initial_designs_come_first_and_told_designs_are_skipped() -> None:
    space = SequenceSpace("AB", length=2)
    objective = FunctionObjective(lambda xs: [0.0] * len(xs))
    strategy = RandomSearch(
        space, objective.specs, seed=1, options=RandomSearch.Options(initial_designs=["BA", [0, 0]], max_tries=50)
    )
    strategy.tell(["AB"], objective(["AB"]))
    first = strategy.ask(2)
    assert first == ["BA", "AA"]
    assert strategy.ask(5) == ["BB"]


def test_samples_are_uniform() -> None:
    space = SequenceSpace("ABCD", length=1)
    objective = FunctionObjective(lambda xs: [0.0] * len(xs))
    counts = np.zeros(4)
    for seed in range(200):
        strategy = RandomSearch(space, objective.specs, seed=seed)
        counts[space.index[strategy.ask(1)[0]]] += 1
    assert np.all(np.abs(counts / 200 - 0.25) < 0.1)


def test_registered_and_options_validated() -> None:
    system = PluginSystem(entry_points=False)
    space = SequenceSpace("AB", length=4)
    specs = FunctionObjective(lambda xs: [0.0] * len(xs)).specs
    built = system.strategies.build("random", {"max_tries": 3}, space=space, specs=specs, seed=0, device="cpu")
    assert isinstance(built, RandomSearch) and built.options.max_tries == 3
    with pytest.raises(ConfigError, match="max_trys"):
        system.strategies.build("random", {"max_trys": 3}, space=space, specs=specs, seed=0, device="cpu")
    scores = Scores.failed(1, specs, "x")
    built.tell(["ABAB"], scores)
    assert "ABAB" not in [space.key(d) for d in built.ask(15)]
