"""Trajectory balance (Malkin, Jain, Bengio, Sun, Bengio. NeurIPS 2022, arXiv 2201.13259).

For a complete trajectory ``tau = (s_0 -> ... -> x -> s_f)``::

    L_TB(tau) = (log Z + sum_t log P_F(s_{t+1} | s_t) - log R(x) - sum_t log P_B(s_t | s_{t+1}))^2

The exit step contributes ``log P_F(exit | x)`` to the forward sum and nothing to the backward sum.
"""

from __future__ import annotations

from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.generators.gflownet.sampler import TrajectoryScores


def trajectory_balance_residuals(scores: TrajectoryScores, log_rewards: Tensor) -> Tensor:
    """`[B]` the TB residuals ``log Z + sum log P_F - log R(x) - sum log P_B``."""
    return scores.log_reward_hat() - log_rewards


def trajectory_balance_loss(scores: TrajectoryScores, log_rewards: Tensor | None, **_: float) -> Tensor:
    """Mean squared TB residual over the batch.

    Args:
        scores: per-step log-probabilities and ``log Z`` of ``B`` trajectories.
        log_rewards: `[B]` ``log R(x)``. Order-preserving TB has no reward to regress on (its reward
            is the TB-implied ``log R_hat``, trained by the OP loss alone); pass ``None`` there and
            this returns zero.

    Returns:
        scalar loss.
    """
    if log_rewards is None:
        return scores.log_pf.new_zeros(())
    if log_rewards.shape != scores.lengths.shape:
        raise ConfigError(
            f"trajectory_balance_loss: log_rewards has shape {list(log_rewards.shape)}, expected [{scores.lengths.shape[0]}]"
        )
    return trajectory_balance_residuals(scores, log_rewards).pow(2).mean()
