"""The diversity filter: exact bucket penalties, idempotent memory, bounds, the config path and the memory-key hook."""

from __future__ import annotations

import math
import textwrap

import pytest
import torch

from gendesign.api.parts import build_parts
from gendesign.core.campaign import Campaign
from gendesign.core.config import load_config
from gendesign.core.errors import ConfigError
from gendesign.core.objective import FunctionObjective, ObjectiveSpec, Scores
from gendesign.core.plugins import PluginSystem
from gendesign.core.sequence_space import SequenceSpace
from gendesign.search.diversity import DiversityFilter, DiversityFiltered, bucket_multiplier
from gendesign.search.evolution import Evolution
from gendesign.search.random import RandomSearch
from gendesign.testing.strategies import SearchStrategyConformance

torch.set_num_threads(1)

SPACE = SequenceSpace("01", length=4)


def prefix_key(designs):
    """Bucket = the first two letters."""
    return [d[:2] for d in designs]


def _scores(values, specs, valid=None):
    v = torch.tensor(values, dtype=torch.float64).reshape(len(values), len(specs))
    ok = torch.ones(len(values), dtype=torch.bool) if valid is None else torch.tensor(valid)
    return Scores(values=v, valid=ok, specs=tuple(specs))


DESIRABILITY = (ObjectiveSpec("f", "max", bounds=(0.0, 1.0)),)
BUCKET = ["0000", "0001", "0010", "0011"]


@pytest.mark.parametrize(
    ("penalty", "expected"),
    [("binary", [0.8, 0.8, 0.0, 0.0]), ("linear", [0.8, 0.8, 0.4, 0.0]), ("exponential", [0.8, 0.8, 0.4, 0.2])],
)
def test_bucket_penalty_after_n_hits_is_exact(penalty, expected):
    filt = DiversityFilter(prefix_key, SPACE, DESIRABILITY, bucket_size=2, penalty=penalty)
    out = filt.apply(BUCKET, _scores([[0.8]] * 4, DESIRABILITY))
    assert out.values[:, 0].tolist() == pytest.approx(expected)
    # Another bucket starts empty; the first bucket's memory holds each design once.
    other = filt.apply(["1000", "0010"], _scores([[0.6], [0.8]], DESIRABILITY))
    assert other.values[:, 0].tolist() == pytest.approx([0.6, expected[2]]), "a design told again keeps its place"
    assert filt.buckets == {"00": BUCKET, "10": ["1000"]}
    assert filt.stats() == {"buckets": 2, "remembered": 5, "full_buckets": 1, "penalised": 3}


def test_bucket_multiplier_closed_form():
    assert [bucket_multiplier(h, 3, "linear") for h in range(6)] == pytest.approx([1, 1, 1, 2 / 3, 1 / 3, 0])
    assert [bucket_multiplier(h, 1, "exponential") for h in range(3)] == [1.0, 0.5, 0.25]


def test_min_score_and_infeasible_designs_stay_out_of_the_memory():
    filt = DiversityFilter(prefix_key, SPACE, DESIRABILITY, bucket_size=1, min_score=0.5)
    out = filt.apply(BUCKET, _scores([[0.2], [0.9], [math.nan], [0.9]], DESIRABILITY, valid=[True, True, False, True]))
    assert out.values[:, 0].tolist()[:2] == pytest.approx([0.2, 0.9]) and math.isnan(out.values[2, 0])
    assert out.values[3, 0].item() == 0.0 and filt.buckets == {"00": ["0001", "0011"]}


def test_penalty_moves_a_minimised_column_towards_its_worst_bound_and_keeps_constraints():
    specs = (ObjectiveSpec("cost", "min", bounds=(-1.0, 3.0)), ObjectiveSpec("c", "max", kind="constraint", threshold=0.0))
    filt = DiversityFilter(prefix_key, SPACE, specs, bucket_size=2, penalty="linear")  # place 2: e = 1, m = 0.5
    out = filt.apply(BUCKET[:3], _scores([[1.0, 5.0]] * 3, specs))
    # canonical: lo = -3, y = -1 -> -3 + 0.5 * 2 = -2 -> natural 2
    assert out.values.tolist() == [[1.0, 5.0], [1.0, 5.0], [2.0, 5.0]]


def test_unbounded_columns_binary_invalidates_and_smooth_penalties_are_refused():
    specs = (ObjectiveSpec("f", "max"),)
    filt = DiversityFilter(prefix_key, SPACE, specs, bucket_size=1)
    out = filt.apply(BUCKET[:2], _scores([[5.0], [7.0]], specs))
    assert out.valid.tolist() == [True, False] and "bucket already holds 1" in out.errors[1]
    with pytest.raises(ConfigError, match=r"penalty = 'linear'.*\['f'\] have no bounds"):
        DiversityFilter(prefix_key, SPACE, specs, penalty="linear")
    with pytest.raises(ConfigError, match=r"column = 'g' is not a column.*\['f'\]"):
        DiversityFilter(prefix_key, SPACE, specs, column="g")


