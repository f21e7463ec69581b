"""The ``gflownet`` campaign strategy: ask/tell, checkpoint round trip, learning signal, campaign integration."""

import io

import numpy as np
import pytest
import torch

import gendesign
from gendesign.core.box_space import BoxSpace
from gendesign.core.errors import ConfigError
from gendesign.core.objective import FunctionObjective, ObjectiveSpec
from gendesign.core.sequence_space import SequenceSpace
from gendesign.objectives.hypergrid import HyperGrid, HyperGridMO
from gendesign.search.gflownet import GFlowNetStrategy, GFlowNetStrategyOptions

SMALL = dict(hidden=32, layers=2, train_batch_size=32, train_steps=3)


def _strategy(space, specs, seed=0, **kw):
    return GFlowNetStrategy(space, specs, seed=seed, options=GFlowNetStrategyOptions(**{**SMALL, **kw}))


def _round(strategy, objective, n):
    designs = strategy.ask(n)
    strategy.tell(designs, objective(designs))
    return designs


def test_state_dict_round_trip_resumes_identically():
    objective = HyperGridMO(("branin", "currin"), height=8)
    a = _strategy(objective.default_space(), objective.specs, learned_backward=True, kl_weight=0.1, augment_top_k=2)
    for _ in range(2):
        _round(a, objective, 16)
    buffer = io.BytesIO()
    torch.save(a.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    b = _strategy(objective.default_space(), objective.specs, seed=123, learned_backward=True, kl_weight=0.1, augment_top_k=2)
    b.load_state_dict(state)
    da, db = _round(a, objective, 16), _round(b, objective, 16)
    assert da == db
    for pa, pb in zip(a.trainer.policy.parameters(), b.trainer.policy.parameters()):
        assert torch.equal(pa, pb)
    assert a.seen == b.seen and len(a.seen) > 32


def test_ask_never_repeats_told_designs():
    objective = HyperGrid(ndim=2, height=4)
    s = _strategy(objective.default_space(), objective.specs)
    told = set()
    for _ in range(4):
        designs = _round(s, objective, 4)
        keys = {objective.space.key(d) for d in designs}
        assert len(keys) == len(designs)
        assert not keys & told
        told |= keys
    assert len(told) <= 16


def test_sequence_strategy_learns_to_propose_better_designs():
    space = SequenceSpace("AB", min_length=1, max_length=8)
    objective = FunctionObjective(lambda xs: [x.count("A") for x in xs], names="a_count")
    s = _strategy(space, objective.specs, reward="order_preserving", lr=3e-3, train_steps=6, replay_fraction=0.5, ask_epsilon=0.0)
    first = objective(s.ask(32)).values.mean().item()
    s.pending = {}
    for _ in range(12):
        _round(s, objective, 32)
    s.seen.clear()
    later = objective(s.ask(64)).values.mean().item()
    assert later > first + 1.5


def test_constraint_columns_never_enter_the_reward():
    space = SequenceSpace("AB", length=3)
    specs = (ObjectiveSpec("f"), ObjectiveSpec("c", "max", kind="constraint", threshold=0.0))
    s = _strategy(space, specs, reward="power")
    assert s.objective_columns == [0]
    designs = s.ask(4)
    values = torch.tensor([[0.5, 1.0], [0.7, -1.0], [0.2, 1.0], [0.9, 1.0]])[: len(designs)]
    scores = gendesign.Scores(values=values, valid=torch.ones(len(designs), dtype=torch.bool), specs=specs)
    s.tell(designs, scores)
    buf = s.trainer.replay
    row = buf.states.tolist().index(s.env.from_designs([designs[1]])[0].tolist())
    assert not bool(buf.valid[row])
    with pytest.raises(ConfigError, match="objective column"):
        _strategy(space, specs[1:])


def test_unsupported_space_names_the_missing_token_space_members():
    with pytest.raises(ConfigError, match="TokenSpace.*lacks decode, encode, max_length, min_length, pad_id, vocab_size"):
        _strategy(BoxSpace([(0.0, 1.0)]), (ObjectiveSpec("f"),))


def test_optimize_runs_gflownet_on_a_multiobjective_grid(tmp_path):
    objective = HyperGridMO(("branin", "currin"), height=16)
    result = gendesign.optimize(
        objective,
        strategy="gflownet",
        budget=48,
        batch_size=16,
        seed=0,
        run_dir=tmp_path / "run",
        progress=False,
        plots=False,
        **SMALL,
    )
    assert len(result.history) == 48
    assert len({objective.space.key(r.design) for r in result.history}) == 48
    assert len(result.pareto) >= 1


def test_initial_random_designs_are_a_warm_start_trained_through_backward_trajectories():
    objective = HyperGrid(ndim=2, height=16)
    s = _strategy(objective.default_space(), objective.specs, initial_random=20)
    first = s.ask(16)
    assert len(first) == 16 and not s.pending
    s.tell(first, objective(first))
    second = s.ask(16)
    assert len(second) == 4 and not s.pending
    s.tell(second, objective(second))
    third = s.ask(16)
    assert len(third) == 16 and len(s.pending) == 16
    assert len(s.trainer.replay) == 20


def test_initial_designs_come_first_and_survive_a_checkpoint():
    objective = HyperGrid(ndim=2, height=8)
    s = _strategy(objective.default_space(), objective.specs, initial_designs=[[7, 7], [0, 3], [5, 5]])
    assert s.ask(2) == [(7, 7), (0, 3)]
    other = _strategy(objective.default_space(), objective.specs)
    other.load_state_dict(s.state_dict())
    assert other.ask(2) == [(5, 5)]


@pytest.mark.parametrize("name", ["gflownet_hypergrid.toml", "gflownet_ehrlich.toml"])
def test_example_configs_build_a_gflownet_campaign(name):
    from pathlib import Path

    from gendesign.api import validate_config

    path = Path(__file__).resolve().parents[2] / "examples" / name
    lines = validate_config(str(path))
    assert any("GFlowNetStrategy" in line for line in lines)


def test_pair_feasibility_steers_proposals_away_from_blamed_pairs():
    space = SequenceSpace("ABC", length=4)
    forbidden = "AB"
    objective = FunctionObjective(lambda xs: [float("nan") if forbidden in x else x.count("C") for x in xs], names="c")
    s = _strategy(space, objective.specs, ask_epsilon=0.0, train_steps=1, lr=1e-9, lr_log_z=1e-9)
    for _ in range(6):
        _round(s, objective, 12)
    model = s.feasibility
    ab = space.index["A"] * 3 + space.index["B"]
    assert model.successes[ab] == 0 and model.failures[ab] > 0
    assert model.mean_failure()[ab] > 0.5
    state = s.state_dict()
    other = _strategy(space, objective.specs)
    other.load_state_dict(state)
    assert np.array_equal(other.feasibility.failures, model.failures)
    s.seen.clear()
    proposals = s.ask(60)
    assert sum(forbidden in p for p in proposals) / len(proposals) < 0.15
