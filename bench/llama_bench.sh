#!/bin/sh
# llama_bench.sh - pure's CPU decoding against llama.cpp on the same random Qwen2.5-0.5B-shaped weights
# (bench/llama_bench.py writes them as a Hugging Face folder for pure and as F32 and BF16 GGUF for llama.cpp),
# same threads, one run: prefill of 512 tokens, single-sequence decode and 8-sequence decode (32-token prompts,
# 31 decoded tokens, decode tokens/s excluding the prompt), for fp32 and bf16. Prints each pair, the ratio
# pure / llama.cpp (above 1: pure faster) and the load average at the time, since this machine is shared.
#
#   bench/llama_bench.sh [BUILD_DIR] [THREADS]
#   LLAMA_BENCH_DIR   where the model files go (default ~/.cache/pure-llama-bench; ~5 GB, written once)
#   DTYPES="f32 bf16" ITERS=2 CASES="prefill decode decode8" KEEP_CORETYPE=1
# Needs scripts/venv.sh --llama (builds llama.cpp, ~15 minutes the first time). Not a CI test.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
THREADS=${2:-$(nproc)}
DIR=${LLAMA_BENCH_DIR:-$HOME/.cache/pure-llama-bench}
ITERS=${ITERS:-2}
VENV=$(bash "$ROOT/scripts/venv.sh" --llama | tail -1)
PY="$VENV/bin/python -W ignore $ROOT/bench/llama_bench.py"
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 TRANSFORMERS_VERBOSITY=error
cmake -S "$ROOT" -B "$BUILD" -DPURE_CUDA=OFF >/dev/null
cmake --build "$BUILD" --target model_bench -j2 >/dev/null

# pure chooses OpenBLAS's kernels itself (model/runtime.c: SkylakeX on AVX-512 CPUs); an inherited OPENBLAS_CORETYPE
# (this project's machines set Haswell for every process) would pin its f32 prefill to AVX2. llama.cpp does not use
# OpenBLAS. KEEP_CORETYPE=1 measures with the inherited value.
if [ -n "${OPENBLAS_CORETYPE:-}" ] && [ -z "${KEEP_CORETYPE:-}" ]; then
    echo "note: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE from the environment unset, so pure chooses (KEEP_CORETYPE=1 keeps it)"
    unset OPENBLAS_CORETYPE
fi
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $THREADS threads for both"
echo "llama.cpp: llama-cpp-python $("$VENV/bin/python" -c 'import llama_cpp; print(llama_cpp.__version__)') (its vendored llama.cpp)," \
     "$("$VENV/bin/python" -c 'import llama_cpp; print(llama_cpp.llama_print_system_info().decode())')"
echo "pure: $("$BUILD/model_bench" --what sgemm --threads "$THREADS" 2>&1 >/dev/null | head -1)"
mkdir -p "$DIR"
$PY --out "$DIR" --write --check --threads "$THREADS" --tokenizer "$ROOT/../shared/tokenizers/qwen/tokenizer.json"

for dt in ${DTYPES:-f32 bf16}; do
    prec=$([ "$dt" = bf16 ] && echo bf16 || echo fp32)
    P="$BUILD/model_bench --model $DIR --precision $prec --threads $THREADS --what decode --iters $ITERS"
    for c in ${CASES:-prefill decode decode8}; do
        l0=$(load)
        case $c in
        prefill) ours=$($P --prompts 1 --prompt-len 512 --new 2 2>/dev/null) ;;
        decode) ours=$($P --prompts 1 --prompt-len 32 --new 32 2>/dev/null) ;;
        decode8) ours=$($P --prompts 8 --prompt-len 32 --new 32 2>/dev/null) ;;
        esac
        theirs=$($PY --out "$DIR" --dtype "$dt" --threads "$THREADS" --what "$c" --iters "$ITERS")
        echo "pure:      $ours"
        echo "llama.cpp: $theirs"
        if [ "$c" = prefill ]; then # pure's prefill_s is the 512-token prompt and its first token
            o=$(awk -v s="$(field "$ours" prefill_s)" 'BEGIN { printf "%.1f", 512 / s }')
        else
            o=$(field "$ours" tokens_per_s)
        fi
        t=$(field "$theirs" tokens_per_s)
        echo "== $dt $c: pure $o tok/s, llama.cpp $t tok/s, pure/llama.cpp $(ratio "$o" "$t")x (load $l0 -> $(load))"
    done
done
