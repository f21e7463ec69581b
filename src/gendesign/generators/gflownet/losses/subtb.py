"""Subtrajectory balance SubTB(lambda) (Madan et al. 2023, "Learning GFlowNets from partial episodes
for improved convergence and stability", ICML; arXiv 2209.12782).

Write a complete trajectory as the flow chain ``u_0 = s_0, u_1, ..., u_n = x, u_{n+1} = s_f`` with
log-flows ``log F(u_0) = log Z``, ``log F(u_i)`` from the flow head for ``1 <= i <= n`` and
``log F(u_{n+1}) = log R(x)``, and per-step terms ``d_t = log P_F(u_{t+1} | u_t) - log P_B(u_t | u_{t+1})``
(``log P_B = 0`` for the exit step). For every pair ``0 <= i < j <= n + 1``::

    r_ij = log F(u_i) + sum_{t=i}^{j-1} d_t - log F(u_j)

and the per-trajectory loss is the ``lambda^(j - i)``-weighted mean of ``r_ij^2``::

    L(tau) = sum_{i<j} lambda^(j-i) r_ij^2 / sum_{i<j} lambda^(j-i).

The batch loss averages ``L(tau)``. ``lambda -> 0`` weights single transitions (detailed balance),
large ``lambda`` the full trajectory (trajectory balance). Without a reward (order-preserving), the
pairs ending at ``s_f`` are dropped.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.generators.gflownet.sampler import TrajectoryScores


def subtrajectory_balance_loss(scores: TrajectoryScores, log_rewards: Tensor | None, lam: float = 0.9, **_: float) -> Tensor:
    """Mean over trajectories of the lambda-weighted squared subtrajectory residuals.

    Args:
        scores: needs ``log_flow`` (a policy with ``state_flow=True``).
        log_rewards: `[B]` ``log R(x)`` or ``None`` for order-preserving training.
        lam: ``lambda > 0``.

    Returns:
        scalar loss.
    """
    if scores.log_flow is None:
        raise ConfigError("subtrajectory balance needs state flows; build the policy with state_flow=True")
    if lam <= 0:
        raise ConfigError(f"subtrajectory_balance_loss: lam={lam} must be > 0")
    t_steps, b = scores.log_pf.shape
    lengths = scores.lengths
    cols = torch.arange(b, device=lengths.device)
    flows = scores.log_flow.index_put((torch.zeros_like(cols), cols), scores.log_z)
    if log_rewards is not None:
        if log_rewards.shape != lengths.shape:
            raise ConfigError(f"subtrajectory_balance_loss: log_rewards has shape {list(log_rewards.shape)}, expected [{b}]")
        flows = flows.index_put((lengths + 1, cols), log_rewards.to(flows.dtype))
    d = scores.log_pf - scores.log_pb
    cum = torch.cat([d.new_zeros(1, b), d.cumsum(dim=0)])
    residual = flows.unsqueeze(1) + cum.unsqueeze(0) - cum.unsqueeze(1) - flows.unsqueeze(0)
    idx = torch.arange(t_steps + 1, device=lengths.device)
    i, j = idx.view(-1, 1, 1), idx.view(1, -1, 1)
    last = (lengths + 1 if log_rewards is not None else lengths).view(1, 1, -1)
    valid = (i < j) & (j <= last)
    weights = torch.where(valid, torch.tensor(float(lam), dtype=d.dtype, device=d.device) ** (j - i).to(d.dtype), d.new_zeros(()))
    per_traj = (weights * residual.pow(2)).sum(dim=(0, 1)) / weights.sum(dim=(0, 1)).clamp_min(1e-30)
    return per_traj.mean()
