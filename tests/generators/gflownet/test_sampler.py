"""Sampling knobs and batched re-scoring against per-state brute force."""

import math

import pytest
import torch

from gendesign.core.sequence_space import SequenceSpace
from gendesign.generators.gflownet import GFlowNetPolicy, HyperGridEnv, SequenceEnv
from gendesign.generators.gflownet.metrics import exact_terminal_distribution
from gendesign.generators.gflownet.policy import masked_log_softmax
from gendesign.generators.gflownet.sampler import sample_backward, sample_forward, score_trajectories


def _policy(env, **kw):
    torch.manual_seed(3)
    return GFlowNetPolicy(env.feature_dim, env.n_actions, env.n_backward_actions, hidden=16, layers=2, **kw)


@pytest.mark.parametrize("learned_backward", [False, True])
def test_score_trajectories_matches_per_state_loop(learned_backward):
    env = HyperGridEnv(ndim=2, height=4)
    policy = _policy(env, learned_backward=learned_backward, state_flow=True)
    trajs = sample_forward(env, policy, 16, epsilon=0.2, generator=torch.Generator().manual_seed(0))
    scores = score_trajectories(env, policy, trajs)
    for b in range(len(trajs)):
        n = int(trajs.lengths[b])
        pf = pb = 0.0
        for t in range(n + 1):
            s = trajs.states[t, b : b + 1]
            logits, blogits, flow = policy(env.featurize(s))
            pf += masked_log_softmax(logits, env.forward_mask(s))[0, trajs.actions[t, b]].item()
            assert scores.log_flow[t, b].item() == pytest.approx(flow.item(), abs=1e-5)
            if t < n:
                child = trajs.states[t + 1, b : b + 1]
                bmask = env.backward_mask(child)
                if learned_backward:
                    _, bl, _ = policy(env.featurize(child))
                    pb += masked_log_softmax(bl, bmask)[0, trajs.backward_actions[t, b]].item()
                else:
                    pb += -math.log(int(bmask.sum()))
        assert scores.sum_log_pf()[b].item() == pytest.approx(pf, abs=1e-5)
        assert scores.sum_log_pb()[b].item() == pytest.approx(pb, abs=1e-5)


def test_epsilon_one_gives_uniform_allowed_actions():
    env = SequenceEnv(SequenceSpace("ABCD", min_length=1, max_length=1))
    policy = _policy(env)
    with torch.no_grad():
        policy.head.bias[:] = torch.tensor([9.0, 0.0, 0.0, 0.0, 0.0])
    trajs = sample_forward(env, policy, 4000, epsilon=1.0, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(trajs.actions[0], minlength=4).float() / 4000
    assert torch.allclose(counts, torch.full((4,), 0.25), atol=0.03)
    greedy = sample_forward(env, policy, 500, epsilon=0.0, generator=torch.Generator().manual_seed(0))
    assert (greedy.actions[0] == 0).float().mean() > 0.95


def test_temperature_flattens_the_policy():
    env = SequenceEnv(SequenceSpace("AB", min_length=1, max_length=1))
    policy = _policy(env)
    with torch.no_grad():
        policy.head.weight.zero_()
        policy.head.bias[:] = torch.tensor([math.log(3.0), 0.0, 0.0])
    g = torch.Generator().manual_seed(0)
    cold = sample_forward(env, policy, 6000, temperature=1.0, generator=g).actions[0].float().mean()
    hot = sample_forward(env, policy, 6000, temperature=1e6, generator=g).actions[0].float().mean()
    assert cold.item() == pytest.approx(0.25, abs=0.02)
    assert hot.item() == pytest.approx(0.5, abs=0.02)


def test_exact_terminal_distribution_matches_sampling():
    env = HyperGridEnv(ndim=2, height=4)
    policy = _policy(env)
    exact = exact_terminal_distribution(env, policy)
    assert exact.sum().item() == pytest.approx(1.0, abs=1e-6)
    terms = sample_forward(env, policy, 40000, generator=torch.Generator().manual_seed(1)).terminals
    emp = torch.bincount(env.terminal_index(terms), minlength=16).double() / 40000
    assert (emp - exact).abs().max().item() < 0.012


def test_backward_sampling_of_uniform_pb_visits_all_parents():
    env = HyperGridEnv(ndim=2, height=3)
    policy = _policy(env)
    term = torch.tensor([[1, 1]]).repeat(2000, 1)
    trajs = sample_backward(env, policy, term, generator=torch.Generator().manual_seed(0))
    first = trajs.actions[0]
    assert (first == 0).float().mean().item() == pytest.approx(0.5, abs=0.04)


def test_logit_bias_tilts_sampling_but_not_scoring():
    env = SequenceEnv(SequenceSpace("AB", min_length=2, max_length=2))
    policy = _policy(env)
    with torch.no_grad():
        policy.head.weight.zero_()
        policy.head.bias.zero_()

    def bias(states):
        out = torch.zeros(states.shape[0], env.n_actions)
        after_a = env.last_tokens(states) == 0
        out[after_a, 0] = math.log(1 / 9)
        return out

    trajs = sample_forward(env, policy, 8000, generator=torch.Generator().manual_seed(0), logit_bias=bias)
    first, second = trajs.actions[0], trajs.actions[1]
    assert (second[first == 0] == 0).float().mean().item() == pytest.approx(0.1, abs=0.02)
    assert (second[first == 1] == 0).float().mean().item() == pytest.approx(0.5, abs=0.03)
    scores = score_trajectories(env, policy, trajs)
    assert torch.allclose(scores.sum_log_pf(), torch.full((8000,), 2 * math.log(0.5)))
    assert env.last_tokens(env.initial_states(1)).tolist() == [-1]
