"""The NAP policy and its PPO losses: loss sign and clipping, GAE, end-to-end gradients, the pool mask, save/load."""

from __future__ import annotations

import pytest
import torch

from gendesign.core.protocols import AcquisitionPolicy, Surrogate, conforms
from gendesign.generators.nap.policy import NAPPolicy
from gendesign.generators.nap.ppo import clipped_policy_loss, gae, ppo_losses, rollout, sample_pool_tasks

torch.set_num_threads(1)
TINY = {"max_dim": 3, "num_buckets": 10, "d_model": 16, "n_layers": 1, "n_heads": 2, "d_ff": 32}


def tiny_policy(seed: int = 0) -> NAPPolicy:
    torch.manual_seed(seed)
    return NAPPolicy(tnp=TINY, hidden=16, layers=1)


def test_policy_loss_at_the_behaviour_policy_is_minus_the_mean_advantage_and_raises_good_actions():
    lp = torch.log(torch.tensor([0.2, 0.5, 0.3])).requires_grad_(True)
    adv = torch.tensor([1.0, -2.0, 0.5])
    loss = clipped_policy_loss(lp, lp.detach(), adv, clip=0.2)
    assert loss.item() == pytest.approx(-adv.mean().item())
    loss.backward()
    # descending the loss raises the log-probability of actions with positive advantage and lowers the others
    assert torch.allclose(lp.grad, -adv / 3)


def test_policy_loss_is_flat_beyond_the_clip():
    old = torch.zeros(2)
    new = torch.tensor([0.5, -0.5]).requires_grad_(True)  # ratios e^0.5 > 1.2 and e^-0.5 < 0.8
    clipped_policy_loss(new, old, torch.tensor([1.0, -1.0]), clip=0.2).backward()
    assert torch.equal(new.grad, torch.zeros(2))


def test_gae_with_unit_gamma_and_lambda_is_return_to_go_minus_value():
    r = torch.tensor([[1.0, 0.0, 2.0]])
    v = torch.tensor([[0.5, 1.0, -1.0]])
    adv, ret = gae(r, v, gamma=1.0, lam=1.0)
    assert torch.allclose(ret, torch.tensor([[3.0, 2.0, 2.0]]))
    assert torch.allclose(adv, ret - v)


def test_candidate_scores_ignore_the_other_candidates():
    policy = tiny_policy().eval()
    g = torch.Generator().manual_seed(0)
    X, y, cand = torch.rand(5, 2, generator=g), torch.rand(5, generator=g), torch.rand(7, 2, generator=g)
    policy.condition(X, y)
    together = policy.acquisition_scores(cand, budget_fraction=0.3)
    perm = torch.randperm(7, generator=g)
    assert torch.allclose(policy.acquisition_scores(cand[perm], budget_fraction=0.3), together[perm], atol=1e-5)
    assert torch.allclose(policy.acquisition_scores(cand[:2], budget_fraction=0.3), together[:2], atol=1e-5)
    assert conforms(policy, Surrogate) and conforms(policy, AcquisitionPolicy)


def test_ppo_gradient_reaches_the_transformer_and_a_step_lowers_the_loss():
    policy = tiny_policy()
    g = torch.Generator().manual_seed(1)
    x, y = sample_pool_tasks(4, 16, 2, lengthscale=(0.2, 0.4), generator=g)
    assert torch.allclose(y.min(-1).values, torch.zeros(4)) and torch.allclose(y.max(-1).values, torch.ones(4))
    ep = rollout(policy, x, y, n_init=2, horizon=3, regret_floor=1e-6, generator=g)
    assert ep.order.shape == (4, 5) and all(len(set(row.tolist())) == 5 for row in ep.order)
    adv, ret = gae(ep.rewards, ep.values, 0.98, 0.98)
    losses = ppo_losses(policy, ep, adv, ret, clip=0.15, value_coef=1.0, nll_coef=1.0)
    assert torch.isfinite(losses.total)
    losses.total.backward()
    grads = {name: p.grad for name, p in policy.named_parameters()}
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if n.startswith("tnp.")), "end-to-end: the head's loss must reach the TNP"
    opt = torch.optim.SGD(policy.parameters(), lr=1e-2)
    opt.step()
    after = ppo_losses(policy, ep, adv, ret, clip=0.15, value_coef=1.0, nll_coef=1.0)
    assert after.total.item() < losses.total.item()


def test_save_and_load_round_trip(tmp_path):
    policy = tiny_policy().eval()
    policy.save_pretrained(tmp_path / "nap")
    loaded = NAPPolicy.from_pretrained(tmp_path / "nap")
    X, y, cand = torch.rand(4, 2), torch.rand(4), torch.rand(6, 2)
    policy.condition(X, y)
    loaded.condition(X, y)
    assert torch.allclose(policy.acquisition_scores(cand, budget_fraction=0.5), loaded.acquisition_scores(cand, budget_fraction=0.5))


@pytest.mark.slow  # Lightning's start-up alone takes ~20 s on a shared 2-core machine
def test_train_from_a_config_saves_a_policy(tmp_path):
    from gendesign.generators.nap.training import train
    from gendesign.generators.tnp.model import TransformerNeuralProcess

    torch.manual_seed(0)
    TransformerNeuralProcess(**TINY).save_pretrained(tmp_path / "tnp")
    cfg = tmp_path / "nap.toml"
    cfg.write_text(
        f'generator = "nap"\n[init]\ntnp_path = "{tmp_path / "tnp"}"\n[model]\nhidden = 8\nlayers = 1\n'
        f'[task]\nmax_dim = 2\npool = 12\nhorizon = 2\n[training]\niterations = 2\nepisodes = 2\n[output]\ndir = "{tmp_path / "out"}"\n'
    )
    message = train(cfg)
    assert "2 PPO iterations" in message
    meta = NAPPolicy.load_meta(tmp_path / "out")
    assert meta["iterations"] == 2 and len(meta["history"]) == 2
    assert NAPPolicy.from_pretrained(tmp_path / "out").tnp.max_dim == 3


def test_metabo_with_the_nap_head_asks_for_its_top_scored_unseen_candidates():
    from gendesign.core.box_space import BoxSpace
    from gendesign.core.objective import ObjectiveSpec, Scores
    from gendesign.search.metabo import MetaBO, MetaBOOptions

    space = BoxSpace([[0.0, 1.0], [0.0, 1.0]])
    policy = tiny_policy().eval()
    strategy = MetaBO(space, [ObjectiveSpec("f")], options=MetaBOOptions(acquisition="nap", initial_points=3, guard=False, restarts=0, pool_size=32, local_pool=0), model=policy)
    first = strategy.ask(3)
    strategy.tell(first, Scores(values=torch.rand(3, 1), valid=torch.ones(3, dtype=torch.bool), specs=strategy.specs))
    batch = strategy.ask(2)
    assert len(batch) == 2 and len({space.key(d) for d in batch + first}) == 5
