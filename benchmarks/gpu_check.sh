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
# skops, prettytable, wcwidth, selfies, diffusers, importlib_metadata (versions as in .venv here).
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

job gpu_tests $PY -m pytest -m gpu -q -p no:cacheprovider tests
job suite $PY -m pytest -q -n 4 -p no:cacheprovider tests
job mcts_cuda $PY benchmarks/peptide_mcts.py --budgets 500 2000 --seeds 0 1 2 --device cuda --tag _h200_cuda
job mcts_cpu $PY benchmarks/peptide_mcts.py --budgets 500 2000 --seeds 0 1 2 --tag _h200_host_cpu
job ehrlich $PY benchmarks/ehrlich.py
job op_tb $PY benchmarks/gflownet_op_branin_currin.py --warm-start 1024 --seeds 0 --trajectories 32512 --checkpoints 2 --tag _h200_host_cpu
job overhead $PY benchmarks/engine_overhead.py --designs 20480 --batch 256 --repeats 3
# The shipped SELFIES MDLM (src/gendesign/plugins/molecules/models/selfies_mdlm_small) trained to
# completion on the GPU: examples/mdlm_selfies_small.toml with accelerator = "gpu".
selfies_model() {
    sed 's/^max_minutes = 10$/max_minutes = 6/; /^\[training\]$/a accelerator = "gpu"' examples/mdlm_selfies_small.toml >/tmp/selfies_gpu.toml
    $PY -m gendesign.cli train /tmp/selfies_gpu.toml || return 1
    $PY -m gendesign.cli sample /tmp/selfies_gpu.toml --device cuda || return 1
    mkdir -p "$OUT/selfies_mdlm_small"
    cp runs/selfies_mdlm_small/config.json runs/selfies_mdlm_small/model.safetensors "$OUT/selfies_mdlm_small/"
    $PY benchmarks/selfies_model_metrics.py runs/selfies_mdlm_small/samples.smi | tee "$OUT/selfies_mdlm_small/metrics.txt"
}
export -f selfies_model; export PY OUT
job selfies_model bash -c selfies_model
if [ -n "${BASELINE:-}" ] && [ -d "$BASELINE/src" ]; then
    job base_mcts env PYTHONPATH="$BASELINE/src:/tmp/site" $PY "$BASELINE/benchmarks/peptide_mcts.py" --budgets 500 2000 --seeds 0 1 2 --tag _h200_host_cpu
    job base_ehrlich env PYTHONPATH="$BASELINE/src:/tmp/site" $PY "$BASELINE/benchmarks/ehrlich.py"
    job base_op_tb env PYTHONPATH="$BASELINE/src:/tmp/site" $PY "$BASELINE/benchmarks/gflownet_op_branin_currin.py" --warm-start 1024 --seeds 0 --trajectories 32512 --checkpoints 2 --tag _h200_host_cpu
    job base_overhead env PYTHONPATH="$BASELINE/src:/tmp/site" $PY "$BASELINE/benchmarks/engine_overhead.py" --designs 20480 --batch 256 --repeats 3
fi
wait
cat "$LOGS/jobs.txt"
for f in "$LOGS"/*.log; do echo "== $(basename "$f")"; tail -n 25 "$f"; done
tar -czf "$OUT/results.tgz" benchmarks/results ${BASELINE:+"$BASELINE/benchmarks/results"} -C "$LOGS" . 2>/dev/null
echo "results and logs: $OUT/results.tgz"
