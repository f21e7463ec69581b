"""Training tasks for a neural process: prior draws split at random into history and targets.

Task ``i`` of a stream is a pure function of ``(seed, stream, i)``: its generator is seeded from
them, so the batch at step ``s`` is the same in a fresh run and in one resumed at ``s`` (exact
resumption), and a validation stream never overlaps the training one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gendesign.generators.tnp.model import standardise
from gendesign.generators.tnp.priors import FunctionPrior

TRAIN_STREAM = 0
BORDER_STREAM = 1
VALIDATION_STREAM = 2


@dataclass(frozen=True)
class Task:
    """A batch of ``b`` functions at one dimension ``d``, standardised by their histories.

    Attributes:
        x_history: `[b, N, d]`; y_history: `[b, N]` standardised.
        x_target: `[b, M, d]`; y_target: `[b, M]` standardised with the history's statistics
            (an NLL in natural units is the standardised one plus the log of the history's std).
    """

    x_history: Tensor
    y_history: Tensor
    x_target: Tensor
    y_target: Tensor


class TaskSampler:
    """Draws :class:`Task` batches: ``d`` uniform in ``[min_dim, max_dim]``, ``N`` uniform in ``[min_context, max_context]``."""

    def __init__(self, prior: FunctionPrior, *, batch_size: int, num_targets: int, min_dim: int, max_dim: int, min_context: int, max_context: int, seed: int) -> None:
        self.prior = prior
        self.batch_size = batch_size
        self.num_targets = num_targets
        self.dims = (min_dim, max_dim)
        self.contexts = (min_context, max_context)
        self.seed = seed

    def generator(self, stream: int, index: int) -> torch.Generator:
        return torch.Generator().manual_seed((self.seed * 1_000_003 + stream) * 1_000_000_007 + index)

    def task(self, stream: int, index: int, *, dim: int | None = None, num_history: int | None = None) -> Task:
        """Task ``index`` of ``stream`` (``dim`` and ``num_history`` fixed when given)."""
        g = self.generator(stream, index)
        d = int(torch.randint(self.dims[0], self.dims[1] + 1, (1,), generator=g)) if dim is None else dim
        n = int(torch.randint(self.contexts[0], self.contexts[1] + 1, (1,), generator=g)) if num_history is None else num_history
        X, y = self.prior.sample(self.batch_size, n + self.num_targets, d, g)
        mean, std = standardise(y[:, :n])
        z = (y - mean) / std
        f32 = torch.float32
        return Task(X[:, :n].to(f32), z[:, :n].to(f32), X[:, n:].to(f32), z[:, n:].to(f32))
