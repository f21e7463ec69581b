"""The distribution-shift guard of ``metabo``: is the learned surrogate still better than a GP on this task?

A meta-learned model (a TNP trained on a prior) can be confidently wrong on a task unlike its
prior; NAP, for one, loses to a GP on two HPO-B spaces (Maraval et al. 2023). The guard scores
both models by their **leave-one-out Gaussian negative log predictive density** on the observed
points, in standardised output units and averaged over points and output columns:

``NLL = mean_i mean_k [ 0.5 log(2 pi s_ik^2) + (y_ik - m_ik)^2 / (2 s_ik^2) ]``

* the surrogate under test is conditioned on all points but ``i`` and predicts ``i``; its NLL is
  ``-log p(y_i)`` under its own predictive density when its posterior offers one
  (:class:`~gendesign.core.protocols.DensityPosterior`, e.g. a TNP's bar distribution, capped at
  ``NLL_CAP`` where a bar distribution puts no mass), else the Gaussian above with ``m``, ``s^2``
  from its :class:`~gendesign.core.protocols.Posterior` plus the GP's fitted noise (so a
  noise-free model is not punished for interpolating); at most ``max_points`` held-out points,
  drawn at random, keep this cheap;
* the GP is fitted (marginal likelihood) once on all points and its exact leave-one-out
  predictions at the same points are used (:meth:`~gendesign.search.gp_surrogate.GPSurrogate.leave_one_out`).
  Its hyperparameters have seen the held-out point, which favours the GP slightly: the guard errs
  towards the model with known behaviour.

The learned model is kept when ``NLL_model <= NLL_gp + margin``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from gendesign.core.protocols import DensityPosterior, Surrogate, conforms
from gendesign.search.gp_surrogate import GPSurrogate

NLL_CAP = 50.0
"""Largest per-point NLL counted (a bar distribution gives ``-log 0 = inf`` outside its borders)."""


@dataclass(frozen=True)
class GuardResult:
    """One check: the two NLLs and whether the strategy falls back to the GP."""

    model_nll: float
    gp_nll: float
    fallback: bool


def gaussian_nll(y: Tensor, mean: Tensor, variance: Tensor) -> Tensor:
    """Elementwise ``0.5 log(2 pi var) + (y - mean)^2 / (2 var)``."""
    var = variance.clamp_min(1e-12)
    return 0.5 * torch.log(2 * math.pi * var) + (y - mean).pow(2) / (2 * var)


def leave_one_out_nll(model: Surrogate, X: Tensor, Y: Tensor, rows: Tensor, extra_variance: Tensor) -> float:
    """Mean Gaussian NLL of ``Y[rows]`` predicted by ``model`` conditioned on the other rows of ``X`` `[N, D]`, ``Y`` `[N, K]`."""
    total = []
    keep = torch.ones(len(X), dtype=torch.bool)
    for i in rows.tolist():
        keep[i] = False
        model.condition(X[keep], Y[keep])
        with torch.no_grad():
            post = model.posterior(X[i : i + 1])
            if conforms(post, DensityPosterior):
                target = Y[i : i + 1].to(post.mean.dtype)
                total.append((-post.log_prob(target)).double().clamp(max=NLL_CAP))  # type: ignore[attr-defined]
            else:
                total.append(gaussian_nll(Y[i : i + 1], post.mean.double(), post.variance.double() + extra_variance))
        keep[i] = True
    return float(torch.cat(total).mean())


def check_shift(model: Surrogate, gp: GPSurrogate, X: Tensor, Y: Tensor, *, max_points: int, margin: float, generator: torch.Generator) -> GuardResult:
    """Compare ``model`` with ``gp`` on standardised observations ``X`` `[N, D]`, ``Y`` `[N, K]`.

    ``gp`` is (re)conditioned on all the data and stays so; ``model`` is left conditioned on a
    subset, so the caller conditions it again before using it.
    """
    gp.condition(X, Y)
    loo_mean, loo_var = gp.leave_one_out()
    rows = torch.randperm(len(X), generator=generator)[:max_points]
    gp_nll = float(gaussian_nll(Y[rows], loo_mean[rows], loo_var[rows]).mean())
    model_nll = leave_one_out_nll(model, X, Y, rows, gp.noise_variance())
    return GuardResult(model_nll, gp_nll, fallback=not model_nll <= gp_nll + margin)
