"""The Riemann ("bar") distribution: a piecewise-uniform density over fixed buckets.

``K`` buckets with borders ``b_0 < b_1 < ... < b_K`` and probabilities ``p_i = softmax(logits)_i``
define the density ``f(y) = p_i / w_i`` for ``y`` in bucket ``i = [b_{i-1}, b_i)`` (``w_i`` its
width) and 0 outside ``[b_0, b_K]``. Every statistic has a closed form:

* mean ``sum_i p_i c_i`` (``c_i`` the bucket centre), variance ``sum_i p_i (c_i^2 + w_i^2 / 12) - mean^2``;
* CDF piecewise linear, quantiles its inverse;
* expected improvement over ``f*``: ``sum_i p_i E[(Y - f*)^+ | bucket i]`` with
  ``E[(Y - f*)^+ | i] = c_i - f*`` when ``f* <= b_{i-1}`` and ``(b_i - f*)^2 / (2 w_i)`` inside the bucket;
* probability of improvement ``1 - CDF(f*)``, upper confidence bound ``mean + sqrt(beta) * std``.

Everything is on the "maximise" view. Borders are taken from quantiles of targets drawn from the
training prior, so buckets are narrow where the prior puts its mass (:func:`borders_from_samples`).
Müller et al. 2022, "Transformers can do Bayesian inference" (ICLR), Sec. 4.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError


def borders_from_samples(samples: Tensor, num_buckets: int, *, margin: float = 0.1) -> Tensor:
    """`[num_buckets + 1]` borders at equally spaced quantiles of ``samples``, the outer two widened.

    The outer borders are pushed out by ``margin`` times the sample range so that values a little
    beyond what the prior produced still get density.
    """
    if num_buckets < 2:
        raise ConfigError(f"num_buckets={num_buckets} must be at least 2")
    flat = samples.detach().flatten().double()
    flat = flat[torch.isfinite(flat)]
    if flat.numel() < num_buckets:
        raise ConfigError(f"need at least num_buckets={num_buckets} finite samples to place borders, got {flat.numel()}")
    qs = torch.linspace(0.0, 1.0, num_buckets + 1, dtype=torch.float64)
    if flat.numel() > 2_000_000:
        flat = flat[torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(0))[:2_000_000]]
    borders = torch.quantile(flat, qs)
    span = float(borders[-1] - borders[0])
    borders[0] -= margin * span
    borders[-1] += margin * span
    # Ties in the quantiles (a prior with atoms) would give empty buckets; spread them minimally.
    eps = 1e-6 * max(span, 1e-12)
    for i in range(1, borders.numel()):
        if borders[i] <= borders[i - 1] + eps:
            borders[i] = borders[i - 1] + eps
    return borders.float()


class BarDistribution:
    """Statistics of piecewise-uniform distributions over shared ``borders``.

    Args:
        borders: `[..., K + 1]` strictly increasing bucket edges (leading dims broadcast against
            the logits' batch dims, e.g. one border set per output).

    Every method takes ``logits`` `[..., K]` (unnormalised log-probabilities of the buckets).
    """

    def __init__(self, borders: Tensor) -> None:
        if borders.shape[-1] < 3:
            raise ConfigError(f"a bar distribution needs at least 2 buckets, got borders of shape {tuple(borders.shape)}")
        if not bool((borders[..., 1:] > borders[..., :-1]).all()):
            raise ConfigError("bar distribution borders must be strictly increasing")
        self.borders = borders

    @property
    def num_buckets(self) -> int:
        return self.borders.shape[-1] - 1

    @property
    def widths(self) -> Tensor:
        """`[..., K]` bucket widths ``w_i``."""
        return self.borders[..., 1:] - self.borders[..., :-1]

    @property
    def centers(self) -> Tensor:
        """`[..., K]` bucket centres ``c_i``."""
        return 0.5 * (self.borders[..., 1:] + self.borders[..., :-1])

    def probs(self, logits: Tensor) -> Tensor:
        """`[..., K]` bucket probabilities."""
        return torch.softmax(logits, dim=-1)

    def mean(self, logits: Tensor) -> Tensor:
        """`[...]` ``E[Y]``."""
        return (self.probs(logits) * self.centers).sum(-1)

    def variance(self, logits: Tensor) -> Tensor:
        """`[...]` ``Var[Y]`` (the within-bucket uniform spread included)."""
        p = self.probs(logits)
        c, w = self.centers, self.widths
        second = (p * (c.square() + w.square() / 12.0)).sum(-1)
        return (second - (p * c).sum(-1).square()).clamp_min(0.0)

    def _bucket(self, y: Tensor) -> Tensor:
        """Index `[...]` of the bucket holding ``y`` (values outside are put in the first or last bucket)."""
        inner = self.borders[..., 1:-1].contiguous()
        yy = y.unsqueeze(-1).to(inner.dtype).contiguous()
        if inner.ndim > 1:
            inner = inner.expand(*yy.shape[:-1], inner.shape[-1]).contiguous()
        return torch.searchsorted(inner, yy, right=True).squeeze(-1)

    def log_prob(self, logits: Tensor, y: Tensor) -> Tensor:
        """`[...]` log-density ``log p_i - log w_i`` at ``y`` `[...]`; ``-inf`` outside ``[b_0, b_K]``."""
        logp = torch.log_softmax(logits, dim=-1)
        idx = self._bucket(y)
        w = self.widths.expand_as(logp)
        out = logp.gather(-1, idx.unsqueeze(-1)).squeeze(-1) - w.gather(-1, idx.unsqueeze(-1)).squeeze(-1).log()
        outside = (y < self.borders[..., 0]) | (y > self.borders[..., -1])
        return out.masked_fill(outside, float("-inf"))

    def nll(self, logits: Tensor, y: Tensor) -> Tensor:
        """`[...]` negative log-density at ``y`` clamped into ``[b_0, b_K]`` (the training loss)."""
        lo, hi = self.borders[..., 0], self.borders[..., -1]
        return -self.log_prob(logits, torch.minimum(torch.maximum(y, lo), hi))

    def cdf(self, logits: Tensor, y: Tensor) -> Tensor:
        """`[...]` ``P(Y <= y)``."""
        p = self.probs(logits)
        lo, hi = self.borders[..., :-1], self.borders[..., 1:]
        frac = ((y.unsqueeze(-1) - lo) / (hi - lo)).clamp(0.0, 1.0)
        return (p * frac).sum(-1)

    def quantile(self, logits: Tensor, q: float | Tensor) -> Tensor:
        """`[...]` the ``q`` quantile (inverse of the piecewise-linear CDF), ``q`` in ``[0, 1]``."""
        p = self.probs(logits)
        qq = torch.as_tensor(q, dtype=p.dtype, device=p.device).expand(p.shape[:-1])
        cum = p.cumsum(-1)
        idx = torch.searchsorted(cum.contiguous(), qq.unsqueeze(-1).contiguous()).squeeze(-1).clamp(max=p.shape[-1] - 1)
        before = torch.where(idx > 0, cum.gather(-1, (idx - 1).clamp_min(0).unsqueeze(-1)).squeeze(-1), torch.zeros_like(qq))
        pi = p.gather(-1, idx.unsqueeze(-1)).squeeze(-1)
        lo = self.borders[..., :-1].expand_as(p).gather(-1, idx.unsqueeze(-1)).squeeze(-1)
        w = self.widths.expand_as(p).gather(-1, idx.unsqueeze(-1)).squeeze(-1)
        return lo + w * ((qq - before) / pi.clamp_min(1e-30)).clamp(0.0, 1.0)

    def expected_improvement(self, logits: Tensor, best: float | Tensor) -> Tensor:
        """`[...]` ``E[max(Y - best, 0)]`` in closed form (Jones et al. 1998 on a piecewise-uniform density)."""
        p = self.probs(logits)
        f = torch.as_tensor(best, dtype=p.dtype, device=p.device)
        f = f.unsqueeze(-1) if f.ndim > 0 else f
        lo, hi = self.borders[..., :-1], self.borders[..., 1:]
        above = self.centers - f
        inside = (hi - f).clamp_min(0.0).square() / (2.0 * (hi - lo))
        per_bucket = torch.where(f <= lo, above, inside)
        return (p * per_bucket).sum(-1)

    def probability_of_improvement(self, logits: Tensor, best: float | Tensor) -> Tensor:
        """`[...]` ``P(Y > best) = 1 - CDF(best)``."""
        f = torch.as_tensor(best, dtype=logits.dtype, device=logits.device).expand(logits.shape[:-1])
        return 1.0 - self.cdf(logits, f)

    def upper_confidence_bound(self, logits: Tensor, beta: float = 2.0) -> Tensor:
        """`[...]` ``mean + sqrt(beta) * std`` (Srinivas et al. 2010; BoTorch's convention for ``beta``)."""
        return self.mean(logits) + beta**0.5 * self.variance(logits).sqrt()
