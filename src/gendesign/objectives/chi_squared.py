"""χ² occupancy-measure regularisation (ORPO) for generators with exact likelihoods.

Laidlaw, Singhal & Dragan 2024, "Correlated Proxies: A New Definition and Improved Mitigation for
Reward Hacking" (arXiv 2403.03185). If a proxy ``R̃`` is correlated with the true reward on the
reference policy's outputs, the true improvement is bounded below by the proxy improvement minus a
``sqrt(χ²(μ_π ‖ μ_ref))`` term, so the regularised objective is

``J(θ) = E_{x~p_θ}[R̃(x)] - λ sqrt(χ²(p_θ ‖ p_ref))``,  ``χ²(p ‖ q) = E_p[w] - 1``,  ``w = p_θ(x) / p_ref(x)``.

For single-step generators the occupancy measure is the output distribution. Since
``∇ χ² = 2 E_p[w ∇ log p_θ]``, ``∇ sqrt(χ²) = E_p[(w / sqrt(χ²)) ∇ log p_θ]``: the penalty is a
per-sample reward term, and REINFORCE on

``r_pen(x) = R̃(x) - λ (w(x) - 1) / sqrt(χ̂²)``

is the exact policy gradient of ``J`` (the ``-1`` is a baseline). ``χ̂²`` is estimated on the batch
(on-policy samples) as the trimmed mean of ``w - 1`` (the top ``trim`` share of ``w`` dropped, as ORPO
does, because ``w`` is heavy-tailed). ``log w`` comes from exact likelihoods: a GFlowNet's or
autoregressive model's log-probabilities, a DDPO trajectory's summed step log-probabilities, or an
MDLM's ELBO (a bound, so then only approximately).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, ObjectiveSpec, Scores
from gendesign.core.protocols import LikelihoodScorer, require_protocol
from gendesign.objectives.compose import ObjectiveWrapper, nan_invalid

__all__ = ["ChiSquaredPenalty", "chi_squared_estimate", "chi_squared_penalized", "likelihood_log_ratio"]

MIN_CHI2 = 1e-8
"""At or below this ``χ̂²`` (no measurable divergence, e.g. the first step from the reference) no
penalty is applied: ``(w - 1) / sqrt(χ̂²)`` would only amplify sampling noise."""


def chi_squared_estimate(log_ratio: Tensor, trim: float = 0.01) -> Tensor:
    """``χ̂² = mean(w - 1)`` over samples of ``p_θ`` with the largest ``trim`` share of ``w = exp(log_ratio)`` dropped.

    Args:
        log_ratio: `[B]` ``log p_θ(x_b) - log p_ref(x_b)`` of on-policy samples (NaN entries ignored).
        trim: share in ``[0, 0.5)`` of the largest ratios left out.
    """
    if not 0 <= trim < 0.5:
        raise ConfigError(f"chi_squared_estimate: trim={trim} must be in [0, 0.5)")
    w = torch.exp(log_ratio[torch.isfinite(log_ratio)].detach().double())
    if w.numel() == 0:
        return torch.zeros((), dtype=torch.float64)
    keep = w.numel() - int(math.floor(trim * w.numel()))
    return (w.sort().values[:keep] - 1.0).mean()


def chi_squared_penalized(rewards: Tensor, log_ratio: Tensor, lam: float, *, chi2: Tensor | float | None = None, trim: float = 0.01) -> Tensor:
    """``r_pen = r - λ (w - 1) / sqrt(χ̂²)`` `[B]`: the reward whose policy gradient is that of ``E[r] - λ sqrt(χ²)``.

    Args:
        rewards: `[B]` proxy rewards of on-policy samples.
        log_ratio: `[B]` ``log p_θ - log p_ref`` of the same samples (treated as constants).
        lam: ``λ >= 0``; ORPO's theory suggests ``σ_R̃ sqrt(1 - r²)`` for proxy-true correlation ``r``.
        chi2: ``χ²`` to use (e.g. exact); default :func:`chi_squared_estimate` on this batch.
        trim: see :func:`chi_squared_estimate`.
    """
    if not lam >= 0:
        raise ConfigError(f"chi_squared_penalized: lam={lam} must be >= 0")
    c = chi_squared_estimate(log_ratio, trim) if chi2 is None else torch.as_tensor(chi2, dtype=torch.float64)
    if lam == 0 or float(c) <= MIN_CHI2:
        return rewards
    w = torch.exp(log_ratio.detach().double())
    penalty = lam * (w - 1.0) / c.sqrt()
    return (rewards.double() - penalty.to(rewards.device)).to(rewards.dtype)


def likelihood_log_ratio(model: Any, reference: Any, **options: Any) -> Callable[[Sequence[Any]], Tensor]:
    """``designs -> log p_model - log p_reference`` `[B]` from two :class:`~gendesign.core.protocols.LikelihoodScorer` s.

    For an MDLM both are ELBO bounds (``-NELBO``), so the ratio is approximate; ``options`` go to
    ``log_likelihood`` (e.g. ``seed``), the same for both models so their Monte-Carlo noise is shared.
    """
    require_protocol(model, LikelihoodScorer, what="the model", needed_by="likelihood_log_ratio")
    require_protocol(reference, LikelihoodScorer, what="the reference", needed_by="likelihood_log_ratio")

    def log_ratio(designs: Sequence[Any]) -> Tensor:
        return model.log_likelihood(designs, **options).double() - reference.log_likelihood(designs, **options).double()

    return log_ratio


class ChiSquaredPenalty(ObjectiveWrapper):
    """A proxy column penalised by ORPO's χ² term, on a batch of on-policy samples: `[B, 1]`.

    The batch must be samples of the current generator ``p_θ``: ``χ̂²`` is estimated on it.

    Args:
        inner: the proxy objective.
        log_ratio_fn: ``designs -> [B] log p_θ - log p_ref`` supplied by the generator (e.g.
            :func:`likelihood_log_ratio`).
        lam: ``λ``.
        trim: share of the largest ratios left out of ``χ̂²``.
        column: the proxy column (name or index), used in its maximise view.
    """

    deterministic = False

    def __init__(self, inner: Objective, log_ratio_fn: Callable[[Sequence[Any]], Tensor], lam: float, trim: float = 0.01, column: str | int = 0) -> None:
        super().__init__(inner)
        names = [s.name for s in inner.specs]
        idx = names.index(column) if isinstance(column, str) and column in names else column
        if not isinstance(idx, int) or not 0 <= idx < len(names):
            raise ConfigError(f"ChiSquaredPenalty: column {column!r} is not one of {names}")
        if not lam >= 0 or not 0 <= trim < 0.5:
            raise ConfigError(f"ChiSquaredPenalty: lam={lam} must be >= 0 and trim={trim} in [0, 0.5)")
        self.column, self.lam, self.trim, self.log_ratio_fn = idx, float(lam), float(trim), log_ratio_fn
        self.deterministic = False
        self.specs = (ObjectiveSpec(name=f"{names[idx]}_chi2", direction="max"),)

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        scores = self.call_inner(designs)
        proxy = scores.values[:, self.column] * self.inner.specs[self.column].sign
        log_ratio = self.log_ratio_fn(designs).to(proxy.device)
        chi2 = chi_squared_estimate(log_ratio[scores.valid], self.trim)
        values = chi_squared_penalized(proxy, log_ratio, self.lam, chi2=chi2).unsqueeze(-1)
        return Scores(
            values=nan_invalid(values, scores.valid),
            valid=scores.valid,
            specs=self.specs,
            errors=scores.errors,
            info={"chi2": float(chi2), "log_ratio": log_ratio.detach()},
            raised=scores.raised,
        )

    def config(self) -> dict[str, Any]:
        return {**super().config(), "column": self.column, "lam": self.lam, "trim": self.trim}
