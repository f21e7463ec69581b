"""Masking schedules for absorbing-state (masked) discrete diffusion.

A token that is clean at time ``0`` is still clean at time ``t`` with probability
:math:`\\alpha_t` and has been replaced by the mask token otherwise (Austin et al. 2021, D3PM;
Sahoo et al. 2024, MDLM, arXiv 2406.07524). The continuous-time negative ELBO weights the
cross-entropy of every masked token by

.. math:: w(t) = \\frac{-\\alpha'_t}{1 - \\alpha_t},

and the reverse process unmasks a masked token between times ``t > s`` with probability
:math:`(\\alpha_s - \\alpha_t) / (1 - \\alpha_t)`.

Schedules here:

* :class:`LogLinearSchedule`: :math:`\\alpha_t = 1 - (1 - \\epsilon) t`, so :math:`w(t) = 1/t`
  (MDLM's default; :math:`\\sigma_t = -\\log\\alpha_t` is the log-linear noise level).
* :class:`PolynomialSchedule`: :math:`\\alpha_t = 1 - (1 - \\epsilon) t^{p}`, so :math:`w(t) = p/t`
  (PepTune's schedule for bond tokens, Tang et al. 2024, arXiv 2412.17780, Eq. 12, with ``p = 3``).
* :class:`StateDependentSchedule`: one schedule for ordinary tokens and another for a flagged set of
  token ids; every quantity is evaluated per token, `[B, L]`. This is the state-dependent masking
  of Shi et al. 2024 (MD4/GenMD4, arXiv 2406.04329) restricted to two token classes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError


class MaskingSchedule(ABC):
    """A keep-probability :math:`\\alpha_t` on ``t in [0, 1]`` with :math:`\\alpha_0 = 1`, decreasing in ``t``."""

    @abstractmethod
    def alpha(self, t: Tensor) -> Tensor:
        """Probability that a token is still unmasked at time ``t`` (any shape, elementwise)."""

    @abstractmethod
    def alpha_prime(self, t: Tensor) -> Tensor:
        """:math:`d\\alpha_t/dt` (elementwise; non-positive)."""

    def weight(self, t: Tensor) -> Tensor:
        """NELBO weight :math:`-\\alpha'_t / (1 - \\alpha_t)` (elementwise; positive for ``t > 0``)."""
        return -self.alpha_prime(t) / (1.0 - self.alpha(t))

    def sigma(self, t: Tensor) -> Tensor:
        """Total noise :math:`\\sigma_t = -\\log \\alpha_t`."""
        return -torch.log(self.alpha(t))

    def unmask_probability(self, t: Tensor, s: Tensor) -> Tensor:
        """Probability that a token masked at time ``t`` is revealed by time ``s < t``: :math:`(\\alpha_s - \\alpha_t)/(1 - \\alpha_t)`."""
        a_t = self.alpha(t)
        return ((self.alpha(s) - a_t) / (1.0 - a_t)).clamp(0.0, 1.0)

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """JSON-able description."""


class PolynomialSchedule(MaskingSchedule):
    """:math:`\\alpha_t = 1 - (1 - \\epsilon) t^{p}`; :math:`w(t) = p / t`.

    Args:
        power: the exponent ``p > 0``; ``p = 1`` is the log-linear schedule, larger ``p`` masks later.
        eps: keep probability left at ``t = 1`` (``0 <= eps < 1``); MDLM uses ``1e-3``.
    """

    def __init__(self, power: float = 1.0, eps: float = 1e-3) -> None:
        if not power > 0:
            raise ConfigError(f"schedule power={power!r} must be > 0")
        if not 0.0 <= eps < 1.0:
            raise ConfigError(f"schedule eps={eps!r} must satisfy 0 <= eps < 1")
        self.power = float(power)
        self.eps = float(eps)

    def alpha(self, t: Tensor) -> Tensor:
        return 1.0 - (1.0 - self.eps) * t.pow(self.power)

    def alpha_prime(self, t: Tensor) -> Tensor:
        return -(1.0 - self.eps) * self.power * t.pow(self.power - 1.0)

    def weight(self, t: Tensor) -> Tensor:
        return self.power / t

    def config(self) -> dict[str, Any]:
        return {"power": self.power, "eps": self.eps}


class LogLinearSchedule(PolynomialSchedule):
    """MDLM's log-linear schedule :math:`\\alpha_t = 1 - (1 - \\epsilon) t`, :math:`\\sigma_t = -\\log(1 - (1-\\epsilon) t)`, :math:`w(t) = 1/t`."""

    def __init__(self, eps: float = 1e-3) -> None:
        super().__init__(power=1.0, eps=eps)


