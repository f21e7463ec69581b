"""Balanced online difficulty filtering of training prompts (Bae et al. 2025, arXiv 2504.03380).

Each outer step draws candidate prompts from the pool, samples a *group* of ``G`` images per
prompt with the current model and keeps only the informative groups:

* ``metric = "pass_rate"``: success is ``r >= τ``; prompt ``q`` is kept when
  ``p_lo <= p̂_q <= p_hi`` with ``p̂_q = (1/G) Σ_g 1[r_{q,g} >= τ]`` (bounds inclusive);
* ``metric = "variance"`` (continuous rewards): ``q`` is kept when the within-group population
  variance ``Var_g(r_{q,g}) > ε``.

The expected improvement of a policy-gradient step on ``q`` is lower-bounded by the success
variance ``p̂_q (1 - p̂_q)`` (Bae et al., Thm. 1), which is zero for prompts the model always or
never solves; with group-normalised advantages those prompts only add noise. Kept groups are
stacked until the batch (``run.batch_size / G`` groups) is full; when a round leaves it short, a
new round draws ``ceil(oversample · missing)`` candidates, up to ``max_rounds`` rounds, after which
the rejected groups with the largest reward variance pad the batch (the count is logged).
DAPO's dynamic sampling is the case ``0 < p̂ < 1``.

With ``prioritize = true`` the candidates are drawn from the pool with weights from the pool
statistics: 1 for prompts never screened or kept at their last screening, ``explore`` for prompts
rejected at their last screening (they are re-checked at that lower rate, since a prompt's
difficulty changes as the model learns).

An algorithm takes part through :meth:`RewardAlgorithm.rollout` (sample and score a group) and
:meth:`RewardAlgorithm.learn` (update on the kept groups): DDPO trains on the kept trajectories
themselves, DRaFT and AlignProp screen without gradients and then backpropagate through fresh
samples of the kept prompts. Every random draw uses the run's checkpointed generator and the pool
statistics are checkpointed, so a resumed run continues bit-identically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor

from gendesign.core.errors import ConfigError

if TYPE_CHECKING:
    from gendesign.generators.diffusion.algorithm import RewardAlgorithm, TrainContext


class DifficultySettings(BaseModel):
    """The ``[training.difficulty]`` table.

    Attributes:
        group_size: ``G``, samples per candidate prompt (``run.batch_size`` must be a multiple).
        metric: ``"pass_rate"`` (needs ``threshold``) or ``"variance"``.
        threshold: ``τ``; a sample succeeds when its (maximise-view) reward is ``>= τ``.
        p_lo: lowest kept pass rate (inclusive).
        p_hi: highest kept pass rate (inclusive).
        min_variance: ``ε``; the ``"variance"`` metric keeps groups whose reward variance exceeds it.
        oversample: candidates drawn per missing group in each round.
        max_rounds: screening rounds per step before the batch is padded with rejected groups.
        prioritize: draw candidates by the pool statistics instead of uniformly.
        explore: candidate weight of prompts rejected at their last screening (``prioritize``).
    """

    model_config = ConfigDict(extra="forbid")

    group_size: int = Field(4, ge=2)
    metric: Literal["pass_rate", "variance"] = "pass_rate"
    threshold: float | None = None
    p_lo: float = Field(0.25, ge=0, le=1)
    p_hi: float = Field(0.75, ge=0, le=1)
    min_variance: float = Field(1e-8, ge=0)
    oversample: float = Field(2.0, ge=1)
    max_rounds: int = Field(4, ge=1)
    prioritize: bool = False
    explore: float = Field(0.1, gt=0, le=1)

    @model_validator(mode="after")
    def _consistent(self) -> DifficultySettings:
        if self.metric == "pass_rate" and self.threshold is None:
            raise ValueError("metric = 'pass_rate' needs threshold (τ: a sample succeeds when reward >= τ); or use metric = 'variance'")
        if self.p_lo > self.p_hi:
            raise ValueError(f"p_lo={self.p_lo} must not exceed p_hi={self.p_hi}")
        return self


@dataclass
class GroupStats:
    """Per-group statistics of ``K`` groups.

    Attributes:
        pass_rate: `[K]` share of samples with reward ``>= τ`` (non-finite rewards fail); NaN without ``τ``.
        variance: `[K]` population variance of the finite rewards (0 with fewer than two).
        mean: `[K]` mean of the finite rewards (NaN when none is finite).
        n: `[K]` samples per group.
    """

    pass_rate: Tensor
    variance: Tensor
    mean: Tensor
    n: Tensor


def group_stats(values: Tensor, group_ids: Tensor, threshold: float | None = None) -> GroupStats:
    """Statistics of rewards `[N]` grouped by integer ids `[N]` in ``range(K)`` (``K = max id + 1``)."""
    k = int(group_ids.max()) + 1 if len(group_ids) else 0
    v = values.detach().to(torch.float64).cpu()
    ids = group_ids.long().cpu()
    finite = torch.isfinite(v)
    fv = torch.where(finite, v, torch.zeros_like(v))
    n = torch.zeros(k, dtype=torch.float64).index_add_(0, ids, torch.ones_like(v))
    nf = torch.zeros(k, dtype=torch.float64).index_add_(0, ids, finite.to(torch.float64))
    total = torch.zeros(k, dtype=torch.float64).index_add_(0, ids, fv)
    mean = total / nf
    dev = torch.where(finite, (fv - mean[ids]) ** 2, torch.zeros_like(v))
    var = torch.zeros(k, dtype=torch.float64).index_add_(0, ids, dev) / nf.clamp_min(1)
    var = torch.where(nf >= 2, var, torch.zeros_like(var))
    if threshold is None:
        rate = torch.full((k,), math.nan, dtype=torch.float64)
    else:
        hits = (finite & (v >= threshold)).to(torch.float64)
        rate = torch.zeros(k, dtype=torch.float64).index_add_(0, ids, hits) / n
    return GroupStats(pass_rate=rate, variance=var, mean=mean, n=n)


def keep_mask(stats: GroupStats, settings: DifficultySettings) -> Tensor:
    """`[K]` bool: the groups the balanced filter keeps (``p_lo <= p̂ <= p_hi``, or variance ``> ε``)."""
    if settings.metric == "pass_rate":
        return (stats.pass_rate >= settings.p_lo) & (stats.pass_rate <= settings.p_hi)
    return stats.variance > settings.min_variance


class Rollout(Protocol):
    """Sampled and scored training items: ``prompts`` `[N]` and their maximise-view ``rewards`` `[N]`."""

    prompts: list[str]
    rewards: Tensor

    def select(self, index: Tensor) -> Rollout: ...


class DifficultyFilter:
    """Draws, screens and keeps prompt groups from ``pool``; see the module docstring.

    Args:
        settings: the ``[training.difficulty]`` table.
        pool: the training prompts.
    """

    def __init__(self, settings: DifficultySettings, pool: list[str]) -> None:
        self.settings = settings
        self.pool = list(pool)
        n = len(self.pool)
        self.screened = torch.zeros(n, dtype=torch.long)
        self.kept = torch.zeros(n, dtype=torch.long)
        self.last_kept = torch.ones(n, dtype=torch.bool)
        self.last_stat = torch.full((n,), math.nan, dtype=torch.float64)
        self.samples = 0

    def draw(self, k: int, generator: torch.Generator) -> Tensor:
        """`[k]` pool indices: uniform (or weighted by :meth:`weights`), without replacement while possible."""
        n = len(self.pool)
        w = self.weights() if self.settings.prioritize else torch.ones(n, dtype=torch.float64)
        return torch.multinomial(w, k, replacement=k > n, generator=generator)

    def weights(self) -> Tensor:
        """`[P]` candidate weights: 1 for prompts kept at (or never at) a screening, ``explore`` otherwise."""
        ones = torch.ones(len(self.pool), dtype=torch.float64)
        return torch.where(self.last_kept, ones, ones * self.settings.explore)

    def step(self, algorithm: RewardAlgorithm, ctx: TrainContext, batch_size: int) -> dict[str, float]:
        """One outer step: screen candidate groups until the batch is full, then ``algorithm.learn`` on it."""
        s = self.settings
        g = s.group_size
        need = batch_size // g
        kept_parts: list[Rollout] = []
        rejected: list[tuple[float, Rollout]] = []
        have = rounds = candidates = screened_samples = 0
        while have < need and rounds < s.max_rounds:
            rounds += 1
            idx = self.draw(math.ceil(s.oversample * (need - have)), ctx.generator)
            candidates += len(idx)
            prompts = [self.pool[i] for i in idx.tolist() for _ in range(g)]
            rollout = algorithm.rollout(ctx, prompts)
            screened_samples += len(prompts)
            ids = torch.arange(len(idx)).repeat_interleave(g)
            stats = group_stats(rollout.rewards, ids, s.threshold)
            mask = keep_mask(stats, s)
            self._record(idx, stats, mask)
            for j in range(len(idx)):
                part = rollout.select(torch.arange(j * g, (j + 1) * g))
                if bool(mask[j]) and have < need:
                    kept_parts.append(part)
                    have += 1
                else:
                    rejected.append((float(stats.variance[j]), part))
        kept_groups = have
        rejected.sort(key=lambda item: -item[0])
        kept_parts.extend(part for _, part in rejected[: need - have])
        self.samples += screened_samples
        metrics = algorithm.learn(ctx, algorithm.cat_rollouts(kept_parts))
        metrics.update(
            {
                "difficulty_rounds": float(rounds),
                "difficulty_candidates": float(candidates),
                "difficulty_kept": float(kept_groups),
                "difficulty_padded": float(need - kept_groups),
                "difficulty_screened_samples": float(screened_samples),
                "difficulty_total_samples": float(self.samples),
            }
        )
        return metrics

    def _record(self, idx: Tensor, stats: GroupStats, mask: Tensor) -> None:
        stat = stats.pass_rate if self.settings.metric == "pass_rate" else stats.variance
        for j, i in enumerate(idx.tolist()):
            self.screened[i] += 1
            self.kept[i] += int(mask[j])
            self.last_kept[i] = bool(mask[j])
            self.last_stat[i] = float(stat[j])

    def pool_table(self) -> list[dict[str, Any]]:
        """One row per pool prompt: times screened and kept, and the last pass rate (or variance)."""
        return [
            {"prompt": p, "screened": int(self.screened[i]), "kept": int(self.kept[i]), "last": float(self.last_stat[i])}
            for i, p in enumerate(self.pool)
        ]

    def state_dict(self) -> dict[str, Any]:
        return {
            "pool": self.pool,
            "screened": self.screened.tolist(),
            "kept": self.kept.tolist(),
            "last_kept": self.last_kept.tolist(),
            "last_stat": [None if math.isnan(x) else x for x in self.last_stat.tolist()],
            "samples": self.samples,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if list(state["pool"]) != self.pool:
            raise ConfigError("cannot resume: the checkpoint's difficulty-filter pool differs from prompts.train; restore the prompts or start fresh")
        self.screened = torch.tensor(state["screened"], dtype=torch.long)
        self.kept = torch.tensor(state["kept"], dtype=torch.long)
        self.last_kept = torch.tensor(state["last_kept"], dtype=torch.bool)
        self.last_stat = torch.tensor([math.nan if x is None else x for x in state["last_stat"]], dtype=torch.float64)
        self.samples = int(state["samples"])
