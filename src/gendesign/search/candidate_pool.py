"""Candidate pools for acquisition on discrete spaces: mutants of the best designs, random draws, generator samples.

A discrete space has no gradient, so an acquisition function is maximised over a finite pool
(as in NAP and PFNs4BO on HPO-B, and BoTorch's ``optimize_acqf_discrete``). The pool mixes

* **mutants** of the ``parents`` best observed designs: each child receives ``1 + Poisson(0.5)``
  applications of the space's ``mutate_many`` (local exploitation around the incumbents);
* **random** draws from ``space.sample`` (global exploration);
* **generator** samples from any :class:`~gendesign.core.protocols.SequenceSampler` (a learned
  prior over good designs), when one is given.

Every candidate is canonical, distinct and not in ``exclude`` (observed or pending designs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import InvalidDesignError
from gendesign.core.protocols import SequenceSampler


class _Collector:
    """Canonical, distinct designs not in ``exclude``, in arrival order."""

    def __init__(self, space: DesignSpace, exclude: set[str]) -> None:
        self.space = space
        self.exclude = exclude
        self.designs: dict[str, Any] = {}

    def add(self, designs: Sequence[Any], limit: int) -> None:
        for design in designs:
            if len(self.designs) >= limit:
                return
            try:
                canonical = self.space.validate(design)
                key = self.space.key(canonical)
            except InvalidDesignError:
                continue
            if key not in self.exclude and key not in self.designs:
                self.designs[key] = canonical


def candidate_pool(
    space: DesignSpace,
    parents: Sequence[Any],
    *,
    size: int,
    exclude: set[str],
    rng: np.random.Generator,
    random_fraction: float = 0.25,
    sampler: SequenceSampler | None = None,
    sampler_fraction: float = 0.5,
    sampler_options: dict[str, Any] | None = None,
    torch_generator: torch.Generator | None = None,
    max_rounds: int = 8,
) -> list[Any]:
    """Up to ``size`` distinct canonical designs not in ``exclude`` (fewer when the space runs out).

    Args:
        space: supplies ``sample``, ``mutate_many``, ``validate`` and ``key``.
        parents: designs to mutate, best first; without any, the pool is all random (and generator) draws.
        size: pool size.
        exclude: keys never to include.
        rng: randomness of sampling and mutation.
        random_fraction: share of the pool drawn with ``space.sample`` (all of it without parents).
        sampler: optional generator drawing whole designs.
        sampler_fraction: share of the pool drawn from ``sampler``.
        sampler_options: keyword options of ``sampler.sample_designs``.
        torch_generator: randomness of ``sampler``.
        max_rounds: attempts per source to fill its share with new designs.
    """
    pool = _Collector(space, exclude)
    n_sampler = round(size * sampler_fraction) if sampler is not None else 0
    n_random = size - n_sampler if not parents else min(size - n_sampler, round(size * random_fraction))
    sources: list[tuple[int, Callable[[int], list[Any]]]] = []
    if sampler is not None:
        sources.append((n_sampler, lambda k: sampler.sample_designs(k, generator=torch_generator, **(sampler_options or {}))[0]))
    sources.append((n_random, lambda k: space.sample(k, rng)))
    if parents:
        sources.append((size - n_sampler - n_random, lambda k: _mutants(space, parents, k, rng)))
    target = 0
    for share, draw in sources:
        target += share
        for _ in range(max_rounds):
            missing = target - len(pool.designs)
            if missing <= 0:
                break
            pool.add(draw(missing), target)
    return list(pool.designs.values())


def _mutants(space: DesignSpace, parents: Sequence[Any], n: int, rng: np.random.Generator) -> list[Any]:
    """``n`` children of ``parents`` (cycled), each mutated ``1 + Poisson(0.5)`` times."""
    children = [parents[i % len(parents)] for i in range(n)]
    remaining = 1 + rng.poisson(0.5, size=n)
    while (remaining > 0).any():
        idx = np.nonzero(remaining > 0)[0].tolist()
        for i, child in zip(idx, space.mutate_many([children[i] for i in idx], rng), strict=True):
            children[i] = child
        remaining = remaining - 1
    return children
