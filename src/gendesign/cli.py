"""The ``gendesign`` command line. Plugins add subcommands through ``register_commands(cli)``."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from gendesign.core.errors import GendesignError
from gendesign.core.plugins import KINDS, get_plugins


@click.group()
@click.version_option(package_name="gendesign")
def cli() -> None:
    """Reward-guided generative design: campaigns, generators, objectives and plugins."""


@cli.command(name="plugins")
@click.option("--all", "include_builtins", is_flag=True, help="Include the built-in plugins.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_command(include_builtins: bool, as_json: bool) -> None:
    """List installed plugins, what they register, and plugins that failed to load."""
    system = get_plugins()
    infos = [asdict(i) for i in system.plugins(include_builtins=include_builtins)]
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
    for f in failures:
        click.echo(f"FAILED {f['name']}: {f['error']}", err=True)


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


def _add_plugin_commands() -> None:
    system = get_plugins()
    for impl in system.pm.hook.register_commands.get_hookimpls():
        try:
            impl.function(cli=cli)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the CLI down
            system._fail(impl.plugin_name, exc)


_add_plugin_commands()


def main() -> None:
    """Entry point: run the CLI, turning :class:`GendesignError` into a one-line message and exit code 2."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except GendesignError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
