"""Function priors a neural process is trained on, sampled on the fly.

A prior draws ``b`` functions and evaluates each at ``n`` uniform points of ``[0, 1]^d``:
``sample(b, n, d, generator) -> (X [b, n, d], y [b, n])``. Every random number comes from the
``generator``, so a seeded generator gives the same batch (what exact training resumption rests on).
``settings()`` is the JSON-able description saved in the model's ``config.json``.

Priors (registered in :data:`PRIORS`, chosen in a config as ``[prior] name = ... [prior.options]``):

* ``gp``: a Gaussian process with gpytorch RBF or Matérn kernels and hyper-priors, per function,
  on ARD lengthscales (Gamma, scaled by ``d ** lengthscale_dim_power``), the outputscale (Gamma)
  and the noise variance (log-uniform); any of them may be fixed (Rasmussen & Williams 2006, Ch. 2).
* ``hebo``: the HEBO-style prior of PFNs4BO (Müller et al. 2023, Sec. 5): a Matérn GP whose
  features are each unused with some probability and whose inputs are warped by a random
  Kumaraswamy CDF ``1 - (1 - x^a)^b`` (Cowen-Rivers et al. 2022, HEBO).
* ``bnn``: random multilayer perceptrons with Gaussian weights (a Bayesian neural network prior,
  Müller et al. 2023, Sec. 5), plus observation noise.
* ``botorch``: BoTorch synthetic test functions on a random sub-box of their domain (a random
  translation and scaling of the inputs), negated (maximise view), scaled and shifted at random.
* ``mixture``: one of several priors per batch, with weights.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.core.registry import format_validation_error


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _numpy_rng(generator: torch.Generator) -> np.random.Generator:
    """A numpy generator seeded from ``generator`` (for Gamma draws, which torch cannot seed)."""
    return np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))


def _log_uniform(rng: np.random.Generator, low: float, high: float, size: Any) -> np.ndarray:
    return np.exp(rng.uniform(math.log(low), math.log(high), size=size))


class FunctionPrior(ABC):
    """A distribution over functions on ``[0, 1]^d``."""

    name: ClassVar[str]
    Options: ClassVar[type[_Options]]

    def __init__(self, **options: Any) -> None:
        try:
            self.options = self.Options(**options)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, where=f"prior {self.name!r}", model=self.Options)) from None

    def settings(self) -> dict[str, Any]:
        """JSON-able ``{"name": ..., "options": {...}}`` (every option, defaults included)."""
        return {"name": self.name, "options": self.options.model_dump()}

    def inputs(self, batch: int, num_points: int, dim: int, generator: torch.Generator) -> Tensor:
        """`[b, n, d]` uniform points of the unit cube (float64)."""
        return torch.rand(batch, num_points, dim, generator=generator, dtype=torch.float64)

    def sample(self, batch: int, num_points: int, dim: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``(X [b, n, d], y [b, n])``, float64, ``X`` in the unit cube."""
        X = self.inputs(batch, num_points, dim, generator)
        return X, self.evaluate(X, generator)

    @abstractmethod
    def evaluate(self, X: Tensor, generator: torch.Generator) -> Tensor:
        """`[b, n]` values of ``b`` fresh random functions at ``X`` `[b, n, d]` (noise included)."""


KernelName = Literal["rbf", "matern12", "matern32", "matern52"]


def kernel_matrix(kernel: str, X: Tensor, lengthscale: Tensor) -> Tensor:
    """`[b, n, n]` unit-outputscale covariance of gpytorch kernel ``kernel`` with ARD lengthscales `[b, d]`."""
    from gpytorch.kernels import MaternKernel, RBFKernel

    b, _, d = X.shape
    shape = torch.Size([b])
    module = RBFKernel(ard_num_dims=d, batch_shape=shape) if kernel == "rbf" else MaternKernel(nu={"matern12": 0.5, "matern32": 1.5, "matern52": 2.5}[kernel], ard_num_dims=d, batch_shape=shape)
    module = module.to(X.dtype)
    module.lengthscale = lengthscale.unsqueeze(-2)
    with torch.no_grad():
        return module(X, X).to_dense()


