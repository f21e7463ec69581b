"""Replay buffer with Pareto archive, augmentation, and the exact metrics."""

import math

import pytest
import torch

from gendesign.core.objective import ObjectiveSpec
from gendesign.core.pareto import pareto_mask
from gendesign.generators.gflownet import GFlowNetOptions, GFlowNetTrainer, HyperGridEnv
from gendesign.generators.gflownet.metrics import front_metrics, jensen_shannon, l1_distance, modes_found, pareto_front_cells
from gendesign.generators.gflownet.replay import ReplayBuffer
from gendesign.objectives.hypergrid import HyperGridMO


def _filled(fraction=0.1):
    g = torch.Generator().manual_seed(0)
    states = torch.randint(0, 50, (300, 2), generator=g)
    values = torch.rand(300, 2, generator=g).double()
    valid = torch.ones(300, dtype=torch.bool)
    valid[:10] = False
    buf = ReplayBuffer(2, 2, capacity=1000, pareto_fraction=fraction)
    buf.add(states, values, valid)
    return buf, states, values, valid


def test_buffer_deduplicates_and_archive_is_the_exact_front():
    buf, states, values, valid = _filled()
    keys = {tuple(r) for r in states.tolist()}
    assert len(buf) == len(keys)
    assert buf.add(states, values, valid) == 0
    ok = buf.valid
    front = buf.states[ok][pareto_mask(buf.values[ok])]
    assert {tuple(r) for r in front.tolist()} == set(buf.archive.keys)


def test_sample_mixes_the_configured_pareto_fraction():
    buf, *_ = _filled(fraction=0.25)
    members = set(buf.archive.keys)
    states, values, _ = buf.sample(400, torch.Generator().manual_seed(1))
    from_archive = sum(tuple(r) in members for r in states[:100].tolist())
    assert from_archive == 100
    share = sum(tuple(r) in members for r in states.tolist()) / 400
    assert 0.25 <= share < 0.25 + 0.1
    assert states.shape == (400, 2) and values.shape == (400, 2)


def test_top_orders_by_fronts():
    buf, *_ = _filled()
    top, vals = buf.top(len(buf.archive))
    assert {tuple(r) for r in top.tolist()} == set(buf.archive.keys)
    single = ReplayBuffer(1, 1)
    single.add(torch.tensor([[3], [1], [2]]), torch.tensor([[0.1], [0.9], [0.5]]), torch.tensor([True, True, True]))
    assert single.top(2)[0].flatten().tolist() == [1, 2]


def test_buffer_state_dict_round_trip():
    buf, *_ = _filled()
    state = buf.state_dict()
    other = ReplayBuffer(2, 2)
    other.load_state_dict(state)
    assert torch.equal(other.states, buf.states) and torch.equal(other.values, buf.values)
    assert other.archive.keys == buf.archive.keys
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(buf.sample(50, g1)[0], other.sample(50, g2)[0])


def test_capacity_keeps_the_newest():
    buf = ReplayBuffer(1, 1, capacity=3)
    buf.add(torch.arange(5).unsqueeze(1), torch.rand(5, 1), torch.ones(5, dtype=torch.bool))
    assert buf.states.flatten().tolist() == [2, 3, 4]


def test_augmentation_trains_on_backward_trajectories_of_top_states():
    env = HyperGridEnv(2, 4)
    trainer = GFlowNetTrainer(
        env,
        (ObjectiveSpec("u"),),
        GFlowNetOptions(reward="order_preserving", hidden=16, layers=1),
        torch.Generator().manual_seed(0),
    )
    states = env.all_terminal_states()
    trainer.replay.add(states, states.sum(1, keepdim=True).double(), torch.ones(16, dtype=torch.bool))
    assert trainer.augment(top_k=2, per_state=3, steps=2) == 12
    assert trainer.steps == 2


def test_metric_closed_forms():
    p = torch.tensor([0.5, 0.5, 0.0])
    q = torch.tensor([0.0, 0.5, 0.5])
    assert l1_distance(p, q) == pytest.approx(1.0)
    expected = 0.5 * (0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(1.0)) * 2
    assert jensen_shannon(p, q) == pytest.approx(expected)
    assert jensen_shannon(p, p) == pytest.approx(0.0)
    assert modes_found(torch.tensor([0, 0, 2, 1]), torch.tensor([True, False, True])) == (2, 0.75)


def test_branin_currin_front_has_36_cells_and_front_metrics():
    env = HyperGridEnv(2, 32)
    objective = HyperGridMO(("branin", "currin"), height=32)
    front = pareto_front_cells(objective.values(env.all_terminal_states()))
    assert int(front.sum()) == 36
    on = torch.nonzero(front).squeeze(1)
    samples = torch.cat([on[:10], torch.tensor([0, 0])])
    out = front_metrics(samples, front)
    assert out == {"front_fraction": pytest.approx(10 / 12), "front_cells_covered": 10, "front_cells": 36}
