"""PPO for the NAP policy on pool-based BO episodes (Schulman et al. 2017; Maraval et al. 2023).

**Tasks.** A task is a pool of ``M`` points ``x ~ U[0, 1]^d`` with values drawn exactly from a
GP prior on the pool, ``f ~ N(0, K)``, RBF kernel with lengthscale ``l ~ U[l_min, l_max]`` per
task (:func:`sample_pool_tasks`).

**Episodes.** ``n_init`` random pool points are observed, then for ``t = 1..T`` the policy picks a
not-yet-queried candidate. With values min-max normalised per task, the simple regret after the
pick is ``r_t = 1 - max_{l <= t} y_l`` and the reward is ``-log10(max(r_t, floor))``.

**Loss** per PPO update, averaged over the states of a batch of episodes:

``L = L_clip + c_v L_value + c_nll L_nll``

* ``L_clip = -mean min(rho A, clip(rho, 1 - eps, 1 + eps) A)``, ``rho = pi_new(a|s) / pi_old(a|s)``;
  advantages ``A`` from GAE(gamma, lambda) on the value head's estimates, normalised per batch;
* ``L_value = mean (V(s) - R)^2`` with ``R = A + V_old`` the lambda-returns;
* ``L_nll``, the auxiliary likelihood NAP needs against its sparse rewards: the TNP's negative log
  density of the values of the pool points not yet queried, given the history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from gendesign.generators.nap.policy import NAPPolicy


@dataclass
class Episodes:
    """A batch of ``b`` rolled-out episodes on pools of ``M`` points.

    Attributes:
        x: `[b, M, d]` pools.
        y: `[b, M]` values (min-max normalised per task).
        order: `[b, n_init + T]` queried pool indices, initial points first.
        log_probs: `[b, T]` behaviour log-probabilities of the picks.
        values: `[b, T]` value estimates at the decision states.
        rewards: `[b, T]`.
    """

    x: Tensor
    y: Tensor
    order: Tensor
    log_probs: Tensor
    values: Tensor
    rewards: Tensor
    n_init: int


def sample_pool_tasks(batch: int, pool: int, dim: int, *, lengthscale: tuple[float, float], generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``(x [b, M, d], y [b, M])``: exact GP-prior draws on random pools, ``y`` min-max normalised per task."""
    x = torch.rand(batch, pool, dim, generator=generator, dtype=torch.float64)
    ls = lengthscale[0] + (lengthscale[1] - lengthscale[0]) * torch.rand(batch, 1, 1, generator=generator, dtype=torch.float64)
    k = torch.exp(-0.5 * torch.cdist(x, x).pow(2) / ls.pow(2)) + 1e-6 * torch.eye(pool, dtype=torch.float64)
    f = (torch.linalg.cholesky(k) @ torch.randn(batch, pool, 1, generator=generator, dtype=torch.float64)).squeeze(-1)
    lo, hi = f.min(-1, keepdim=True).values, f.max(-1, keepdim=True).values
    return x.float(), ((f - lo) / (hi - lo).clamp_min(1e-12)).float()


def _state(x: Tensor, y: Tensor, order: Tensor, t: int) -> tuple[Tensor, Tensor, Tensor]:
    """History inputs `[b, t, d]`, values `[b, t]` and the queried mask `[b, M]` after the first ``t`` queries."""
    idx = order[:, :t]
    xh = torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
    yh = torch.gather(y, 1, idx)
    queried = torch.zeros(y.shape, dtype=torch.bool, device=y.device).scatter(1, idx, True)
    return xh, yh, queried


