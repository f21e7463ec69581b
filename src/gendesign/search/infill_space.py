"""A design space whose sampling and mutation come from a generator: learned infill mutations.

:class:`InfillSpace` decorates a base space. Validity, keys, storage and crossover stay the base
space's; :meth:`InfillSpace.sample` draws designs from the generator and
:meth:`InfillSpace.mutate_many` masks ``k`` positions of each parent and lets the generator infill
them, so ``evolution`` and ``random`` use a learned mutation operator unchanged. The generator is
any :class:`~gendesign.core.protocols.Infiller` (for instance the ``mdlm`` masked diffusion model or
the plugin template's ``bigram`` model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, GendesignError, InvalidDesignError
from gendesign.core.generator import GeneratorSpec
from gendesign.core.protocols import Infiller, require_protocol

if TYPE_CHECKING:
    from gendesign.core.plugins import PluginSystem


def torch_generator(rng: np.random.Generator) -> torch.Generator:
    """A CPU :class:`torch.Generator` seeded from ``rng`` (so a seeded numpy stream drives the model too)."""
    return torch.Generator().manual_seed(int(rng.integers(0, 2**62)))


class InfillSpace(DesignSpace):
    """A base design space whose sampling and mutation come from a generator that infills masked positions.

    :meth:`sample` draws designs from the model and keeps those the base space accepts (canonical
    form), redrawing up to ``max_tries`` rounds and filling any shortfall with the base space's own
    samples. :meth:`mutate_many` masks ``k`` uniformly chosen positions of each parent, with
    ``k = max(1, round(mask_fraction * n))`` or ``k = num_masked``, and infills them; a child that
    is invalid or equal to its parent is redrawn, and after ``max_tries`` the base space's mutation
    is used (counted in :attr:`fallbacks`).

    Args:
        base: the decorated space: a :class:`DesignSpace`, or ``{name = ..., options = {...}}``
            built through ``plugins``.
        generator: the model, ``{ name = "mdlm", path = "models/x" }``; the parts builder builds it
            and passes it as ``model``.
        mask_fraction: fraction of a parent's tokens to regenerate.
        num_masked: fixed number of tokens to regenerate (overrides ``mask_fraction``).
        sampling: keyword options of the model's ``sample_designs`` and ``infill`` (for ``mdlm``:
            ``steps``, ``temperature``, ``top_p``, ``order``).
        max_tries: redraw rounds before falling back to the base space.
        device: where the model runs.
        model: the built :class:`~gendesign.core.protocols.Infiller` (given by the parts builder or by hand).
        plugins: the plugin system that builds a ``base`` given by name.
    """

    generator_protocol = Infiller

    def __init__(
        self,
        base: DesignSpace | dict[str, Any],
        generator: GeneratorSpec | None = None,
        mask_fraction: float = 0.2,
        num_masked: int | None = None,
        sampling: dict[str, Any] | None = None,
        max_tries: int = 4,
        device: str = "cpu",
        model: Infiller | None = None,
        plugins: PluginSystem | None = None,
    ) -> None:
        if not 0 < mask_fraction <= 1:
            raise ConfigError(f"mask_fraction={mask_fraction} must lie in (0, 1]")
        if num_masked is not None and num_masked < 1:
            raise ConfigError(f"num_masked={num_masked} must be >= 1")
        if max_tries < 1:
            raise ConfigError(f"max_tries={max_tries} must be >= 1")
        if model is None:
            raise ConfigError("the infill space got no model: build it from a config (generator = { name = ..., path = ... }) or pass model= an Infiller")
        self.base = base if isinstance(base, DesignSpace) else _build_base(base, plugins)
        self.generator = None if generator is None else GeneratorSpec.model_validate(generator)
        self.model = require_protocol(model, Infiller, what="its model", needed_by="the infill space")
        self.mask_fraction = float(mask_fraction)
        self.num_masked = num_masked
        self.sampling = dict(sampling or {})
        self.max_tries = max_tries
        self.fallbacks = {"sample": 0, "mutate": 0}
        check_sampling(self.model, self.sampling, needed_by="the infill space")

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "base": self.base.config(),
            "generator": None if self.generator is None else self.generator.fingerprint(),
            "mask_fraction": self.mask_fraction,
            "num_masked": self.num_masked,
            "sampling": self.sampling,
        }

    def validate(self, design: Any) -> Any:
        return self.base.validate(design)

    def key(self, design: Any) -> str:
        return self.base.key(design)

    def to_json(self, design: Any) -> str:
        return self.base.to_json(design)

    def from_json(self, text: str) -> Any:
        return self.base.from_json(text)

    def display(self, design: Any) -> str:
        return self.base.display(design)

    def describe(self, design: Any) -> dict[str, Any]:
        return self.base.describe(design)

    def _canonical(self, design: Any) -> Any | None:
        try:
            return self.base.validate(design)
        except InvalidDesignError:
            return None

    def sample(self, n: int, rng: np.random.Generator) -> list[Any]:
        gen = torch_generator(rng)
        out: list[Any] = []
        for _ in range(self.max_tries):
            need = n - len(out)
            if need <= 0:
                break
            designs, _ = self.model.sample_designs(need, generator=gen, **self.sampling)
            out.extend(c for c in map(self._canonical, designs) if c is not None)
        if len(out) < n:
            self.fallbacks["sample"] += n - len(out)
            out.extend(self.base.sample(n - len(out), rng))
        return out[:n]

    def mutate(self, design: Any, rng: np.random.Generator) -> Any:
        return self.mutate_many([design], rng)[0]

    def _positions(self, length: int, rng: np.random.Generator) -> np.ndarray:
        k = self.num_masked if self.num_masked is not None else max(1, round(self.mask_fraction * length))
        return rng.choice(length, size=min(k, length), replace=False)

    def _ids(self, design: Any) -> list[int] | None:
        """Token ids of ``design`` under the model, or ``None`` when it cannot read it."""
        try:
            row = self.model.encode([design])[0].cpu()
        except GendesignError:
            return None
        ids = row[row != self.model.pad_id].tolist()
        return ids if 1 <= len(ids) <= self.model.max_length else None

    def mutate_many(self, designs: Sequence[Any], rng: np.random.Generator) -> list[Any]:
        parents = [self.base.validate(d) for d in designs]
        children: list[Any] = [None] * len(parents)
        rows = {i: ids for i, ids in ((i, self._ids(p)) for i, p in enumerate(parents)) if ids is not None}
        gen = torch_generator(rng)
        pending = list(rows)
        for _ in range(self.max_tries):
            if not pending:
                break
            width = max(len(rows[i]) for i in pending)
            x = torch.full((len(pending), width), self.model.pad_id, dtype=torch.long)
            fixed = torch.ones_like(x, dtype=torch.bool)
            for r, i in enumerate(pending):
                ids = rows[i]
                x[r, : len(ids)] = torch.tensor(ids)
                fixed[r, torch.as_tensor(self._positions(len(ids), rng))] = False
            filled = self.model.decode(self.model.infill(x, fixed, generator=gen, **self.sampling))
            still = []
            for i, child in zip(pending, filled):
                c = self._canonical(child)
                if c is None or self.base.key(c) == self.base.key(parents[i]):
                    still.append(i)
                else:
                    children[i] = c
            pending = still
        for i, c in enumerate(children):
            if c is None:
                self.fallbacks["mutate"] += 1
                children[i] = self.base.mutate(parents[i], rng)
        return children

    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> Any:
        return self.base.crossover(a, b, rng)


def check_sampling(model: Any, sampling: Mapping[str, Any], *, needed_by: str) -> None:
    """Fail at build time on sampling options ``model.sample_designs`` rejects, by drawing zero designs with them."""
    try:
        model.sample_designs(0, generator=torch.Generator().manual_seed(0), **sampling)
    except (TypeError, GendesignError) as exc:
        raise ConfigError(f"{needed_by}: sampling options {dict(sampling)!r} are not accepted by the model's sample_designs: {exc}") from None


def _build_base(spec: Mapping[str, Any], plugins: PluginSystem | None) -> DesignSpace:
    unknown = sorted(set(spec) - {"name", "options"})
    if "name" not in spec or unknown:
        raise ConfigError(f"base must be {{name = ..., options = {{...}}}}, got keys {sorted(spec)}")
    if plugins is None:
        raise ConfigError("the infill space got its base space by name but no plugin system to build it; pass base= a DesignSpace")
    return plugins.spaces.build(spec["name"], spec.get("options", {}))

