"""Exact evaluation of samplers on enumerable environments.

With terminal states indexed ``0..N-1`` (:meth:`EnumerableEnv.terminal_index`), a batch of samples
gives the empirical law ``p_hat`` `[N]`; against the exact target ``p*`` `[N]`:

* ``L1 = sum_x |p_hat(x) - p*(x)|`` in ``[0, 2]`` (Bengio et al. 2021; Malkin et al. 2022);
* ``JSD = 1/2 KL(p_hat || m) + 1/2 KL(p* || m)``, ``m = (p_hat + p*) / 2``, natural log, in ``[0, log 2]``;
* modes found: how many of the given mode cells occur among the samples, and the sample mass on them;
* :func:`exact_terminal_distribution`: the policy's exact terminal law on a HyperGrid, for
  sampling-free L1 and preference checks;
* for multi-objective grids: the fraction of samples on the exact Pareto front and how many front
  cells were sampled (Chen & Mauch 2024, Sec. 5).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gendesign.core.pareto import pareto_mask
from gendesign.generators.gflownet.hypergrid import HyperGridEnv
from gendesign.generators.gflownet.policy import GFlowNetPolicy, masked_log_softmax


def empirical_distribution(indices: Tensor, n_states: int) -> Tensor:
    """`[N]` float64 empirical law of the terminal indices `[S]`."""
    counts = torch.bincount(indices.reshape(-1).cpu(), minlength=n_states).to(torch.float64)
    return counts / counts.sum().clamp_min(1.0)


def target_distribution(rewards: Tensor) -> Tensor:
    """`[N]` float64 exact target ``R / sum R`` from non-negative rewards `[N]`."""
    r = rewards.to(torch.float64)
    return r / r.sum()


def l1_distance(p_hat: Tensor, p_star: Tensor) -> float:
    """``sum |p_hat - p*|``."""
    return float((p_hat.to(torch.float64) - p_star.to(torch.float64)).abs().sum())


def jensen_shannon(p_hat: Tensor, p_star: Tensor) -> float:
    """Jensen-Shannon divergence (natural log) between two laws `[N]`."""
    p, q = p_hat.to(torch.float64), p_star.to(torch.float64)
    m = 0.5 * (p + q)

    def kl(a: Tensor, b: Tensor) -> Tensor:
        pos = a > 0
        return (a[pos] * (a[pos].log() - b[pos].log())).sum()

    return float(0.5 * kl(p, m) + 0.5 * kl(q, m))


def modes_found(indices: Tensor, mode_mask: Tensor) -> tuple[int, float]:
    """(number of distinct mode cells sampled, fraction of samples on mode cells).

    Args:
        indices: `[S]` sampled terminal indices.
        mode_mask: `[N]` bool, the mode cells.
    """
    idx = indices.reshape(-1).cpu()
    on = mode_mask.cpu()[idx]
    found = int(torch.unique(idx[on]).numel())
    return found, float(on.to(torch.float64).mean()) if idx.numel() else math.nan


def pareto_front_cells(canonical: Tensor) -> Tensor:
    """`[N]` bool, the exact Pareto front of all terminal states' canonical values `[N, K]`."""
    return pareto_mask(canonical.to(torch.float64))


def front_metrics(indices: Tensor, front_mask: Tensor) -> dict[str, float]:
    """Fraction of samples on the exact front and the number of front cells covered.

    Args:
        indices: `[S]` sampled terminal indices.
        front_mask: `[N]` bool exact front.

    Returns:
        ``{"front_fraction", "front_cells_covered", "front_cells"}``.
    """
    found, fraction = modes_found(indices, front_mask)
    return {"front_fraction": fraction, "front_cells_covered": found, "front_cells": int(front_mask.sum())}


def distribution_metrics(indices: Tensor, rewards: Tensor, mode_mask: Tensor | None = None) -> dict[str, float]:
    """L1, JSD and (with ``mode_mask``) modes found and mode mass of samples `[S]` against rewards `[N]`."""
    p_hat = empirical_distribution(indices, rewards.shape[0])
    p_star = target_distribution(rewards)
    out: dict[str, float] = {"l1": l1_distance(p_hat, p_star), "jsd": jensen_shannon(p_hat, p_star)}
    if mode_mask is not None:
        found, mass = modes_found(indices, mode_mask)
        out.update(
            modes_found=found, modes_total=int(mode_mask.sum()), mode_mass=mass, mode_mass_exact=float(p_star[mode_mask].sum())
        )
    return out


@torch.no_grad()
def exact_terminal_distribution(env: HyperGridEnv, policy: GFlowNetPolicy, conditions: Tensor | None = None) -> Tensor:
    """`[H^D]` the exact terminal law ``P_T`` of the forward policy on a HyperGrid (every state terminal).

    ``P_T(x) = P_reach(x) * P_F(exit | x)`` with ``P_reach(s_0) = 1`` and
    ``P_reach(s') = sum_{s -> s'} P_reach(s) P_F(s' | s)``, computed level by level in the coordinate
    sum. Indices follow :meth:`HyperGridEnv.all_terminal_states`.

    Args:
        env: the grid.
        policy: the forward policy (temperature 1, no exploration).
        conditions: `[C]` one conditioning vector for a conditional policy.
    """
    states = env.all_terminal_states()
    n = states.shape[0]
    cond = None if conditions is None else conditions.reshape(1, -1).expand(n, -1)
    logits, _, _ = policy(env.featurize(states), cond)
    probs = masked_log_softmax(logits, env.forward_mask(states)).exp().to(torch.float64)
    reach = torch.zeros(n, dtype=torch.float64)
    reach[0] = 1.0
    level = states.sum(dim=1)
    index = env.terminal_index
    for total in range(int(level.max()) + 1):
        rows = torch.nonzero(level == total).squeeze(1)
        for d in range(env.ndim):
            movable = rows[states[rows, d] < env.height - 1]
            if movable.numel():
                children = index(env.step(states[movable], torch.full((movable.numel(),), d, dtype=torch.long)))
                reach.index_add_(0, children, reach[movable] * probs[movable, d])
    return reach * probs[:, env.exit_action]
