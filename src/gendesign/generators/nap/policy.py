"""The NAP policy: a transformer neural process with an end-to-end acquisition head over a candidate pool.

Maraval et al. 2023, "End-to-end meta-Bayesian optimisation with transformer neural processes"
(NAP). The TNP (:class:`~gendesign.generators.tnp.model.TransformerNeuralProcess`) reads the history
and predicts a bar distribution (``B`` bucket logits) at every candidate in one pass, the
candidates never seeing each other. The acquisition head is an MLP on, per candidate,

``h = [softmax(logits) (B), x padded to max_dim (D), incumbent z*, t / T]``,

where ``z*`` is the best observed value in the TNP's standardised units; its output divided by a
temperature ``tau`` is the policy's logit, ``pi(a | H_t) = softmax_a(MLP(h_a) / tau)`` over the
candidates not yet queried. Gradients from the head flow into the TNP (end-to-end), and the value
head ``V(z*, t / T)`` (an MLP on the two state features only, as in NAP) is PPO's critic.

As a :class:`~gendesign.core.protocols.Surrogate` it predicts with its TNP; as an
:class:`~gendesign.core.protocols.AcquisitionPolicy` it scores candidates with its head.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from gendesign.core.errors import ConfigError
from gendesign.core.generator import Generator
from gendesign.generators.tnp.model import TransformerNeuralProcess, standardise
from gendesign.generators.tnp.posterior import BarPosterior


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class NAPPolicy(Generator):
    """A TNP plus acquisition and value heads.

    Args:
        tnp: the constructor arguments of the :class:`TransformerNeuralProcess` it wraps.
        hidden: width of the acquisition head's hidden layers.
        layers: hidden layers of the acquisition head.
        temperature: ``tau``, the logits' divisor.
    """

    def __init__(self, tnp: dict[str, Any] | None = None, hidden: int = 64, layers: int = 2, temperature: float = 0.1) -> None:
        super().__init__()
        if temperature <= 0:
            raise ConfigError(f"NAPPolicy temperature must be > 0, got {temperature}")
        tnp = dict(tnp or {})
        self.register_config(tnp=tnp, hidden=hidden, layers=layers, temperature=temperature)
        self.tnp = TransformerNeuralProcess(**tnp)
        self.temperature = temperature
        buckets = int(self.tnp.borders.shape[0]) - 1
        self.head = _mlp([buckets + self.tnp.max_dim + 2] + [hidden] * layers + [1])
        self.value = _mlp([2, hidden, hidden, 1])
        self._history: tuple[Tensor, Tensor] | None = None

    @classmethod
    def from_tnp(cls, tnp: TransformerNeuralProcess, **options: Any) -> NAPPolicy:
        """A policy whose TNP starts from the weights of ``tnp`` (the heads are fresh)."""
        policy = cls(tnp=dict(tnp.config), **options)
        policy.tnp.load_state_dict(tnp.state_dict())
        return policy

    @classmethod
    def train_from_config(cls, config: str | Path, *, plugins: Any = None) -> str:
        """``gendesign train CONFIG`` with ``generator = "nap"``: PPO fine-tuning (:mod:`gendesign.generators.nap.training`)."""
        from gendesign.generators.nap.training import train

        return train(config)

    # -- the scores ---------------------------------------------------------------------------

    def scores(self, x_history: Tensor, y_history: Tensor, x_candidates: Tensor, budget_fraction: Tensor) -> tuple[Tensor, Tensor, BarPosterior]:
        """Policy logits `[b, M]`, state values `[b]` and the TNP's posterior for batches of tasks.

        Args:
            x_history: `[b, N, d]` unit-cube inputs (``N >= 1``).
            y_history: `[b, N]` observed values (maximise).
            x_candidates: `[b, M, d]`.
            budget_fraction: `[b]` ``t / T``.
        """
        post = self.tnp.predict(x_history, y_history, x_candidates)
        mean, std = standardise(y_history.to(post.mean))
        incumbent = (y_history.to(post.mean).max(-1, keepdim=True).values - mean) / std  # [b, 1]
        probs = post.logits.softmax(-1)
        b, m, d = x_candidates.shape
        x = torch.zeros(b, m, self.tnp.max_dim, dtype=probs.dtype, device=probs.device)
        x[..., :d] = x_candidates.to(probs).clamp(0.0, 1.0)
        state = torch.cat([incumbent, budget_fraction.to(probs).unsqueeze(-1)], -1)  # [b, 2]
        h = torch.cat([probs, x, state.unsqueeze(1).expand(b, m, 2)], -1)
        weight = self.head[0].weight
        return self.head(h.to(weight)).squeeze(-1) / self.temperature, self.value(state.to(weight)).squeeze(-1), post

    # -- Surrogate and AcquisitionPolicy -----------------------------------------------------

    def condition(self, X: Tensor, y: Tensor) -> None:
        """Condition the TNP (and the head) on ``X`` `[N, d]`, ``y`` `[N]` or `[N, K]`."""
        self.tnp.condition(X, y)
        self._history = (X.detach(), (y if y.ndim == 2 else y.unsqueeze(-1)).detach())

    def posterior(self, X: Tensor) -> BarPosterior:
        """The TNP's :class:`BarPosterior` at ``X`` `[M, d]`."""
        return self.tnp.posterior(X)

    def acquisition_scores(self, X: Tensor, *, budget_fraction: float) -> Tensor:
        """`[M]` the policy's logits at candidates ``X`` `[M, d]` given the conditioned history (first output column)."""
        if self._history is None or len(self._history[0]) == 0:
            raise ConfigError("NAPPolicy.acquisition_scores needs condition(X, y) with at least one observation first")
        Xh, yh = self._history
        frac = torch.tensor([budget_fraction], dtype=torch.float32)
        logits, _, _ = self.scores(Xh.unsqueeze(0), yh[:, 0].unsqueeze(0), X.unsqueeze(0), frac)
        return logits[0]
