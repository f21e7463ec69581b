"""The Gaussian-process surrogate of the ``bo`` strategy: a BoTorch ``SingleTaskGP`` with a chosen kernel.

One exact GP per output column (a batched ``SingleTaskGP`` for ``M > 1``), fitted by maximising
the marginal likelihood (``fit_gpytorch_mll``, L-BFGS-B). Outputs are standardised
(``Standardize``); box inputs are scaled to the unit cube (``Normalize`` with the space's bounds),
as BoTorch recommends. Discrete features (one-hot rows, fingerprints) are used as they are.

Kernels (:data:`KERNELS`, keyed by :attr:`gendesign.core.protocols.FeatureEncoder.kernel`):

* ``"default"``: BoTorch's own ``SingleTaskGP`` kernel, an ARD RBF kernel with the dimension-scaled
  log-normal lengthscale prior of Hvarfner, Hellsten & Nardi (2024), "Vanilla Bayesian
  optimization performs great in high dimensions".
* ``"hamming"``: one isotropic RBF lengthscale on one-hot rows, i.e.
  ``k(x, x') = exp(-H(x, x') / l^2)`` with ``H`` the Hamming distance of the two sequences, with the
  same dimension-scaled prior on ``l``.
* ``"tanimoto"``: :class:`~gendesign.search.tanimoto_kernel.TanimotoKernel` times an output scale.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable

import torch
from botorch.exceptions.errors import ModelFittingError
from botorch.exceptions.warnings import OptimizationWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms.input import Normalize
from botorch.models.transforms.outcome import Standardize
from gpytorch.constraints import GreaterThan
from gpytorch.kernels import Kernel, RBFKernel, ScaleKernel
from gpytorch.mlls import ExactMarginalLogLikelihood
from gpytorch.priors import LogNormalPrior
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.search.tanimoto_kernel import TanimotoKernel

log = logging.getLogger(__name__)

KernelFactory = Callable[[int, torch.Size], Kernel | None]
"""``(feature_dim, batch_shape) -> kernel`` (``None``: BoTorch's default)."""


def _default_kernel(dim: int, batch_shape: torch.Size) -> Kernel | None:
    return None


def _hamming_kernel(dim: int, batch_shape: torch.Size) -> Kernel:
    prior = LogNormalPrior(loc=math.sqrt(2) + 0.5 * math.log(dim), scale=math.sqrt(3))
    return RBFKernel(
        batch_shape=batch_shape,
        lengthscale_prior=prior,
        lengthscale_constraint=GreaterThan(2.5e-2, transform=None, initial_value=prior.mode),
    )


def _tanimoto_kernel(dim: int, batch_shape: torch.Size) -> Kernel:
    return ScaleKernel(TanimotoKernel(batch_shape=batch_shape), batch_shape=batch_shape)


KERNELS: dict[str, KernelFactory] = {
    "default": _default_kernel,
    "hamming": _hamming_kernel,
    "tanimoto": _tanimoto_kernel,
}
"""Covariance kernels by name; a plugin's feature encoder names one of these in its ``kernel``."""


def fit_gp(X: Tensor, Y: Tensor, *, kernel: str = "default", bounds: Tensor | None = None) -> SingleTaskGP:
    """A ``SingleTaskGP`` on inputs `[N, D]` and outputs `[N, M]`, hyperparameters fitted.

    Args:
        X: `[N, D]` float64 inputs.
        Y: `[N, M]` float64 outputs (maximised view; standardised inside the model).
        kernel: a key of :data:`KERNELS`.
        bounds: `[2, D]` box bounds; when given, inputs are normalised to the unit cube.

    A fit whose optimiser fails on every retry keeps the prior's initial hyperparameters and logs
    a warning: a campaign then proposes from a less informed model rather than stopping.
    """
    if kernel not in KERNELS:
        raise ConfigError(f"kernel={kernel!r} is not one of {sorted(KERNELS)}")
    m = int(Y.shape[-1])
    batch_shape = torch.Size([m]) if m > 1 else torch.Size([])
    covar = KERNELS[kernel](int(X.shape[-1]), batch_shape)
    model = SingleTaskGP(
        X,
        Y,
        covar_module=covar,
        input_transform=Normalize(d=X.shape[-1], bounds=bounds) if bounds is not None else None,
        outcome_transform=Standardize(m=m),
    )
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    try:
        with warnings.catch_warnings():
            # fit_gpytorch_mll retries from new initial conditions after an abnormal L-BFGS stop and
            # warns each time; the outcome (a fit or ModelFittingError) is what matters here
            warnings.simplefilter("ignore", OptimizationWarning)
            fit_gpytorch_mll(mll)
    except ModelFittingError as exc:
        log.warning("GP hyperparameter fit failed (%s); using the prior's initial hyperparameters", exc)
    model.eval()
    return model
