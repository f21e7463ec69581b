"""Naturalness scores from a masked diffusion model's NELBO.

The NELBO of a design (:meth:`MaskedDiffusionLM.nelbo`) upper-bounds its negative log-likelihood
under the model, :math:`-\\log p_\\theta(x \\mid n) \\le \\mathcal{L}(x)` (MDLM, Sahoo et al. 2024,
Eq. 11), so :math:`-\\mathcal{L}(x)/n` (nats per token) is a length-normalised likelihood score:
higher means the design looks more like the training corpus. Adding :math:`\\log p(n)` from the
training length histogram gives a bound on the joint :math:`\\log p_\\theta(x, n)`.

Scores are made deterministic per design: the Monte-Carlo draws for a design come from a
generator seeded by ``seed`` and a CRC-32 of its token ids, so a design gets the same score in any
batch, in any order, in any process.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.generators.mdlm.model import MaskedDiffusionLM


def design_generator(ids: Sequence[int], seed: int) -> torch.Generator:
    """A CPU generator seeded by ``seed`` and the CRC-32 of ``ids``."""
    crc = zlib.crc32(",".join(map(str, ids)).encode())
    return torch.Generator().manual_seed((seed * 1_000_003 + crc) % (2**63 - 1))


@torch.no_grad()
def nelbo_per_design(model: MaskedDiffusionLM, x0: Tensor, *, num_samples: int = 16, seed: int = 0, t_min: float = 1e-4, batch_size: int = 256) -> Tensor:
    """Deterministic NELBO estimates `[B]` (nats) of clean ids ``x0`` `[B, L]`.

    Each design uses ``num_samples`` stratified times :math:`t_j = t_{min} + (1-t_{min})((u + j/K) \\bmod 1)`
    and independent masks, all drawn from :func:`design_generator`.
    """
    if num_samples < 1:
        raise ConfigError(f"num_samples={num_samples} must be >= 1")
    model.eval()
    rows_t, rows_u = [], []
    for row in x0.cpu():
        gen = design_generator(row[row != model.pad_id].tolist(), seed)
        u0 = torch.rand((), generator=gen)
        rows_t.append(t_min + (1 - t_min) * ((u0 + torch.arange(num_samples) / num_samples) % 1.0))
        # masks are drawn at the model's full width so a design's draws do not depend on how wide its batch is padded
        rows_u.append(torch.rand((num_samples, max(model.max_length, x0.shape[1])), generator=gen)[:, : x0.shape[1]])
    t = torch.stack(rows_t).reshape(-1).to(model.device)
    u = torch.stack(rows_u).reshape(-1, x0.shape[1]).to(model.device)
    x_rep = x0.to(model.device).repeat_interleave(num_samples, dim=0)
    alpha = model.schedule.alpha(x_rep, t.unsqueeze(-1))
    masked = (u >= alpha) & (x_rep != model.pad_id)
    x_t = torch.where(masked, torch.full_like(x_rep, model.mask_id), x_rep)
    parts = []
    for start in range(0, x_rep.shape[0], batch_size):
        sl = slice(start, start + batch_size)
        parts.append(model.masked_terms(x_rep[sl], x_t[sl], t[sl]).sum(-1))
    totals = torch.cat(parts) * (1 - t_min)
    return totals.view(x0.shape[0], num_samples).mean(-1).cpu()


def naturalness(
    model: MaskedDiffusionLM,
    designs: Sequence[Any],
    *,
    num_samples: int = 16,
    seed: int = 0,
    per_token: bool = True,
    include_length: bool = False,
) -> Tensor:
    """Naturalness scores `[B]`: :math:`-\\mathcal{L}(x)` (optionally :math:`+\\log p(n)`), divided by ``n`` when ``per_token``.

    Designs the tokenizer cannot read, or longer than the model's ``max_length``, score NaN.
    """
    tok = model._require_tokenizer()
    out = torch.full((len(designs),), float("nan"))
    ok, rows = [], []
    for i, d in enumerate(designs):
        try:
            ids = tok.ids(d)
        except Exception:  # noqa: BLE001 - unreadable designs score NaN
            continue
        if 1 <= len(ids) <= model.max_length:
            ok.append(i)
            rows.append(ids)
    if not rows:
        return out
    from gendesign.generators.mdlm.training import pad_batch

    x0 = pad_batch(rows, model.pad_id)
    score = -nelbo_per_design(model, x0, num_samples=num_samples, seed=seed)
    lengths = (x0 != model.pad_id).sum(-1)
    if include_length:
        score = score + model.length_log_prob(lengths).cpu()
    if per_token:
        score = score / lengths
    out[torch.tensor(ok)] = score.float()
    return out
