"""Design spaces: what a design is, how it is keyed, checked, stored and varied.

Strategies never look inside a design; they ask the space. A space answers:

* :meth:`DesignSpace.validate` - canonical form of a design, or :class:`InvalidDesignError`;
* :meth:`DesignSpace.key` - a string that is equal exactly for designs that are the same thing;
* :meth:`DesignSpace.to_json` / :meth:`DesignSpace.from_json` - lossless storage in the ledger;
* :meth:`DesignSpace.sample`, :meth:`DesignSpace.mutate`, :meth:`DesignSpace.crossover` - variation
  operators for evolutionary and random search.

Randomness always comes from an explicit :class:`numpy.random.Generator`, so strategy state can be
checkpointed and a resumed campaign draws the same numbers.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from gendesign.core.errors import InvalidDesignError

if TYPE_CHECKING:
    from gendesign.core.generator import GeneratorSpec


class DesignSpace(ABC):
    """The set of admissible designs and the operators that move within it.

    Attributes:
        generator_protocol: for a space backed by a generator, the protocol (from
            :mod:`gendesign.core.protocols`) the model named by its ``generator`` option must
            offer; the parts builder then passes the built model as ``model=``.
        report_extensions: names of registered report extensions (``gendesign list reports``)
            that every run on this space writes, e.g. ``("molecules",)`` for a molecule grid.
    """

    generator_protocol: ClassVar[type | None] = None
    report_extensions: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def validate(self, design: Any) -> Any:
        """Return the canonical form of ``design`` or raise :class:`InvalidDesignError` saying why."""

    def is_valid(self, design: Any) -> bool:
        try:
            self.validate(design)
        except InvalidDesignError:
            return False
        return True

    def key(self, design: Any) -> str:
        """Canonical key: equal for two designs exactly when they are the same design."""
        return self.to_json(self.validate(design))

    def to_json(self, design: Any) -> str:
        """Lossless text form for the ledger and CSV outputs."""
        return json.dumps(design, sort_keys=True)

    def from_json(self, text: str) -> Any:
        """Inverse of :meth:`to_json`."""
        return json.loads(text)

    def display(self, design: Any) -> str:
        """Human-readable form for tables and plots."""
        return self.to_json(design)

    def describe(self, design: Any) -> dict[str, Any]:
        """Extra columns for ``pareto.csv`` (e.g. a peptide's SMILES); empty by default."""
        return {}

    @abstractmethod
    def sample(self, n: int, rng: np.random.Generator) -> list[Any]:
        """``n`` designs drawn from the space's default distribution."""

    @abstractmethod
    def mutate(self, design: Any, rng: np.random.Generator) -> Any:
        """One random local edit of ``design``."""

    @abstractmethod
    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> Any:
        """A child that mixes parents ``a`` and ``b``."""

    def mutate_many(self, designs: Sequence[Any], rng: np.random.Generator) -> list[Any]:
        """One mutation of each design; spaces backed by a model override this to batch the work."""
        return [self.mutate(d, rng) for d in designs]

    def initial_designs(self) -> list[Any]:
        """Designs the space asks strategies to propose first, after their own ``initial_designs`` (e.g. a seed file); none by default."""
        return []

    def default_generator(self) -> GeneratorSpec | None:
        """The generator a model-backed strategy uses on this space when its config names none (``None``: no default)."""
        return None

    def config(self) -> dict[str, Any]:
        """JSON-able constructor arguments; part of the run's fingerprint."""
        return {"class": f"{type(self).__module__}.{type(self).__qualname__}"}

    def validate_many(self, designs: Sequence[Any]) -> list[Any]:
        return [self.validate(d) for d in designs]
