"""Benchmark (a): trajectory balance on HyperGrid, gendesign's GFlowNet core against torchgfn 2.4.1.

Both sides train TB with batch 128, an MLP of 256 x 2 hidden units, Adam (lr 1e-3, log Z lr 0.1),
one CPU thread, for the same number of trajectories, on the standard HyperGrid reward
(R0 = 0.1, R1 = 0.5, R2 = 2) for 2-D and 4-D grids of height 8. Reported per side: training
wall time and trajectories per second; L1 and JSD of fresh samples against the exact target
``R / Z``; modes found and mode mass. Our side also reports the exact L1 of its terminal law
(dynamic programming over the grid, no sampling noise).

torchgfn runs as a subprocess in its own environment, which must exist at ``--torchgfn-python``
(default ``/work/venv-torchgfn/bin/python``; create it with
``python3 -m venv /work/venv-torchgfn && /work/venv-torchgfn/bin/pip install torch==2.13.0 torchgfn==2.4.1``).
Without it the torchgfn side is skipped with a message.

Usage: nice -n 10 .venv/bin/python benchmarks/gflownet_hypergrid_vs_torchgfn.py [--trajectories 32000] [--eval 200000]
Writes benchmarks/results/gflownet_hypergrid_vs_torchgfn.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from gendesign.core.objective import ObjectiveSpec
from gendesign.generators.gflownet import GFlowNetOptions, GFlowNetTrainer, HyperGridEnv
from gendesign.generators.gflownet.metrics import distribution_metrics, exact_terminal_distribution, l1_distance
from gendesign.objectives.hypergrid import hypergrid_reward

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WORKER = HERE / "_torchgfn_hypergrid_worker.py"


def run_ours(ndim: int, height: int, trajectories: int, batch: int, seed: int, n_eval: int) -> dict[str, float]:
    torch.manual_seed(seed)
    env = HyperGridEnv(ndim, height)
    options = GFlowNetOptions(reward="power", loss="tb", train_batch_size=batch, hidden=256, layers=2, lr=1e-3, lr_log_z=0.1)
    trainer = GFlowNetTrainer(env, (ObjectiveSpec("reward"),), options, torch.Generator().manual_seed(seed))

    def score(states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return hypergrid_reward(states, height).unsqueeze(1), torch.ones(states.shape[0], dtype=torch.bool)

    start = time.perf_counter()
    trainer.train_online(score, trajectories // batch)
    seconds = time.perf_counter() - start
    rewards = hypergrid_reward(env.all_terminal_states(), height)
    modes = rewards >= rewards.max() - 1e-12
    chunks = [trainer.sample(min(20000, n_eval - lo), epsilon=0.0).terminals for lo in range(0, n_eval, 20000)]
    metrics = distribution_metrics(env.terminal_index(torch.cat(chunks)), rewards, modes)
    target = env.exact_distribution(lambda s: hypergrid_reward(s, height))
    draws = torch.multinomial(target, n_eval, replacement=True, generator=torch.Generator().manual_seed(seed))
    floor = l1_distance(torch.bincount(draws, minlength=target.numel()).to(torch.float64) / n_eval, target)
    exact = l1_distance(
        exact_terminal_distribution(env, trainer.policy), env.exact_distribution(lambda s: hypergrid_reward(s, height))
    )
    return {
        "train_seconds": seconds,
        "trajectories": trainer.trajectories_seen,
        "l1": metrics["l1"],
        "l1_exact": exact,
        "l1_sampling_floor": floor,
        "jsd": metrics["jsd"],
        "modes_found": metrics["modes_found"],
        "modes_total": metrics["modes_total"],
        "mode_mass": metrics["mode_mass"],
        "mode_mass_exact": metrics["mode_mass_exact"],
        "log_z": float(trainer.policy.log_z_param.detach()),
        "log_z_exact": float(rewards.sum().log()),
    }


def run_torchgfn(python: Path, ndim: int, height: int, trajectories: int, batch: int, seed: int, n_eval: int) -> dict[str, float]:
    args = [str(python), str(WORKER), str(ndim), str(height), str(trajectories), str(batch), str(seed), str(n_eval)]
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=32_000)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--eval", type=int, default=200_000, dest="n_eval")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ndims", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--height", type=int, default=8)
    parser.add_argument("--torchgfn-python", type=Path, default=Path("/work/venv-torchgfn/bin/python"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    have_torchgfn = args.torchgfn_python.exists()
    if not have_torchgfn:
        print(
            f"torchgfn side skipped: {args.torchgfn_python} does not exist (see this script's docstring to create it)",
            file=sys.stderr,
        )
    rows = []
    for ndim in args.ndims:
        ours = run_ours(ndim, args.height, args.trajectories, args.batch, args.seed, args.n_eval)
        row = {"ndim": ndim, "height": args.height, "ours": ours}
        print(f"{ndim}D H={args.height} ours: {json.dumps(ours)}", flush=True)
        if have_torchgfn:
            theirs = run_torchgfn(args.torchgfn_python, ndim, args.height, args.trajectories, args.batch, args.seed, args.n_eval)
            row["torchgfn"] = theirs
            row["throughput_ratio"] = (ours["trajectories"] / ours["train_seconds"]) / (
                theirs["trajectories"] / theirs["train_seconds"]
            )
            print(
                f"{ndim}D H={args.height} torchgfn: {json.dumps(theirs)}; throughput ratio {row['throughput_ratio']:.2f}x",
                flush=True,
            )
        rows.append(row)

    meta = {
        "command": "nice -n 10 .venv/bin/python benchmarks/gflownet_hypergrid_vs_torchgfn.py " + " ".join(sys.argv[1:]),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": 1,
        "trajectories": args.trajectories,
        "batch": args.batch,
        "eval_samples": args.n_eval,
        "seed": args.seed,
        "torchgfn": "2.4.1" if have_torchgfn else None,
        "setting": "TB, MLP 256x2, Adam lr 1e-3, logZ lr 0.1; ours: uniform P_B; torchgfn: learned P_B sharing the trunk (its CI setting)",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gflownet_hypergrid_vs_torchgfn.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [
        "# TB on HyperGrid: gendesign vs torchgfn 2.4.1",
        "",
        f"`{meta['command']}`; {args.trajectories} trajectories, batch {args.batch}, seed {args.seed}, 1 CPU thread, "
        f"L1/JSD from {args.n_eval} fresh samples. {meta['setting']}.",
        "",
        "L1 (samples) is limited by sampling noise: the L1 of as many draws from the exact target is given as the floor.",
        "",
        "| grid | side | train s | traj/s | L1 (samples) | L1 floor | L1 (exact) | JSD | modes | mode mass (exact) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for side in ("ours", "torchgfn"):
            if side not in row:
                continue
            r = row[side]
            lines.append(
                f"| {row['ndim']}D H={row['height']} | {side} | {r['train_seconds']:.1f} | {r['trajectories'] / r['train_seconds']:.0f} | "
                f"{r['l1']:.4f} | {row['ours']['l1_sampling_floor']:.4f} | {r.get('l1_exact', float('nan')):.4f} | {r['jsd']:.5f} | {r['modes_found']}/{r['modes_total']} | "
                f"{r['mode_mass']:.3f} ({row['ours']['mode_mass_exact']:.3f}) |"
            )
        if "throughput_ratio" in row:
            lines.append(f"| {row['ndim']}D H={row['height']} | ratio | | **{row['throughput_ratio']:.2f}x** | | | | | | |")
    (RESULTS / "gflownet_hypergrid_vs_torchgfn.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
