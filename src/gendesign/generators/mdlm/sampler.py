"""Ancestral sampling from a masked diffusion model, one reverse step at a time.

Reverse step from time ``t`` to ``s < t`` (MDLM, Sahoo et al. 2024, Eq. 7; state-dependent form
from Shi et al. 2024): a position that is not masked keeps its token; a masked position becomes
token ``v`` with probability

.. math:: p(x_s^\\ell = v \\mid x_t) = \\mu_\\theta(x_t)^\\ell_v \\, \\frac{\\alpha_s(v) - \\alpha_t(v)}{1 - \\alpha_t(v)},

and stays masked with the remaining probability. With one schedule for all tokens the unmask
probability is :math:`(\\alpha_s - \\alpha_t)/(1-\\alpha_t)`, which is :math:`(t - s)/t` for the
log-linear schedule with :math:`\\epsilon \\to 0`. The time grid runs from 1 to exactly 0, so the last
step reveals every remaining mask; no separate noise-removal pass is needed.

Confidence-ordered unmasking (``order="confidence"`` or ``"margin"``): the ancestral step reveals
each masked position independently, so *which* positions are decided first is uniformly random.
MaskGIT (Chang et al. 2022, arXiv 2202.04200) and the adaptive planners for masked diffusion models
(LLaDA, Nie et al. 2025, arXiv 2502.09992, "low-confidence remasking"; Kim et al. 2025, arXiv
2502.06768, "Train for the worst, plan for the best": top-probability and top-probability-margin
orders) instead reveal the positions the model is surest about. A step ``t -> s`` of a row with
``n`` masked positions reveals

.. math:: k = \\min\\Big(n, \\max\\big(1, \\big\\lfloor \\textstyle\\sum_{\\ell\\ \\mathrm{masked}} \\sum_v
   \\mu^\\ell_v\\, q_v(t, s) + \\tfrac12 \\big\\rfloor\\big)\\Big),

the rounded expected number of reveals of the ancestral step (``round(n (t - s) / t)`` for the
log-linear schedule with one schedule for all tokens; ``k = n`` at ``s = 0``), at the ``k`` masked
positions with the largest score, where the score is computed from the sampling distribution
:math:`\\tilde\\mu^\\ell` (temperature and nucleus applied): ``"confidence"`` uses
:math:`\\max_v \\tilde\\mu^\\ell_v` and ``"margin"`` uses :math:`\\tilde\\mu^\\ell_{(1)} - \\tilde\\mu^\\ell_{(2)}`
(top-1 minus top-2 probability). Ties go to the leftmost position. The revealed tokens are drawn
from :math:`\\tilde\\mu^\\ell`. This is no longer a sample from the model's reverse process (the
order depends on the predictions), but it usually raises sample quality for a given model.

Caching (MDLM's ``ddpm_cache``): when the denoiser is time-agnostic its prediction depends only on
``x_t``, so a row in which no token changed during a step reuses its previous prediction; only the
rows that changed are run through the network again. Categorical draws use inverse-CDF sampling in
float64, which avoids the low effective temperature of float32 Gumbel sampling reported by Zheng et
al. 2024 (arXiv 2409.02908).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

from gendesign.core.errors import ConfigError, GendesignError

if TYPE_CHECKING:
    from gendesign.generators.mdlm.model import MaskedDiffusionLM


UnmaskOrder = Literal["ancestral", "confidence", "margin"]
"""Which masked positions a reverse step reveals: independently at random, or by model confidence."""

ORDERS: tuple[str, ...] = get_args(UnmaskOrder)


def check_order(order: str) -> None:
    if order not in ORDERS:
        raise ConfigError(f"order={order!r} is not one of {list(ORDERS)}")


def check_sampling_options(temperature: float, top_p: float) -> None:
    if not temperature > 0:
        raise ConfigError(f"temperature={temperature!r} must be > 0")
    if not 0 < top_p <= 1:
        raise ConfigError(f"top_p={top_p!r} must lie in (0, 1]")


def sampling_log_probs(logits: Tensor, temperature: float = 1.0, top_p: float = 1.0) -> Tensor:
    """Log-probabilities `[..., V]` of ``softmax(logits / temperature)`` restricted to its nucleus.

    Nucleus (top-p) sampling (Holtzman et al. 2020): keep the smallest set of most probable tokens
    whose total probability reaches ``top_p``, renormalise, and give the rest :math:`-\\infty`.
    """
    logp = F.log_softmax(logits.float() / temperature, dim=-1)
    if top_p >= 1.0:
        return logp
    sorted_logp, order = logp.sort(dim=-1, descending=True)
    before = sorted_logp.exp().cumsum(-1) - sorted_logp.exp()
    drop_sorted = before >= top_p
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return F.log_softmax(logp.masked_fill(drop, float("-inf")), dim=-1)


def _as_times(value: Tensor | float, batch: int, device: torch.device) -> Tensor:
    t = torch.as_tensor(value, dtype=torch.float32, device=device)
    if t.ndim == 0:
        t = t.expand(batch)
    if t.shape != (batch,):
        raise GendesignError(f"times must be a scalar or a tensor [B] = [{batch}], got shape {list(t.shape)}")
    return t


def _categorical(probs: Tensor, generator: torch.Generator | None) -> Tensor:
    """One draw per row of ``probs`` `[M, K]` (rows need not be normalised), by inverse CDF in float64."""
    cdf = probs.double().cumsum(-1)
    gen_device = generator.device if generator is not None else probs.device
    u = torch.rand((probs.shape[0], 1), generator=generator, device=gen_device, dtype=torch.float64).to(probs.device)
    return torch.searchsorted(cdf, u * cdf[:, -1:], right=True).squeeze(-1).clamp(max=probs.shape[1] - 1)


def step_from_predictions(
    model: MaskedDiffusionLM,
    x_t: Tensor,
    t: Tensor,
    s: Tensor,
    x0_log_probs: Tensor,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """The reverse step given the clean-token distribution; returns ``(x_s, log_probs)``.

    ``x0_log_probs`` `[B, L, V]` are log-probabilities (or logits: each row is normalised here)
    of the clean token. ``log_probs`` `[B, L]` holds, per position, the log-probability of the
    transition that was drawn: 0 for positions that were not masked, :math:`\\log p(\\text{stay
    masked})` for masks that stayed, and :math:`\\log p(x_s^\\ell = v)` for masks revealed as ``v``.

    With one schedule for all tokens the step factorises into a Bernoulli reveal with probability
    :math:`q = (\\alpha_s-\\alpha_t)/(1-\\alpha_t)` and, for revealed positions only, a draw from
    :math:`\\mu`; the softmax is then computed for revealed positions only, which keeps the step's
    cost close to one denoiser forward pass.
    """
    masked = x_t == model.mask_id
    log_probs = torch.zeros(x_t.shape, dtype=torch.float32, device=x_t.device)
    x_s = x_t.clone()
    if not bool(masked.any()):
        return x_s, log_probs
    rows = masked.nonzero(as_tuple=True)[0]
    v = model.vocab_size
    final = s <= 0
    gen_device = generator.device if generator is not None else x_t.device
    if model.schedule.uniform:
        q = torch.where(final, torch.ones_like(t), model.schedule.base.unmask_probability(t, s))[rows]
        u = torch.rand(rows.shape, generator=generator, device=gen_device, dtype=torch.float64).to(x_t.device)
        reveal = u < q.double()
        logits = x0_log_probs[masked][reveal]
        logp = F.log_softmax(logits.float(), dim=-1)
        tokens = _categorical(logp.exp(), generator) if logits.shape[0] else torch.empty(0, dtype=torch.long, device=x_t.device)
        step_lp = torch.where(reveal, torch.log(q), torch.log1p(-q))
        step_lp[reveal] = step_lp[reveal] + logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        new = torch.full_like(rows, model.mask_id)
        new[reveal] = tokens
        x_s[masked] = new
        log_probs[masked] = step_lp.float()
        return x_s, log_probs
    q = model.schedule.class_unmask_probability(t, s)[:, :v]
    q_rows = torch.where(final[rows].unsqueeze(-1), torch.ones_like(q[rows]), q[rows])
    p_reveal = F.softmax(x0_log_probs[masked].float(), dim=-1) * q_rows
    p_stay = (1.0 - p_reveal.sum(-1, keepdim=True)).clamp_min(0.0)
    p_stay = torch.where(final[rows].unsqueeze(-1), torch.zeros_like(p_stay), p_stay)
    probs = torch.cat([p_reveal, p_stay], dim=-1).double()
    choice = _categorical(probs, generator)
    chosen_p = probs.gather(-1, choice.unsqueeze(-1)).squeeze(-1)
    x_s[masked] = torch.where(choice == v, torch.full_like(choice, model.mask_id), choice)
    log_probs[masked] = torch.log(chosen_p / probs.sum(-1)).float()
    return x_s, log_probs


def anchored_step_from_predictions(
    model: MaskedDiffusionLM,
    x_t: Tensor,
    t: Tensor,
    s: Tensor,
    x0_log_probs: Tensor,
    anchor: Tensor,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """A step of the posterior :math:`q(x_s \\mid x_t, x_0 = a)` for a given clean sequence ``a``; returns ``(x_s, log_probs)``.

    Each masked position ``l`` is revealed with the schedule's probability
    :math:`q_{a_l}(t, s) = (\\alpha_s(a_l) - \\alpha_t(a_l)) / (1 - \\alpha_t(a_l))` (1 at ``s = 0``) and
    then holds ``a_l``: the MDLM reverse kernel with the denoiser's prediction replaced by ``a``
    (Sahoo et al. 2024, Eq. 4). ``log_probs`` `[B, L]` are the log-probabilities of the drawn
    transition under the *model's* step (as in :func:`step_from_predictions` with ``x0_log_probs``),
    so a search can use the model's prior for proposals it did not draw from the model.

    Args:
        model: the masked diffusion model.
        x_t: ids `[B, L]`.
        t: current times `[B]`.
        s: next times `[B]`.
        x0_log_probs: the model's log-probabilities or logits `[B, L, V]` of the clean token.
        anchor: ids `[B, L]` of the clean sequence; real tokens wherever ``x_t`` is masked.
        generator: source of randomness for the reveals.
    """
    masked = x_t == model.mask_id
    v = model.vocab_size
    if anchor.shape != x_t.shape:
        raise GendesignError(f"anchor has shape {tuple(anchor.shape)} but x_t has {tuple(x_t.shape)}; give one clean sequence per row")
    if bool((anchor[masked] >= v).any()) or bool((anchor[masked] < 0).any()):
        raise GendesignError(f"anchor must hold real token ids 0..{v - 1} at every masked position of x_t (no pad or mask)")
    tokens = torch.where(masked, anchor, torch.zeros_like(anchor))
    logmu = F.log_softmax(x0_log_probs.float(), dim=-1)
    final = (s <= 0).unsqueeze(-1)
    if model.schedule.uniform:
        q = model.schedule.base.unmask_probability(t, s).double().unsqueeze(-1).expand(x_t.shape)
        stay = torch.log1p(-q.clamp(max=1.0))
    else:
        q_class = model.schedule.class_unmask_probability(t, s)[:, :v].double()
        q = q_class.gather(-1, tokens)
        stay = torch.log((1.0 - (logmu.exp().double() * q_class.unsqueeze(1)).sum(-1)).clamp_min(1e-30))
    q = torch.where(final, torch.ones_like(q), q)
    u = torch.rand(x_t.shape, generator=generator, device=generator.device if generator is not None else x_t.device, dtype=torch.float64)
    reveal = masked & (u.to(x_t.device) < q)
    revealed_lp = torch.log(q.clamp_min(1e-30)) + logmu.gather(-1, tokens.unsqueeze(-1)).squeeze(-1).double()
    log_probs = torch.where(reveal, revealed_lp, torch.where(masked, stay, torch.zeros_like(stay))).float()
    return torch.where(reveal, anchor, x_t), log_probs


def expected_reveals(model: MaskedDiffusionLM, x_t: Tensor, t: Tensor, s: Tensor, probs: Tensor) -> Tensor:
    """Expected number `[B]` of positions the ancestral step ``t -> s`` reveals in each row.

    :math:`\\mathbb{E}[\\#\\text{revealed}] = \\sum_{\\ell\\ \\mathrm{masked}} \\sum_v \\mu^\\ell_v q_v(t, s)` with
    :math:`q_v = (\\alpha_s(v) - \\alpha_t(v)) / (1 - \\alpha_t(v))`; with one schedule for all tokens
    this is ``n_masked * q`` and does not depend on :math:`\\mu`. At ``s = 0`` it is ``n_masked``.

    Args:
        model: the masked diffusion model.
        x_t: ids `[B, L]`.
        t: current times `[B]`.
        s: next times `[B]`.
        probs: clean-token probabilities `[B, L, V]` (only used with state-dependent schedules).
    """
    masked = x_t == model.mask_id
    n = masked.sum(-1).double()
    final = s <= 0
    if model.schedule.uniform:
        q = model.schedule.base.unmask_probability(t, s).double()
        return torch.where(final, n, n * q)
    q = model.schedule.class_unmask_probability(t, s)[:, : model.vocab_size].double()
    per_pos = (probs.double() * q.unsqueeze(1)).sum(-1).clamp(max=1.0)
    return torch.where(final, n, (per_pos * masked).sum(-1))


def planned_step_from_predictions(
    model: MaskedDiffusionLM,
    x_t: Tensor,
    t: Tensor,
    s: Tensor,
    x0_log_probs: Tensor,
    order: UnmaskOrder,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """A confidence-ordered step ``t -> s``; returns ``(x_s, log_probs)`` like :func:`step_from_predictions`.

    Each row reveals ``k = min(n, max(1, round(E)))`` masked positions, ``E`` from
    :func:`expected_reveals` and ``n`` the row's masked count (rows without masks are left alone),
    namely the ``k`` with the largest score: the top probability (``order="confidence"``, MaskGIT,
    Chang et al. 2022; LLaDA's low-confidence remasking, Nie et al. 2025) or the gap between the top
    two probabilities (``order="margin"``, Kim et al. 2025) of the sampling distribution ``softmax(x0_log_probs)``.
    Ties go to the leftmost position. Tokens at the chosen positions are drawn from that distribution.

    Args:
        model: the masked diffusion model.
        x_t: ids `[B, L]`.
        t: current times `[B]`.
        s: next times `[B]`.
        x0_log_probs: log-probabilities or logits `[B, L, V]` of the sampling distribution.
        order: ``"confidence"`` or ``"margin"``.
        generator: source of randomness for the token draws (the positions are deterministic).

    Returns:
        ``(x_s, log_probs)``: ids `[B, L]` and `[B, L]` holding :math:`\\log \\tilde\\mu^\\ell_v` of each
        revealed token and 0 elsewhere (the choice of positions is deterministic given ``x_t``).
    """
    if order not in ("confidence", "margin"):
        raise ConfigError(f"order={order!r}: a planned step needs 'confidence' or 'margin'")
    masked = x_t == model.mask_id
    log_probs = torch.zeros(x_t.shape, dtype=torch.float32, device=x_t.device)
    x_s = x_t.clone()
    if not bool(masked.any()):
        return x_s, log_probs
    logp = F.log_softmax(x0_log_probs.float(), dim=-1)
    probs = logp.exp()
    n = masked.sum(-1)
    k = torch.floor(expected_reveals(model, x_t, t, s, probs) + 0.5).long()
    k = torch.minimum(n, k.clamp(min=1))
    if order == "confidence":
        score = probs.max(-1).values
    else:
        top2 = probs.topk(2, dim=-1).values if probs.shape[-1] > 1 else torch.cat([probs, torch.zeros_like(probs)], -1)
        score = top2[..., 0] - top2[..., 1]
    score = score.masked_fill(~masked, float("-inf"))
    ranked = score.argsort(dim=-1, descending=True, stable=True)
    rank = torch.empty_like(ranked).scatter_(-1, ranked, torch.arange(x_t.shape[1], device=x_t.device).expand_as(ranked))
    reveal = masked & (rank < k.unsqueeze(-1))
    chosen_logp = logp[reveal]
    tokens = _categorical(chosen_logp.exp(), generator)
    x_s[reveal] = tokens
    log_probs[reveal] = chosen_logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    return x_s, log_probs


def reverse_step(
    model: MaskedDiffusionLM,
    x_t: Tensor,
    t: Tensor | float,
    s: Tensor | float,
    *,
    temperature: float = 1.0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
    order: UnmaskOrder = "ancestral",
    anchor: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One ancestral step of the reverse process from time ``t`` to ``s``.

    The stable step-level API for search strategies (tree search over denoising steps) and reward
    fine-tuning. Batched: every row may be at its own time.

    Args:
        model: the masked diffusion model.
        x_t: ids `[B, L]` with mask ids where the design is not yet decided, pads right.
        t: current times `[B]` (or a float), in ``(0, 1]``.
        s: next times `[B]` (or a float), ``0 <= s < t``; ``s = 0`` reveals every mask.
        temperature: divides the denoiser's logits.
        top_p: nucleus mass of the denoiser's distribution.
        generator: source of randomness; rows draw independently.
        order: ``"ancestral"`` (default; the exact reverse step) or ``"confidence"`` / ``"margin"``
            (reveal the rounded expected number of positions, those the model is surest about; see
            :func:`planned_step_from_predictions`).
        anchor: optional clean ids `[B, L]`: step the posterior ``q(x_s | x_t, x_0 = anchor)`` instead
            of the model's prediction (see :func:`anchored_step_from_predictions`); needs the
            ancestral order.

    Returns:
        ``(x_s, log_probs)``: the new ids `[B, L]` (unmasked positions unchanged) and the per-position
        log-probability `[B, L]` of the drawn transition under the distribution that was sampled
        (temperature and nucleus applied); sum over ``L`` for the step's log-probability. With a
        planned order only the token draws are random, so ``log_probs`` is 0 at positions that stay
        masked.
    """
    check_sampling_options(temperature, top_p)
    check_order(order)
    t_ = _as_times(t, x_t.shape[0], x_t.device)
    s_ = _as_times(s, x_t.shape[0], x_t.device)
    if bool((s_ >= t_).any()) or bool((s_ < 0).any()) or bool((t_ > 1).any()):
        raise GendesignError(f"reverse_step needs 0 <= s < t <= 1; got t={t_.tolist()} s={s_.tolist()}")
    training = model.training
    if training:
        model.eval()
    try:
        with torch.no_grad():
            x0 = sampling_log_probs(model.x0_logits(x_t, t_), temperature, top_p)
    finally:
        if training:
            model.train()
    if anchor is not None:
        if order != "ancestral":
            raise ConfigError(f"an anchored step follows the ancestral posterior; got order={order!r}")
        return anchored_step_from_predictions(model, x_t, t_, s_, x0, anchor.to(x_t.device), generator)
    if order != "ancestral":
        return planned_step_from_predictions(model, x_t, t_, s_, x0, order, generator)
    return step_from_predictions(model, x_t, t_, s_, x0, generator)


class Sampler:
    """Batched sampling with prediction caching, temperature, nucleus sampling and an unmasking order.

    Args:
        model: the masked diffusion model (put in eval mode while sampling).
        steps: number of reverse steps on the uniform grid ``1 = t_0 > ... > t_steps = 0``;
            default ``max_length``.
        temperature: divides the denoiser's logits.
        top_p: nucleus mass.
        cache: reuse the prediction of rows that did not change (only when the model is time-agnostic).
        batch_size: rows denoised together (default: all).
        order: ``"ancestral"`` (exact reverse process: each mask is revealed with probability
            ``(t - s) / t``), ``"confidence"`` or ``"margin"`` (reveal ``round(expected count)`` positions,
            at least one, with the highest top probability or top-1 minus top-2 margin; MaskGIT,
            Chang et al. 2022; Nie et al. 2025; Kim et al. 2025). :meth:`sample` and :meth:`infill`
            accept ``order=`` to override it for one call.
    """

    def __init__(
        self,
        model: MaskedDiffusionLM,
        steps: int | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        cache: bool = True,
        batch_size: int | None = None,
        order: UnmaskOrder = "ancestral",
    ) -> None:
        check_sampling_options(temperature, top_p)
        check_order(order)
        steps = model.max_length if steps is None else steps
        if steps < 1:
            raise ConfigError(f"steps={steps} must be >= 1")
        if batch_size is not None and batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} must be >= 1")
        self.model = model
        self.steps = int(steps)
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.cache = bool(cache) and model.time_agnostic
        self.batch_size = batch_size
        self.order: UnmaskOrder = order
        self.forward_rows = 0

    def times(self) -> Tensor:
        """The time grid `[steps + 1]` from 1 to 0."""
        return torch.linspace(1.0, 0.0, self.steps + 1)

    def _predict(self, x_t: Tensor, t: Tensor) -> Tensor:
        self.forward_rows += x_t.shape[0]
        logits = self.model.x0_logits(x_t, t)
        if self.top_p >= 1.0:
            return logits / self.temperature if self.temperature != 1.0 else logits
        return sampling_log_probs(logits, self.temperature, self.top_p)

    @torch.no_grad()
    def denoise(self, x: Tensor, generator: torch.Generator | None = None, order: UnmaskOrder | None = None) -> Tensor:
        """Run the reverse process from ``t = 1`` on ids ``x`` `[B, L]` (masks to fill, other ids fixed).

        ``order`` overrides the sampler's unmasking order for this call.
        """
        order = self.order if order is None else order
        check_order(order)
        was_training = self.model.training
        self.model.eval()
        try:
            out = [self._denoise_batch(chunk, generator, order) for chunk in x.split(self.batch_size or max(x.shape[0], 1))]
        finally:
            self.model.train(was_training)
        return torch.cat(out) if out else x.clone()

    def _denoise_batch(self, x_t: Tensor, generator: torch.Generator | None, order: UnmaskOrder = "ancestral") -> Tensor:
        grid = self.times().to(x_t.device)
        b = x_t.shape[0]
        x0: Tensor | None = None
        for i in range(self.steps):
            if not bool((x_t == self.model.mask_id).any()):
                break
            t, s = grid[i].expand(b), grid[i + 1].expand(b)
            if x0 is None:
                x0 = self._predict(x_t, t)
            if order == "ancestral":
                x_s, _ = step_from_predictions(self.model, x_t, t, s, x0, generator)
            else:
                x_s, _ = planned_step_from_predictions(self.model, x_t, t, s, x0, order, generator)
            if self.cache:
                changed = (x_s != x_t).any(-1)
                if bool(changed.any()):
                    rows = changed.nonzero(as_tuple=True)[0]
                    still = (x_s[rows] == self.model.mask_id).any(-1)
                    rows = rows[still]
                    if rows.numel():
                        x0[rows] = self._predict(x_s[rows], grid[i + 1].expand(rows.numel()))
            else:
                x0 = None
            x_t = x_s
        return x_t

    def canvas(self, lengths: Tensor) -> Tensor:
        """All-mask ids `[B, max(lengths)]` with pads after each row's length."""
        width = int(lengths.max())
        pos = torch.arange(width, device=self.model.device)
        x = torch.full((lengths.numel(), width), self.model.mask_id, dtype=torch.long, device=self.model.device)
        return x.masked_fill(pos.unsqueeze(0) >= lengths.to(self.model.device).unsqueeze(1), self.model.pad_id)

    def sample(
        self,
        num: int,
        *,
        length: int | None = None,
        lengths: Tensor | list[int] | None = None,
        generator: torch.Generator | None = None,
        order: UnmaskOrder | None = None,
    ) -> Tensor:
        """Ids `[num, L]` of unconditional samples (right-padded).

        Length control: ``lengths`` `[num]` fixes each row's length, ``length`` fixes all of them;
        otherwise lengths are drawn from the model's training length histogram. ``order`` overrides
        the sampler's unmasking order for this call.
        """
        if order is not None:
            check_order(order)
        if num < 0:
            raise ConfigError(f"num={num} must be >= 0")
        if lengths is not None and length is not None:
            raise ConfigError("give length= or lengths=, not both")
        if lengths is not None:
            lens = torch.as_tensor(lengths, dtype=torch.long)
            if lens.shape != (num,):
                raise ConfigError(f"lengths has shape {list(lens.shape)}; expected [{num}]")
        elif length is not None:
            lens = torch.full((num,), int(length), dtype=torch.long)
        else:
            lens = self.model.sample_lengths(num, generator)
        if num == 0:
            return torch.empty((0, 0), dtype=torch.long, device=self.model.device)
        if int(lens.min()) < 1 or int(lens.max()) > self.model.max_length:
            raise ConfigError(f"lengths must lie in 1..{self.model.max_length}; got {int(lens.min())}..{int(lens.max())}")
        return self.denoise(self.canvas(lens), generator, order)

    def infill(self, x: Tensor, fixed_mask: Tensor, *, generator: torch.Generator | None = None, order: UnmaskOrder | None = None) -> Tensor:
        """Regenerate the positions of ``x`` `[B, L]` where ``fixed_mask`` `[B, L]` is False; pads stay pads.

        Positions where ``fixed_mask`` is True come back unchanged (SUBS carry-over). ``order``
        overrides the sampler's unmasking order for this call (only the regenerated positions are ranked).
        """
        if x.shape != fixed_mask.shape:
            raise GendesignError(f"x has shape {list(x.shape)} but fixed_mask has {list(fixed_mask.shape)}")
        x = x.to(self.model.device)
        fixed = fixed_mask.to(x.device).bool() | (x == self.model.pad_id)
        return self.denoise(torch.where(fixed, x, torch.full_like(x, self.model.mask_id)), generator, order)
