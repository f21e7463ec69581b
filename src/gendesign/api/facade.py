"""The Python facade :func:`optimize`: objects in, a finished campaign out.

:func:`optimize` takes an objective (an :class:`Objective` or a plain callable), a space (an
instance or a registered name) and a strategy (a registered name or a :class:`SearchStrategy`
subclass) and runs a :class:`~gendesign.core.campaign.Campaign`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gendesign.api.parts import _build, build_executor, build_reports
from gendesign.core.campaign import Campaign, CampaignResult
from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError
from gendesign.core.evaluate import HeldOut
from gendesign.core.executor import Executor
from gendesign.core.generator import generator_context
from gendesign.core.objective import Direction, FunctionObjective, Objective, guide_specs, make_specs
from gendesign.core.options import check_seed
from gendesign.core.plugins import PluginSystem, get_plugins
from gendesign.core.registry import accepted_context
from gendesign.core.strategy import SearchStrategy

if TYPE_CHECKING:
    from gendesign.generators.diffusion.config import FinetuneConfig
    from gendesign.generators.diffusion.trainer import FinetuneResult

OptimizationResult = CampaignResult


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
    executor_options: dict[str, Any] | None = None,
    mode: str = "sync",
    max_in_flight: int | None = None,
    space_options: dict[str, Any] | None = None,
    force: bool = False,
    evaluate: Sequence[Objective | HeldOut] = (),
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
        executor: a registered executor name (``"inline"``, ``"process"``: a pool of ``workers``
            processes, ``"ray"``: see ``docs/scale.md``) or an :class:`Executor`.
        workers: worker processes for ``executor="process"`` (Ray: tasks or actors in flight).
        executor_options: the named executor's own options (e.g. Ray's ``address``, ``num_gpus``).
        mode: ``"sync"`` (rounds of ``batch_size``) or ``"async"`` (``max_in_flight`` designs always
            running; each result is told as it arrives; see :mod:`gendesign.core.async_campaign`).
        max_in_flight: designs scored at once in ``"async"`` mode (default ``workers``).
        space_options: options for a space given by name.
        force: break the lock another process holds on ``run_dir`` (only after checking it is dead).
        evaluate: held-out evaluation objectives, never shown to the strategy: objectives (scored on
            the final Pareto set) or :class:`~gendesign.core.evaluate.HeldOut` with ``when="batch"``
            to score every batch; reported as ``eval:<column>`` (see ``docs/campaigns.md``).
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
        search = _build(system, "strategies", "strategy", strategy, strategy_options, space=built_space, specs=guide_specs(obj.specs), seed=seed, device=device)
        strategy_name = strategy
    elif isinstance(strategy, type) and issubclass(strategy, SearchStrategy):
        built = generator_context(system, strategy, strategy_options, space=built_space, device=device, needed_by=f"strategy {strategy.__name__}")
        search = strategy(built_space, guide_specs(obj.specs), seed=seed, device=device, options=strategy.Options(**strategy_options), **accepted_context(strategy, built))
        strategy_name = strategy.__name__
    else:
        raise ConfigError(f"strategy must be a registered name or a SearchStrategy subclass, got {strategy!r}")
    if isinstance(executor, str):
        runner = build_executor(executor, executor_options, workers=workers, plugins=system, section="executor")
    elif executor_options:
        raise ConfigError("executor_options apply to an executor given by name; configure an Executor instance directly instead")
    else:
        runner = executor
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
        mode=mode,
        max_in_flight=max_in_flight,
        reports=build_reports(system, built_space) if run_dir is not None else None,
        evaluate=evaluate,
    )
    try:
        return campaign.run()
    finally:
        campaign.close()


def finetune(
    config: FinetuneConfig | dict[str, Any] | str | Path, *, resume: bool = False, plugins: PluginSystem | None = None
) -> FinetuneResult:
    """Run reward fine-tuning of a diffusion model, as ``gendesign finetune`` does.

    Args:
        config: a validated ``FinetuneConfig``, a mapping of the same sections as the TOML file, or a
            TOML path (see ``docs/finetune.md``).
        resume: continue from ``run.output_dir/checkpoint``.
        plugins: the plugin system whose objective registry builds the rewards (the global one when None).

    Returns:
        ``FinetuneResult`` with ``output_dir``, ``adapter_dir``, ``history``, ``evaluations``,
        ``stopped_early`` and ``steps_done``.
    """
    # Imported here so that ``import gendesign`` and ``optimize`` never load the diffusion stack.
    from gendesign.generators.diffusion.config import FinetuneConfig, load_finetune_config, parse_finetune_config
    from gendesign.generators.diffusion.trainer import FinetuneTrainer

    if isinstance(config, (str, Path)):
        config = load_finetune_config(config)
    elif not isinstance(config, FinetuneConfig):
        config = parse_finetune_config(dict(config))
    return FinetuneTrainer(config, plugins=plugins or get_plugins(), resume=resume).train()