class _Recorder(RandomSearch):
    told: list[list[float]]

    def tell(self, designs, scores):
        self.told = getattr(self, "told", []) + scores.values[:, 0].tolist()
        super().tell(designs, scores)


def test_wrapped_strategy_is_told_penalised_scores_and_state_round_trips():
    inner = _Recorder(SPACE, DESIRABILITY, seed=0)
    wrapped = DiversityFiltered(inner, DiversityFilter(prefix_key, SPACE, DESIRABILITY, bucket_size=1))
    wrapped.tell(BUCKET[:2], _scores([[0.5], [0.7]], DESIRABILITY))
    assert inner.told == [0.5, 0.0]
    state = wrapped.state_dict()
    fresh = DiversityFiltered(_Recorder(SPACE, DESIRABILITY, seed=0), DiversityFilter(prefix_key, SPACE, DESIRABILITY, bucket_size=1))
    fresh.load_state_dict(state)
    assert fresh.diversity.buckets == {"00": ["0000", "0001"]}


PLUGIN = '''
from gendesign.core.hookspecs import hookimpl

def prefix(space, length: int = 2):
    """First letters as the bucket."""
    return lambda designs: [d[:length] for d in designs]

@hookimpl
def register_memory_keys(register):
    register("prefix", prefix)
'''


def test_hook_register_memory_keys(tmp_path, monkeypatch):
    (tmp_path / "memkey_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    system = PluginSystem(entry_points=False, builtins=("gendesign.plugins.core_parts", "memkey_plugin"))
    assert system.memory_keys.get("prefix").plugin == "memkey_plugin" and "identical" in system.memory_keys
    system.objectives.register("ones", lambda: FunctionObjective(lambda xs: [x.count("1") / 4 for x in xs], specs=DESIRABILITY), plugin="t")
    text = """
    [campaign]
    budget = 16
    batch_size = 8
    progress = false
    [space]
    name = "sequence"
    options = { alphabet = "01", length = 4 }
    [[objectives]]
    name = "ones"
    [diversity]
    key = "prefix"
    bucket_size = 1
    options = { length = 1 }
    [strategy]
    name = "random"
    """
    (tmp_path / "c.toml").write_text(textwrap.dedent(text))
    parts = build_parts(load_config(tmp_path / "c.toml"), plugins=system)
    assert isinstance(parts.strategy, DiversityFiltered)
    campaign = Campaign(parts.objective, parts.space, parts.strategy, budget=16, batch_size=8, progress=False)
    result = campaign.run()
    assert len(result.history) == 16
    # Two buckets ("0", "1") of size 1: every design enters, all but the first of each bucket are penalised.
    stats = parts.strategy.diversity.stats()
    assert (stats["buckets"], stats["full_buckets"], stats["remembered"]) == (2, 2, 16)
    assert stats["penalised"] >= 14
    (tmp_path / "c.toml").write_text(textwrap.dedent(text).replace('key = "prefix"', 'key = "scaffolds"'))
    with pytest.raises(ConfigError, match=r"\[diversity\].*'scaffolds'.*identical"):
        build_parts(load_config(tmp_path / "c.toml"), plugins=system)


def test_memory_survives_a_resume(tmp_path):
    objective = FunctionObjective(lambda xs: [x.count("1") / 4 for x in xs], specs=DESIRABILITY)

    def campaign(budget):
        strategy = DiversityFiltered(RandomSearch(SPACE, DESIRABILITY, seed=3), DiversityFilter(prefix_key, SPACE, DESIRABILITY, bucket_size=1))
        return Campaign(objective, SPACE, strategy, budget=budget, batch_size=4, run_dir=tmp_path / "run", progress=False, plots=False), strategy

    first, strategy = campaign(8)
    first.run()
    before = {k: list(v) for k, v in strategy.diversity.buckets.items()}
    first.close()
    assert sum(len(v) for v in before.values()) == 8
    second, resumed = campaign(12)
    second.run()
    second.close()
    # The first run's designs are not told again on resume: only the checkpointed memory holds them.
    assert all(resumed.diversity.buckets[b][: len(keys)] == keys for b, keys in before.items())
    assert sum(len(v) for v in resumed.diversity.buckets.values()) == 12


class TestDiversityFilteredEvolution(SearchStrategyConformance):
    """The wrapper keeps the ask/tell contract, including an exact state round trip with the memory."""

    def make_space(self):
        return SequenceSpace("ACDE", length=5)

    def make_objective(self, space):
        return FunctionObjective(lambda xs: [x.count("A") / 5 if "EE" not in x else float("nan") for x in xs], specs=DESIRABILITY)

    def make_strategy(self, space, specs, seed):
        inner = Evolution(space, specs, seed=seed, options=Evolution.Options(population_size=6))
        return DiversityFiltered(inner, DiversityFilter(lambda ds: [d[:1] for d in ds], space, specs, bucket_size=2, penalty="linear"))
