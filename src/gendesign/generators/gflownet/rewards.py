"""Reward strategies: how objective scores `[B, K]` become a GFlowNet training signal.

Three strategies, chosen by name in configs (:data:`REWARD_STRATEGIES`):

* ``"power"`` - :class:`PowerReward`, ``R(x) = u(x)^beta`` for one objective.
* ``"exponential"`` - :class:`ExponentialReward`, ``log R(x) = beta * u(x)`` for one real-valued score.
* ``"preference"`` - :class:`PreferenceReward`, preference-conditioned multi-objective GFlowNet:
  each trajectory draws weights ``w ~ Dirichlet(alpha)``, the policy sees their thermometer
  encoding, and ``log R(x | w) = beta * log(sum_k w_k u_k(x))`` (Jain et al. 2023, "Multi-objective
  GFlowNets", ICML; the encoding of recursionpharma/gflownet).
* ``"order_preserving"`` - :class:`OrderPreservingReward`, OP-GFN (Chen & Mauch 2024, "Order-preserving
  GFlowNets", ICLR, arXiv 2310.00386). No reward values are used, only their order: the learned
  ``log R_hat`` is fitted to the batch's order by

  - *pairwise* (``K = 1``): each sample ``i`` meets a random partner ``j``; with label
    ``y_ij = 1`` if ``u_i > u_j``, ``1/2`` on a tie, ``0`` otherwise, the Bradley-Terry loss
    ``-y_ij log sigma(d_ij) - (1 - y_ij) log sigma(-d_ij)``, ``d_ij = log R_hat_i - log R_hat_j``;
  - *listwise* (``K >= 1``): the target is uniform on the batch's Pareto set ``P`` (from
    :func:`gendesign.core.pareto.pareto_mask`), ``q_i = 1[i in P] / |P|``, and the loss is the cross
    entropy ``-sum_i q_i log softmax(log R_hat)_i``.

  Pairwise preference data "A is better than B" (a chemist, an assay) trains the same
  Bradley-Terry loss with ``y = 1`` (:func:`preference_pair_loss`).

``u(x)`` is the canonical (maximise) value, rescaled to ``[0, 1]`` by the spec's bounds when the
spec has them. Invalid designs get ``log R = min_log_reward`` (power, preference) or rank below every
valid design (order-preserving).

Also here: :func:`backward_kl_to_uniform`, OP-GFN's regulariser ``KL(U || P_B)`` that keeps a learned
backward policy close to uniform, and :func:`thermometer`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from gendesign.core.errors import ConfigError
from gendesign.core.objective import ObjectiveSpec
from gendesign.core.pareto import pareto_mask


def thermometer(values: Tensor, bins: int, low: float = 0.0, high: float = 1.0) -> Tensor:
    """Thermometer encoding of ``values`` `[...]` into `[..., bins]`.

    With bin edges ``b_i = low + i * delta``, ``delta = (high - low) / (bins - 1)``, unit ``i`` is
    ``clip((v - b_i) / delta, 0, 1)``: a smooth "fill level" that, unlike a one-hot, keeps nearby
    values close.
    """
    if bins < 2:
        raise ConfigError(f"thermometer: bins={bins} must be >= 2")
    if not high > low:
        raise ConfigError(f"thermometer: need high > low, got low={low}, high={high}")
    delta = (high - low) / (bins - 1)
    edges = low + delta * torch.arange(bins, dtype=values.dtype, device=values.device)
    return ((values.unsqueeze(-1) - edges) / delta).clamp(0.0, 1.0)


def unit_scale(canonical: Tensor, specs: Sequence[ObjectiveSpec]) -> Tensor:
    """Map canonical values `[B, K]` to ``[0, 1]`` per column using each spec's bounds (unchanged where a spec has none)."""
    out = canonical.clone()
    for k, spec in enumerate(specs):
        if spec.bounds is not None:
            lo, hi = spec.bounds
            c_lo, c_hi = (lo, hi) if spec.direction == "max" else (-hi, -lo)
            out[:, k] = (canonical[:, k] - c_lo) / (c_hi - c_lo)
    return out


