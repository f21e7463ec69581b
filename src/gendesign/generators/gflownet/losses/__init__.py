"""Flow-consistency losses: trajectory balance, detailed balance, subtrajectory balance(lambda)."""

from gendesign.generators.gflownet.losses.db import detailed_balance_loss
from gendesign.generators.gflownet.losses.subtb import subtrajectory_balance_loss
from gendesign.generators.gflownet.losses.tb import trajectory_balance_loss

LOSSES = {
    "tb": trajectory_balance_loss,
    "db": detailed_balance_loss,
    "subtb": subtrajectory_balance_loss,
}

__all__ = ["LOSSES", "detailed_balance_loss", "subtrajectory_balance_loss", "trajectory_balance_loss"]
