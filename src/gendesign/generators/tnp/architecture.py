"""The transformer of a neural process: history and candidate tokens under a PFN attention mask.

Tokens. A history point ``(x, y)`` becomes ``E_x(x) + E_y(y)`` and a candidate ``x`` becomes
``E_x(x)``, with two separate linear encoders (Nguyen & Grover 2022, "Transformer neural
processes", TNP-D; Maraval et al. 2023, NAP).

Any input dimension ``d <= max_dim``. ``E_x`` is a per-feature encoder in the PFN manner
(Müller et al. 2023, PFNs4BO): ``x`` `[.., d]` is zero-padded to ``max_dim`` (the raw values
rescaled by ``max_dim / d`` so that their energy does not depend on ``d``) and a 0/1 mask of the
used features is appended, so one model serves every dimension up to ``max_dim``. Each used
feature also contributes fixed Fourier features (Tancik et al. 2020): with a purely linear
embedding, attention scores are bilinear in ``(x, x')`` and cannot say "``x'`` is near ``x``"
until deeper layers have built nonlinear features; with them a tiny model learns a GP posterior
in a few hundred steps instead of stalling at the prior marginal (measured in
``tests/generators/tnp/test_gp_reference.py``).

Mask. Every token attends to every history token and to itself; candidates never attend to each
other. A candidate's output therefore depends only on the history and on itself, so one forward
pass scores a whole pool, and adding, removing or permuting other candidates leaves it unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gendesign.core.errors import ConfigError


def history_mask(num_history: int, num_candidates: int, *, device: torch.device | None = None) -> Tensor:
    """`[N + M, N + M]` bool attention mask, True where attention is *blocked* (PyTorch's convention).

    Query ``i`` may attend to key ``j`` when ``j < N`` (a history token) or ``j == i``.
    """
    n = num_history + num_candidates
    allowed = torch.zeros(n, n, dtype=torch.bool, device=device)
    allowed[:, :num_history] = True
    allowed |= torch.eye(n, dtype=torch.bool, device=device)
    return ~allowed


class FeatureEncoder(nn.Module):
    """``E_x``: `[..., d]` inputs (``d <= max_dim``) to `[..., d_model]` embeddings.

    Each used feature ``x_j`` contributes ``x_j * max_dim / d`` and the Fourier features
    ``sin(pi * w_f * x_j)``, ``cos(pi * w_f * x_j)`` at ``F`` fixed frequencies ``w_f = 2^(f / 2)``;
    padded features contribute zeros, and a 0/1 mask of the used features is appended. One linear
    map takes the result to ``d_model``.
    """

    def __init__(self, max_dim: int, d_model: int, num_frequencies: int = 8) -> None:
        super().__init__()
        self.max_dim = max_dim
        self.register_buffer("frequencies", torch.pi * 2.0 ** (torch.arange(num_frequencies, dtype=torch.float32) / 2.0), persistent=False)
        self.linear = nn.Linear(max_dim * (2 + 2 * num_frequencies), d_model)

    def forward(self, x: Tensor) -> Tensor:
        d = x.shape[-1]
        if not 1 <= d <= self.max_dim:
            raise ConfigError(f"the neural process reads 1..{self.max_dim} input dimensions, got d={d}; train a model with a larger max_dim")
        pad = x.new_zeros(*x.shape[:-1], self.max_dim - d)
        used = torch.cat([x.new_ones(*x.shape[:-1], d), pad], dim=-1)
        xp = torch.cat([x, pad], dim=-1)
        angles = xp.unsqueeze(-1) * self.frequencies
        fourier = torch.cat([angles.sin(), angles.cos()], dim=-1) * used.unsqueeze(-1)
        parts = [xp * (self.max_dim / d), used, fourier.flatten(-2)]
        return self.linear(torch.cat(parts, dim=-1))


class NeuralProcessTransformer(nn.Module):
    """History/candidate transformer with a bucket-logit head.

    Args:
        max_dim: widest input the feature encoder reads.
        num_buckets: ``K``, logits per candidate.
        d_model, n_layers, n_heads, d_ff: transformer sizes (GELU, pre-norm, no dropout).
    """

    def __init__(self, max_dim: int, num_buckets: int, d_model: int, n_layers: int, n_heads: int, d_ff: int) -> None:
        super().__init__()
        self.x_encoder = FeatureEncoder(max_dim, d_model)
        self.y_encoder = nn.Linear(1, d_model)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward=d_ff, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, num_buckets))

    def forward(self, x_history: Tensor, y_history: Tensor, x_candidates: Tensor) -> Tensor:
        """Bucket logits `[B, M, K]` of the candidates.

        Args:
            x_history: `[B, N, d]` (``N`` may be 0).
            y_history: `[B, N]` targets, already normalised.
            x_candidates: `[B, M, d]`.
        """
        n, m = x_history.shape[1], x_candidates.shape[1]
        hist = self.x_encoder(x_history) + self.y_encoder(y_history.unsqueeze(-1))
        cand = self.x_encoder(x_candidates)
        tokens = torch.cat([hist, cand], dim=1)
        mask = history_mask(n, m, device=tokens.device)
        out = self.encoder(tokens, mask=mask)
        return self.head(self.norm(out[:, n:]))
