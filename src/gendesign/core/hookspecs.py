"""The plugin hooks. Every hook is ``register_*`` and receives a ``register`` callback.

A plugin module (built-in or third-party, found through the ``gendesign`` entry-point group)
implements any of these with ``@gendesign.hookimpl``::

    @hookimpl
    def register_objectives(register):
        register("my_score", MyScore)

``register(name, factory, *, aliases=(), override=False, summary=None)`` records ``factory`` (a
class or a function that builds the part from keyword options) under ``name``. Factories, never
built models: listing plugins must not load weights. ``factory`` may also be a reference
``"package.module:Name"``, imported only when the part is built; a plugin whose parts import
heavy libraries (torch, RDKit, diffusers) registers references so that ``gendesign list``,
``plugins`` and ``--help`` stay fast. ``gendesign list`` shows ``summary``, or else the first line
of the factory's docstring (read from the source for a reference that has not been imported)::

    @hookimpl
    def register_objectives(register):
        register("my_score", "my_package.scores:MyScore")
"""

from __future__ import annotations

from typing import Any, Protocol

import pluggy

hookspec = pluggy.HookspecMarker("gendesign")
hookimpl = pluggy.HookimplMarker("gendesign")


class Register(Protocol):
    def __call__(self, name: str, factory: Any, *, aliases: tuple[str, ...] = (), override: bool = False, summary: str | None = None) -> None: ...


@hookspec
def register_design_spaces(register: Register) -> None:
    """Register design-space factories: ``register("sequence", SequenceSpace)``."""


@hookspec
def register_generators(register: Register) -> None:
    """Register generator classes (trainable models): ``register("mdlm", MaskedDiffusionLM)``."""


@hookspec
def register_objectives(register: Register) -> None:
    """Register objective factories: ``register("ehrlich", EhrlichFunction)``."""


@hookspec
def register_search_strategies(register: Register) -> None:
    """Register search-strategy classes (subclasses of ``SearchStrategy``): ``register("evolution", Evolution)``."""


@hookspec
def register_executors(register: Register) -> None:
    """Register executors (how a campaign runs its objective): ``register("ray", RayExecutor)``.

    A factory takes ``workers`` and ``chunk_size`` (from ``[campaign]``) if it names them, plus its
    own options from ``[campaign] executor_options``, and returns an
    :class:`~gendesign.core.executor.Executor`.
    """


@hookspec
def register_memory_keys(register: Register) -> None:
    """Register bucket keys for diversity filters (:class:`~gendesign.core.memory.MemoryKey`): ``register("murcko", MurckoKey)``."""


@hookspec
def register_report_extensions(register: Register) -> None:
    """Register run-report extensions (:class:`~gendesign.core.report.ReportExtension`): ``register("molecules", MoleculeReport)``."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add subcommands to the ``gendesign`` click group ``cli``."""