@torch.no_grad()
def rollout(policy: NAPPolicy, x: Tensor, y: Tensor, *, n_init: int, horizon: int, regret_floor: float, generator: torch.Generator, greedy: bool = False) -> Episodes:
    """Run ``horizon`` policy steps on every task of ``x``, ``y`` (sampling, or argmax with ``greedy``)."""
    b, m, _ = x.shape
    order = torch.stack([torch.randperm(m, generator=generator)[:n_init] for _ in range(b)]).to(x.device)
    log_probs, values, rewards = [], [], []
    for t in range(horizon):
        xh, yh, queried = _state(x, y, order, n_init + t)
        frac = torch.full((b,), t / horizon, device=x.device)
        logits, value, _ = policy.scores(xh, yh, x, frac)
        logits = logits.float().masked_fill(queried, -math.inf)
        if greedy:
            action = logits.argmax(-1)
        else:
            u = torch.rand(logits.shape, generator=generator).to(x.device).clamp(1e-12, 1 - 1e-12)
            action = (logits - torch.log(-torch.log(u))).argmax(-1)  # Gumbel-max: a draw from softmax(logits)
        log_probs.append(logits.log_softmax(-1).gather(1, action.unsqueeze(1)).squeeze(1))
        values.append(value.float())
        order = torch.cat([order, action.unsqueeze(1)], 1)
        best = torch.gather(y, 1, order).max(-1).values
        rewards.append(-torch.log10((1.0 - best).clamp_min(regret_floor)))
    return Episodes(x, y, order, torch.stack(log_probs, 1), torch.stack(values, 1), torch.stack(rewards, 1), n_init)


def gae(rewards: Tensor, values: Tensor, gamma: float, lam: float) -> tuple[Tensor, Tensor]:
    """``(advantages, returns)`` `[b, T]` by generalised advantage estimation; the episode ends after ``T`` (no bootstrap)."""
    adv = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    T = rewards.shape[1]
    for t in reversed(range(T)):
        next_value = values[:, t + 1] if t + 1 < T else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = delta + gamma * lam * running
        adv[:, t] = running
    return adv, adv + values


def clipped_policy_loss(log_probs: Tensor, old_log_probs: Tensor, advantages: Tensor, clip: float) -> Tensor:
    """``-mean min(rho A, clip(rho, 1 - clip, 1 + clip) A)`` with ``rho = exp(log_probs - old_log_probs)``."""
    ratio = (log_probs - old_log_probs).exp()
    return -torch.minimum(ratio * advantages, ratio.clamp(1.0 - clip, 1.0 + clip) * advantages).mean()


@dataclass(frozen=True)
class PPOLosses:
    total: Tensor
    policy: Tensor
    value: Tensor
    nll: Tensor


def ppo_losses(policy: NAPPolicy, ep: Episodes, advantages: Tensor, returns: Tensor, *, clip: float, value_coef: float, nll_coef: float) -> PPOLosses:
    """The PPO loss of ``policy`` on the recorded episodes (recomputing every decision state)."""
    b, m, _ = ep.x.shape
    T = ep.rewards.shape[1]
    new_lp, new_v, nll = [], [], []
    for t in range(T):
        xh, yh, queried = _state(ep.x, ep.y, ep.order, ep.n_init + t)
        frac = torch.full((b,), t / T, device=ep.x.device)
        logits, value, post = policy.scores(xh, yh, ep.x, frac)
        logits = logits.float().masked_fill(queried, -math.inf)
        new_lp.append(logits.log_softmax(-1).gather(1, ep.order[:, ep.n_init + t].unsqueeze(1)).squeeze(1))
        new_v.append(value.float())
        lp = post.log_prob(ep.y.to(post.mean)).float().clamp_min(-50.0)  # [b, M]
        unseen = (~queried).float()
        nll.append(-(lp * unseen).sum(-1) / unseen.sum(-1).clamp_min(1.0))
    adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    pol = clipped_policy_loss(torch.stack(new_lp, 1), ep.log_probs, adv, clip)
    val = (torch.stack(new_v, 1) - returns).pow(2).mean()
    aux = torch.stack(nll, 1).mean()
    return PPOLosses(pol + value_coef * val + nll_coef * aux, pol, val, aux)
