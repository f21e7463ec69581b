"""Acquisition functions of ``metabo`` on a surrogate's Gaussian predictive marginals.

All values are in the canonical (maximise) view. With ``mu`` `[M]`, ``sigma`` `[M]` and
``z = (mu - best) / sigma``:

* expected improvement (Jones et al. 1998): ``EI = sigma * (z Phi(z) + phi(z))``;
* upper confidence bound (Srinivas et al. 2010): ``UCB = mu + sqrt(beta) * sigma``;
* probability of feasibility of a constraint ``c >= 0``: ``Phi(mu_c / sigma_c)`` (Gardner et al. 2014);
* Monte-Carlo hypervolume improvement (Daulton et al. 2020, "Differentiable expected hypervolume
  improvement"), :func:`mc_hypervolume_improvement`: the region that the current front leaves
  undominated above the reference point is split into disjoint boxes ``[l_c, u_c]`` (BoTorch's
  ``FastNondominatedPartitioning``), and a sample ``y`` `[K]` improves the hypervolume by
  ``sum_c prod_k max(0, min(y_k, u_ck) - l_ck)``; the mean over ``S`` posterior samples drawn with
  common random numbers estimates EHVI.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def expected_improvement(mean: Tensor, variance: Tensor, best: Tensor | float) -> Tensor:
    """`[M]` analytic EI of marginals ``mean``, ``variance`` `[M]` over the incumbent ``best``."""
    sigma = variance.clamp_min(1e-18).sqrt()
    z = (mean - best) / sigma
    normal = torch.distributions.Normal(torch.zeros((), dtype=mean.dtype), torch.ones((), dtype=mean.dtype))
    return sigma * (z * normal.cdf(z) + normal.log_prob(z).exp())


def upper_confidence_bound(mean: Tensor, variance: Tensor, beta: float) -> Tensor:
    """`[M]` ``mean + sqrt(beta) * sigma``."""
    return mean + math.sqrt(beta) * variance.clamp_min(0).sqrt()


def probability_of_feasibility(mean: Tensor, variance: Tensor) -> Tensor:
    """`[M]` ``prod_j Phi(mean_j / sigma_j)`` over constraint columns ``mean``, ``variance`` `[M, J]` (feasible when ``c >= 0``)."""
    if mean.shape[-1] == 0:
        return torch.ones(mean.shape[0], dtype=mean.dtype)
    z = mean / variance.clamp_min(1e-18).sqrt()
    return torch.special.ndtr(z).prod(-1)


def hypercell_bounds(front: Tensor, ref_point: Tensor) -> Tensor:
    """`[2, C, K]` lower and upper corners of the disjoint boxes that ``front`` `[P, K]` leaves undominated above ``ref_point`` `[K]`."""
    from botorch.utils.multi_objective.box_decompositions.non_dominated import FastNondominatedPartitioning

    above = front[(front > ref_point).all(-1)]
    partitioning = FastNondominatedPartitioning(ref_point=ref_point, Y=above if len(above) else ref_point.unsqueeze(0))
    return partitioning.get_hypercell_bounds()


def mc_hypervolume_improvement(mean: Tensor, variance: Tensor, cells: Tensor, base_samples: Tensor) -> Tensor:
    """`[M]` Monte-Carlo expected hypervolume improvement of candidates with independent Gaussian marginals.

    Args:
        mean: `[M, K]` canonical-view means.
        variance: `[M, K]` variances.
        cells: `[2, C, K]` from :func:`hypercell_bounds`; upper corners may be ``inf``.
        base_samples: `[S, K]` standard-normal draws shared by all candidates (common random numbers).
    """
    y = mean.unsqueeze(0) + variance.clamp_min(0).sqrt().unsqueeze(0) * base_samples.unsqueeze(1)  # [S, M, K]
    lower, upper = cells[0], cells[1]  # [C, K]
    side = (torch.minimum(y.unsqueeze(-2), upper) - lower).clamp_min(0)  # [S, M, C, K]
    return side.prod(-1).sum(-1).mean(0)
