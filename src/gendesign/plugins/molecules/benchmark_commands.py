"""The molecule benchmark commands: ``gendesign benchmark pmo`` and ``gendesign benchmark molecules-mo``."""

from __future__ import annotations

import click

from gendesign.core.errors import ConfigError


def _seeds(num: int | None, seed: tuple[int, ...]) -> list[int]:
    """The seeds chosen by --seeds N (0..N-1, default 5) or repeated --seed."""
    if seed and num is not None:
        raise ConfigError("give --seeds N or --seed S (repeatable), not both")
    return list(seed) if seed else list(range(5 if num is None else num))


@click.command(name="pmo")
@click.option("--out", "-o", type=click.Path(file_okay=False), required=True, help="Output directory (resumable: finished runs are kept).")
@click.option("--task", "tasks", multiple=True, help="PMO task (repeatable; default: all 20 RDKit-only tasks).")
@click.option("--strategy", "strategies", multiple=True, help="evolution, mdlm_sample, mcts, gflownet or evolution_infill (repeatable; default: the first four).")
@click.option("--seeds", "num_seeds", type=int, default=None, help="Seeds 0..N-1 (default 5).")
@click.option("--seed", "seed", type=int, multiple=True, help="A seed (repeatable), instead of --seeds.")
@click.option("--budget", type=int, default=10_000, show_default=True, help="Distinct molecules (oracle calls) per run.")
@click.option("--workers", type=int, default=1, show_default=True, help="Runs in parallel processes.")
@click.option("--pool-size", type=int, default=10_000, show_default=True, help="MOSES molecules in the initial pool.")
@click.option("--device", default="cpu", show_default=True, help="Where the model-backed strategies run.")
def pmo_command(out: str, tasks: tuple[str, ...], strategies: tuple[str, ...], num_seeds: int | None, seed: tuple[int, ...], budget: int, workers: int, pool_size: int, device: str) -> None:
    """PMO benchmark: AUC of the top-1/10/100 mean against oracle calls on 20 RDKit tasks; writes pmo.json, pmo.md."""
    from gendesign.plugins.molecules.pmo import DEFAULT_STRATEGIES, PMO_TASKS, run_pmo, write_report

    seeds = _seeds(num_seeds, seed)
    chosen_tasks = list(tasks) or list(PMO_TASKS)
    chosen = list(strategies) or list(DEFAULT_STRATEGIES)
    rows = run_pmo(out, tasks=chosen_tasks, strategies=chosen, seeds=seeds, budget=budget, workers=workers, pool_size=pool_size, device=device, echo=click.echo)
    report = write_report(out, rows, {"budget": budget, "seeds": seeds, "tasks": chosen_tasks, "strategies": chosen, "pool_size": pool_size})
    for name, s in report["summary"].items():
        click.echo(f"{name}: sum of AUC top-10 over {s['num_tasks']} tasks = {s['sum_auc_top10']:.3f}")
    click.echo(f"wrote {out}/pmo.json and {out}/pmo.md")


@click.command(name="molecules-mo")
@click.option("--out", "-o", type=click.Path(file_okay=False), required=True, help="Output directory (resumable: finished runs are kept).")
@click.option("--problem", "problems", multiple=True, help="osimertinib, fexofenadine, ranolazine or qed_sa (repeatable; default: all).")
@click.option("--strategy", "strategies", multiple=True, help="As for 'benchmark pmo' (repeatable; default: evolution, mdlm_sample, mcts, gflownet).")
@click.option("--seeds", "num_seeds", type=int, default=None, help="Seeds 0..N-1 (default 5).")
@click.option("--seed", "seed", type=int, multiple=True, help="A seed (repeatable), instead of --seeds.")
@click.option("--budget", type=int, default=10_000, show_default=True, help="Distinct molecules per run.")
@click.option("--checkpoint", "checkpoints", type=int, multiple=True, help="Calls at which the hypervolume is reported (default 1000 and 10000).")
@click.option("--workers", type=int, default=1, show_default=True, help="Runs in parallel processes.")
@click.option("--pool-size", type=int, default=10_000, show_default=True, help="MOSES molecules in the initial pool.")
@click.option("--device", default="cpu", show_default=True)
def molecules_mo_command(out: str, problems: tuple[str, ...], strategies: tuple[str, ...], num_seeds: int | None, seed: tuple[int, ...], budget: int, checkpoints: tuple[int, ...], workers: int, pool_size: int, device: str) -> None:
    """GuacaMol MPOs split into desirability components: hypervolume (reference point 0) at 1k and 10k calls."""
    from gendesign.plugins.molecules.mo_benchmark import MO_PROBLEMS, run_mo, write_mo_report
    from gendesign.plugins.molecules.pmo import DEFAULT_STRATEGIES

    seeds = _seeds(num_seeds, seed)
    chosen_problems = list(problems) or list(MO_PROBLEMS)
    chosen = list(strategies) or list(DEFAULT_STRATEGIES)
    marks = sorted(checkpoints) or [c for c in (1_000, 10_000) if c <= budget] or [budget]
    rows = run_mo(out, problems=chosen_problems, strategies=chosen, seeds=seeds, budget=budget, checkpoints=marks, workers=workers, pool_size=pool_size, device=device, echo=click.echo)
    write_mo_report(out, rows, {"budget": budget, "seeds": seeds, "problems": chosen_problems, "strategies": chosen, "checkpoints": marks})
    click.echo(f"wrote {out}/molecules_mo.json and {out}/molecules_mo.md")


def benchmark_group(cli: click.Group) -> click.Group:
    """The ``benchmark`` command group of ``cli`` (created when no plugin made it yet)."""
    group = cli.commands.get("benchmark")
    if group is None:

        @cli.group(name="benchmark")
        def benchmark() -> None:
            """Benchmarks that write JSON and markdown reports."""

        group = benchmark
    if not isinstance(group, click.Group):
        raise ConfigError(f"the 'benchmark' command exists but is not a command group ({type(group).__name__})")
    return group
