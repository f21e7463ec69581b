"""Best-of-N sampling: propose the designs a fixed generator finds most likely.

Each ``ask(n)`` draws ``oversample * n`` designs from any
:class:`~gendesign.core.protocols.SequenceSampler`, keeps the valid ones never proposed before and,
when the model is also a :class:`~gendesign.core.protocols.LikelihoodScorer`, returns the ``n``
with the highest log-likelihood per token (for a diffusion model: the lowest NELBO per token). The
model gets no feedback from the scores; the campaign keeps the best evaluated designs, so the
result is best-of-N at the evaluated budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from pydantic import Field, model_validator

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.core.generator import GeneratorSpec
from gendesign.core.objective import ObjectiveSpec, Scores
from gendesign.core.protocols import LikelihoodScorer, SequenceSampler, require_protocol
from gendesign.core.strategy import SearchStrategy, StrategyOptions
from gendesign.search.infill_space import check_sampling

_MDLM_SAMPLING_KEYS = ("steps", "temperature", "top_p", "order")


class BestOfNOptions(StrategyOptions):
    """Options of :class:`BestOfN`.

    Attributes:
        generator: the model, ``{ name = "mdlm", path = "models/x" }``; any registered
            :class:`~gendesign.core.protocols.SequenceSampler`; default: the space's ``default_generator()``.
        oversample: draw ``oversample * n`` candidates per ask.
        rank_by: ``"likelihood"`` (the model's ``log_likelihood`` per token; needs a
            :class:`~gendesign.core.protocols.LikelihoodScorer`; ``"nelbo"`` is the same) or ``"none"``.
        likelihood_options: keyword options of ``log_likelihood`` (for ``mdlm``: ``num_samples``).
        sampling: keyword options of the model's ``sample_designs`` (for ``mdlm``: ``steps``,
            ``temperature``, ``top_p``, ``order``).
        max_empty_rounds: stop after this many asks in a row that found nothing new.

    The ``mdlm_sample`` spellings ``model_dir`` (a directory of an ``mdlm`` model), ``nelbo_samples``
    and top-level ``steps``/``temperature``/``top_p``/``order`` are read too.
    """

    generator: GeneratorSpec | None = None
    oversample: int = Field(4, ge=1)
    rank_by: Literal["likelihood", "nelbo", "none"] = "likelihood"
    likelihood_options: dict[str, Any] = Field(default_factory=dict)
    sampling: dict[str, Any] = Field(default_factory=dict)
    max_empty_rounds: int = Field(3, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _mdlm_sample_spelling(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "model_dir" in data:
            if data.get("generator") is not None:
                raise ValueError("give generator = {...} or model_dir, not both")
            data["generator"] = {"name": "mdlm", "path": data.pop("model_dir")}
        if "nelbo_samples" in data:
            data["likelihood_options"] = {"num_samples": data.pop("nelbo_samples"), **data.get("likelihood_options", {})}
        moved = {k: data.pop(k) for k in _MDLM_SAMPLING_KEYS if k in data}
        if moved:
            data["sampling"] = {**moved, **data.get("sampling", {})}
        return data


class BestOfN(SearchStrategy):
    """Best-of-N sampling from a fixed generator, ranked by its likelihood; never proposes a design twice."""

    Options = BestOfNOptions
    options: BestOfNOptions
    generator_protocol = SequenceSampler

    def __init__(
        self,
        space: DesignSpace,
        specs: Sequence[ObjectiveSpec],
        *,
        seed: int = 0,
        device: str | torch.device = "cpu",
        options: BestOfNOptions | None = None,
        model: SequenceSampler | None = None,
    ) -> None:
        super().__init__(space, specs, seed=seed, device=device, options=options)
        if model is None:
            raise ConfigError("strategy 'best_of_n' got no model: build it from a config (generator = { name = ..., path = ... }) or pass model= a SequenceSampler")
        self.model = require_protocol(model, SequenceSampler, what="its model", needed_by="strategy 'best_of_n'")
        if self.options.rank_by != "none":
            require_protocol(model, LikelihoodScorer, what="its model", needed_by=f"strategy 'best_of_n' with rank_by={self.options.rank_by!r} (or set rank_by = 'none')")
        check_sampling(model, self.options.sampling, needed_by="strategy 'best_of_n'")
        self.seen: set[str] = set()
        self.empty_rounds = 0

    def ask(self, n: int) -> list[Any]:
        opts = self.options
        if self.empty_rounds >= opts.max_empty_rounds:
            return []
        drawn, _ = self.model.sample_designs(n * opts.oversample, generator=self.torch_generator, **opts.sampling)
        fresh: dict[str, Any] = {}
        for d in drawn:
            try:
                c = self.space.validate(d)
            except InvalidDesignError:
                continue
            k = self.space.key(c)
            if k not in self.seen and k not in fresh:
                fresh[k] = c
        cands = list(fresh.values())
        if opts.rank_by != "none" and len(cands) > n:
            score = self.model.log_likelihood(cands, seed=self.seed, per_token=True, **opts.likelihood_options)  # type: ignore[attr-defined]
            order = torch.argsort(torch.nan_to_num(score, nan=float("-inf")), descending=True).tolist()
            cands = [cands[i] for i in order]
        out = cands[:n]
        self.empty_rounds = 0 if out else self.empty_rounds + 1
        self.seen.update(self.space.key(c) for c in out)
        return out

    def tell(self, designs: Sequence[Any], scores: Scores) -> None:
        for d in designs:
            try:
                self.seen.add(self.space.key(d))
            except InvalidDesignError:
                continue

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "seen": sorted(self.seen), "empty_rounds": self.empty_rounds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.seen = set(state["seen"])
        self.empty_rounds = int(state["empty_rounds"])
