"""An exact Gaussian-process surrogate: the reference model of ``metabo`` and its distribution-shift fallback.

Each output column is an independent GP on standardised outputs ``z = (y - m) / s``. With
``fit=True`` the hyperparameters (Matern-5/2 ARD lengthscales, outputscale, noise, constant mean)
are fitted by maximising the marginal likelihood of BoTorch's ``SingleTaskGP`` (its default
dimension-scaled priors; Hvarfner et al. 2024, "Vanilla Bayesian optimization performs great in
high dimensions"); with ``fit=False`` an RBF kernel with the given fixed hyperparameters is used
(fast and deterministic, for tests). Prediction is the textbook closed form (Rasmussen & Williams
2006, Eq. 2.25-2.26), written here so that it is differentiable in the candidates:

``mean = m_0 + K_*^T (K + s_n^2 I)^{-1} (z - m_0)``, ``var = k_** - K_*^T (K + s_n^2 I)^{-1} K_*``.

:meth:`GPSurrogate.leave_one_out` gives the exact leave-one-out predictive distribution of every
observation without refitting (R&W Eq. 5.12): ``mu_i = z_i - [A^{-1} z]_i / [A^{-1}]_ii``,
``sigma_i^2 = 1 / [A^{-1}]_ii`` with ``A = K + s_n^2 I``.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.core.protocols import Posterior


class GPSurrogate:
    """Independent exact GPs per output column (a :class:`~gendesign.core.protocols.Surrogate`).

    Args:
        fit: fit hyperparameters by maximum marginal likelihood (BoTorch ``SingleTaskGP``); else
            use the fixed ``lengthscale``, ``outputscale`` and ``noise`` below.
        lengthscale: RBF lengthscale (inputs are expected in the unit cube) when ``fit=False``.
        outputscale: prior variance of the standardised outputs when ``fit=False``.
        noise: observation-noise variance of the standardised outputs when ``fit=False``.
        seed: seeds the random restarts the fitter may draw, so a refit is reproducible.
    """

    def __init__(self, fit: bool = True, lengthscale: float = 0.2, outputscale: float = 1.0, noise: float = 1e-4, seed: int = 0) -> None:
        if lengthscale <= 0 or outputscale <= 0 or noise <= 0:
            raise ConfigError(f"GPSurrogate needs lengthscale, outputscale and noise > 0; got {lengthscale}, {outputscale}, {noise}")
        self.fit, self.lengthscale, self.outputscale, self.noise, self.seed = fit, lengthscale, outputscale, noise, seed
        self._model = None
        self.X: Tensor | None = None

    @classmethod
    def from_pretrained(cls, directory: str, *, device: str | torch.device = "cpu", **options: object) -> GPSurrogate:
        """A GP has nothing to load: the directory is ignored and ``options`` build it (so a config may name a path)."""
        return cls(**options)  # type: ignore[arg-type]

    def condition(self, X: Tensor, y: Tensor) -> None:
        """Condition on ``X`` `[N, D]` and ``y`` `[N]` or `[N, K]` (refitting hyperparameters with ``fit=True``)."""
        X = X.detach().double()
        y = (y if y.ndim == 2 else y.unsqueeze(-1)).detach().double()
        if X.ndim != 2 or y.shape[0] != X.shape[0] or X.shape[0] == 0:
            raise ConfigError(f"GPSurrogate.condition needs X [N, D] and y [N, K] with N >= 1; got {list(X.shape)} and {list(y.shape)}")
        self.X = X
        self.y_mean = y.mean(0)
        self.y_std = y.std(0) if len(y) > 1 else torch.ones_like(self.y_mean)
        self.y_std = torch.where(self.y_std > 1e-12, self.y_std, torch.ones_like(self.y_std))
        self.z = ((y - self.y_mean) / self.y_std).T.contiguous()  # [K, N]
        self._model = self._fit(X, self.z) if self.fit and len(X) > 1 else None
        with torch.no_grad():
            A = self._kernel(X, X) + self._noise().reshape(-1, 1, 1) * torch.eye(len(X), dtype=torch.float64)
            self.chol = torch.linalg.cholesky(A + 1e-9 * torch.eye(len(X), dtype=torch.float64))
            self.alpha = torch.cholesky_solve((self.z - self._mean0()).unsqueeze(-1), self.chol)  # [K, N, 1]

    def _fit(self, X: Tensor, z: Tensor) -> object:
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from gpytorch.mlls import ExactMarginalLogLikelihood

        with torch.random.fork_rng(), warnings.catch_warnings():
            torch.manual_seed(self.seed)
            warnings.simplefilter("ignore")  # BoTorch warns about outcomes it would scale; they are standardised already
            model = SingleTaskGP(X, z.T, outcome_transform=None)
            fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        return model.eval()

    def _kernel(self, a: Tensor, b: Tensor) -> Tensor:
        """`[K, A, B]` prior covariances of the standardised outputs."""
        K = self.z.shape[0]
        if self._model is None:
            k = self.outputscale * torch.exp(-0.5 * torch.cdist(a, b).pow(2) / self.lengthscale**2)
            return k.unsqueeze(0).expand(K, -1, -1)
        k = self._model.covar_module(a, b).to_dense()  # type: ignore[attr-defined]
        return k if k.ndim == 3 else k.unsqueeze(0).expand(K, -1, -1)

    def _kernel_diag(self, a: Tensor) -> Tensor:
        K = self.z.shape[0]
        if self._model is None:
            return torch.full((K, len(a)), self.outputscale, dtype=torch.float64)
        k = self._model.covar_module(a, diag=True)  # type: ignore[attr-defined]
        return k if k.ndim == 2 else k.unsqueeze(0).expand(K, -1)

    def _noise(self) -> Tensor:
        """`[K]` noise variances."""
        K = self.z.shape[0]
        if self._model is None:
            return torch.full((K,), self.noise, dtype=torch.float64)
        return self._model.likelihood.noise.detach().reshape(-1).expand(K).clone()  # type: ignore[attr-defined]

    def _mean0(self) -> Tensor:
        """`[K, 1]` the constant prior means."""
        K = self.z.shape[0]
        if self._model is None:
            return torch.zeros(K, 1, dtype=torch.float64)
        return self._model.mean_module.constant.detach().reshape(-1, 1).expand(K, 1).clone()  # type: ignore[attr-defined]

    def _check(self) -> None:
        if self.X is None:
            raise ConfigError("GPSurrogate.posterior was called before condition(X, y)")

    def posterior(self, X: Tensor) -> Posterior:
        """Latent-function mean and variance `[M, K]` at ``X`` `[M, D]` in natural units; differentiable in ``X``."""
        self._check()
        X = X.double()
        ks = self._kernel(self.X, X)  # type: ignore[arg-type]  # [K, N, M]
        mean = self._mean0() + (ks.transpose(-1, -2) @ self.alpha).squeeze(-1)  # [K, M]
        v = torch.linalg.solve_triangular(self.chol, ks, upper=False)
        var = (self._kernel_diag(X) - v.pow(2).sum(-2)).clamp_min(1e-12)
        return Posterior((mean * self.y_std.unsqueeze(-1)).T + self.y_mean, (var * self.y_std.pow(2).unsqueeze(-1)).T)

    def noise_variance(self) -> Tensor:
        """`[K]` the observation-noise variances in natural units."""
        self._check()
        return self._noise() * self.y_std.pow(2)

    def leave_one_out(self) -> tuple[Tensor, Tensor]:
        """Exact leave-one-out predictive ``(mean, variance)`` `[N, K]` of the observations (noise included), in natural units."""
        self._check()
        eye = torch.eye(self.chol.shape[-1], dtype=torch.float64)
        Ainv = torch.cholesky_solve(eye.expand_as(self.chol), self.chol)  # [K, N, N]
        diag = torch.diagonal(Ainv, dim1=-2, dim2=-1)
        centred = self.z - self._mean0()
        mean = self.z - (Ainv @ centred.unsqueeze(-1)).squeeze(-1) / diag
        var = 1.0 / diag
        return (mean * self.y_std.unsqueeze(-1)).T + self.y_mean, (var * self.y_std.pow(2).unsqueeze(-1)).T
