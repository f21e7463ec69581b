r"""The denoiser: a small bidirectional transformer that predicts clean tokens from a masked sequence.

Pre-norm transformer blocks (Vaswani et al. 2017; Xiong et al. 2020) with learned absolute
positions and a learned embedding of the design's length (its number of non-pad tokens), added at
every position, so the network models :math:`p(x \mid n)`. Padding positions are removed from attention as keys, so a sequence's output does not
depend on how far it is padded. Time conditioning is configurable:

* ``"none"``: the network sees only the partly masked sequence. MDLM shows the optimal denoiser of
  the log-linear process does not need ``t`` (Sahoo et al. 2024, Sec. 3.2; Zheng et al. 2024,
  arXiv 2409.02908), and this makes cached sampling exact.
* ``"adaln"``: adaptive layer norm (Peebles and Xie 2023, DiT): a sinusoidal embedding of ``t``
  sets the shift, scale and gate of every block.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gendesign.core.errors import GendesignError

TimeConditioning = Literal["none", "adaln"]


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10_000.0) -> Tensor:
    """Sinusoidal features `[B, dim]` of times ``t`` `[B]` in ``[0, 1]`` (scaled by 1000 as in DDPM)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = 1000.0 * t.float().unsqueeze(-1) * freqs
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


class Block(nn.Module):
    """Pre-norm self-attention and MLP, optionally modulated by a conditioning vector (adaLN-Zero)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float, cond_dim: int | None) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.norm1 = nn.LayerNorm(d_model, elementwise_affine=cond_dim is None)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model, elementwise_affine=cond_dim is None)
        self.mlp = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))
        self.dropout = nn.Dropout(dropout)
        self.attn_dropout = dropout
        self.modulation: nn.Linear | None = None
        if cond_dim is not None:
            self.modulation = nn.Linear(cond_dim, 6 * d_model)
            nn.init.zeros_(self.modulation.weight)
            nn.init.zeros_(self.modulation.bias)

    def forward(self, h: Tensor, attn_mask: Tensor | None, cond: Tensor | None) -> Tensor:
        """``h`` `[B, L, D]`, ``attn_mask`` `[B, 1, 1, L]` bool (True = may attend) or None, ``cond`` `[B, C]`."""
        b, length, d = h.shape
        if self.modulation is not None and cond is not None:
            shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(cond).unsqueeze(1).chunk(6, dim=-1)
            x = self.norm1(h) * (1 + scale1) + shift1
        else:
            x = self.norm1(h)
            gate1 = gate2 = None
        q, k, v = self.qkv(x).view(b, length, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        drop = self.attn_dropout if self.training else 0.0
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=drop)
        a = self.dropout(self.proj(a.transpose(1, 2).reshape(b, length, d)))
        h = h + (a if gate1 is None else (1 + gate1) * a)
        if self.modulation is not None and cond is not None:
            x = self.norm2(h) * (1 + scale2) + shift2
        else:
            x = self.norm2(h)
        m = self.dropout(self.mlp(x))
        return h + (m if gate2 is None else (1 + gate2) * m)


class Denoiser(nn.Module):
    """Bidirectional transformer: token ids `[B, L]` (and times `[B]`) to logits `[B, L, V]` over the real tokens.

    Args:
        num_ids: size of the input id space (real tokens, pad and mask).
        num_outputs: number of real tokens ``V`` predicted at every position.
        max_length: longest sequence (number of learned positions).
        d_model: width.
        n_layers: number of blocks.
        n_heads: attention heads (must divide ``d_model``).
        d_ff: MLP hidden width.
        dropout: dropout rate in attention and residual branches.
        time_conditioning: ``"none"`` or ``"adaln"``.
        pad_id: id of the padding token; such positions are never attended to.
    """

    def __init__(
        self,
        num_ids: int,
        num_outputs: int,
        max_length: int,
        d_model: int = 128,
        n_layers: int = 4,
        n_heads: int = 4,
        d_ff: int = 512,
        dropout: float = 0.1,
        time_conditioning: TimeConditioning = "none",
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        self.time_conditioning = time_conditioning
        self.pad_id = pad_id
        self.max_length = max_length
        self.tok = nn.Embedding(num_ids, d_model)
        nn.init.normal_(self.tok.weight, std=0.02)
        self.pos = nn.Parameter(torch.zeros(1, max_length, d_model))
        nn.init.normal_(self.pos, std=0.02)
        self.length_emb = nn.Embedding(max_length + 1, d_model)
        nn.init.normal_(self.length_emb.weight, std=0.02)
        cond_dim = d_model if time_conditioning == "adaln" else None
        self.time_mlp: nn.Sequential | None = None
        if cond_dim is not None:
            self.time_mlp = nn.Sequential(nn.Linear(d_model, d_model), nn.SiLU(), nn.Linear(d_model, d_model))
        self.blocks = nn.ModuleList([Block(d_model, n_heads, d_ff, dropout, cond_dim) for _ in range(n_layers)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_outputs)

    def forward(self, x: Tensor, t: Tensor | None = None) -> Tensor:
        """Logits `[B, L, V]` for ids ``x`` `[B, L]` at times ``t`` `[B]` (ignored when unconditioned)."""
        length = x.shape[1]
        keep = x != self.pad_id
        h = self.tok(x) + self.pos[:, :length] + self.length_emb(keep.sum(-1)).unsqueeze(1)
        attn_mask = None if bool(keep.all()) else keep[:, None, None, :]
        cond = None
        if self.time_mlp is not None:
            if t is None:
                raise GendesignError("this denoiser is time-conditioned (time_conditioning='adaln'); pass times t `[B]`")
            cond = self.time_mlp(timestep_embedding(t, self.tok.embedding_dim))
        for block in self.blocks:
            h = block(h, attn_mask, cond)
        return self.head(self.norm(h))
