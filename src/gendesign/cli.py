"""The ``gendesign`` command line. Plugins add subcommands through ``register_commands(cli)``.

An error is one line on standard error and a non-zero exit code; ``gendesign --traceback ...`` (or
``GENDESIGN_DEBUG=1``) adds the full traceback, and that of every plugin that failed to load.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from dataclasses import asdict

import click

from gendesign.core.errors import GendesignError
from gendesign.core.plugins import KINDS, get_plugins

_TRACEBACK = {"requested": False}


def _debug() -> bool:
    return _TRACEBACK["requested"] or os.environ.get("GENDESIGN_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


@click.group()
@click.version_option(package_name="gendesign")
@click.option("--traceback", "show_traceback", is_flag=True, help="On an error, print the full traceback (same as GENDESIGN_DEBUG=1).")
def cli(show_traceback: bool) -> None:
    """Reward-guided generative design: campaigns, generators, objectives and plugins."""
    _TRACEBACK["requested"] = show_traceback


def _echo_plugin_failures() -> None:
    """One line per plugin that failed to load; with --traceback, its traceback too."""
    for f in get_plugins().failures:
        click.echo(f"FAILED {f.name}: {f.error}", err=True)
        if _debug() and f.traceback:
            click.echo(f.traceback.rstrip(), err=True)


@cli.command(name="plugins")
@click.option("--all", "include_builtins", is_flag=True, help="Include the built-in plugins in the text listing (JSON always has them).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: every plugin, built-ins flagged with \"builtin\": true, and failures.")
def plugins_command(include_builtins: bool, as_json: bool) -> None:
    """List installed plugins, what they register, and plugins that failed to load."""
    system = get_plugins()
    infos = [asdict(i) for i in system.plugins(include_builtins=include_builtins or as_json)]
    failures = [{"name": f.name, "error": f.error} for f in system.failures]
    if as_json:
        click.echo(json.dumps({"plugins": infos, "failed": failures}, indent=2))
        return
    for info in infos:
        version = f" {info['version']}" if info["version"] else ""
        tag = " (built-in)" if info["builtin"] else ""
        click.echo(f"{info['name']}{version}{tag}")
        for kind, names in info["registers"].items():
            click.echo(f"  {kind}: {', '.join(names)}")
    _echo_plugin_failures()


@cli.command(name="list")
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(kind: str, as_json: bool) -> None:
    """List registered generators, objectives, strategies or spaces with one-line docs."""
    registry = get_plugins().registry(kind)
    rows = [{"name": e.name, "plugin": e.plugin, "summary": e.summary, "aliases": list(e.aliases)} for e in registry]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r["name"]) for r in rows), default=0)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['summary']}")
    _echo_plugin_failures()


def _default_config_text() -> str:
    from importlib.resources import files

    return files("gendesign.examples_data").joinpath("default.toml").read_text(encoding="utf-8")


def _print_summary(summary: dict, run_dir: object) -> None:
    click.echo(f"outputs: {run_dir}")
    click.echo(
        f"  evaluations {summary['evaluations']} (budget {summary['budget']}, raw calls {summary['raw_calls']}, "
        f"cache hits {summary['cache_hits']}), rounds {summary['rounds']}, stopped: {summary['stop_reason']}"
    )
    if summary.get("hypervolume") is not None:
        click.echo(f"  hypervolume {summary['hypervolume']:.6g} (reference point {summary['reference_point']['natural']}), Pareto set {summary['pareto_size']}")
    for name, best in summary["best"].items():
        if best is None:
            click.echo(f"  best {name}: no feasible design")
        else:
            click.echo(f"  best {name}: {best['value']:.6g}  {best['design']}")
    click.echo("  files: " + ", ".join(summary.get("files", [])))


@cli.command(name="run")
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--run-dir", type=click.Path(file_okay=False), help="Output directory (default: [campaign] run_dir, else runs/<timestamp>).")
@click.option("--budget", type=int, help="Override [campaign] budget.")
@click.option("--seed", type=int, help="Override [campaign] seed.")
@click.option("--progress/--no-progress", default=None, help="Show the progress bar (default: [campaign] progress, on a terminal).")
@click.option("--force", is_flag=True, help="Break the run directory's lock held by another process; only after checking that process is dead.")
def run_command(config: str | None, run_dir: str | None, budget: int | None, seed: int | None, progress: bool | None, force: bool) -> None:
    """Run the campaign in CONFIG (a TOML file); without CONFIG, the built-in default campaign."""
    import tomllib

    from gendesign.api import run_config
    from gendesign.core.config import load_config, parse_config

    if config is None:
        cfg = parse_config(tomllib.loads(_default_config_text()), source="the built-in default campaign")
        click.echo("running the built-in default campaign (gendesign/examples_data/default.toml)", err=True)
    else:
        cfg = load_config(config)
    if budget is not None:
        cfg.campaign.budget = budget
    if seed is not None:
        cfg.campaign.seed = seed
    cfg = parse_config(cfg.model_dump(), source=config or "the built-in default campaign")
    result = run_config(cfg, run_dir=run_dir, progress=progress, force=force)
    _print_summary(result.summary, result.run_dir)


@cli.command(name="resume")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--progress/--no-progress", default=None, help="Show the progress bar.")
@click.option("--force", is_flag=True, help="Break the run directory's lock held by another process; only after checking that process is dead.")
def resume_command(run_dir: str, progress: bool | None, force: bool) -> None:
    """Continue the run in RUN_DIR from its last checkpoint; a design whose result was written is never evaluated again."""
    from gendesign.api import resume_run

    result = resume_run(run_dir, progress=progress, force=force)
    _print_summary(result.summary, result.run_dir)


@cli.command(name="report")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--no-plots", is_flag=True, help="Write the tables and summary only.")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json.")
def report_command(run_dir: str, no_plots: bool, as_json: bool) -> None:
    """Regenerate RUN_DIR's tables, summary and plots from its ledger (no evaluations)."""
    from gendesign.api import report_run

    summary = report_run(run_dir, plots=not no_plots)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        _print_summary(summary, run_dir)


