"""Start-up time of the ``gendesign`` CLI against two baselines measured in the same process.

Each command runs ``--runs`` times in a fresh interpreter (``PYTHONPATH`` = ``--src``); the table
gives the minimum and median wall time and the median as a multiple of the baselines
``python -c pass`` (interpreter start) and ``python -c 'import torch'`` (what a command that
imports torch cannot go below). It also says whether ``torch`` ended up in ``sys.modules``.

Usage: python benchmarks/cli_startup.py [--src src] [--runs 7] [--python PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_CLI = "import sys; from gendesign.cli import main; sys.argv[0] = 'gendesign'; main()"
TORCH_PROBE = "import atexit, sys; atexit.register(lambda: sys.stderr.write('TORCH_LOADED\\n' if 'torch' in sys.modules else ''))"

COMMANDS: dict[str, list[str]] = {
    "gendesign --help": ["--help"],
    "gendesign list strategies": ["list", "strategies"],
    "gendesign plugins --all": ["plugins", "--all"],
}
BASELINES: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "python -c 'import torch'": ["-c", "import torch"],
}


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stderr


def measure(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float, bool]:
    times, torch_loaded = [], False
    for _ in range(runs):
        seconds, stderr = timed(argv, env)
        times.append(seconds)
        torch_loaded = torch_loaded or "TORCH_LOADED" in stderr
    return min(times), statistics.median(times), torch_loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default=str(ROOT / "src"), help="source tree to put first on PYTHONPATH")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(Path(args.src).resolve()), "GENDESIGN_LOAD_PLUGINS": ""}
    rows = []
    for name, argv in BASELINES.items():
        rows.append((name, *measure([args.python, *argv], env, args.runs)))
    for name, cli_args in COMMANDS.items():
        argv = [args.python, "-c", f"{TORCH_PROBE}\n{RUN_CLI}", *cli_args]
        rows.append((name, *measure(argv, env, args.runs)))
    bare, with_torch = rows[0][2], rows[1][2]
    print(f"src = {args.src}; {args.runs} runs each; python {sys.version.split()[0]}")
    print("| command | min s | median s | x python -c pass | x import torch | torch imported |")
    print("|---|---|---|---|---|---|")
    for name, low, median, loaded in rows:
        flag = "-" if name in BASELINES else ("yes" if loaded else "no")
        print(f"| `{name}` | {low:.3f} | {median:.3f} | {median / bare:.2f} | {median / with_torch:.2f} | {flag} |")


if __name__ == "__main__":
    main()