def backward_kl_to_uniform(log_pb: Tensor | None, mask: Tensor | None) -> Tensor:
    """Mean over states of ``KL(U || P_B) = sum_{a allowed} U(a) (log U(a) - log P_B(a | s))``.

    Args:
        log_pb: `[M, A_b]` backward log-probabilities at ``M`` non-initial states (``None`` for a
            uniform ``P_B``, where the KL is zero).
        mask: `[M, A_b]` allowed backward actions.

    Returns:
        scalar.
    """
    if log_pb is None or mask is None or log_pb.shape[0] == 0:
        return torch.zeros(())
    n = mask.sum(dim=1, keepdim=True).to(log_pb.dtype)
    log_u = -torch.log(n)
    terms = torch.where(mask, (log_u - log_pb) / n, torch.zeros_like(log_pb))
    return terms.sum(dim=1).mean()


def pairwise_order_loss(log_r_hat: Tensor, utility: Tensor, partner: Tensor, tie_tol: float = 1e-6) -> Tensor:
    """OP-GFN's pairwise Bradley-Terry loss for one objective.

    Args:
        log_r_hat: `[B]` learned log-rewards.
        utility: `[B]` canonical values (``-inf`` for invalid designs, which rank below every valid one).
        partner: `[B]` index of each sample's partner.
        tie_tol: ``|u_i - u_j| <= tie_tol`` counts as a tie (label 1/2).

    Returns:
        scalar, the mean over the informative pairs: a pair of two invalid designs carries no order
        and is left out (zero when no pair is informative).
    """
    ui, uj = utility, utility[partner]
    both_invalid = torch.isinf(ui) & torch.isinf(uj) & (ui == uj)
    tie = (ui - uj).abs() <= tie_tol
    label = torch.where(tie, torch.full_like(ui, 0.5), (ui > uj).to(ui.dtype))
    d = log_r_hat - log_r_hat[partner]
    per_pair = F.binary_cross_entropy_with_logits(d, label.to(d.dtype), reduction="none")
    informative = ~both_invalid
    if not bool(informative.any()):
        return log_r_hat.sum() * 0.0
    return per_pair[informative].mean()


def listwise_order_loss(log_r_hat: Tensor, canonical: Tensor) -> Tensor:
    """OP-GFN's listwise Pareto loss: cross entropy between the uniform law on the batch's Pareto set and ``softmax(log R_hat)``.

    Args:
        log_r_hat: `[B]` learned log-rewards.
        canonical: `[B, K]` canonical values; rows with NaN (invalid designs) are never on the front.

    Returns:
        scalar; zero when no row is valid.
    """
    front = pareto_mask(canonical.detach().to(torch.float64).cpu()).to(log_r_hat.device)
    if not bool(front.any()):
        return log_r_hat.sum() * 0.0
    target = front.to(log_r_hat.dtype) / front.sum()
    return -(target * torch.log_softmax(log_r_hat, dim=0)).sum()


def preference_pair_loss(log_r_winner: Tensor, log_r_loser: Tensor) -> Tensor:
    """Bradley-Terry loss for stated preferences "winner is better than loser": ``mean softplus(-(w - l))``.

    Args:
        log_r_winner: `[P]` learned log-rewards of the preferred items.
        log_r_loser: `[P]` learned log-rewards of the others.
    """
    return F.softplus(log_r_loser - log_r_winner).mean()


