"""A (1 + lambda) hill climber written against gendesign's ask/tell protocol."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from gendesign import Scores, SearchStrategy, StrategyOptions


class HillClimbOptions(StrategyOptions):
    """Options of :class:`HillClimb`.

    Attributes:
        start: the first design; a random sample from the space when omitted.
        max_tries: attempts per proposal to find a design not proposed before; each failed
            attempt adds one more mutation step, so the climber widens its neighbourhood when
            the nearby designs are used up.
    """

    start: list[Any] | None = None
    max_tries: int = Field(default=20, ge=1)


class HillClimb(SearchStrategy):
    """Keep the best design seen (the incumbent) and propose unseen mutants of it.

    Single-objective: uses the first column, in the maximise view. A proposal that ties the
    incumbent replaces it, so the climber drifts across plateaus. It never proposes a design
    twice (the campaign would serve it from the ledger, but it would waste a round). State
    (incumbent, its value, proposed keys, random generators) round-trips through :meth:`state_dict`
    with JSON-like values only.
    """

    Options = HillClimbOptions
    options: HillClimbOptions

    def __init__(self, space, specs, *, seed: int = 0, device: str = "cpu", options: HillClimbOptions | None = None) -> None:
        super().__init__(space, specs, seed=seed, device=device, options=options)
        self.incumbent: Any = None
        self.value = -math.inf
        self.seen: set[str] = set()

    def _fresh(self, make) -> Any | None:
        for attempt in range(self.options.max_tries):
            design = make(attempt)
            key = self.space.key(design)
            if key not in self.seen:
                self.seen.add(key)
                return design
        return None

    def _mutant(self, attempt: int) -> Any:
        child = self.incumbent
        for _ in range(1 + attempt // 2):
            child = self.space.mutate(child, self.rng)
        return child

    def ask(self, n: int) -> list[Any]:
        out: list[Any] = []
        if self.incumbent is None and not self.seen and self.options.start is not None:
            out.append(self._fresh(lambda _: self.space.validate(self.options.start)))
        while len(out) < n:
            if self.incumbent is None:
                design = self._fresh(lambda _: self.space.sample(1, self.rng)[0])
            else:
                design = self._fresh(self._mutant)
            if design is None:
                break
            out.append(design)
        return out

    def tell(self, designs: Sequence[Any], scores: Scores) -> None:
        canonical = scores.canonical()[:, 0]
        for design, value, ok in zip(designs, canonical.tolist(), scores.feasible().tolist()):
            if ok and value >= self.value:
                self.incumbent, self.value = self.space.validate(design), value

    def state_dict(self) -> dict[str, Any]:
        incumbent = None if self.incumbent is None else self.space.to_json(self.incumbent)
        return {**super().state_dict(), "incumbent": incumbent, "value": self.value, "seen": sorted(self.seen)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.incumbent = None if state["incumbent"] is None else self.space.from_json(state["incumbent"])
        self.value = float(state["value"])
        self.seen = set(state["seen"])