def sample_gp(
    X: Tensor,
    kernels: list[str],
    lengthscale: Tensor,
    outputscale: Tensor,
    noise: Tensor,
    generator: torch.Generator,
) -> Tensor:
    """`[b, n]` draws ``y = f(X) + eps`` with ``f ~ GP(0, s k_l)``, ``eps ~ N(0, noise)``.

    Args:
        X: `[b, n, d]`.
        kernels: ``b`` kernel names (one per function).
        lengthscale: `[b, d]`.
        outputscale: `[b]` signal variances.
        noise: `[b]` noise variances.
        generator: the source of the standard normal draws.
    """
    b, n, _ = X.shape
    K = torch.empty(b, n, n, dtype=torch.float64)
    for name in sorted(set(kernels)):
        idx = torch.tensor([i for i, k in enumerate(kernels) if k == name])
        K[idx] = kernel_matrix(name, X[idx].double(), lengthscale[idx].double())
    eye = torch.eye(n, dtype=torch.float64)
    cov = outputscale.double().view(b, 1, 1) * K + (noise.double().view(b, 1, 1) + 1e-6 * outputscale.double().view(b, 1, 1)) * eye
    L = torch.linalg.cholesky(cov)
    z = torch.randn(b, n, 1, generator=generator, dtype=torch.float64)
    return (L @ z).squeeze(-1)


class GPPriorOptions(_Options):
    """Options of the ``gp`` prior. A fixed value (``lengthscale``, ``outputscale``, ``noise``) overrides its hyper-prior."""

    kernels: list[KernelName] = Field(default_factory=lambda: ["rbf", "matern52"], min_length=1, description="kernels drawn uniformly per function")
    lengthscale: float | None = Field(None, gt=0, description="fixed ARD lengthscale (every dimension); None draws Gamma(concentration, rate) * d ** dim_power per dimension")
    lengthscale_concentration: float = Field(3.0, gt=0)
    lengthscale_rate: float = Field(6.0, gt=0)
    lengthscale_dim_power: float = Field(0.5, ge=0, description="drawn lengthscales are multiplied by d ** power, so functions in more dimensions are not rougher")
    outputscale: float | None = Field(None, gt=0, description="fixed signal variance; None draws Gamma(concentration, rate)")
    outputscale_concentration: float = Field(2.0, gt=0)
    outputscale_rate: float = Field(2.0, gt=0)
    noise: float | None = Field(None, ge=0, description="fixed noise variance; None draws it log-uniformly in [noise_min, noise_max] (times the outputscale)")
    noise_min: float = Field(1e-5, gt=0)
    noise_max: float = Field(0.1, gt=0)


class GPPrior(FunctionPrior):
    """Gaussian-process functions with RBF or Matérn kernels and hyper-priors on lengthscale, outputscale and noise."""

    name = "gp"
    Options = GPPriorOptions
    options: GPPriorOptions

    def hyperparameters(self, batch: int, dim: int, generator: torch.Generator) -> tuple[list[str], Tensor, Tensor, Tensor]:
        """``(kernels, lengthscale [b, d], outputscale [b], noise [b])`` drawn from the hyper-priors."""
        o = self.options
        rng = _numpy_rng(generator)
        kernels = [o.kernels[i] for i in rng.integers(0, len(o.kernels), size=batch)]
        if o.lengthscale is not None:
            ls = np.full((batch, dim), o.lengthscale)
        else:
            ls = rng.gamma(o.lengthscale_concentration, 1.0 / o.lengthscale_rate, size=(batch, dim)) * dim**o.lengthscale_dim_power
        os_ = np.full(batch, o.outputscale) if o.outputscale is not None else rng.gamma(o.outputscale_concentration, 1.0 / o.outputscale_rate, size=batch)
        noise = np.full(batch, o.noise) if o.noise is not None else _log_uniform(rng, o.noise_min, o.noise_max, batch) * os_
        as_t = lambda a: torch.as_tensor(np.maximum(a, 0.0), dtype=torch.float64)  # noqa: E731
        return kernels, as_t(np.maximum(ls, 1e-3)), as_t(np.maximum(os_, 1e-4)), as_t(noise)

    def evaluate(self, X: Tensor, generator: torch.Generator) -> Tensor:
        kernels, ls, os_, noise = self.hyperparameters(X.shape[0], X.shape[-1], generator)
        return sample_gp(X, kernels, ls, os_, noise, generator)


class HeboPriorOptions(GPPriorOptions):
    """Options of the ``hebo`` prior: a GP prior (Matérn-5/2 and PFNs4BO's Gamma hyper-priors by default) plus unused features and input warping."""

    kernels: list[KernelName] = Field(default_factory=lambda: ["matern52"], min_length=1)
    lengthscale_concentration: float = Field(1.21, gt=0)
    lengthscale_rate: float = Field(1.52, gt=0)
    lengthscale_dim_power: float = Field(0.0, ge=0)
    outputscale_concentration: float = Field(0.85, gt=0)
    outputscale_rate: float = Field(0.40, gt=0)
    unused_feature_probability: float = Field(0.3, ge=0, lt=1, description="each feature is ignored by the function with this probability (at least one is kept)")
    warp_probability: float = Field(0.5, ge=0, le=1, description="probability that a function's inputs are Kumaraswamy-warped")
    warp_sigma: float = Field(0.75, gt=0, description="log a, log b ~ N(0, warp_sigma^2) per feature")


