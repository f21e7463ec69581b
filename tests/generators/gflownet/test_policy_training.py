"""Policy persistence, the transformer torso, and DB/SubTB/preference training end to end on a small grid."""

import pytest
import torch

from gendesign.core.objective import ObjectiveSpec
from gendesign.core.sequence_space import SequenceSpace
from gendesign.generators.gflownet import GFlowNetOptions, GFlowNetPolicy, GFlowNetTrainer, HyperGridEnv, SequenceEnv
from gendesign.generators.gflownet.metrics import exact_terminal_distribution, l1_distance
from gendesign.generators.gflownet.sampler import sample_forward, score_trajectories
from gendesign.objectives.hypergrid import hypergrid_reward


def test_policy_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    policy = GFlowNetPolicy(12, 4, 3, condition_dim=5, hidden=16, layers=2, learned_backward=True, state_flow=True)
    policy.save_pretrained(tmp_path / "gfn")
    loaded = GFlowNetPolicy.from_pretrained(tmp_path / "gfn")
    x, c = torch.randn(7, 12), torch.rand(7, 5)
    for a, b in zip(policy(x, c), loaded(x, c)):
        assert torch.equal(a, b)
    assert torch.equal(policy.log_z(7, c), loaded.log_z(7, c))


def test_transformer_policy_scores_sequence_trajectories_consistently():
    env = SequenceEnv(SequenceSpace("ACGT", min_length=2, max_length=5))
    torch.manual_seed(0)
    policy = GFlowNetPolicy(
        env.feature_dim, env.n_actions, 1, hidden=16, layers=1, architecture="transformer", token_dim=5, heads=2
    )
    trajs = sample_forward(env, policy, 32, generator=torch.Generator().manual_seed(0))
    scores = score_trajectories(env, policy, trajs)
    assert bool((scores.log_pf <= 0).all()) and bool((scores.log_pb == 0).all())
    assert bool(torch.isfinite(scores.sum_log_pf()).all())
    with pytest.raises(Exception, match="token_dim"):
        GFlowNetPolicy(env.feature_dim, env.n_actions, 1, architecture="transformer")


@pytest.mark.parametrize("loss", ["db", "subtb"])
def test_flow_losses_learn_the_target_of_a_small_grid(loss):
    env = HyperGridEnv(ndim=2, height=4)
    options = GFlowNetOptions(reward="power", loss=loss, train_batch_size=32, hidden=32, layers=2, lr=1e-2)
    torch.manual_seed(0)
    trainer = GFlowNetTrainer(env, (ObjectiveSpec("r"),), options, torch.Generator().manual_seed(0))
    reward = lambda s: hypergrid_reward(s, 4, r0=0.1, r1=0.5, r2=2.0)  # noqa: E731
    start = l1_distance(exact_terminal_distribution(env, trainer.policy), env.exact_distribution(reward))
    trainer.train_online(lambda s: (reward(s).unsqueeze(1), torch.ones(s.shape[0], dtype=torch.bool)), 100)
    end = l1_distance(exact_terminal_distribution(env, trainer.policy), env.exact_distribution(reward))
    assert end < 0.1 < start


def test_preference_conditioned_policy_follows_the_weights():
    env = HyperGridEnv(ndim=2, height=4)
    specs = (ObjectiveSpec("x_minus_y", bounds=(-3.0, 3.0)), ObjectiveSpec("y_minus_x", bounds=(-3.0, 3.0)))
    options = GFlowNetOptions(
        reward="preference", reward_options={"beta": 8.0, "bins": 8}, loss="tb", train_batch_size=64, hidden=64, lr=3e-3
    )
    torch.manual_seed(0)
    trainer = GFlowNetTrainer(env, specs, options, torch.Generator().manual_seed(0))
    trade_off = lambda s: torch.stack([s[:, 0] - s[:, 1], s[:, 1] - s[:, 0]], dim=1).double()  # noqa: E731
    trainer.train_online(lambda s: (trade_off(s), torch.ones(s.shape[0], dtype=torch.bool)), 200)
    reward = trainer.reward
    for w, axis in (([0.95, 0.05], 0), ([0.05, 0.95], 1)):
        cond = reward.encode(torch.tensor([w]))
        p = exact_terminal_distribution(env, trainer.policy, cond[0])
        coords = env.all_terminal_states().double()
        mean = (p.unsqueeze(1) * coords).sum(0)
        assert mean[axis] > mean[1 - axis] + 0.8


@pytest.mark.gpu
@pytest.mark.parametrize("reward", ["power", "preference", "order_preserving"])
def test_training_runs_on_cuda_with_a_cpu_generator(reward):
    env = HyperGridEnv(ndim=2, height=4)
    specs = (
        (ObjectiveSpec("x", bounds=(0.0, 3.0)),)
        if reward == "power"
        else (ObjectiveSpec("x", bounds=(0.0, 3.0)), ObjectiveSpec("y", bounds=(0.0, 3.0)))
    )
    options = GFlowNetOptions(reward=reward, loss="subtb", train_batch_size=16, hidden=16, replay_fraction=0.25)
    trainer = GFlowNetTrainer(env, specs, options, torch.Generator().manual_seed(0))
    trainer.policy.to("cuda")
    parts = trainer.train_online(lambda s: (s[:, : len(specs)].double().cpu(), torch.ones(s.shape[0], dtype=torch.bool)), 3)
    assert all(torch.isfinite(torch.tensor(v)) for v in parts.values())
    assert trainer.sample(8).terminals.device.type == "cuda"


def test_transformer_trainer_on_a_grid_uses_one_position_per_dimension():
    env = HyperGridEnv(ndim=3, height=4)
    options = GFlowNetOptions(reward="power", architecture="transformer", hidden=16, layers=1, train_batch_size=8)
    trainer = GFlowNetTrainer(env, (ObjectiveSpec("r"),), options, torch.Generator().manual_seed(0))
    assert trainer.policy.torso.positions == 3
    parts = trainer.train_online(lambda s: (hypergrid_reward(s, 4).unsqueeze(1), torch.ones(s.shape[0], dtype=torch.bool)), 2)
    assert torch.isfinite(torch.tensor(parts["balance"]))
