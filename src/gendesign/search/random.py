"""Random search: independent draws from the design space's default distribution."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from pydantic import Field

from gendesign.core.designs import DesignSpace
from gendesign.core.objective import ObjectiveSpec, Scores
from gendesign.core.strategy import ProposalMemory, SearchStrategy, StrategyOptions


class RandomSearchOptions(StrategyOptions):
    """Options of :class:`RandomSearch`.

    Attributes:
        initial_designs: designs proposed first, before any random draw (e.g. a known feasible start).
        max_tries: draws per requested design before giving up on finding an unseen one; a space
            that is exhausted makes :meth:`RandomSearch.ask` return fewer designs, then none.
    """

    initial_designs: list[Any] = Field(default_factory=list)
    max_tries: int = Field(default=20, ge=1)


class RandomSearch(SearchStrategy):
    """Uniform random search with de-duplication: the baseline every other strategy must beat.

    ``ask(n)`` returns ``initial_designs`` first, then draws from ``space.sample`` and skips any
    design whose canonical key was already proposed or reported, so no budget is spent twice.
    """

    Options = RandomSearchOptions
    options: RandomSearchOptions

    def __init__(
        self,
        space: DesignSpace,
        specs: Sequence[ObjectiveSpec],
        *,
        seed: int = 0,
        device: str | torch.device = "cpu",
        options: StrategyOptions | None = None,
    ) -> None:
        super().__init__(space, specs, seed=seed, device=device, options=options)
        self.memory = ProposalMemory(space, self.options.initial_designs)

    def ask(self, n: int) -> list[Any]:
        out = self.memory.initial(n)
        budget = (n - len(out)) * self.options.max_tries
        while len(out) < n and budget > 0:
            draws = self.space.sample(min(budget, max(n - len(out), 1)), self.rng)
            budget -= len(draws)
            for design in draws:
                if len(out) < n and self.memory.mark(self.space.key(design)):
                    out.append(self.space.validate(design))
        return out

    def tell(self, designs: Sequence[Any], scores: Scores) -> None:
        """Remember the reported designs so they are never proposed; designs outside the space are ignored."""
        for design in designs:
            if self.space.is_valid(design):
                self.memory.mark(self.space.key(design))

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), **self.memory.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.memory.load_state_dict(state)
