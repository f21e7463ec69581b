"""Config-driven runs: what ``gendesign run``, ``resume``, ``report`` and ``validate`` call.

These are entry points: without ``plugins=`` they use the process-wide :func:`~gendesign.core.plugins.get_plugins`.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from gendesign.api.parts import Parts, _build, build_parts
from gendesign.core.atomic import atomic_write_text
from gendesign.core.campaign import LEDGER_NAME, RUN_FILE, Campaign, CampaignResult
from gendesign.core.config import CampaignConfig, load_config
from gendesign.core.errors import CampaignError
from gendesign.core.executor import make_executor
from gendesign.core.ledger import Ledger
from gendesign.core.lock import RunDirLock
from gendesign.core.paths import check_ledger_path, check_run_dir
from gendesign.core.plugins import PluginSystem, get_plugins
from gendesign.core.report import write_outputs
from gendesign.core.toml_writer import dump_toml

RESOLVED_CONFIG = "config.resolved.toml"


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
    parts = build_parts(resolved, plugins=plugins or get_plugins())
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
        evaluate=parts.evaluate,
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
        parts = build_parts(config, plugins=plugins or get_plugins())
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
    parts = build_parts(config, plugins=plugins or get_plugins())
    cols = ", ".join(f"{s.name} ({s.kind}, {s.direction})" for s in parts.objective.specs)
    return [
        f"space: {type(parts.space).__name__} {parts.space.config()}",
        f"objective: {parts.objective.name} [{cols}] fingerprint {parts.objective.fingerprint()}",
        f"strategy: {parts.strategy_name} ({type(parts.strategy).__name__})",
        f"campaign: budget {config.campaign.budget}, batch_size {config.campaign.batch_size}, seed {config.campaign.seed}, device {config.campaign.device}",
    ]
