"""The parts builder: the space, objective(s) and strategy a :class:`CampaignConfig` names, built through the registries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from gendesign.core.config import CampaignConfig, ObjectivePart, ReportPart
from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, GendesignError, UnknownNameError
from gendesign.core.evaluate import HeldOut, as_held_out
from gendesign.core.executor import Executor
from gendesign.core.generator import generator_context
from gendesign.core.objective import Objective, guide_specs
from gendesign.core.plugins import PluginSystem
from gendesign.core.registry import format_validation_error, validate_options
from gendesign.core.report import ReportExtension
from gendesign.core.strategy import SearchStrategy
from gendesign.objectives.compose import Respecified, Stacked
from gendesign.objectives.scoring import scoring_from_table
from gendesign.objectives.transforms import Transformed
from gendesign.search.diversity import DiversityFilter, DiversityFiltered


@dataclass
class Parts:
    """The built parts of a campaign."""

    space: DesignSpace
    objective: Objective
    strategy: SearchStrategy
    strategy_name: str
    reports: dict[str, ReportExtension] = field(default_factory=dict)
    evaluate: tuple[HeldOut, ...] = ()


def _context(options: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Context kwargs for ``Registry.build`` minus those the options set themselves (e.g. ``device``)."""
    return {k: v for k, v in context.items() if k not in options}


def _build(system: PluginSystem, kind: str, section: str, name: str, options: dict[str, Any], **context: Any) -> Any:
    registry = system.registry(kind)
    try:
        if name in registry:
            context.update(generator_context(system, registry.get(name).factory, options, space=context.get("space"), device=context.get("device", "cpu"), needed_by=f"{registry.kind} {name!r}"))
        return registry.build(name, options, **_context(options, **context))
    except UnknownNameError as exc:
        raise ConfigError(f"{section}: name = {name!r}: {exc}") from None
    except GendesignError as exc:
        raise ConfigError(f"{section} ({name!r}): {exc}") from None
    except ValidationError as exc:
        raise ConfigError(f"{section} ({name!r}): {format_validation_error(exc, where=f'{name!r}')}") from None
    except Exception as exc:  # noqa: BLE001 - a factory that breaks is reported with the part that broke
        raise ConfigError(f"{section} ({name!r}) failed to build with options {options!r}: {type(exc).__name__}: {exc}") from exc


def _requires(factory: Any, name: str) -> bool:
    """Whether ``factory`` has a required parameter ``name``."""
    import inspect

    target = factory.__init__ if inspect.isclass(factory) else factory
    param = inspect.signature(target).parameters.get(name)
    return param is not None and param.default is inspect.Parameter.empty


def _diversity(system: PluginSystem, config: CampaignConfig, space: DesignSpace, strategy: SearchStrategy) -> DiversityFiltered:
    """The strategy wrapped in the ``[diversity]`` filter, its memory key built from the ``memory_keys`` registry."""
    table = config.diversity
    assert table is not None
    key = _build(system, "memory_keys", "[diversity]", table.key, table.options, space=space)
    try:
        filt = DiversityFilter(
            key, space, strategy.specs, bucket_size=table.bucket_size, penalty=table.penalty, column=table.column, min_score=table.min_score
        )
    except ConfigError as exc:
        raise ConfigError(f"[diversity]: {exc}") from None
    return DiversityFiltered(strategy, filt)


def build_reports(system: PluginSystem, space: DesignSpace, parts: list[ReportPart] | None = None) -> dict[str, ReportExtension]:
    """The report extensions of a run: those ``space.report_extensions`` names, then the ``[[reports]]`` of a config.

    A ``[[reports]]`` entry with the name of one the space names replaces it (with its options).
    """
    wanted: dict[str, dict[str, Any]] = {name: {} for name in space.report_extensions}
    for part in parts or []:
        wanted[part.name] = dict(part.options)
    out: dict[str, ReportExtension] = {}
    for name, options in wanted.items():
        ext = _build(system, "reports", "[[reports]]", name, options, space=space)
        if not isinstance(ext, ReportExtension):
            raise ConfigError(f"[[reports]]: {name!r} built a {type(ext).__name__}, which has no write(run_dir, data, front, space, plots) method")
        out[name] = ext
    return out


