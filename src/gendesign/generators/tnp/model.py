"""The transformer neural process as a generator and a :class:`~gendesign.core.protocols.Surrogate`.

``TransformerNeuralProcess`` is trained on functions drawn from a prior
(:mod:`gendesign.generators.tnp.priors`) to predict held-out values of a function from a few
observed ones, so at use time it does Bayesian inference in one forward pass: no fitting
(Müller et al. 2022, "Transformers can do Bayesian inference"; Müller et al. 2023, PFNs4BO).

Surrogate use::

    model = TransformerNeuralProcess.from_pretrained(shipped_model_dir())
    model.condition(X, y)                  # X [N, d] in [0, 1]^d, y [N] or [N, K]
    post = model.posterior(X_pool)         # BarPosterior: mean, variance [M, K]
    ei = post.expected_improvement(y.max(0).values)

Conventions.

* Inputs live in the unit cube ``[0, 1]^d`` with ``d <= max_dim``; the caller maps its box there.
  Inputs outside are clipped to the cube, the only region the prior covered.
* Targets are standardised per output with the mean and standard deviation of the conditioning
  values (:func:`standardise`) before they reach the network, exactly as in training, and the bucket
  borders are mapped back, so a posterior is in natural units. Each output column is predicted by
  the same network from its own column of history.
* The network was trained on histories of up to ``max_context`` points; longer histories run, but
  are outside what it learnt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.core.generator import Generator
from gendesign.generators.tnp.architecture import NeuralProcessTransformer
from gendesign.generators.tnp.posterior import BarPosterior


def standardise(y_history: Tensor) -> tuple[Tensor, Tensor]:
    """``(mean, std)`` `[..., 1]` of histories `[..., N]` used to normalise targets.

    An empty history gives ``(0, 1)``; a history with (numerically) no spread gives std 1, so a
    single observation becomes 0.
    """
    if y_history.shape[-1] == 0:
        zero = y_history.new_zeros(*y_history.shape[:-1], 1)
        return zero, zero + 1.0
    mean = y_history.mean(-1, keepdim=True)
    std = y_history.std(-1, keepdim=True, correction=0) if y_history.shape[-1] > 1 else torch.zeros_like(mean)
    tiny = 1e-8 * mean.abs().clamp_min(1.0)
    return mean, torch.where(std > tiny, std, torch.ones_like(std))


def default_borders(num_buckets: int) -> Tensor:
    """`[num_buckets + 1]` borders at standard-normal quantiles over ``[-4, 4]`` (replaced by prior quantiles in training)."""
    q = torch.linspace(0.0, 1.0, num_buckets + 1, dtype=torch.float64)
    inner = torch.special.ndtri(q[1:-1].clamp(1e-5, 1 - 1e-5))
    return torch.cat([torch.tensor([-4.0], dtype=torch.float64), inner.clamp(-3.99, 3.99), torch.tensor([4.0], dtype=torch.float64)]).float()


class TransformerNeuralProcess(Generator):
    """A prior-fitted transformer neural process with a bar-distribution head.

    Args:
        max_dim: widest input (``d <= max_dim``).
        max_context: the most history points it was trained on (documentation and default of the
            training sampler; longer histories still run).
        num_buckets: ``B``, buckets of the bar distribution.
        d_model, n_layers, n_heads, d_ff: transformer sizes.
        prior: the settings of the prior it was trained on (recorded in ``config.json``).
    """

    def __init__(
        self,
        max_dim: int = 8,
        max_context: int = 64,
        num_buckets: int = 100,
        d_model: int = 64,
        n_layers: int = 4,
        n_heads: int = 4,
        d_ff: int = 128,
        prior: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ConfigError(f"d_model={d_model} must be a multiple of n_heads={n_heads}")
        self.register_config(
            max_dim=max_dim, max_context=max_context, num_buckets=num_buckets, d_model=d_model,
            n_layers=n_layers, n_heads=n_heads, d_ff=d_ff, prior=prior,
        )
        self.max_dim = max_dim
        self.max_context = max_context
        self.net = NeuralProcessTransformer(max_dim, num_buckets, d_model, n_layers, n_heads, d_ff)
        self.register_buffer("borders", default_borders(num_buckets))
        self._history: tuple[Tensor, Tensor] | None = None

    def set_borders(self, borders: Tensor) -> None:
        """Replace the bucket borders `[B + 1]` (standardised units), e.g. with prior quantiles."""
        if borders.shape != self.borders.shape:
            raise ConfigError(f"borders must have shape {tuple(self.borders.shape)}, got {tuple(borders.shape)}")
        self.borders.copy_(borders.to(self.borders))

    def forward(self, x_history: Tensor, y_history: Tensor, x_candidates: Tensor, *, chunk_size: int = 512) -> Tensor:
        """Bucket logits `[b, M, B]` from standardised histories ``x`` `[b, N, d]`, ``y`` `[b, N]` and candidates `[b, M, d]`.

        Candidates never attend to each other, so a large pool is scored ``chunk_size`` candidates
        at a time with the same result and attention memory linear in ``M``.
        """
        if x_candidates.shape[1] <= chunk_size:
            return self.net(x_history, y_history, x_candidates)
        return torch.cat([self.net(x_history, y_history, part) for part in x_candidates.split(chunk_size, dim=1)], dim=1)

    def predict(self, x_history: Tensor, y_history: Tensor, x_candidates: Tensor) -> BarPosterior:
        """Posterior over one output for batches of tasks, in natural units.

        Args:
            x_history: `[b, N, d]` in the unit cube.
            y_history: `[b, N]`.
            x_candidates: `[b, M, d]`.

        Returns:
            A :class:`BarPosterior` with ``mean`` `[b, M]`, ``logits`` `[b, M, B]`, ``borders`` `[b, 1, B + 1]`.
        """
        dtype = x_candidates.dtype if x_candidates.dtype.is_floating_point else torch.float32
        param = self.borders
        xh = x_history.to(param).clamp(0.0, 1.0)
        xc = x_candidates.to(param).clamp(0.0, 1.0)
        yh = y_history.to(param)
        mean, std = standardise(yh)
        logits = self(xh, (yh - mean) / std, xc)
        borders = (self.borders * std + mean).unsqueeze(1)
        return BarPosterior.from_logits(logits.to(dtype), borders.to(dtype))

    def condition(self, X: Tensor, y: Tensor) -> None:
        """Condition on ``X`` `[N, d]` (unit cube) and ``y`` `[N]` or `[N, K]`, replacing earlier data."""
        if X.ndim != 2 or X.shape[-1] > self.max_dim:
            raise ConfigError(f"condition: X must be [N, d] with d <= max_dim={self.max_dim}, got shape {tuple(X.shape)}")
        y2 = y.unsqueeze(-1) if y.ndim == 1 else y
        if y2.ndim != 2 or y2.shape[0] != X.shape[0]:
            raise ConfigError(f"condition: y must be [N] or [N, K] with N={X.shape[0]}, got shape {tuple(y.shape)}")
        if not bool(torch.isfinite(y2).all()):
            raise ConfigError("condition: y holds NaN or infinite values; drop invalid observations first")
        self._history = (X.detach(), y2.detach())

    def posterior(self, X: Tensor) -> BarPosterior:
        """The :class:`BarPosterior` (``mean``, ``variance`` `[M, K]`, ``logits`` `[M, K, B]`) at ``X`` `[M, d]`.

        Differentiable in ``X`` when ``X.requires_grad`` (gradient refinement of candidates).
        """
        if self._history is None:
            raise ConfigError("posterior: call condition(X, y) first (with N = 0 rows for a prior prediction)")
        Xh, yh = self._history
        if X.ndim != 2 or X.shape[-1] != Xh.shape[-1]:
            raise ConfigError(f"posterior: X must be [M, {Xh.shape[-1]}] like the conditioning inputs, got shape {tuple(X.shape)}")
        k = yh.shape[-1]
        with torch.set_grad_enabled(X.requires_grad and torch.is_grad_enabled()):
            post = self.predict(Xh.unsqueeze(0).expand(k, -1, -1), yh.T, X.unsqueeze(0).expand(k, -1, -1))
        logits = post.logits.transpose(0, 1)
        return BarPosterior.from_logits(logits, post.borders.squeeze(1))

    @classmethod
    def train_from_config(cls, config: str | Path, *, plugins: Any = None) -> str:
        """``gendesign train CONFIG`` with ``generator = "tnp"`` (:func:`gendesign.generators.tnp.training.train`)."""
        from gendesign.generators.tnp.train_config import load_train_config
        from gendesign.generators.tnp.training import train

        train(config)
        out = load_train_config(config).output.dir
        meta = cls.load_meta(out)
        nll = meta.get("val_nll")
        tail = f"; validation NLL {nll:.4f} (standardised targets)" if nll is not None else ""
        return f"saved {cls.__name__} ({meta.get('parameters')} parameters) to {out} after {meta.get('global_step')} steps{tail}"

    @classmethod
    def shipped(cls, *, device: str | torch.device = "cpu") -> TransformerNeuralProcess:
        """The small model shipped with gendesign (:func:`shipped_model_dir`)."""
        return cls.from_pretrained(shipped_model_dir(), device=device)


def shipped_model_dir() -> Path:
    """The directory of the shipped model (GP/HEBO priors, ``d <= 8``, ``N <= 64``); see ``docs/metabo.md``."""
    return Path(__file__).parent / "pretrained" / "gp_hebo_small"
