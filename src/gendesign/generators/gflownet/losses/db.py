"""Detailed balance (Bengio et al. 2023, "GFlowNet foundations", JMLR; arXiv 2111.09266).

For every non-exit transition ``s -> s'`` of a trajectory::

    L(s -> s') = (log F(s) + log P_F(s' | s) - log F(s') - log P_B(s | s'))^2

and for the exit transition ``x -> s_f`` the sink flow is the reward::

    L(x -> s_f) = (log F(x) + log P_F(exit | x) - log R(x))^2

The loss averages over all transitions in the batch. Without a reward (order-preserving DB) the
exit terms are dropped: ``log F(x) + log P_F(exit | x)`` *is* the learned ``log R_hat(x)``, shaped by
the OP loss (Chen & Mauch 2024, arXiv 2310.00386, Sec. 3).
"""

from __future__ import annotations

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.generators.gflownet.sampler import TrajectoryScores


def detailed_balance_loss(scores: TrajectoryScores, log_rewards: Tensor | None, **_: float) -> Tensor:
    """Mean squared DB residual over all transitions (exit transitions included when rewards are given).

    Args:
        scores: needs ``log_flow`` (a policy with ``state_flow=True``).
        log_rewards: `[B]` ``log R(x)`` or ``None`` for order-preserving training.

    Returns:
        scalar loss.
    """
    if scores.log_flow is None:
        raise ConfigError("detailed balance needs state flows; build the policy with state_flow=True")
    t_steps = scores.log_pf.shape[0]
    t = torch.arange(t_steps, device=scores.lengths.device).unsqueeze(1)
    inner = t < scores.lengths.unsqueeze(0)
    residual = scores.log_flow[:-1] + scores.log_pf - scores.log_flow[1:] - scores.log_pb
    terms = [residual[inner]]
    if log_rewards is not None:
        if log_rewards.shape != scores.lengths.shape:
            raise ConfigError(
                f"detailed_balance_loss: log_rewards has shape {list(log_rewards.shape)}, expected [{scores.lengths.shape[0]}]"
            )
        terms.append(scores.terminal_log_flow() - log_rewards)
    return torch.cat(terms).pow(2).mean()