def build_parts(config: CampaignConfig, *, plugins: PluginSystem) -> Parts:
    """Build the space, objective(s) and strategy a config names, and check its executor; evaluates nothing and starts no worker.

    Several ``[[objectives]]`` are stacked into one objective with ``[B, K_1 + ... + K_P]``
    columns; a part's ``directions`` list overrides its columns' directions. Without ``[space]`` the
    objective's ``default_space()`` is used. Every part comes from the registries of ``plugins``.

    Raises:
        ConfigError: naming the section, the bad value and the allowed choices.
    """
    system = plugins
    settings = config.campaign
    ctx = {"seed": settings.seed, "device": settings.device}
    space: DesignSpace | None = None
    if config.space is not None:
        space = _build(system, "spaces", "[space]", config.space.name, config.space.options, **ctx)
    objectives = [_build_objective(system, f"[[objectives]] #{i + 1}", part, space, ctx) for i, part in enumerate(config.objectives)]
    objective = objectives[0] if len(objectives) == 1 else Stacked(objectives)
    if config.scoring is not None:
        objective = scoring_from_table(objective, config.scoring)
    if space is None:
        space = objectives[0].default_space()
        if space is None:
            raise ConfigError(
                f"no [space] table, and objective {config.objectives[0].name!r} has no default space; add a [space] table, e.g. "
                f"[space] name = \"sequence\" options = {{ alphabet = \"ACGT\", length = 8 }}. Registered spaces: {', '.join(e.name for e in system.spaces)}"
            )
    else:
        for i, (part, obj) in enumerate(zip(config.objectives, objectives)):
            try:
                obj.check_space(space)
            except ConfigError as exc:
                raise ConfigError(f"[[objectives]] #{i + 1} ({part.name!r}) and [space] ({config.space.name!r}) do not fit: {exc}") from None
    held: list[HeldOut] = []
    for i, part in enumerate(config.evaluate):
        section = f"[[evaluate]] #{i + 1}"
        obj = _build_objective(system, section, part, space, ctx)
        try:
            obj.check_space(space)
        except ConfigError as exc:
            raise ConfigError(f"{section} ({part.name!r}) and the design space do not fit: {exc}") from None
        held.append(HeldOut(obj, part.when))
    try:
        evaluate = as_held_out(held)
    except ConfigError as exc:
        raise ConfigError(f"[[evaluate]]: {exc}") from None
    strategy = _build(
        system, "strategies", "[strategy]", config.strategy.name, config.strategy.options, space=space, specs=guide_specs(objective.specs), **ctx
    )
    if not isinstance(strategy, SearchStrategy):
        raise ConfigError(f"[strategy]: {config.strategy.name!r} built a {type(strategy).__name__}, not a SearchStrategy")
    if config.diversity is not None:
        strategy = _diversity(system, config, space, strategy)
    check_executor(settings.executor, settings.executor_options, plugins=system)
    return Parts(space, objective, strategy, config.strategy.name, build_reports(system, space, config.reports), evaluate)


def build_executor(
    name: str,
    options: dict[str, Any] | None = None,
    *,
    workers: int = 2,
    chunk_size: int | None = None,
    plugins: PluginSystem,
    section: str = "[campaign] executor",
) -> Executor:
    """The executor registered as ``name`` (``inline``, ``process``, ``ray`` or a plugin's), built with ``options``.

    ``workers`` and ``chunk_size`` reach the factories that name them; everything else comes from
    ``options`` (``[campaign] executor_options`` in a config).
    """
    executor = _build(plugins, "executors", section, name, dict(options or {}), workers=workers, chunk_size=chunk_size)
    if not isinstance(executor, Executor):
        raise ConfigError(f"{section} = {name!r} built a {type(executor).__name__}, not an Executor")
    return executor


def check_executor(name: str, options: dict[str, Any] | None = None, *, plugins: PluginSystem, section: str = "[campaign] executor") -> None:
    """Check that ``name`` is a registered executor and ``options`` fit it, without starting any worker (``gendesign validate``)."""
    registry = plugins.registry("executors")
    try:
        entry = registry.get(name)
    except UnknownNameError as exc:
        raise ConfigError(f"{section}: name = {name!r}: {exc}") from None
    validate_options(entry.factory, dict(options or {}), where=f"{section} {name!r}", exclude={"workers", "chunk_size"})


def _build_objective(system: PluginSystem, section: str, part: ObjectivePart, space: DesignSpace | None, ctx: dict[str, Any]) -> Objective:
    """One ``[[objectives]]`` or ``[[evaluate]]`` table built, with its ``directions``, ``columns`` and ``transforms`` applied."""
    extra = {"space": space} if space is not None else {}
    if space is None and part.name in system.objectives and _requires(system.objectives.get(part.name).factory, "space"):
        raise ConfigError(
            f"{section}: objective {part.name!r} needs a design space and the config has no [space] table; add one, e.g. "
            f"[space] name = \"sequence\" options = {{ alphabet = \"ACGT\", length = 8 }}. Registered spaces: {', '.join(e.name for e in system.spaces)}"
        )
    obj = _build(system, "objectives", section, part.name, part.options, **ctx, **extra)
    if not isinstance(obj, Objective):
        raise ConfigError(f"{section}: {part.name!r} built a {type(obj).__name__}, not an Objective")
    if part.directions is not None:
        if len(part.directions) != len(obj.specs):
            raise ConfigError(
                f"{section}: directions = {part.directions!r} has {len(part.directions)} entries but {part.name!r} has "
                f"{len(obj.specs)} columns {[s.name for s in obj.specs]}; give one of 'max'/'min' per column"
            )
        obj = Respecified(obj, {s.name: {"direction": d} for s, d in zip(obj.specs, part.directions)})
    try:
        if part.columns:
            obj = Respecified(obj, part.columns)
        if part.transforms:
            obj = Transformed(obj, part.transforms, keep_raw=True)
    except ConfigError as exc:
        raise ConfigError(f"{section} ({part.name!r}): {exc}") from None
    return obj
