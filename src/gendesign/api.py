"""The Python facade: :func:`optimize` for objects, and config-driven runs for the CLI.

:func:`optimize` takes an objective (an :class:`Objective` or a plain callable), a space (an
instance or a registered name) and a strategy (a registered name or a :class:`SearchStrategy`
subclass) and runs a :class:`~gendesign.core.campaign.Campaign`. :func:`run_config`,
:func:`resume_run`, :func:`report_run` and :func:`validate_config` are what ``gendesign run``,
``resume``, ``report`` and ``validate`` call.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from gendesign.core.atomic import atomic_write_text
from gendesign.core.campaign import LEDGER_NAME, RUN_FILE, Campaign, CampaignResult
from gendesign.core.config import CampaignConfig, load_config
from gendesign.core.designs import DesignSpace
from gendesign.core.errors import CampaignError, ConfigError, GendesignError, UnknownNameError
from gendesign.core.executor import Executor, make_executor
from gendesign.core.generator import generator_context
from gendesign.core.ledger import Ledger
from gendesign.core.lock import RunDirLock
from gendesign.core.objective import Direction, FunctionObjective, Objective, make_specs
from gendesign.core.options import check_seed
from gendesign.core.paths import check_ledger_path, check_run_dir
from gendesign.core.plugins import PluginSystem, get_plugins
from gendesign.core.registry import accepted_context, format_validation_error
from gendesign.core.report import write_outputs
from gendesign.core.strategy import SearchStrategy
from gendesign.objectives.compose import Respecified, Stacked
from gendesign.objectives.transforms import Transformed

OptimizationResult = CampaignResult
RESOLVED_CONFIG = "config.resolved.toml"


@dataclass
class Parts:
    """The built parts of a campaign."""

    space: DesignSpace
    objective: Objective
    strategy: SearchStrategy
    strategy_name: str


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


def build_parts(config: CampaignConfig, *, plugins: PluginSystem | None = None) -> Parts:
    """Build the space, objective(s) and strategy a config names; evaluates nothing.

    Several ``[[objectives]]`` are stacked into one objective with ``[B, K_1 + ... + K_P]``
    columns; a part's ``directions`` list overrides its columns' directions. Without ``[space]`` the
    objective's ``default_space()`` is used.

    Raises:
        ConfigError: naming the section, the bad value and the allowed choices.
    """
    system = plugins or get_plugins()
    settings = config.campaign
    ctx = {"seed": settings.seed, "device": settings.device}
    space: DesignSpace | None = None
    if config.space is not None:
        space = _build(system, "spaces", "[space]", config.space.name, config.space.options, **ctx)
    objectives: list[Objective] = []
    for i, part in enumerate(config.objectives):
        section = f"[[objectives]] #{i + 1}"
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
                obj = Transformed(obj, part.transforms)
        except ConfigError as exc:
            raise ConfigError(f"{section} ({part.name!r}): {exc}") from None
        objectives.append(obj)
    objective = objectives[0] if len(objectives) == 1 else Stacked(objectives)
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
    strategy = _build(
        system, "strategies", "[strategy]", config.strategy.name, config.strategy.options, space=space, specs=objective.specs, **ctx
    )
    if not isinstance(strategy, SearchStrategy):
        raise ConfigError(f"[strategy]: {config.strategy.name!r} built a {type(strategy).__name__}, not a SearchStrategy")
    return Parts(space, objective, strategy, config.strategy.name)


def default_run_dir(root: str | Path = "runs") -> Path:
    """``runs/<UTC timestamp>``, with a numeric suffix when that directory exists."""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / stamp
    candidate, n = base, 1
    while candidate.exists():
        candidate = base.with_name(f"{stamp}-{n}")
        n += 1
    return candidate


def run_config(
    config: CampaignConfig,
    *,
    run_dir: str | Path | None = None,
    progress: bool | None = None,
    plugins: PluginSystem | None = None,
    force: bool = False,
) -> CampaignResult:
    """Run the campaign ``config`` describes; the resolved config goes to ``run_dir/config.resolved.toml``.

    The run directory is locked before anything is written (:mod:`gendesign.core.lock`); ``force``
    breaks another process's lock, only for use after checking that process is dead.
    """
    target = Path(run_dir) if run_dir is not None else Path(config.campaign.run_dir) if config.campaign.run_dir else default_run_dir()
    check_run_dir(target)
    resolved = config.model_copy(deep=True)
    resolved.campaign.run_dir = str(target)
    if progress is not None:
        resolved.campaign.progress = progress
    parts = build_parts(resolved, plugins=plugins)
    lock = RunDirLock.acquire(target, force=force)
    try:
        if any((target / name).exists() for name in ("checkpoint.pt", LEDGER_NAME, RUN_FILE)):
            raise CampaignError(f"{target} already holds a run; continue it with `gendesign resume {target}` or choose another run_dir")
        atomic_write_text(target / RESOLVED_CONFIG, dump_toml(resolved.model_dump(mode="json", exclude_none=True)))
        campaign = _campaign(resolved, parts, target, lock)
    except BaseException:
        lock.release()
        raise
    return campaign.run_and_close()


class _ClosingCampaign(Campaign):
    def run_and_close(self) -> CampaignResult:
        try:
            return self.run()
        finally:
            self.close()


def _campaign(config: CampaignConfig, parts: Parts, run_dir: Path, lock: RunDirLock) -> _ClosingCampaign:
    s = config.campaign
    return _ClosingCampaign(
        parts.objective,
        parts.space,
        parts.strategy,
        budget=s.budget,
        batch_size=s.batch_size,
        run_dir=run_dir,
        max_rounds=s.max_rounds,
        patience_rounds=s.patience_rounds,
        max_failed_batches=s.max_failed_batches,
        progress=s.progress,
        plots=s.plots,
        strategy_name=parts.strategy_name,
        ledger=s.ledger,
        executor=make_executor(s.executor, s.workers, s.chunk_size),
        metadata={"config": config.model_dump(mode="json", exclude_none=True)},
        lock=lock,
    )


def _read_resolved(run_dir: Path) -> CampaignConfig:
    path = run_dir / RESOLVED_CONFIG
    if not path.is_file():
        raise CampaignError(
            f"{run_dir} has no {RESOLVED_CONFIG}; `gendesign resume` continues runs started by `gendesign run`. "
            "A run started from Python continues by calling gendesign.optimize(...) again with the same arguments and run_dir"
        )
    return load_config(path)


def resume_run(run_dir: str | Path, *, progress: bool | None = None, plugins: PluginSystem | None = None, force: bool = False) -> CampaignResult:
    """Continue the run in ``run_dir`` from its last checkpoint; evaluations made after it are served from the ledger.

    Refused while another process runs in ``run_dir``; ``force`` breaks that lock (only after
    checking the process is dead).
    """
    target = Path(run_dir)
    if not target.is_dir():
        raise CampaignError(f"run directory {str(target)!r} does not exist")
    lock = RunDirLock.acquire(target, force=force)
    try:
        config = _read_resolved(target)
        if progress is not None:
            config.campaign.progress = progress
        parts = build_parts(config, plugins=plugins)
        campaign = _campaign(config, parts, target, lock)
    except BaseException:
        lock.release()
        raise
    return campaign.run_and_close()


def report_run(run_dir: str | Path, *, plots: bool = True, plugins: PluginSystem | None = None) -> dict[str, Any]:
    """Regenerate the CSV tables, ``summary.json`` and plots of ``run_dir`` from its ledger; nothing is evaluated."""
    target = Path(run_dir)
    run_id, ledger_path = None, target / LEDGER_NAME
    if (target / RUN_FILE).is_file():
        info = json.loads((target / RUN_FILE).read_text())
        run_id = info["run_id"]
        ledger_path = Path(info["ledger"]) if info.get("ledger") else ledger_path
    if not ledger_path.is_file():
        raise CampaignError(f"{target} has no {LEDGER_NAME} (nor a run.json naming a ledger); point to a run directory written by a campaign")
    space = None
    if (target / RESOLVED_CONFIG).is_file():
        config = load_config(target / RESOLVED_CONFIG)
        system = plugins or get_plugins()
        if config.space is not None:
            space = _build(system, "spaces", "[space]", config.space.name, config.space.options, seed=config.campaign.seed, device=config.campaign.device)
        else:
            space = build_parts(config, plugins=system).space
    with Ledger(ledger_path) as ledger:
        return write_outputs(target, ledger, run_id, space=space, plots=plots)


def validate_config(path: str | Path, *, plugins: PluginSystem | None = None) -> list[str]:
    """Load and build everything ``path`` names without evaluating; returns one description line per part."""
    config = load_config(path)
    if config.campaign.run_dir is not None:
        check_run_dir(config.campaign.run_dir, "[campaign] run_dir")
    if config.campaign.ledger is not None:
        check_ledger_path(config.campaign.ledger, "[campaign] ledger")
    parts = build_parts(config, plugins=plugins)
    cols = ", ".join(f"{s.name} ({s.kind}, {s.direction})" for s in parts.objective.specs)
    return [
        f"space: {type(parts.space).__name__} {parts.space.config()}",
        f"objective: {parts.objective.name} [{cols}] fingerprint {parts.objective.fingerprint()}",
        f"strategy: {parts.strategy_name} ({type(parts.strategy).__name__})",
        f"campaign: budget {config.campaign.budget}, batch_size {config.campaign.batch_size}, seed {config.campaign.seed}, device {config.campaign.device}",
    ]


def _as_objective(
    objective: Objective | Callable[[list[Any]], Any],
    space: DesignSpace,
    directions: Direction | Sequence[Direction] | None,
    names: str | Sequence[str] | None,
    seed: int,
    device: str,
) -> Objective:
    if isinstance(objective, Objective):
        if directions is not None or names is not None:
            raise ConfigError("directions= and names= apply to plain callables; an Objective declares its own specs (use Respecified to change them)")
        return objective
    if not callable(objective):
        raise ConfigError(f"objective must be an Objective or a callable taking a list of designs, got {type(objective).__name__}")
    if directions is not None or names is not None:
        return FunctionObjective(objective, names=names, directions=directions, device=device)
    probe = space.sample(1, np.random.default_rng(seed))
    try:
        out = np.asarray(objective(probe), dtype=float)
    except Exception as exc:  # noqa: BLE001 - the callable is the user's; say how to avoid the probe
        raise ConfigError(
            f"could not infer the number of objectives by calling the objective on one sampled design ({type(exc).__name__}: {exc}); "
            "pass directions=['max', 'min', ...] or names=[...]"
        ) from exc
    k = 1 if out.ndim <= 1 else int(out.shape[-1])
    return FunctionObjective(objective, specs=make_specs(num_outputs=k), device=device)


def _as_space(space: DesignSpace | str | None, objective: Any, options: dict[str, Any], system: PluginSystem, seed: int, device: str) -> DesignSpace:
    if isinstance(space, DesignSpace):
        if options:
            raise ConfigError("space_options apply to a space given by name; this space is already built")
        return space
    if isinstance(space, str):
        return _build(system, "spaces", "space", space, options, seed=seed, device=device)
    if space is None:
        default = objective.default_space() if isinstance(objective, Objective) else None
        if default is not None:
            return default
        raise ConfigError("space=None needs an objective with default_space(); pass a DesignSpace or a registered space name")
    raise ConfigError(f"space must be a DesignSpace or a registered name, got {type(space).__name__}")


def optimize(
    objective: Objective | Callable[[list[Any]], Any],
    space: DesignSpace | str | None = None,
    strategy: str | type[SearchStrategy] = "evolution",
    *,
    budget: int = 1000,
    batch_size: int = 64,
    seed: int = 0,
    directions: Direction | Sequence[Direction] | None = None,
    names: str | Sequence[str] | None = None,
    run_dir: str | Path | None = None,
    ledger: str | Path | None = None,
    device: str = "cpu",
    max_rounds: int | None = None,
    patience_rounds: int = 20,
    max_failed_batches: int = 5,
    progress: bool = True,
    plots: bool = True,
    executor: str | Executor = "inline",
    workers: int = 2,
    space_options: dict[str, Any] | None = None,
    force: bool = False,
    **strategy_options: Any,
) -> OptimizationResult:
    """Optimise ``objective`` over ``space`` with ``strategy``; returns the Pareto set, the best designs and the history.

    Args:
        objective: an :class:`Objective`, or a callable ``f(designs) -> [B]`` or ``[B, K]`` (array,
            list or tensor) where NaN or ``-inf`` marks an infeasible design. A callable gets
            ``directions`` (default ``"max"``) and ``names``; when neither is given its number of
            columns ``K`` is found by calling it once on one design sampled from the space.
        space: a :class:`DesignSpace`, a registered space name (built with ``space_options``), or
            ``None`` to use ``objective.default_space()``.
        strategy: a registered strategy name or a :class:`SearchStrategy` subclass, built with
            ``**strategy_options``.
        budget: unique designs to evaluate.
        batch_size: designs per round and per objective call.
        seed: seeds the strategy.
        directions: ``"max"``/``"min"`` per column (callables only).
        names: column names (callables only).
        run_dir: write the ledger, checkpoints and outputs here; a directory that already holds
            a run of the same objective continues it. ``None``: in memory, nothing written.
        ledger: a ledger file shared between runs as a persistent cache (default
            ``run_dir/ledger.sqlite``, or in memory).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"`` for the strategy and a callable objective.
        max_rounds: stop after this many rounds.
        patience_rounds: stop after this many rounds in a row that proposed nothing new.
        max_failed_batches: raise :class:`~gendesign.core.errors.CampaignError` after this many
            scored batches in a row that failed on every design with the same error (``0``: never);
            the first batch of a session that fails this way stops at once.
        progress: draw a progress bar when standard error is a terminal.
        plots: write PNG plots (only with ``run_dir``).
        executor: ``"inline"``, ``"process"`` (a pool of ``workers`` processes) or an :class:`Executor`.
        workers: worker processes for ``executor="process"``.
        space_options: options for a space given by name.
        force: break the lock another process holds on ``run_dir`` (only after checking it is dead).
        **strategy_options: the strategy's options (e.g. ``population_size=64``).

    Returns:
        :class:`~gendesign.core.campaign.CampaignResult` with ``.pareto``, ``.best``, ``.history``
        and ``.summary``.

    Example:
        >>> from gendesign.core.sequence_space import SequenceSpace
        >>> space = SequenceSpace("01", length=4)
        >>> result = optimize(lambda xs: [x.count("1") for x in xs], space, "random", budget=16, batch_size=8, progress=False)
        >>> result.best["f"].design, result.best["f"].values["f"], result.summary["evaluations"]
        ('1111', 4.0, 16)
    """
    check_seed(seed)
    system = get_plugins()
    built_space = _as_space(space, objective, dict(space_options or {}), system, seed, device)
    obj = _as_objective(objective, built_space, directions, names, seed, device)
    if space is not None:
        obj.check_space(built_space)
    if isinstance(strategy, str):
        search = _build(system, "strategies", "strategy", strategy, strategy_options, space=built_space, specs=obj.specs, seed=seed, device=device)
        strategy_name = strategy
    elif isinstance(strategy, type) and issubclass(strategy, SearchStrategy):
        built = generator_context(system, strategy, strategy_options, space=built_space, device=device, needed_by=f"strategy {strategy.__name__}")
        search = strategy(built_space, obj.specs, seed=seed, device=device, options=strategy.Options(**strategy_options), **accepted_context(strategy, built))
        strategy_name = strategy.__name__
    else:
        raise ConfigError(f"strategy must be a registered name or a SearchStrategy subclass, got {strategy!r}")
    runner = make_executor(executor, workers) if isinstance(executor, str) else executor
    campaign = Campaign(
        obj,
        built_space,
        search,
        budget=budget,
        batch_size=batch_size,
        run_dir=run_dir,
        ledger=ledger,
        max_rounds=max_rounds,
        patience_rounds=patience_rounds,
        max_failed_batches=max_failed_batches,
        progress=progress,
        plots=plots,
        strategy_name=strategy_name,
        executor=runner,
        force=force,
    )
    try:
        return campaign.run()
    finally:
        campaign.close()


def dump_toml(data: dict[str, Any]) -> str:
    """Write a config dictionary as TOML: scalars and inline tables under ``[section]`` headers, ``[[array]]`` tables for lists of tables."""
    lines: list[str] = []
    scalars = {k: v for k, v in data.items() if not _is_table(v) and not _is_table_list(v)}
    for k, v in scalars.items():
        lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in data.items():
        if _is_table(v):
            lines += ["", f"[{_key(k)}]"]
            lines += [f"{_key(kk)} = {_value(vv)}" for kk, vv in v.items() if vv is not None]
        elif _is_table_list(v):
            for item in v:
                lines += ["", f"[[{_key(k)}]]"]
                lines += [f"{_key(kk)} = {_value(vv)}" for kk, vv in item.items() if vv is not None]
    text = "\n".join(lines).lstrip("\n") + "\n"
    tomllib.loads(text)
    return text


def _is_table(v: Any) -> bool:
    return isinstance(v, dict)


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _key(k: str) -> str:
    return k if k and all(c.isalnum() or c in "_-" for c in k) else _string(k)


def _string(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return f'"{out}"'


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items() if x is not None) + " }"
    raise ConfigError(f"cannot write {v!r} ({type(v).__name__}) to TOML; config values must be strings, numbers, booleans, lists or tables")
