#!/bin/sh
# model_bench.sh - the engine against PyTorch on this machine, same shapes,
# same thread count, one run: training-step tokens/s and batched-decode
# tokens/s at the quickstart's toy size and the Qwen2.5-0.5B shape, achieved
# GFLOP/s and its share of the sgemm peak measured in the same run.
#
#   bench/model_bench.sh [BUILD_DIR] [THREADS]     (SKIP_05B=1 for the toy size only)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-/tmp/build-model-bench}
THREADS=${2:-$(nproc)}
PY=/usr/bin/python3
cmake -S "$ROOT" -B "$BUILD" -DPURE_CUDA=OFF >/dev/null
cmake --build "$BUILD" --target model_bench -j2 >/dev/null
B="$BUILD/model_bench --threads $THREADS"
# PyTorch gets the same fast OpenBLAS kernels (its nn.Linear goes through the
# system BLAS, which Debian's OpenBLAS would otherwise run as "Prescott").
T="env OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} $PY $ROOT/bench/model_bench_torch.py --threads $THREADS"

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

$B --what sgemm 2>/dev/null | tee /tmp/model_bench_sgemm.$$
PEAK=$(field "$(cat /tmp/model_bench_sgemm.$$)" gflops)
rm -f /tmp/model_bench_sgemm.$$
$B --what sgemm 2>&1 >/dev/null | head -1
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $THREADS threads for both"

run() { # label, common args
    label=$1
    shift
    ours=$($B "$@" 2>/dev/null)
    theirs=$($T "$@")
    echo "pure:    $ours"
    echo "pytorch: $theirs"
    o=$(field "$ours" tokens_per_s)
    t=$(field "$theirs" tokens_per_s)
    g=$(field "$ours" gflops)
    echo "== $label: pure $o tok/s, pytorch $t tok/s, ratio $(ratio "$o" "$t")x; pure $g GFLOP/s = $(ratio "$g" "$PEAK" | awk '{printf "%.0f", $1 * 100}')% of the sgemm peak ($PEAK)"
}

run "toy train (16 x 128 tokens)" --size toy --what train --batch 16 --seq 128 --iters 10
run "toy decode (16 prompts x 32, 96 new)" --size toy --what decode --prompts 16 --prompt-len 32 --new 96 --iters 5
if [ "${SKIP_05B:-0}" != 1 ]; then
    run "0.5B train (1 x 512 tokens)" --size 0.5b --what train --batch 1 --seq 512 --iters 1
    run "0.5B decode (8 prompts x 32, 32 new)" --size 0.5b --what decode --prompts 8 --prompt-len 32 --new 32 --iters 1
fi
