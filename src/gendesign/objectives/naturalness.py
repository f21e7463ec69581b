"""Naturalness: a generator's log-likelihood of each design as an objective column.

Any :class:`~gendesign.core.protocols.LikelihoodScorer` works: for a masked diffusion model the
score is the negative NELBO, a lower bound on :math:`\\log p_\\theta(x \\mid n)` (MDLM, Sahoo et al.
2024, Eq. 11); for an autoregressive or bigram model it is the exact log-likelihood. Per token,
higher means the design looks more like the model's training corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from gendesign.core.errors import ConfigError
from gendesign.core.generator import GeneratorSpec
from gendesign.core.objective import Objective, ObjectiveSpec, Scores, resolve_device
from gendesign.core.protocols import LikelihoodScorer, require_protocol


class Naturalness(Objective):
    """Log-likelihood under a generator, in nats (per token by default; higher is more natural).

    Deterministic for a deterministic scorer (the MDLM bound seeds its Monte-Carlo draws per
    design from ``seed`` and the design's tokens). Designs the model cannot read come back invalid.

    Args:
        generator: the model, ``{ name = "mdlm", path = "models/x" }``; any registered
            :class:`~gendesign.core.protocols.LikelihoodScorer`. The parts builder builds it and passes it as ``model``.
        seed: seed of a stochastic bound.
        per_token: divide by the number of tokens.
        likelihood_options: keyword options of the model's ``log_likelihood`` (for ``mdlm``: ``num_samples``,
            ``include_length``).
        name: the output column's name.
        device: where the model runs.
        model: the built scorer.
    """

    generator_protocol = LikelihoodScorer

    def __init__(
        self,
        generator: GeneratorSpec | None = None,
        seed: int = 0,
        per_token: bool = True,
        likelihood_options: dict[str, Any] | None = None,
        name: str = "naturalness",
        device: str = "cpu",
        model: LikelihoodScorer | None = None,
    ) -> None:
        if model is None:
            raise ConfigError("objective 'naturalness' got no model: build it from a config (generator = { name = ..., path = ... }) or pass model= a LikelihoodScorer")
        self.generator = None if generator is None else GeneratorSpec.model_validate(generator)
        self.model = require_protocol(model, LikelihoodScorer, what="its model", needed_by="objective 'naturalness'")
        self.device = resolve_device(device)
        self.seed = seed
        self.per_token = per_token
        self.likelihood_options = dict(likelihood_options or {})
        unit = "nats per token" if per_token else "nats"
        self.specs = (ObjectiveSpec(name=name, direction="max", description=f"log-likelihood under the generator ({unit})"),)

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "generator": None if self.generator is None else self.generator.fingerprint(),
            "seed": self.seed,
            "per_token": self.per_token,
            "likelihood_options": self.likelihood_options,
        }

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        values = self.model.log_likelihood(list(designs), seed=self.seed, per_token=self.per_token, **self.likelihood_options).float().cpu()
        valid = torch.isfinite(values)
        errors = [None if ok else "the generator cannot read this design (unknown token, or longer than its max_length)" for ok in valid.tolist()]
        return Scores(values=values.unsqueeze(-1), valid=valid, specs=self.specs, errors=errors)
