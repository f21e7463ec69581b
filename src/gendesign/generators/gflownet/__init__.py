"""A compact GFlowNet core: environments, policy, sampler, TB/DB/SubTB losses, replay, OP-GFN rewards.

Modules:

* :mod:`~gendesign.generators.gflownet.env` - the environment protocol and trajectory batches;
* :mod:`~gendesign.generators.gflownet.hypergrid` - the enumerable HyperGrid;
* :mod:`~gendesign.generators.gflownet.sequence_env` - autoregressive sequences over a ``SequenceSpace``;
* :mod:`~gendesign.generators.gflownet.policy` - policy, backward policy, flows and ``log Z``;
* :mod:`~gendesign.generators.gflownet.sampler` - forward/backward sampling and batched scoring;
* :mod:`~gendesign.generators.gflownet.losses` - TB, DB, SubTB(lambda);
* :mod:`~gendesign.generators.gflownet.rewards` - power, preference-conditioned, order-preserving;
* :mod:`~gendesign.generators.gflownet.replay` - replay buffer with a Pareto archive;
* :mod:`~gendesign.generators.gflownet.metrics` - L1, JSD, modes, Pareto-front coverage;
* :mod:`~gendesign.generators.gflownet.trainer` - the training engine tying them together.
"""

from gendesign.generators.gflownet.env import DiscreteEnv, EnumerableEnv, Trajectories
from gendesign.generators.gflownet.hypergrid import HyperGridEnv
from gendesign.generators.gflownet.policy import GFlowNetPolicy
from gendesign.generators.gflownet.sequence_env import SequenceEnv
from gendesign.generators.gflownet.trainer import GFlowNetOptions, GFlowNetTrainer

__all__ = [
    "DiscreteEnv",
    "EnumerableEnv",
    "GFlowNetOptions",
    "GFlowNetPolicy",
    "GFlowNetTrainer",
    "HyperGridEnv",
    "SequenceEnv",
    "Trajectories",
]