@cli.command(name="validate")
@click.argument("config", type=click.Path(dir_okay=False))
def validate_command(config: str) -> None:
    """Check CONFIG: parse it and build every part without evaluating anything."""
    from gendesign.api import validate_config

    for line in validate_config(config):
        click.echo(line)
    click.echo(f"{config}: OK")


@cli.command(name="ask")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("-n", "n", type=int, required=True, help="Designs to propose.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Plate file (CSV) to write.")
@click.option("--config", type=click.Path(dir_okay=False, exists=True), help="Campaign file; needed only to start a new run in RUN_DIR.")
@click.option("--plate", help="Name recorded with these designs (default: plate-<round>).")
@click.option("--force", is_flag=True, help="Break the run directory's lock held by another process; only after checking that process is dead.")
def ask_command(run_dir: str, n: int, out: str, config: str | None, plate: str | None, force: bool) -> None:
    """Propose N designs of the lab run in RUN_DIR and write them to a plate file; they stay pending until `gendesign tell`."""
    from gendesign.api import ask_run

    proposed = ask_run(run_dir, n, out, config=config, plate=plate, force=force)
    extra = f" ({proposed.cached} already measured designs were proposed and reused)" if proposed.cached else ""
    click.echo(f"{len(proposed.designs)} designs of {proposed.name} written to {out}{extra}")


@cli.command(name="tell")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.argument("results", type=click.Path(dir_okay=False, exists=True))
@click.option("--force", is_flag=True, help="Break the run directory's lock held by another process; only after checking that process is dead.")
def tell_command(run_dir: str, results: str, force: bool) -> None:
    """Import the measured values in RESULTS (a filled plate file; partial plates welcome) into the lab run in RUN_DIR."""
    from gendesign.api import tell_run

    report = tell_run(run_dir, results, force=force)
    click.echo(
        f"imported {report.recorded} designs ({report.failed} failed), {report.already} already imported, "
        f"{report.still_pending} left blank; {report.pending_left} pending in the run"
    )


@cli.command(name="status")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status_command(run_dir: str, as_json: bool) -> None:
    """Where the run in RUN_DIR stands: designs scored, failed and pending (by plate), budget and stop reason."""
    from gendesign.api import run_status

    status = run_status(run_dir)
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    click.echo(f"run {status['run_id']} ({status['mode']} mode): {status['evaluations']} of {status['budget']} designs scored, {status['failed']} failed")
    click.echo(f"  pending: {status['pending']}" + "".join(f"\n    {batch}: {count}" for batch, count in status["pending_by_batch"].items()))
    click.echo(f"  rounds: {status['rounds']}; stopped: {status['stop_reason'] or 'no'}")


@cli.command(name="train")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
def train_command(config: str) -> None:
    """Train the generator that CONFIG's top-level `generator` key names (default: mdlm)."""
    from gendesign.core.config import read_toml
    from gendesign.core.errors import ConfigError, UnknownNameError
    from gendesign.core.protocols import Trainable, require_protocol

    plugins = get_plugins()
    name = read_toml(config, what="train config").get("generator", "mdlm")
    try:
        factory = plugins.generators.get(str(name)).factory
    except UnknownNameError as exc:
        raise ConfigError(f"{config}: generator = {name!r}: {exc}") from None
    trainable = require_protocol(factory, Trainable, what=f"generator {name!r}", needed_by="gendesign train")
    click.echo(trainable.train_from_config(config, plugins=plugins), err=True)


def _add_plugin_commands() -> None:
    get_plugins().call_each("register_commands", lambda plugin: {"cli": cli})


_add_plugin_commands()


def _full_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` and of every exception it was raised from or during, even those hidden by ``raise ... from None``."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        link.__suppress_context__ = False
        link = link.__cause__ or link.__context__
    return "".join(traceback.format_exception(exc)).rstrip()


def main() -> None:
    """Entry point: run the CLI; an error is one message on standard error and a non-zero exit code.

    :class:`GendesignError` exits with 2, any other exception with 1. With ``--traceback`` or
    ``GENDESIGN_DEBUG=1`` the full traceback (files and lines, chained causes) comes first, then
    the tracebacks of plugins that failed to load.
    """
    _TRACEBACK["requested"] = False
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - every error ends as a message and an exit code
        known = isinstance(exc, GendesignError)
        if _debug():
            click.echo(_full_traceback(exc), err=True)
            for f in get_plugins().failures:
                click.echo(f"plugin {f.name!r} failed to load:\n{f.traceback.rstrip() or f.error}", err=True)
        message = str(exc) if known else f"{type(exc).__name__}: {exc} (an internal error; `gendesign --traceback ...` shows where)"
        click.echo(f"Error: {message}", err=True)
        sys.exit(2 if known else 1)


if __name__ == "__main__":
    main()