class RewardStrategy:
    """Turns canonical scores into log-rewards and/or an order loss; base class of the three strategies.

    Args:
        specs: the objective columns.
        min_log_reward: floor of ``log R`` (and the log-reward of invalid designs).
    """

    name: str = ""
    uses_order: bool = False

    def __init__(self, specs: Sequence[ObjectiveSpec], min_log_reward: float = -20.0) -> None:
        self.specs = tuple(specs)
        self.num_objectives = len(self.specs)
        self.min_log_reward = float(min_log_reward)

    @property
    def condition_dim(self) -> int:
        return 0

    def sample_conditions(self, n: int, generator: torch.Generator | None = None) -> Tensor | None:
        """`[n, C]` conditioning vectors, or ``None`` for an unconditional strategy."""
        return None

    def log_rewards(self, canonical: Tensor, valid: Tensor, conditions: Tensor | None = None) -> Tensor | None:
        """`[B]` ``log R(x)`` from canonical values `[B, K]` and validity `[B]`; ``None`` when only the order is used."""
        return None

    def order_loss(self, log_r_hat: Tensor, canonical: Tensor, valid: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """The OP loss on ``log_r_hat`` `[B]`; zero for reward-based strategies."""
        return log_r_hat.sum() * 0.0

    def _utility(self, canonical: Tensor) -> Tensor:
        return unit_scale(canonical, self.specs)

    def _clamp_log(self, u: Tensor, valid: Tensor) -> Tensor:
        logs = torch.log(u.clamp_min(0.0)).clamp_min(self.min_log_reward)
        return torch.where(valid & torch.isfinite(u), logs, torch.full_like(logs, self.min_log_reward))


class PowerReward(RewardStrategy):
    """``log R(x) = beta * log u(x)`` for one objective, floored at ``min_log_reward``.

    Args:
        specs: exactly one objective column.
        beta: the exponent ``beta > 0``.
        min_log_reward: floor of ``log R``.
    """

    name = "power"

    def __init__(self, specs: Sequence[ObjectiveSpec], beta: float = 1.0, min_log_reward: float = -20.0) -> None:
        super().__init__(specs, min_log_reward)
        if self.num_objectives != 1:
            raise ConfigError(
                f"reward 'power' takes one objective but got K={self.num_objectives} ({[s.name for s in self.specs]}); "
                "use reward='preference' or reward='order_preserving' for several"
            )
        if beta <= 0:
            raise ConfigError(f"reward 'power': beta={beta} must be > 0")
        self.beta = float(beta)

    def log_rewards(self, canonical: Tensor, valid: Tensor, conditions: Tensor | None = None) -> Tensor:
        u = self._utility(canonical)[:, 0]
        return (self.beta * self._clamp_log(u, valid)).clamp_min(self.min_log_reward)


class ExponentialReward(RewardStrategy):
    """``log R(x) = beta * u(x)`` for one objective, floored at ``min_log_reward``.

    The score itself is the log-reward (a Boltzmann target ``R = exp(beta * u)``), so any real-valued
    scalar works, including negative ones such as a :class:`~gendesign.objectives.constrained_reward.ConstrainedReward`
    score or a z-scored ensemble, where :class:`PowerReward` needs ``u >= 0``.

    Args:
        specs: exactly one objective column.
        beta: inverse temperature ``beta > 0``.
        min_log_reward: floor of ``log R`` (and the log-reward of invalid designs).
    """

    name = "exponential"

    def __init__(self, specs: Sequence[ObjectiveSpec], beta: float = 1.0, min_log_reward: float = -20.0) -> None:
        super().__init__(specs, min_log_reward)
        if self.num_objectives != 1:
            raise ConfigError(
                f"reward 'exponential' takes one objective but got K={self.num_objectives} ({[s.name for s in self.specs]}); "
                "scalarise first (e.g. constrained_reward) or use reward='preference'"
            )
        if beta <= 0:
            raise ConfigError(f"reward 'exponential': beta={beta} must be > 0")
        self.beta = float(beta)

    def log_rewards(self, canonical: Tensor, valid: Tensor, conditions: Tensor | None = None) -> Tensor:
        u = self._utility(canonical)[:, 0]
        ok = valid & torch.isfinite(u)
        logs = (self.beta * torch.where(ok, u, torch.zeros_like(u))).clamp_min(self.min_log_reward)
        return torch.where(ok, logs, torch.full_like(logs, self.min_log_reward))


class PreferenceReward(RewardStrategy):
    """Preference-conditioned scalarisation ``log R(x | w) = beta * log(sum_k w_k u_k(x))``, ``w ~ Dirichlet(alpha)``.

    The condition is the thermometer encoding of ``w``, `[B, K * bins]`.

    Args:
        specs: ``K >= 1`` objective columns.
        alpha: Dirichlet concentration (1.5 in recursionpharma/gflownet).
        bins: thermometer units per objective.
        beta: exponent on the scalarised utility.
        min_log_reward: floor of ``log R``.
    """

    name = "preference"

    def __init__(
        self, specs: Sequence[ObjectiveSpec], alpha: float = 1.5, bins: int = 16, beta: float = 1.0, min_log_reward: float = -20.0
    ) -> None:
        super().__init__(specs, min_log_reward)
        if alpha <= 0 or beta <= 0:
            raise ConfigError(f"reward 'preference': alpha={alpha} and beta={beta} must be > 0")
        self.alpha = float(alpha)
        self.bins = int(bins)
        self.beta = float(beta)

    @property
    def condition_dim(self) -> int:
        return self.num_objectives * self.bins

    def sample_weights(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """`[n, K]` Dirichlet(alpha) weights, drawn as normalised Gamma(alpha, 1) variables.

        The gamma draws come from a NumPy generator seeded from ``generator``, so the weights are
        reproducible from the torch generator's state alone.
        """
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        gammas = torch.from_numpy(np.random.default_rng(seed).gamma(self.alpha, size=(n, self.num_objectives))).to(torch.float32)
        return gammas / gammas.sum(dim=1, keepdim=True)

    def encode(self, weights: Tensor) -> Tensor:
        """`[n, K * bins]` thermometer encoding of weights `[n, K]`."""
        return thermometer(weights, self.bins).reshape(weights.shape[0], -1)

    def decode(self, conditions: Tensor) -> Tensor:
        """Weights `[n, K]` back from their encoding: the units of one objective sum to ``w (bins - 1)``."""
        units = conditions.reshape(conditions.shape[0], self.num_objectives, self.bins)
        return units.sum(dim=-1) / (self.bins - 1)

    def sample_conditions(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.encode(self.sample_weights(n, generator))

    def log_rewards(self, canonical: Tensor, valid: Tensor, conditions: Tensor | None = None) -> Tensor:
        if conditions is None:
            raise ConfigError("reward 'preference' needs the trajectories' conditions")
        w = self.decode(conditions).to(canonical.dtype)
        u = (w * self._utility(canonical)).sum(dim=1)
        return (self.beta * self._clamp_log(u, valid)).clamp_min(self.min_log_reward)


class OrderPreservingReward(RewardStrategy):
    """OP-GFN: fit ``log R_hat`` to the batch's order (pairwise for ``K = 1``, listwise Pareto for ``K >= 1``).

    Args:
        specs: ``K >= 1`` objective columns.
        order: ``"auto"`` (pairwise for ``K = 1``, listwise otherwise), ``"pairwise"`` (``K = 1`` only) or ``"listwise"``.
        tie_tol: tolerance under which two values tie (pairwise).
    """

    name = "order_preserving"
    uses_order = True

    def __init__(
        self,
        specs: Sequence[ObjectiveSpec],
        order: Literal["auto", "pairwise", "listwise"] = "auto",
        tie_tol: float = 1e-6,
        min_log_reward: float = -20.0,
    ) -> None:
        super().__init__(specs, min_log_reward)
        if order not in ("auto", "pairwise", "listwise"):
            raise ConfigError(f"reward 'order_preserving': order={order!r}; use 'auto', 'pairwise' or 'listwise'")
        if order == "pairwise" and self.num_objectives != 1:
            raise ConfigError(f"order='pairwise' needs one objective, got K={self.num_objectives}; use order='listwise'")
        self.order = ("pairwise" if self.num_objectives == 1 else "listwise") if order == "auto" else order
        self.tie_tol = float(tie_tol)

    def order_loss(self, log_r_hat: Tensor, canonical: Tensor, valid: Tensor, generator: torch.Generator | None = None) -> Tensor:
        ok = valid & torch.isfinite(canonical).all(dim=1)
        if self.order == "pairwise":
            utility = torch.where(ok, canonical[:, 0].to(log_r_hat.dtype), torch.full_like(log_r_hat, -math.inf))
            partner = torch.randperm(log_r_hat.shape[0], generator=generator).to(log_r_hat.device)
            return pairwise_order_loss(log_r_hat, utility, partner, self.tie_tol)
        values = torch.where(ok.unsqueeze(1), canonical, torch.full_like(canonical, math.nan))
        return listwise_order_loss(log_r_hat, values)


REWARD_STRATEGIES: dict[str, type[RewardStrategy]] = {
    "power": PowerReward,
    "exponential": ExponentialReward,
    "preference": PreferenceReward,
    "order_preserving": OrderPreservingReward,
}


def build_reward(name: str, specs: Sequence[ObjectiveSpec], **options: float | int | str) -> RewardStrategy:
    """The reward strategy ``name`` with ``options``; unknown names or options list the choices."""
    if name not in REWARD_STRATEGIES:
        raise ConfigError(f"unknown reward strategy {name!r}; choose one of {', '.join(REWARD_STRATEGIES)}")
    cls = REWARD_STRATEGIES[name]
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "specs")]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(f"reward {name!r} has no options {unknown}; its options are {allowed}")
    return cls(specs, **options)  # type: ignore[arg-type]
