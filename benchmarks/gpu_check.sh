#!/usr/bin/env bash
# The device check: one prepared script for a lent GPU machine (an H200 with 16 host cores).
#
# It installs the pinned wheels that the machine's image lacks, then runs side by side:
#   - the `gpu`-marked tests and the default suite (on the host cores);
#   - the GPU path of the peptide MCTS benchmark (`--device cuda`);
#   - the benchmarks whose figures must not move when shared code changes (peptide MCTS, Ehrlich,
#     GFlowNet OP-TB on Branin-Currin, engine overhead) on the host CPU, one thread each;
#   - with BASELINE=DIR (a copy of an earlier commit's src/ and benchmarks/), the same
#     deterministic benchmarks on that code too, so "did the figures move" is read off one machine.
#
# Prepare here (wheels for Python 3.12, the baseline copy), then call the device tool with
# carry = [".whl", ".baseline"]:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl pydantic==... (see below)
#   mkdir -p .baseline && git archive <commit> src benchmarks | tar -x -C .baseline
#   command: bash benchmarks/gpu_check.sh
# Wheels used (the image has torch, botorch, lightning, scikit-learn, peft, transformers, ...):
# pydantic, pydantic_core, annotated_types, typing_inspection, typing_extensions, rdkit, modlamp,
# skops, prettytable, wcwidth, selfies, diffusers, importlib_metadata, moocore, cffi, pycparser,
# platformdirs, pytorch_holo, pooch (versions as in .venv here; holo only for the Ehrlich reference).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_check_out}
LOGS=$(mktemp -d)
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg OMP_NUM_THREADS=1
PY=python3

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
python3 -m pip install -q --no-index --no-deps --no-build-isolation --target /tmp/site . ./examples/plugin-template || exit 1
export PYTHONPATH=/tmp/site PATH=/tmp/site/bin:$PATH
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$LOGS/nvidia-smi.txt"
$PY -c "import torch, gendesign; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

JOB_LIMIT=${JOB_LIMIT:-420}  # seconds per job, so the script always ends and returns its results
job() {  # job NAME CMD... : run in the background, log to $LOGS/NAME.log, record wall time and exit code
    local name=$1; shift
    ( start=$(date +%s); timeout "$JOB_LIMIT" "$@" >"$LOGS/$name.log" 2>&1; rc=$?; echo "$name rc=$rc wall=$(( $(date +%s) - start ))s" >>"$LOGS/jobs.txt" ) &
}

# SET chooses the jobs of one device call (the 15-minute budget fits two short calls, not one long one):
#   A: gpu tests, the suite, and the CPU benchmarks of the scale and Ehrlich issues;
#   B: the GPU training and heavy benchmarks of the meta-BO and molecule issues.
SET=${SET:-A}
if [ "$SET" = A ]; then
    job gpu_tests $PY -m pytest -m gpu -q -p no:cacheprovider tests
    job suite $PY -m pytest -q -n 3 -p no:cacheprovider tests
    # Issue 17: 30 seeds per setting on our Ehrlich and on pytorch-holo's (wheel in .whl).
    job ehrlich_ours $PY benchmarks/ehrlich.py --seeds 30 --workers 5 --tasks L32 --starts warm cold --out ehrlich
    job ehrlich_holo $PY benchmarks/ehrlich.py --reference holo --seeds 30 --workers 4 --tasks L32 --starts warm cold --out ehrlich_holo
    # Issue 15: engine overhead at 10^4, 10^5, 10^6 evaluations (K = 1, 3), report time on the 10^6 ledger,
    # Pareto maths against moocore, executor throughput.
    job overhead_1e4 $PY benchmarks/engine_overhead.py --designs 10000 --objectives 1 3 --repeats 3 --tag _1e4_h200
    job overhead_1e5 $PY benchmarks/engine_overhead.py --designs 100000 --objectives 1 3 --repeats 1 --ledgers file --report --tag _1e5_h200
    job overhead_1e6_k1 $PY benchmarks/engine_overhead.py --designs 1000000 --objectives 1 --repeats 1 --ledgers file --report --tag _1e6_k1_h200
    job overhead_1e6_k3 $PY benchmarks/engine_overhead.py --designs 1000000 --objectives 3 --repeats 1 --ledgers file --report --tag _1e6_k3_h200
    job pareto $PY benchmarks/pareto_maths.py --sizes 100 1000 10000 --objectives 2 3 4 --budget 0.2 --tag _h200
    job throughput $PY benchmarks/scale_throughput.py --designs 40 --workers 4 --lognormal-designs 128 --tag _h200
fi
if [ "$SET" = A ] && [ -n "${BASELINE:-}" ] && [ -d "$BASELINE/src" ]; then
    # Shared code changed (campaign loop, evolution, columns): the peptide MCTS figures on this code and on BASELINE.
    job mcts_cpu $PY benchmarks/peptide_mcts.py --budgets 500 2000 --seeds 0 1 2 --tag _h200_host_cpu
    job base_mcts env PYTHONPATH="$BASELINE/src:/tmp/site" $PY "$BASELINE/benchmarks/peptide_mcts.py" --budgets 500 2000 --seeds 0 1 2 --tag _h200_host_cpu
fi
wait
cat "$LOGS/jobs.txt"
for f in "$LOGS"/*.log; do echo "== $(basename "$f")"; tail -n 25 "$f"; done
tar -czf "$OUT/results.tgz" benchmarks/results ${BASELINE:+"$BASELINE/benchmarks/results"} -C "$LOGS" . 2>/dev/null
echo "results and logs: $OUT/results.tgz"