class StateDependentSchedule:
    """Two schedules: ``flagged`` for the token ids in ``flagged_ids``, ``base`` for all others.

    Every method takes the clean (or candidate) token ids ``x`` `[...]` and times ``t`` broadcastable
    to ``x`` and returns per-token values of the schedule that applies to each token.

    Args:
        num_tokens: size of the id space (real tokens plus specials).
        base: schedule of ordinary tokens.
        flagged: schedule of flagged tokens (PepTune: ``PolynomialSchedule(3)`` for bond tokens).
        flagged_ids: the flagged token ids.
    """

    def __init__(self, num_tokens: int, base: MaskingSchedule, flagged: MaskingSchedule | None = None, flagged_ids: Sequence[int] = ()) -> None:
        ids = sorted({int(i) for i in flagged_ids})
        if any(not 0 <= i < num_tokens for i in ids):
            raise ConfigError(f"flagged token ids {ids} must lie in 0..{num_tokens - 1}")
        if ids and flagged is None:
            raise ConfigError(f"flagged token ids {ids} were given without a schedule for them")
        self.num_tokens = num_tokens
        self.base = base
        self.flagged = flagged if flagged is not None else base
        self.flagged_ids = ids
        self.is_flagged = torch.zeros(num_tokens, dtype=torch.bool)
        if ids:
            self.is_flagged[ids] = True

    @property
    def uniform(self) -> bool:
        """True when every token follows the same schedule (no flagged ids)."""
        return not self.flagged_ids

    def flags(self, x: Tensor) -> Tensor:
        """`[...]` bool: which tokens of ``x`` follow the flagged schedule."""
        return self.is_flagged.to(x.device)[x]

    def _select(self, name: str, x: Tensor, t: Tensor, *args: Tensor) -> Tensor:
        base = getattr(self.base, name)(t, *args)
        if self.uniform:
            return base.expand(x.shape) if base.shape != x.shape else base
        return torch.where(self.flags(x), getattr(self.flagged, name)(t, *args), base)

    def alpha(self, x: Tensor, t: Tensor) -> Tensor:
        """Keep probability of each token of ``x`` at time ``t``."""
        return self._select("alpha", x, t)

    def weight(self, x: Tensor, t: Tensor) -> Tensor:
        """NELBO weight :math:`-\\alpha'_t/(1-\\alpha_t)` of each token of ``x``."""
        return self._select("weight", x, t)

    def class_weights(self, t: Tensor) -> Tensor:
        """`[..., N]` weight :math:`w_v(t)` of every token id ``v`` for times ``t`` `[...]`."""
        wb = self.base.weight(t).unsqueeze(-1)
        if self.uniform:
            return wb.expand(*t.shape, self.num_tokens)
        wf = self.flagged.weight(t).unsqueeze(-1)
        return torch.where(self.is_flagged.to(t.device), wf, wb)

    def class_unmask_probability(self, t: Tensor, s: Tensor) -> Tensor:
        """`[..., N]` probability that a masked token whose clean value is ``v`` is revealed between ``t`` and ``s``."""
        pb = self.base.unmask_probability(t, s).unsqueeze(-1)
        if self.uniform:
            return pb.expand(*t.shape, self.num_tokens)
        pf = self.flagged.unmask_probability(t, s).unsqueeze(-1)
        return torch.where(self.is_flagged.to(t.device), pf, pb)
