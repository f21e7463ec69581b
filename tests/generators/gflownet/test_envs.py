"""Environment contracts: masks, forward/backward consistency, enumeration, design round trips."""

import pytest
import torch

from gendesign.core.errors import InvalidDesignError
from gendesign.core.sequence_space import SequenceSpace
from gendesign.generators.gflownet import GFlowNetPolicy, HyperGridEnv, SequenceEnv
from gendesign.generators.gflownet.sampler import sample_backward, sample_forward
from gendesign.objectives.hypergrid import hypergrid_reward


def _policy(env, **kw):
    torch.manual_seed(0)
    return GFlowNetPolicy(env.feature_dim, env.n_actions, env.n_backward_actions, hidden=16, layers=1, **kw)


def _check_forward_backward(env, trajs):
    """Every recorded step is allowed, undone by its backward action, and the forward/backward action maps are inverse."""
    for t in range(trajs.horizon):
        live = t < trajs.lengths
        if not bool(live.any()):
            continue
        parent, child = trajs.states[t, live], trajs.states[t + 1, live]
        act, back = trajs.actions[t, live], trajs.backward_actions[t, live]
        assert bool(env.forward_mask(parent).gather(1, act[:, None]).all())
        assert bool(env.backward_mask(child).gather(1, back[:, None]).all())
        assert torch.equal(env.step(parent, act), child)
        assert torch.equal(env.backward_step(child, back), parent)
        assert torch.equal(env.backward_action_of(parent, act), back)
        assert torch.equal(env.forward_action_of(child, back), act)
    cols = torch.arange(len(trajs))
    assert bool((trajs.actions[trajs.lengths, cols] == env.exit_action).all())
    assert torch.equal(trajs.states[trajs.lengths, cols], trajs.terminals)
    assert bool(env.is_initial(trajs.states[0]).all())
    assert bool(env.forward_mask(trajs.terminals)[:, env.exit_action].all())


def test_hypergrid_enumeration_and_index_are_a_bijection():
    env = HyperGridEnv(ndim=3, height=4)
    states = env.all_terminal_states()
    assert states.shape == (64, 3)
    assert torch.equal(env.terminal_index(states), torch.arange(64))
    assert torch.equal(env.from_designs(env.to_designs(states)), states)


def test_hypergrid_reward_mode_count_and_mass():
    env = HyperGridEnv(ndim=2, height=8)
    r = hypergrid_reward(env.all_terminal_states(), 8)
    assert int((r > 2).sum()) == 4
    p = env.exact_distribution(lambda s: hypergrid_reward(s, 8))
    assert p[r > 2].sum().item() == pytest.approx(4 * 2.6 / r.sum().item())


def test_hypergrid_masks_at_walls():
    env = HyperGridEnv(ndim=2, height=3)
    s = torch.tensor([[0, 2], [2, 2]])
    assert env.forward_mask(s).tolist() == [[True, False, True], [False, False, True]]
    assert env.backward_mask(s).tolist() == [[False, True], [True, True]]


def test_hypergrid_forward_and_backward_sampling_are_consistent():
    env = HyperGridEnv(ndim=3, height=5)
    policy = _policy(env, learned_backward=True)
    g = torch.Generator().manual_seed(1)
    fwd = sample_forward(env, policy, 64, epsilon=0.3, generator=g)
    _check_forward_backward(env, fwd)
    bwd = sample_backward(env, policy, fwd.terminals, generator=g)
    _check_forward_backward(env, bwd)
    assert torch.equal(bwd.terminals, fwd.terminals)
    assert torch.equal(bwd.lengths, fwd.terminals.sum(dim=1))


def test_sequence_env_masks_follow_length_bounds():
    space = SequenceSpace("ACG", min_length=2, max_length=4)
    env = SequenceEnv(space)
    s = env.from_designs(["AC", "ACGA"])
    empty = env.initial_states(1)
    assert env.forward_mask(empty).tolist() == [[True, True, True, False]]
    assert env.forward_mask(s).tolist() == [[True, True, True, True], [False, False, False, True]]
    assert env.backward_mask(empty).tolist() == [[False]]


def test_sequence_env_forward_backward_consistency_and_round_trip():
    space = SequenceSpace("ACDEFG", min_length=1, max_length=6)
    env = SequenceEnv(space)
    policy = _policy(env)
    g = torch.Generator().manual_seed(2)
    fwd = sample_forward(env, policy, 128, epsilon=0.5, generator=g)
    _check_forward_backward(env, fwd)
    designs = env.to_designs(fwd.terminals)
    assert all(1 <= len(d) <= 6 for d in designs)
    assert torch.equal(env.from_designs(designs), fwd.terminals)
    bwd = sample_backward(env, policy, fwd.terminals, generator=g)
    _check_forward_backward(env, bwd)
    assert torch.equal(bwd.states, fwd.states)  # one parent per prefix: the backward walk is unique
    assert torch.equal(bwd.lengths, torch.tensor([len(d) for d in designs]))
    for b in range(len(bwd)):
        n = int(bwd.lengths[b])
        assert torch.equal(bwd.actions[:n, b], torch.tensor(space.ids(designs[b])))


def test_sequence_env_step_then_backward_step_restores_parent():
    space = SequenceSpace(["A", "dA", "Orn"], min_length=1, max_length=3, separator="-")
    env = SequenceEnv(space)
    parent = env.from_designs([("A", "Orn")])
    child = env.step(parent, torch.tensor([1]))
    assert env.to_designs(child) == [("A", "Orn", "dA")]
    assert torch.equal(env.backward_step(child, torch.tensor([0])), parent)
    assert env.forward_action_of(child, torch.tensor([0])).tolist() == [1]


def test_sequence_env_rejects_out_of_space_designs():
    env = SequenceEnv(SequenceSpace("AC", min_length=2, max_length=3))
    with pytest.raises(InvalidDesignError):
        env.from_designs(["A"])
