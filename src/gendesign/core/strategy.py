"""Search strategies: the ask/tell protocol every optimiser implements.

A campaign repeatedly calls ``ask(n)`` for candidate designs, evaluates the ones it has not seen
(duplicates are answered from the ledger), and calls ``tell(designs, scores)`` with the results,
including cached ones. Strategy state must round-trip through :meth:`state_dict` /
:meth:`load_state_dict` (JSON-able or torch tensors) so a killed campaign resumes exactly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import torch

from gendesign.core.designs import DesignSpace
from gendesign.core.objective import ObjectiveSpec, Scores, resolve_device
from gendesign.core.options import StrictOptions, check_seed


class StrategyOptions(StrictOptions):
    """Base class for a strategy's options; subclasses add fields. Unknown keys, lossy conversions
    (``true`` for a number, ``2.5`` for an integer) and non-finite floats are errors."""


class SearchStrategy(ABC):
    """Base class for strategies.

    Args:
        space: the design space to search.
        specs: the objective columns, in the order the scores will arrive.
        seed: seeds :attr:`rng` (numpy) and :attr:`torch_generator`.
        device: where models owned by the strategy run.
        options: a validated instance of :attr:`Options`.

    Attributes:
        generator_protocol: for a strategy that drives a generator, the protocol (from
            :mod:`gendesign.core.protocols`) the model named by ``options.generator`` (or the space's
            ``default_generator()``) must offer; the parts builder passes the built model as ``model=``.
        generator_optional: the strategy also works without a model: the parts builder then builds
            one only when ``options.generator`` names it (the space's default is not used).
    """

    Options: ClassVar[type[StrategyOptions]] = StrategyOptions
    generator_protocol: ClassVar[type | None] = None
    generator_optional: ClassVar[bool] = False

    def __init__(
        self,
        space: DesignSpace,
        specs: Sequence[ObjectiveSpec],
        *,
        seed: int = 0,
        device: str | torch.device = "cpu",
        options: StrategyOptions | None = None,
    ) -> None:
        self.seed = check_seed(seed)
        self.space = space
        self.specs = tuple(specs)
        self.device = resolve_device(device)
        self.options = options if options is not None else self.Options()
        self.rng = np.random.default_rng(seed)
        self.torch_generator = torch.Generator().manual_seed(seed)

    @abstractmethod
    def ask(self, n: int) -> list[Any]:
        """Propose up to ``n`` designs. May return fewer; returning none ends the campaign."""

    @abstractmethod
    def tell(self, designs: Sequence[Any], scores: Scores) -> None:
        """Report scores for designs previously asked for (the campaign may also pass cached ones)."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue; the base class stores the random generators."""
        return {"rng": self.rng.bit_generator.state, "torch_generator": self.torch_generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.torch_generator.set_state(state["torch_generator"])

    def report(self) -> dict[str, Any]:
        """JSON-able facts the strategy wants in ``summary.json`` under ``"strategy_report"`` (e.g. a model fallback); empty by default."""
        return {}


@runtime_checkable
class PendingAware(Protocol):
    """A strategy that accounts for designs still being scored when it proposes more.

    Asynchronous and lab campaigns call :meth:`set_pending` before every ``ask`` with the designs
    submitted but not yet told (in a synchronous campaign nothing is ever pending). A BO strategy
    conditions its acquisition on them (fantasies, BoTorch's ``X_pending``); MCTS counts virtual
    visits. A strategy without the method simply never hears of them; the campaign still never
    submits a pending design twice.
    """

    def set_pending(self, designs: Sequence[Any]) -> None:
        """Replace the set of pending designs (canonical designs, in submission order)."""


class ProposalMemory:
    """The keys of every design a strategy has proposed or been told about, and a queue of initial designs.

    Strategies use it never to propose a design twice and to propose user-given ``initial_designs``
    before anything else. Its state is JSON-able (keys in first-seen order, designs as
    ``space.to_json`` text).

    Args:
        space: canonicalises, keys and stores the designs.
        initial_designs: designs to propose first, in order; the space's own
            :meth:`~gendesign.core.designs.DesignSpace.initial_designs` follow them.
    """

    def __init__(self, space: DesignSpace, initial_designs: Sequence[Any] = ()) -> None:
        self.space = space
        self.order: list[str] = []
        self.keys: set[str] = set()
        self.queue: list[str] = [space.to_json(space.validate(d)) for d in [*initial_designs, *space.initial_designs()]]

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def __len__(self) -> int:
        return len(self.keys)

    def mark(self, key: str) -> bool:
        """Record ``key``; False when it was already known."""
        if key in self.keys:
            return False
        self.keys.add(key)
        self.order.append(key)
        return True

    def initial(self, n: int) -> list[Any]:
        """Up to ``n`` unseen designs from the front of the initial queue, marked as proposed."""
        out: list[Any] = []
        while self.queue and len(out) < n:
            design = self.space.from_json(self.queue.pop(0))
            if self.mark(self.space.key(design)):
                out.append(design)
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"seen": list(self.order), "queue": list(self.queue)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.order = list(state["seen"])
        self.keys = set(self.order)
        self.queue = list(state["queue"])
