"""The acquisition functions of the ``bo`` strategy: noisy log-EI and noisy log-EHVI with outcome constraints.

The surrogate's outputs are laid out as ``[objectives (K), constraint margins (C)]``, all in the
maximised view: objective ``k`` is ``sign_k y_k`` and a constraint margin is
``sign_c (y_c - threshold_c)``, so a design is feasible when every margin is ``>= 0``
(:func:`gendesign.core.objective.constraint_satisfied`).

* ``K = 1``: ``qLogNoisyExpectedImprovement`` (Ament et al. 2023), the log of the expected
  improvement of the q-batch over the best *noisy* baseline, integrated over the joint posterior of
  batch and baseline by quasi-Monte Carlo.
* ``K > 1``: ``qLogNoisyExpectedHypervolumeImprovement`` (Daulton, Balandat & Bakshy 2021; Ament
  et al. 2023), the expected hypervolume gain over the baseline's Pareto front above a fixed
  reference point.

Constraints enter both as BoTorch outcome constraints ``g(Z) = -margin <= 0``, whose feasibility
indicator is smoothed by a sigmoid with temperature ``eta`` (Gardner et al. 2014 for the
constrained-EI idea). Pending designs ``X_pending`` are fantasised jointly with the batch, so a
design asked but not yet told is not proposed again in expectation.

References:
    S. Ament, S. Daulton, D. Eriksson, M. Balandat, E. Bakshy. "Unexpected improvements to expected
    improvement for Bayesian optimization." NeurIPS 2023.

    S. Daulton, M. Balandat, E. Bakshy. "Parallel Bayesian optimization of multiple noisy
    objectives with expected hypervolume improvement." NeurIPS 2021.

    J. Gardner, M. Kusner, Z. Xu, K. Weinberger, J. Cunningham. "Bayesian optimization with
    inequality constraints." ICML 2014.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.acquisition.logei import qLogNoisyExpectedImprovement
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.acquisition.multi_objective.objective import IdentityMCMultiOutputObjective
from botorch.acquisition.objective import GenericMCObjective
from botorch.models.model import Model
from botorch.sampling import SobolQMCNormalSampler
from torch import Tensor


def _margin_constraint(column: int) -> Callable[[Tensor], Tensor]:
    """BoTorch constraint ``-Z[..., column]`` (feasible when ``<= 0``, i.e. margin ``>= 0``)."""

    def constraint(samples: Tensor) -> Tensor:
        return -samples[..., column]

    return constraint


def _first_output(samples: Tensor, X: Tensor | None = None) -> Tensor:
    return samples[..., 0]


def build_acquisition(
    model: Model,
    X_baseline: Tensor,
    *,
    num_objectives: int,
    num_constraints: int,
    ref_point: Tensor | None = None,
    X_pending: Tensor | None = None,
    mc_samples: int = 128,
    seed: int = 0,
) -> AcquisitionFunction:
    """qLogNEI (``num_objectives == 1``) or qLogNEHVI (``> 1``) on ``model``'s outputs ``[objectives, margins]``.

    Args:
        model: a fitted model with ``num_objectives + num_constraints`` outputs.
        X_baseline: `[N, D]` observed inputs (the noisy incumbents).
        num_objectives: ``K``, the first ``K`` outputs.
        num_constraints: ``C``, the next outputs, feasible where ``>= 0``.
        ref_point: `[K]` hypervolume reference point in the maximised view (``K > 1`` only).
        X_pending: `[P, D]` designs asked but not yet told.
        mc_samples: quasi-Monte-Carlo samples of the posterior.
        seed: seed of the Sobol sampler.
    """
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([mc_samples]), seed=seed)
    constraints = [_margin_constraint(num_objectives + c) for c in range(num_constraints)] or None
    if num_objectives == 1:
        return qLogNoisyExpectedImprovement(
            model=model,
            X_baseline=X_baseline,
            sampler=sampler,
            objective=GenericMCObjective(_first_output) if num_constraints else None,
            constraints=constraints,
            X_pending=X_pending,
            prune_baseline=True,
        )
    if ref_point is None:
        raise ValueError("several objectives need a reference point")
    return qLogNoisyExpectedHypervolumeImprovement(
        model=model,
        ref_point=ref_point.tolist(),
        X_baseline=X_baseline,
        sampler=sampler,
        objective=IdentityMCMultiOutputObjective(outcomes=list(range(num_objectives))) if num_constraints else None,
        constraints=constraints,
        X_pending=X_pending,
        prune_baseline=True,
    )
