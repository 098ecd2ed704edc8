#!/bin/sh
# torch2_bench.sh - pure against PyTorch 2 and transformers on this machine, one run, same
# shapes, same thread count: a training step (forward, log-softmax loss, backward, AdamW; fp32)
# and batched decoding (sampling at temperature 1, tokens/s after the prefill), at the
# quickstart's toy size and the Qwen2.5-0.5B shape. References, from scripts/venv.sh:
#   torch    bench/model_bench_torch.py's hand-written Qwen2 in eager PyTorch 2
#   compile  the same under torch.compile (inductor)
#   hf       transformers' Qwen2ForCausalLM; decoding through its generate()
# bf16 (pure's precision: bf16, PyTorch's autocast for training and a bf16 model for decoding) is
# measured too where the CPU has AVX-512 BF16 (elsewhere PyTorch's bf16 CPU matmuls are emulated and
# slower than fp32); pure's own fp32/bf16 ratio is printed beside it (issue 13's goal: >= 1.5x).
#
#   bench/torch2_bench.sh [BUILD_DIR] [THREADS]   (SKIP_05B=1: toy only; REFS="torch hf" to choose)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-/tmp/build-model-bench}
THREADS=${2:-$(nproc)}
REFS=${REFS:-torch compile hf}
VENV=${PURE_COMPAT_VENV:-$(bash "$ROOT/scripts/venv.sh" | tail -1)}
PY="$VENV/bin/python"
cmake -S "$ROOT" -B "$BUILD" -DPURE_CUDA=OFF >/dev/null
cmake --build "$BUILD" --target model_bench -j2 >/dev/null
B="$BUILD/model_bench --threads $THREADS"
T="$PY $ROOT/bench/model_bench_torch.py --threads $THREADS"

# pure chooses OpenBLAS's core itself (model/runtime.c); an inherited OPENBLAS_CORETYPE would pin it (as
# bench/llama_bench.sh; KEEP_CORETYPE=1 keeps it). PyTorch brings its own BLAS.
if [ -n "${OPENBLAS_CORETYPE:-}" ] && [ -z "${KEEP_CORETYPE:-}" ]; then
    echo "note: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE from the environment unset, so pure chooses (KEEP_CORETYPE=1 keeps it)"
    unset OPENBLAS_CORETYPE
fi
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores," \
  "flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512_bf16|amx_bf16)$' | tr '\n' ' ')"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); $THREADS threads for all"
echo "torch $("$PY" -c 'import torch, transformers; print(torch.__version__, "transformers", transformers.__version__)')"

run() { # label, common args
    label=$1
    shift
    ours=$($B "$@" 2>/dev/null)
    echo "pure:    $ours"
    o=$(field "$ours" tokens_per_s)
    LAST=$o
    for ref in $REFS; do
        case $ref in
            torch) args="" ;;
            compile) args="--compile" ;;
            hf) args="--impl hf" ;;
        esac
        if theirs=$($T $args "$@" 2>/tmp/torch2_bench.err.$$); then
            echo "$ref: $theirs"
            t=$(field "$theirs" tokens_per_s)
            echo "== $label: pure $o tok/s, $ref $t tok/s, pure/$ref $(ratio "$o" "$t")x"
        else
            echo "== $label: $ref failed: $(tail -1 /tmp/torch2_bench.err.$$)"
        fi
    done
    rm -f /tmp/torch2_bench.err.$$
}

run "toy train (16 x 128 tokens)" --size toy --what train --batch 16 --seq 128 --iters 10
run "toy decode (16 prompts x 32, 96 new)" --size toy --what decode --prompts 16 --prompt-len 32 --new 96 --iters 3
if [ "${SKIP_05B:-0}" != 1 ]; then
    run "0.5B train (1 x 512 tokens)" --size 0.5b --what train --batch 1 --seq 512 --iters 1
    run "0.5B decode (8 prompts x 32, 32 new)" --size 0.5b --what decode --prompts 8 --prompt-len 32 --new 32 --iters 1
fi

if grep -qw avx512_bf16 /proc/cpuinfo || [ "${FORCE_BF16:-0}" = 1 ]; then
    echo "bf16 kernels: $($B --what sgemm --precision bf16 2>&1 >/dev/null | head -1)"
    REFS=${REFS_BF16:-torch hf}
    bf16() { # label, args: pure fp32 once more beside pure bf16 and the references in bf16
        label=$1
        shift
        f=$(field "$($B "$@" 2>/dev/null)" tokens_per_s)
        run "$label, bf16" "$@" --precision bf16
        echo "== $label: pure bf16 $LAST tok/s / pure fp32 $f tok/s = $(ratio "$LAST" "$f")x"
    }
    bf16 "toy train (16 x 128 tokens)" --size toy --what train --batch 16 --seq 128 --iters 10
    bf16 "toy decode (16 prompts x 32, 96 new)" --size toy --what decode --prompts 16 --prompt-len 32 --new 96 --iters 3
    if [ "${SKIP_05B:-0}" != 1 ]; then
        bf16 "0.5B train (1 x 512 tokens)" --size 0.5b --what train --batch 1 --seq 512 --iters 2
        bf16 "0.5B decode (8 prompts x 32, 32 new)" --size 0.5b --what decode --prompts 8 --prompt-len 32 --new 32 --iters 1
    fi
fi
