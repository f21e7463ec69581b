"""Run the fuzz corpus of ``tests/fuzz_corpus.py`` and tabulate what gendesign does with each input.

Every case runs in this process with a ``TIMEOUT_S`` alarm, except cases marked ``isolate`` (huge
SMILES that crashed or stalled RDKit), which run in a child process so that a segfault or a hang
that ignores signals is counted instead of ending the benchmark. To measure another checkout (e.g.
the code before a fix), put its sources first on the path; the corpus is read from this file's tree:

    PYTHONPATH=/path/to/other/src python benchmarks/fuzz_inputs.py --json before.json
    PYTHONPATH=src python benchmarks/fuzz_inputs.py --json after.json

Prints a Markdown table of outcome counts per kind of input and, with ``--details``, every case
whose outcome is not good.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

import fuzz_corpus  # noqa: E402

CRASH = "crash"
CHILD_TIMEOUT_S = 60


def run_isolated(case_id: str) -> tuple[str, str]:
    """Classify one case in a child process; a signal death is a crash, a stall past the limit a hang."""
    code = (
        f"import sys, json; sys.path.insert(0, {str(TESTS)!r}); import fuzz_corpus as f; "
        f"case = next(c for c in f.cases() if c.id == {case_id!r}); print(json.dumps(f.classify(case)))"
    )
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "hang", f"child process still running after {CHILD_TIMEOUT_S} s"
    if proc.returncode < 0:
        return CRASH, f"killed by signal {-proc.returncode}"
    if proc.returncode != 0:
        return "traceback", proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
    outcome, detail = json.loads(proc.stdout.strip().splitlines()[-1])
    return outcome, detail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write every case's outcome here")
    parser.add_argument("--details", action="store_true", help="print every case whose outcome is not good")
    args = parser.parse_args()

    rows = []
    start = time.perf_counter()
    for case in fuzz_corpus.cases():
        outcome, detail = run_isolated(case.id) if case.isolate else fuzz_corpus.classify(case)
        rows.append({"id": case.id, "kind": case.kind, "expect": case.expect, "outcome": outcome, "detail": detail[:300]})
    elapsed = time.perf_counter() - start

    outcomes = [*fuzz_corpus.OUTCOMES, CRASH]
    kinds = sorted({r["kind"] for r in rows})
    counts = collections.Counter((r["kind"], r["outcome"]) for r in rows)
    print(f"{len(rows)} cases in {elapsed:.1f} s\n")
    print("| outcome | " + " | ".join(kinds) + " | total |")
    print("|---|" + "---|" * (len(kinds) + 1))
    for outcome in outcomes:
        per_kind = [counts[(k, outcome)] for k in kinds]
        print(f"| {outcome} | " + " | ".join(str(n) for n in per_kind) + f" | {sum(per_kind)} |")
    if args.details:
        print()
        for r in rows:
            if r["outcome"] not in fuzz_corpus.GOOD:
                print(f"- {r['id']}: {r['outcome']}: {r['detail']}")
    if args.json:
        args.json.write_text(json.dumps({"elapsed_s": elapsed, "cases": rows}, indent=1))


if __name__ == "__main__":
    main()
