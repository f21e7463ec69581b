"""Config-driven runs: what ``gendesign run``, ``resume``, ``report``, ``validate``, ``ask``, ``tell`` and ``status`` call.

These are entry points: without ``plugins=`` they use the process-wide :func:`~gendesign.core.plugins.get_plugins`.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from gendesign.api.parts import Parts, _build, build_executor, build_parts, build_reports
from gendesign.core import lab
from gendesign.core.atomic import atomic_write_text
from gendesign.core.campaign import LEDGER_NAME, RUN_FILE, Campaign, CampaignResult
from gendesign.core.config import CampaignConfig, load_config
from gendesign.core.errors import CampaignError
from gendesign.core.lab import Plate, TellReport
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
    if config.campaign.mode == "lab":
        raise CampaignError(
            f"[campaign] mode = \"lab\": designs are measured outside gendesign, so there is nothing to run. "
            f"Start the run with `gendesign ask {target} --config CONFIG -n 96 --out plate.csv` and import results with `gendesign tell`"
        )
    check_run_dir(target)
    resolved = config.model_copy(deep=True)
    resolved.campaign.run_dir = str(target)
    if progress is not None:
        resolved.campaign.progress = progress
    system = plugins or get_plugins()
    parts = build_parts(resolved, plugins=system)
    lock = RunDirLock.acquire(target, force=force)
    try:
        if any((target / name).exists() for name in ("checkpoint.pt", LEDGER_NAME, RUN_FILE)):
            raise CampaignError(f"{target} already holds a run; continue it with `gendesign resume {target}` or choose another run_dir")
        atomic_write_text(target / RESOLVED_CONFIG, dump_toml(resolved.model_dump(mode="json", exclude_none=True)))
        campaign = _campaign(resolved, parts, target, lock, system)
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


def _campaign(config: CampaignConfig, parts: Parts, run_dir: Path, lock: RunDirLock, plugins: PluginSystem) -> _ClosingCampaign:
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
        executor=build_executor(s.executor, s.executor_options, workers=s.workers, chunk_size=s.chunk_size, plugins=plugins),
        metadata={"config": config.model_dump(mode="json", exclude_none=True)},
        lock=lock,
        mode=s.mode,
        max_in_flight=s.max_in_flight,
        timeout=s.timeout,
        reports=parts.reports,
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
        system = plugins or get_plugins()
        parts = build_parts(config, plugins=system)
        campaign = _campaign(config, parts, target, lock, system)
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
    reports = {}
    if (target / RESOLVED_CONFIG).is_file():
        config = load_config(target / RESOLVED_CONFIG)
        system = plugins or get_plugins()
        if config.space is not None:
            space = _build(system, "spaces", "[space]", config.space.name, config.space.options, seed=config.campaign.seed, device=config.campaign.device)
        else:
            space = build_parts(config, plugins=system).space
        reports = build_reports(system, space, config.reports)
    with Ledger(ledger_path) as ledger:
        return write_outputs(target, ledger, run_id, space=space, plots=plots, extensions=reports)


def validate_config(path: str | Path, *, plugins: PluginSystem | None = None) -> list[str]:
    """Load and build everything ``path`` names without evaluating; returns one description line per part."""
    config = load_config(path)
    if config.campaign.run_dir is not None:
        check_run_dir(config.campaign.run_dir, "[campaign] run_dir")
    if config.campaign.ledger is not None:
        check_ledger_path(config.campaign.ledger, "[campaign] ledger")
    system = plugins or get_plugins()
    parts = build_parts(config, plugins=system)
    cols = ", ".join(f"{s.name} ({s.kind}, {s.direction})" for s in parts.objective.specs)
    return [
        f"space: {type(parts.space).__name__} {parts.space.config()}",
        f"objective: {parts.objective.name} [{cols}] fingerprint {parts.objective.fingerprint()}",
        f"strategy: {parts.strategy_name} ({type(parts.strategy).__name__})",
        f"campaign: budget {config.campaign.budget}, batch_size {config.campaign.batch_size}, seed {config.campaign.seed}, device {config.campaign.device}, "
        f"mode {config.campaign.mode}, executor {config.campaign.executor}",
    ]


def _open_run(run_dir: Path, config: CampaignConfig | None, plugins: PluginSystem | None, force: bool) -> _ClosingCampaign:
    """The campaign of ``run_dir``, locked; a new run directory is set up from ``config`` first."""
    check_run_dir(run_dir)
    system = plugins or get_plugins()
    lock = RunDirLock.acquire(run_dir, force=force)
    try:
        if (run_dir / RESOLVED_CONFIG).is_file():
            if config is not None:
                raise CampaignError(f"{run_dir} already holds a run; leave out --config to continue it, or choose another run directory")
            config = _read_resolved(run_dir)
        elif config is None:
            raise CampaignError(f"{run_dir} holds no run yet; give the campaign file with --config to start one")
        else:
            config = config.model_copy(deep=True)
            config.campaign.run_dir = str(run_dir)
            atomic_write_text(run_dir / RESOLVED_CONFIG, dump_toml(config.model_dump(mode="json", exclude_none=True)))
        parts = build_parts(config, plugins=system)
        return _campaign(config, parts, run_dir, lock, system)
    except BaseException:
        lock.release()
        raise


def ask_run(
    run_dir: str | Path,
    n: int,
    out: str | Path,
    *,
    config: CampaignConfig | str | Path | None = None,
    plate: str | None = None,
    plugins: PluginSystem | None = None,
    force: bool = False,
) -> Plate:
    """Propose ``n`` designs of the lab run in ``run_dir`` (started from ``config`` when new) and write them to plate file ``out``."""
    cfg = load_config(config) if isinstance(config, (str, Path)) else config
    campaign = _open_run(Path(run_dir), cfg, plugins, force)
    try:
        proposed = lab.ask(campaign, n, plate=plate)
        lab.write_plate(campaign, proposed, out)
        campaign.result()
        return proposed
    finally:
        campaign.close()


def tell_run(run_dir: str | Path, results: str | Path, *, plugins: PluginSystem | None = None, force: bool = False) -> TellReport:
    """Import the measurements in ``results`` into the lab run in ``run_dir`` and rewrite its outputs."""
    campaign = _open_run(Path(run_dir), None, plugins, force)
    try:
        report = lab.tell(campaign, results)
        campaign.result()
        return report
    finally:
        campaign.close()


def run_status(run_dir: str | Path) -> dict[str, Any]:
    """Where the run in ``run_dir`` stands: mode, budget, designs scored, failed and pending (by plate), stop reason; reads only."""
    target = Path(run_dir)
    if not (target / RUN_FILE).is_file():
        raise CampaignError(f"{target} holds no run (no {RUN_FILE}); give a directory written by `gendesign run` or `gendesign ask`")
    info = json.loads((target / RUN_FILE).read_text())
    ledger_path = Path(info["ledger"]) if info.get("ledger") else target / LEDGER_NAME
    config = load_config(target / RESOLVED_CONFIG) if (target / RESOLVED_CONFIG).is_file() else None
    with Ledger(ledger_path) as ledger:
        run_id = info["run_id"]
        counters = ledger.get_meta(f"counters:{run_id}", {}) or {}
        pending = ledger.pending(run_id)
        scored = sum(e.evaluation.source == "objective" for e in ledger.trajectory(run_id))
    plates: dict[str, int] = {}
    for p in pending:
        plates[p.batch or "(in flight)"] = plates.get(p.batch or "(in flight)", 0) + 1
    return {
        "run_id": run_id,
        "mode": config.campaign.mode if config is not None else "sync",
        "budget": config.campaign.budget if config is not None else None,
        "evaluations": scored,
        "failed": counters.get("failed", 0),
        "pending": len(pending),
        "pending_by_batch": plates,
        "rounds": counters.get("round", 0),
        "stop_reason": counters.get("stop_reason"),
    }