class HeboPrior(GPPrior):
    """HEBO-style GP functions: Matérn kernel, features unused at random, Kumaraswamy input warping."""

    name = "hebo"
    Options = HeboPriorOptions
    options: HeboPriorOptions

    def evaluate(self, X: Tensor, generator: torch.Generator) -> Tensor:
        o = self.options
        b, _, d = X.shape
        kernels, ls, os_, noise = self.hyperparameters(b, d, generator)
        used = torch.rand(b, d, generator=generator, dtype=torch.float64) >= o.unused_feature_probability
        keep = torch.randint(0, d, (b,), generator=generator)
        used[torch.arange(b), keep] = True
        a = torch.exp(o.warp_sigma * torch.randn(b, 1, d, generator=generator, dtype=torch.float64))
        c = torch.exp(o.warp_sigma * torch.randn(b, 1, d, generator=generator, dtype=torch.float64))
        warp = (torch.rand(b, 1, 1, generator=generator, dtype=torch.float64) < o.warp_probability).double()
        Xc = X.clamp(1e-9, 1 - 1e-9)
        warped = 1.0 - (1.0 - Xc**a) ** c
        Xw = warp * warped + (1 - warp) * X
        return sample_gp(Xw * used.unsqueeze(1), kernels, ls, os_, noise, generator)


class BnnPriorOptions(_Options):
    """Options of the ``bnn`` prior: random MLPs ``x -> y`` (one architecture per batch, weights per function)."""

    min_layers: int = Field(1, ge=1)
    max_layers: int = Field(3, ge=1)
    min_width: int = Field(16, ge=1)
    max_width: int = Field(64, ge=1)
    activations: list[Literal["tanh", "relu", "sin"]] = Field(default_factory=lambda: ["tanh", "relu", "sin"], min_length=1)
    weight_std_min: float = Field(0.5, gt=0, description="weights ~ N(0, s^2 / fan_in), s log-uniform in [min, max] per function")
    weight_std_max: float = Field(3.0, gt=0)
    noise_min: float = Field(1e-5, gt=0, description="noise std relative to the function's std, log-uniform")
    noise_max: float = Field(0.3, gt=0)


_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "sin": torch.sin}


class BnnPrior(FunctionPrior):
    """Random multilayer perceptrons (a Bayesian-neural-network prior) with observation noise."""

    name = "bnn"
    Options = BnnPriorOptions
    options: BnnPriorOptions

    def evaluate(self, X: Tensor, generator: torch.Generator) -> Tensor:
        o = self.options
        rng = _numpy_rng(generator)
        b, n, d = X.shape
        layers = int(rng.integers(o.min_layers, o.max_layers + 1))
        width = int(rng.integers(o.min_width, o.max_width + 1))
        act = _ACTIVATIONS[o.activations[int(rng.integers(0, len(o.activations)))]]
        scale = torch.as_tensor(_log_uniform(rng, o.weight_std_min, o.weight_std_max, (b, 1, 1)), dtype=torch.float64)
        h = 2.0 * X - 1.0
        fan_in = d
        for _ in range(layers):
            W = torch.randn(b, fan_in, width, generator=generator, dtype=torch.float64) * scale / math.sqrt(fan_in)
            bias = torch.randn(b, 1, width, generator=generator, dtype=torch.float64) * scale
            h = act(h @ W + bias)
            fan_in = width
        W = torch.randn(b, fan_in, 1, generator=generator, dtype=torch.float64) / math.sqrt(fan_in)
        f = (h @ W).squeeze(-1)
        spread = f.std(-1, keepdim=True).clamp_min(1e-6)
        rel = torch.as_tensor(_log_uniform(rng, o.noise_min, o.noise_max, (b, 1)), dtype=torch.float64)
        return f + rel * spread * torch.randn(b, n, generator=generator, dtype=torch.float64)


_BOTORCH_FUNCTIONS: dict[str, tuple[str, int]] = {
    # name: (botorch.test_functions.synthetic class, fewest dimensions it takes)
    "ackley": ("Ackley", 1),
    "dixon_price": ("DixonPrice", 1),
    "griewank": ("Griewank", 1),
    "levy": ("Levy", 1),
    "michalewicz": ("Michalewicz", 1),
    "rastrigin": ("Rastrigin", 1),
    "rosenbrock": ("Rosenbrock", 2),
    "styblinski_tang": ("StyblinskiTang", 1),
}


