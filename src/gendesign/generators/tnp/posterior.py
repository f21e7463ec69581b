"""The predictive distribution a neural process gives at a pool of candidates: a bar distribution per output."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.core.protocols import Posterior
from gendesign.generators.tnp.bar_distribution import BarDistribution


@dataclass(frozen=True)
class BarPosterior(Posterior):
    """A :class:`~gendesign.core.protocols.Posterior` whose marginals are bar distributions.

    Attributes:
        mean: `[M, K]` predictive means (natural units).
        variance: `[M, K]` predictive variances.
        logits: `[M, K, B]` bucket logits.
        borders: `[K, B + 1]` bucket edges per output, in natural units.

    The acquisition functions are on the "maximise" view; ``best`` is a scalar or `[K]`.
    """

    logits: Tensor
    borders: Tensor

    @classmethod
    def from_logits(cls, logits: Tensor, borders: Tensor) -> BarPosterior:
        bar = BarDistribution(borders)
        return cls(mean=bar.mean(logits), variance=bar.variance(logits), logits=logits, borders=borders)

    @property
    def distribution(self) -> BarDistribution:
        return BarDistribution(self.borders)

    def quantile(self, q: float) -> Tensor:
        """`[M, K]` the ``q`` quantile of the bar distribution (not a Gaussian approximation)."""
        if not 0.0 < q < 1.0:
            raise ConfigError(f"quantile q={q} must lie in (0, 1)")
        return self.distribution.quantile(self.logits, q)

    def cdf(self, y: Tensor) -> Tensor:
        """`[M, K]` ``P(Y <= y)`` at ``y`` `[M, K]` (or broadcastable)."""
        return self.distribution.cdf(self.logits, y.expand(self.mean.shape))

    def log_prob(self, y: Tensor) -> Tensor:
        """`[M, K]` log-density at ``y`` `[M, K]` (``-inf`` outside the borders)."""
        return self.distribution.log_prob(self.logits, y.expand(self.mean.shape))

    def expected_improvement(self, best: float | Tensor) -> Tensor:
        """`[M, K]` analytic ``E[max(Y - best, 0)]``."""
        return self.distribution.expected_improvement(self.logits, best)

    def probability_of_improvement(self, best: float | Tensor) -> Tensor:
        """`[M, K]` ``P(Y > best)``."""
        return self.distribution.probability_of_improvement(self.logits, best)

    def upper_confidence_bound(self, beta: float = 2.0) -> Tensor:
        """`[M, K]` ``mean + sqrt(beta) * std``."""
        return self.mean + beta**0.5 * self.variance.sqrt()
