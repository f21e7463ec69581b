"""Masked diffusion language model (MDLM) with the SUBS parameterisation.

Forward process (Sahoo et al. 2024, "Simple and Effective Masked Diffusion Language Models",
arXiv 2406.07524): each non-pad token of a clean sequence ``x`` `[B, L]` is independently kept
with probability :math:`\\alpha_t` and replaced by the mask id otherwise.

SUBS parameterisation (MDLM Sec. 3.2.2): the denoiser's distribution over clean tokens gives the
mask (and pad) id probability zero (log-probability :math:`-\\infty`), and every position that is
not masked in ``x_t`` copies its token through with probability one.

Loss: the continuous-time negative ELBO (MDLM Eq. 10-11)

.. math:: \\mathcal{L} = \\int_0^1 \\mathbb{E}_{q(x_t|x)} \\sum_{\\ell:\\, x_t^\\ell = m}
          w_{x^\\ell}(t) \\, \\bigl[-\\log \\mu_\\theta(x_t, t)^\\ell_{x^\\ell}\\bigr] \\, dt,
          \\qquad w(t) = \\frac{-\\alpha'_t}{1-\\alpha_t},

which is :math:`1/t` per masked token for the log-linear schedule. With a state-dependent schedule
(PepTune's bond tokens, Tang et al. 2024 Eq. 12, :math:`w = p/t` for flagged tokens) the reverse
rates differ between token classes and the exact bound gains the term
:math:`\\sum_v \\mu^\\ell_v w_v(t) - w_{x^\\ell}(t)` per masked position (Shi et al. 2024, GenMD4,
arXiv 2406.04329; it is the :math:`R_\\theta - R` part of the CTMC path-space KL of Campbell et
al. 2022). It vanishes when all weights are equal and keeps the bound valid otherwise;
``exact_state_dependent=False`` drops it to reproduce PepTune's weighted cross-entropy.

Variable length: designs have a length ``n <= max_length`` and are right-padded; pads are never
masked, never attended to and carry no loss. The model stores the training length histogram in
the ``length_counts`` buffer; sampling draws lengths from it unless told a length, so the model is
the joint :math:`p(n)\\,p_\\theta(x \\mid n)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from gendesign.core.errors import ConfigError, GendesignError
from gendesign.core.generator import Generator
from gendesign.generators.mdlm.denoiser import Denoiser, TimeConditioning
from gendesign.generators.mdlm.schedule import LogLinearSchedule, PolynomialSchedule, StateDependentSchedule
from gendesign.generators.tokenizers import Tokenizer, tokenizer_from_config

NEG_INF = float("-inf")


class MaskedDiffusionLM(Generator):
    """Absorbing-state masked diffusion over a token vocabulary.

    Ids: real tokens ``0 .. V-1``, :attr:`pad_id` ``= V``, :attr:`mask_id` ``= V + 1``.

    Args:
        vocab_size: number of real tokens ``V``; must equal the tokenizer's when one is given.
        max_length: longest design in tokens.
        d_model: transformer width.
        n_layers: transformer blocks.
        n_heads: attention heads.
        d_ff: MLP width (default ``4 * d_model``).
        dropout: dropout rate during training.
        time_conditioning: ``"none"`` (MDLM default; enables exact prediction caching while sampling) or ``"adaln"``.
        eps: keep probability at ``t = 1`` of the schedules.
        flagged_tokens: token ids (or token strings, resolved through the tokenizer) that follow
            the flagged schedule :math:`\\alpha_t = 1 - (1-\\epsilon) t^{p}`.
        flag_power: the exponent ``p`` of the flagged schedule (PepTune: 3).
        exact_state_dependent: include the GenMD4 correction term in the NELBO when tokens are flagged.
        tokenizer: a tokenizer config (:meth:`Tokenizer.to_config`) saved with the model.

    Example:
        >>> from gendesign.generators.tokenizers import ResidueTokenizer
        >>> tok = ResidueTokenizer(list("ACDE"))
        >>> model = MaskedDiffusionLM(4, 8, d_model=16, n_layers=1, n_heads=2, tokenizer=tok.to_config())
        >>> model.mask_id, model.pad_id
        (5, 4)
    """

    def __init__(
        self,
        vocab_size: int,
        max_length: int,
        d_model: int = 128,
        n_layers: int = 4,
        n_heads: int = 4,
        d_ff: int | None = None,
        dropout: float = 0.1,
        time_conditioning: TimeConditioning = "none",
        eps: float = 1e-3,
        flagged_tokens: Sequence[int | str] = (),
        flag_power: float = 3.0,
        exact_state_dependent: bool = True,
        tokenizer: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if vocab_size < 1 or max_length < 1:
            raise ConfigError(f"vocab_size={vocab_size} and max_length={max_length} must both be >= 1")
        if d_model % n_heads:
            raise ConfigError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        if time_conditioning not in ("none", "adaln"):
            raise ConfigError(f"time_conditioning={time_conditioning!r}; choose 'none' or 'adaln'")
        d_ff = 4 * d_model if d_ff is None else d_ff
        self.tokenizer: Tokenizer | None = tokenizer_from_config(tokenizer) if tokenizer is not None else None
        if self.tokenizer is not None and self.tokenizer.vocab_size != vocab_size:
            raise ConfigError(f"vocab_size={vocab_size} but the tokenizer has {self.tokenizer.vocab_size} tokens")
        flagged_ids = [self._resolve_token(tok, vocab_size) for tok in flagged_tokens]
        self.register_config(
            vocab_size=vocab_size,
            max_length=max_length,
            d_model=d_model,
            n_layers=n_layers,
            n_heads=n_heads,
            d_ff=d_ff,
            dropout=dropout,
            time_conditioning=time_conditioning,
            eps=eps,
            flagged_tokens=list(flagged_tokens),
            flag_power=flag_power,
            exact_state_dependent=exact_state_dependent,
            tokenizer=tokenizer,
        )
        self.vocab_size = vocab_size
        self.max_length = max_length
        self.exact_state_dependent = exact_state_dependent
        self.schedule = StateDependentSchedule(
            vocab_size + 2,
            LogLinearSchedule(eps),
            PolynomialSchedule(flag_power, eps) if flagged_ids else None,
            flagged_ids,
        )
        self.denoiser = Denoiser(
            num_ids=vocab_size + 2,
            num_outputs=vocab_size,
            max_length=max_length,
            d_model=d_model,
            n_layers=n_layers,
            n_heads=n_heads,
            d_ff=d_ff,
            dropout=dropout,
            time_conditioning=time_conditioning,
            pad_id=vocab_size,
        )
        self.register_buffer("length_counts", torch.zeros(max_length + 1))

    @classmethod
    def train_from_config(cls, config: str | Path, *, plugins: Any = None) -> str:
        """``gendesign train CONFIG``: :func:`~gendesign.generators.mdlm.commands.train_and_report`."""
        from gendesign.generators.mdlm.commands import train_and_report

        return train_and_report(config, plugins=plugins)

    def _resolve_token(self, token: int | str, vocab_size: int) -> int:
        if isinstance(token, str):
            if self.tokenizer is None or token not in self.tokenizer.index:
                raise ConfigError(f"flagged token {token!r} is not in the tokenizer vocabulary; give a token id or a known token")
            return self.tokenizer.index[token]
        if not 0 <= int(token) < vocab_size:
            raise ConfigError(f"flagged token id {token} is outside the real tokens 0..{vocab_size - 1}")
        return int(token)

    @property
    def pad_id(self) -> int:
        return self.vocab_size

    @property
    def mask_id(self) -> int:
        return self.vocab_size + 1

    @property
    def num_ids(self) -> int:
        return self.vocab_size + 2

    @property
    def time_agnostic(self) -> bool:
        """True when the denoiser ignores ``t``, so equal inputs give equal predictions at every time."""
        return self.config["time_conditioning"] == "none"

    @property
    def device(self) -> torch.device:
        return self.length_counts.device

    # ------------------------------------------------------------------ denoising
    def x0_logits(self, x_t: Tensor, t: Tensor) -> Tensor:
        """Raw denoiser logits `[B, L, V]` over the real tokens for ids ``x_t`` `[B, L]` at times ``t`` `[B]`."""
        self._check_ids(x_t)
        return self.denoiser(x_t, t).float()

    def forward(self, x_t: Tensor, t: Tensor) -> Tensor:
        """SUBS log-probabilities `[B, L, V + 2]` of the clean token at every position.

        Masked positions get the denoiser's distribution over the ``V`` real tokens, with
        :math:`-\\infty` for the pad and mask ids; unmasked positions (pads included) put
        log-probability 0 on their own id and :math:`-\\infty` elsewhere.
        """
        logp = F.log_softmax(self.x0_logits(x_t, t), dim=-1)
        full = F.pad(logp, (0, 2), value=NEG_INF)
        carried = torch.full_like(full, NEG_INF).scatter_(-1, x_t.unsqueeze(-1), 0.0)
        return torch.where((x_t == self.mask_id).unsqueeze(-1), full, carried)

    # ------------------------------------------------------------------ forward process
    def q_xt(self, x0: Tensor, t: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Sample :math:`x_t \\sim q(x_t \\mid x_0)`: mask each non-pad token of ``x0`` `[B, L]` with probability :math:`1 - \\alpha_t`.

        ``t`` is `[B]` (one time per sequence).
        """
        alpha = self.schedule.alpha(x0, t.unsqueeze(-1).to(torch.float32))
        gen_device = generator.device if generator is not None else x0.device
        u = torch.rand(x0.shape, generator=generator, device=gen_device).to(x0.device)
        masked = (u >= alpha) & (x0 != self.pad_id)
        return torch.where(masked, torch.full_like(x0, self.mask_id), x0)

    def sample_times(self, batch: int, generator: torch.Generator | None = None, t_min: float = 1e-4) -> Tensor:
        """Antithetic (low-discrepancy) times `[B]` in ``[t_min, 1]``: :math:`t_i = t_{min} + (1-t_{min})((u + i/B) \\bmod 1)` (Kingma et al. 2021, VDM)."""
        u = torch.rand((), generator=generator).item()
        grid = (u + torch.arange(batch, dtype=torch.float32) / batch) % 1.0
        return (t_min + (1.0 - t_min) * grid).to(self.device)

    # ------------------------------------------------------------------ the bound
    def nelbo_terms(self, x0: Tensor, t: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Per-token NELBO integrand `[B, L]` at times ``t`` `[B]` (one Monte-Carlo draw of :math:`x_t`).

        Entry ``(b, l)`` is :math:`w_{x^l}(t) \\cdot (-\\log \\mu^l_{x^l})` (plus the GenMD4 term when
        tokens are flagged) where position ``l`` is masked, and 0 where it is not.
        """
        self._check_ids(x0, allow_mask=False)
        return self.masked_terms(x0, self.q_xt(x0, t, generator), t)

    def masked_terms(self, x0: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """NELBO integrand `[B, L]` for a given noisy ``x_t`` `[B, L]` of ``x0`` `[B, L]` at times ``t`` `[B]`."""
        masked = x_t == self.mask_id
        logp = F.log_softmax(self.x0_logits(x_t, t), dim=-1)
        target = x0.clamp(max=self.vocab_size - 1)
        nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
        tt = t.unsqueeze(-1).to(logp.dtype)
        w = self.schedule.weight(x0, tt)
        term = w * nll
        if self.exact_state_dependent and not self.schedule.uniform:
            wv = self.schedule.class_weights(t.to(logp.dtype))[:, : self.vocab_size]
            term = term + (logp.exp() * wv.unsqueeze(1)).sum(-1) - w
        return torch.where(masked, term, torch.zeros_like(term))

    def nelbo(self, x0: Tensor, *, num_samples: int = 1, generator: torch.Generator | None = None, t_min: float = 1e-4) -> Tensor:
        """Monte-Carlo estimate `[B]` of the NELBO of each sequence in nats (an upper bound on :math:`-\\log p_\\theta(x \\mid n)`).

        Averages ``num_samples`` draws, each with antithetic times across the batch.

        Args:
            x0: clean ids `[B, L]`, right-padded with :attr:`pad_id`.
            num_samples: Monte-Carlo draws of ``(t, x_t)`` per sequence.
            generator: source of randomness (CPU generator).
            t_min: lower end of the time integral; the neglected part :math:`[0, t_{min}]` contributes
                :math:`O(t_{min})` expected nats per token.
        """
        total = torch.zeros(x0.shape[0], device=x0.device)
        for _ in range(num_samples):
            t = self.sample_times(x0.shape[0], generator, t_min)
            total = total + self.nelbo_terms(x0, t, generator).sum(-1) * (1.0 - t_min)
        return total / num_samples

    def loss(self, x0: Tensor, generator: torch.Generator | None = None, t_min: float = 1e-4, estimator: str = "time") -> tuple[Tensor, Tensor]:
        """Training loss: ``(sum of NELBO estimates over the batch in nats, number of non-pad tokens)``.

        ``sum / tokens`` is the per-token NELBO; ``exp`` of it bounds the perplexity.

        Args:
            x0: clean ids `[B, L]`.
            generator: source of randomness.
            t_min: lower end of the time integral (``estimator="time"``).
            estimator: ``"time"`` draws :math:`t` and masks each token with probability
                :math:`1-\alpha_t`, weighting by :math:`w(t)`. ``"count"`` (time-agnostic models with one
                schedule only) uses the identity, for :math:`\\epsilon = 0`,

                .. math:: \\mathcal{L}(x) = \\sum_{k=1}^{n} \\mathbb{E}_{|M| = k}
                          \\Bigl[\tfrac{1}{k} \\sum_{\\ell \\in M} -\\log \\mu^\\ell_{x^\\ell}(x_M)\\Bigr],

                obtained by integrating :math:`\binom{n}{k} t^{k-1}(1-t)^{n-k}` over ``t``: draw
                :math:`k \\sim U\\{1..n\\}`, mask a uniform ``k``-subset and weight by :math:`n/k`. It is
                the any-order autoregressive form of the bound (Ou et al. 2024, RADD, arXiv
                2406.03736) and has no :math:`1/t` weights, so its variance is much lower.
        """
        if estimator == "time":
            t = self.sample_times(x0.shape[0], generator, t_min)
            total = self.nelbo_terms(x0, t, generator).sum() * (1.0 - t_min)
        elif estimator == "count":
            if not (self.time_agnostic and self.schedule.uniform):
                raise ConfigError("estimator='count' needs a time-agnostic model without flagged tokens; use estimator='time'")
            self._check_ids(x0, allow_mask=False)
            real = x0 != self.pad_id
            n = real.sum(-1)
            gen_device = generator.device if generator is not None else x0.device
            k = (torch.rand(n.shape, generator=generator, device=gen_device).to(x0.device) * n).floor().long() + 1
            scores = torch.rand(x0.shape, generator=generator, device=gen_device).to(x0.device).masked_fill(~real, 2.0)
            rank = scores.argsort(-1).argsort(-1)
            masked = rank < k.unsqueeze(-1)
            x_t = torch.where(masked, torch.full_like(x0, self.mask_id), x0)
            t = k.float() / n.clamp_min(1).float()
            logp = F.log_softmax(self.x0_logits(x_t, t), dim=-1)
            nll = -logp.gather(-1, x0.clamp(max=self.vocab_size - 1).unsqueeze(-1)).squeeze(-1)
            total = (torch.where(masked, nll, torch.zeros_like(nll)).sum(-1) * n.float() / k.float()).sum()
        else:
            raise ConfigError(f"estimator={estimator!r}; choose 'time' or 'count'")
        return total, (x0 != self.pad_id).sum()

    # ------------------------------------------------------------------ lengths
    def set_length_distribution(self, lengths: Sequence[int] | Tensor) -> None:
        """Store the histogram of design lengths (in tokens) that :meth:`sample_lengths` draws from."""
        lengths = torch.as_tensor(lengths, dtype=torch.long)
        if lengths.numel() == 0 or int(lengths.min()) < 1 or int(lengths.max()) > self.max_length:
            raise ConfigError(f"lengths must lie in 1..{self.max_length}; got range {lengths.min().item() if lengths.numel() else None}..{lengths.max().item() if lengths.numel() else None}")
        self.length_counts.copy_(torch.bincount(lengths, minlength=self.max_length + 1).to(self.length_counts))

    def sample_lengths(self, num: int, generator: torch.Generator | None = None) -> Tensor:
        """`[num]` lengths drawn from the stored training length histogram."""
        if float(self.length_counts.sum()) <= 0:
            raise GendesignError("this model has no length distribution (it was not trained with gendesign's trainer); pass length= or lengths=")
        if num == 0:
            return torch.empty(0, dtype=torch.long)
        probs = (self.length_counts / self.length_counts.sum()).cpu()
        return torch.multinomial(probs, num, replacement=True, generator=generator)

    def length_log_prob(self, lengths: Tensor) -> Tensor:
        """:math:`\\log p(n)` `[B]` under the stored length histogram."""
        probs = self.length_counts / self.length_counts.sum()
        return torch.log(probs[lengths.to(self.length_counts.device)])

    # ------------------------------------------------------------------ sampling facade
    def reverse_step(self, x_t: Tensor, t: Tensor, s: Tensor, **kwargs: Any) -> tuple[Tensor, Tensor]:
        """One ancestral step ``t -> s``; see :func:`gendesign.generators.mdlm.sampler.reverse_step`."""
        from gendesign.generators.mdlm.sampler import reverse_step

        return reverse_step(self, x_t, t, s, **kwargs)

    def anchored_step(self, x_t: Tensor, t: Tensor, s: Tensor, anchor: Tensor, **kwargs: Any) -> tuple[Tensor, Tensor]:
        """A step of the posterior ``q(x_s | x_t, x_0 = anchor)`` scored under the model; see :func:`gendesign.generators.mdlm.sampler.reverse_step`."""
        from gendesign.generators.mdlm.sampler import reverse_step

        return reverse_step(self, x_t, t, s, anchor=anchor, **kwargs)

    def sample_designs(self, n: int, *, generator: torch.Generator | None = None, **options: Any) -> tuple[list[Any], None]:
        """``(designs, None)``: ``n`` decoded samples (a diffusion model has no exact log-probability; see :meth:`log_likelihood`).

        ``options`` are those of :meth:`sample` (``steps``, ``temperature``, ``top_p``, ``order``, ``length``, ...).
        """
        return self.generate(n, generator=generator, **options), None

    def log_likelihood(
        self, designs: Sequence[Any], *, seed: int = 0, per_token: bool = False, num_samples: int = 16, include_length: bool = False
    ) -> Tensor:
        """Negative NELBO `[B]` (a lower bound on :math:`\\log p(x \\mid n)`, plus :math:`\\log p(n)` with ``include_length``); NaN for unreadable designs.

        See :func:`gendesign.generators.mdlm.likelihood.naturalness`.
        """
        from gendesign.generators.mdlm.likelihood import naturalness

        return naturalness(self, designs, num_samples=num_samples, seed=seed, per_token=per_token, include_length=include_length)

    def sample(self, num: int, **kwargs: Any) -> Tensor:
        """Ids `[num, L]` of fresh designs; see :meth:`gendesign.generators.mdlm.sampler.Sampler.sample`."""
        from gendesign.generators.mdlm.sampler import Sampler

        return Sampler(self, **_pop_sampler_options(kwargs)).sample(num, **kwargs)

    def infill(self, x: Tensor, fixed_mask: Tensor, **kwargs: Any) -> Tensor:
        """Ids `[B, L]` equal to ``x`` where ``fixed_mask``; see :meth:`gendesign.generators.mdlm.sampler.Sampler.infill`."""
        from gendesign.generators.mdlm.sampler import Sampler

        return Sampler(self, **_pop_sampler_options(kwargs)).infill(x, fixed_mask, **kwargs)

    def generate(self, num: int, **kwargs: Any) -> list[Any]:
        """``num`` decoded designs (needs a tokenizer); keyword arguments as for :meth:`sample`."""
        return self.decode(self.sample(num, **kwargs))

    # ------------------------------------------------------------------ text
    def encode(self, designs: Sequence[Any]) -> Tensor:
        """Ids `[B, L]` of ``designs`` through the saved tokenizer; too-long designs raise."""
        tok = self._require_tokenizer()
        ids = tok.encode(designs)
        if ids.shape[1] > self.max_length:
            lengths = (ids != tok.pad_id).sum(-1)
            worst = int(lengths.argmax())
            raise GendesignError(f"design {designs[worst]!r} has {int(lengths[worst])} tokens; this model handles at most {self.max_length}")
        return ids.to(self.device)

    def decode(self, ids: Tensor) -> list[Any]:
        """Designs from ids `[B, L]` through the saved tokenizer."""
        return self._require_tokenizer().decode(ids.cpu())

    def _require_tokenizer(self) -> Tokenizer:
        if self.tokenizer is None:
            raise GendesignError("this model was built without a tokenizer; pass ids, or build it with tokenizer=Tokenizer.to_config()")
        return self.tokenizer

    def _check_ids(self, x: Tensor, allow_mask: bool = True) -> None:
        if x.dtype != torch.long or x.ndim != 2:
            raise GendesignError(f"token ids must be a LongTensor [B, L]; got dtype {x.dtype} shape {list(x.shape)}")
        if x.shape[1] > self.max_length:
            raise GendesignError(f"sequence width {x.shape[1]} exceeds max_length={self.max_length}")
        hi = self.mask_id if allow_mask else self.pad_id
        if x.numel() and (int(x.min()) < 0 or int(x.max()) > hi):
            raise GendesignError(f"token ids must lie in 0..{hi} (pad {self.pad_id}, mask {self.mask_id}); got {int(x.min())}..{int(x.max())}")


_SAMPLER_KEYS = ("steps", "temperature", "top_p", "cache", "batch_size")


def _pop_sampler_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: kwargs.pop(k) for k in _SAMPLER_KEYS if k in kwargs}