class BotorchPriorOptions(_Options):
    """Options of the ``botorch`` prior. The default list leaves out Ackley and Levy, the held-out families of the benchmarks."""

    functions: list[Literal["ackley", "dixon_price", "griewank", "levy", "michalewicz", "rastrigin", "rosenbrock", "styblinski_tang"]] = Field(
        default_factory=lambda: ["dixon_price", "griewank", "michalewicz", "rastrigin", "rosenbrock", "styblinski_tang"], min_length=1
    )
    min_box_fraction: float = Field(0.3, gt=0, le=1, description="each input range is a random sub-interval of at least this fraction of the function's domain")
    log_scale_range: float = Field(2.0, ge=0, description="outputs are multiplied by exp(u), u ~ U(-r, r)")
    offset_std: float = Field(1.0, ge=0)
    noise_std: float = Field(1e-3, ge=0, description="noise std relative to the function's std over the drawn points")


class BotorchPrior(FunctionPrior):
    """BoTorch synthetic functions, randomly translated and scaled in their inputs and outputs."""

    name = "botorch"
    Options = BotorchPriorOptions
    options: BotorchPriorOptions

    def evaluate(self, X: Tensor, generator: torch.Generator) -> Tensor:
        from botorch.test_functions import synthetic

        o = self.options
        b, n, d = X.shape
        names = [f for f in o.functions if _BOTORCH_FUNCTIONS[f][1] <= d]
        if not names:
            raise ConfigError(f"prior 'botorch': none of functions={o.functions} takes d={d} inputs")
        rng = _numpy_rng(generator)
        out = torch.empty(b, n, dtype=torch.float64)
        for i in range(b):
            fn = getattr(synthetic, _BOTORCH_FUNCTIONS[names[int(rng.integers(0, len(names)))]][0])(dim=d, dtype=torch.float64)
            lo, hi = fn.bounds[0], fn.bounds[1]
            frac = torch.as_tensor(rng.uniform(o.min_box_fraction, 1.0, size=d))
            start = torch.as_tensor(rng.uniform(0.0, 1.0, size=d)) * (1.0 - frac)
            a = lo + (hi - lo) * start
            w = (hi - lo) * frac
            f = -fn.evaluate_true(a + w * X[i])
            spread = f.std().clamp_min(1e-9)
            f = f * math.exp(rng.uniform(-o.log_scale_range, o.log_scale_range)) / spread + o.offset_std * rng.normal()
            out[i] = f + o.noise_std * f.std().clamp_min(1e-9) * torch.randn(n, generator=generator, dtype=torch.float64)
        return out


PRIORS: dict[str, type[FunctionPrior]] = {p.name: p for p in (GPPrior, HeboPrior, BnnPrior, BotorchPrior)}


class MixturePrior(FunctionPrior):
    """One component prior per batch, drawn with the given weights."""

    name = "mixture"
    Options = _Options

    def __init__(self, components: list[tuple[FunctionPrior, float]]) -> None:
        if not components or any(w <= 0 for _, w in components):
            raise ConfigError("prior 'mixture' needs at least one component, each with a weight > 0")
        self.components = components
        self.options = _Options()

    def settings(self) -> dict[str, Any]:
        return {"name": "mixture", "components": [{**p.settings(), "weight": w} for p, w in self.components]}

    def _pick(self, generator: torch.Generator) -> FunctionPrior:
        weights = torch.tensor([w for _, w in self.components], dtype=torch.float64)
        return self.components[int(torch.multinomial(weights, 1, generator=generator))][0]

    def sample(self, batch: int, num_points: int, dim: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        return self._pick(generator).sample(batch, num_points, dim, generator)

    def evaluate(self, X: Tensor, generator: torch.Generator) -> Tensor:
        return self._pick(generator).evaluate(X, generator)


class PriorSpec(_Options):
    """``[prior]`` of a training config: ``name`` in :data:`PRIORS` with ``options``, or ``name = "mixture"`` with ``components``."""

    name: str = "gp"
    options: dict[str, Any] = Field(default_factory=dict)
    components: list[dict[str, Any]] = Field(default_factory=list, description="for name='mixture': [{name=..., weight=..., options={...}}]")


def build_prior(spec: PriorSpec | dict[str, Any]) -> FunctionPrior:
    """The prior a :class:`PriorSpec` (or its dict, e.g. from ``settings()``) describes."""
    spec = spec if isinstance(spec, PriorSpec) else PriorSpec.model_validate(spec)
    if spec.name == "mixture":
        if spec.options:
            raise ConfigError("prior 'mixture' takes components=[...], not options")
        parts = []
        for comp in spec.components:
            comp = dict(comp)
            weight = float(comp.pop("weight", 1.0))
            parts.append((build_prior(comp), weight))
        return MixturePrior(parts)
    if spec.components:
        raise ConfigError(f"prior {spec.name!r} takes options={{...}}; components=[...] is only for name='mixture'")
    if spec.name not in PRIORS:
        raise ConfigError(f"unknown prior name={spec.name!r}; choose one of {', '.join([*PRIORS, 'mixture'])}")
    return PRIORS[spec.name](**spec.options)
