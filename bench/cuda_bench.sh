#!/usr/bin/env bash
# cuda_bench.sh - the CUDA backend against PyTorch on the same GPU, same random
# Qwen2-shaped model (issue 7; --size toy, 0.5b = Qwen2.5-0.5B, 1.5b =
# Qwen2.5-Math-1.5B, bench/bench_shapes.h): training step tokens/s (goal >=
# PyTorch eager bf16) and batched greedy decoding tokens/s (goal >= 3x an
# eager PyTorch loop with a KV cache), with MFU (model FLOP/s, bench_shapes.h's
# count for the size's config, over the GPU's dense bf16 peak) and the share
# of memory bandwidth the decode reaches; --what attention: the attention ops
# alone, forward + backward, pure's f32 CUDA-core kernels (PURE_CUDA_ATTENTION=
# simt) and bf16 tensor-core kernels (=mma) against torch's
# scaled_dot_product_attention in bf16.
#
# Usage: bench/cuda_bench.sh [BUILD_DIR] [--size toy|0.5b|1.5b] [--what all|train|decode|attention]
#   (needs nvcc, a GPU, python3 with CUDA torch; all = train and decode, the default)
# Environment: PYTHON (default python3), PEAK_TFLOPS / PEAK_TBPS to override the table below,
#   PRECISION=bf16 for pure's bf16 weights (default fp32 master weights only), NO_BUILD=1 to skip the build,
#   NO_TORCH=1 for pure alone,
#   TRAIN / DECODE / ATTN to replace the shape arguments below (e.g. TRAIN="--batch 4 --seq 1024 --iters 2").
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=build-cuda
case "${1:-}" in --*|"") ;; *) BUILD=$1; shift ;; esac
SIZE=0.5b
WHAT=all
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE=${2:?--size needs a value}; shift 2 ;;
    --what) WHAT=${2:?--what needs a value}; shift 2 ;;
    *) echo "cuda_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$SIZE" in toy|0.5b|1.5b) ;; *) echo "cuda_bench.sh: --size is toy, 0.5b or 1.5b" >&2; exit 2 ;; esac
case "$WHAT" in all|train|decode|attention) ;; *) echo "cuda_bench.sh: --what is all, train, decode or attention" >&2; exit 2 ;; esac
PY=${PYTHON:-python3}
TORCH=1
[ "${NO_TORCH:-0}" = 1 ] && TORCH=0

if [ "${NO_BUILD:-0}" != 1 ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPURE_CUDA=ON >/dev/null &&
    cmake --build "$BUILD" -j"$(nproc)" --target cuda_bench >/dev/null || exit 1
fi

GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
# dense bf16 tensor-core peak (TFLOP/s) and memory bandwidth (TB/s) from the vendor's data sheets
case "$GPU" in
  *H200*) peak=989; bw=4.8 ;;
  *H100*PCIe*) peak=756; bw=2.0 ;;
  *H100*) peak=989; bw=3.35 ;;
  *A100*) peak=312; bw=2.0 ;;
  *) peak=0; bw=0 ;;
esac
peak=${PEAK_TFLOPS:-$peak}
bw=${PEAK_TBPS:-$bw}
echo "GPU: ${GPU:-unknown} (peak ${peak} TFLOP/s bf16 dense, ${bw} TB/s); size $SIZE, precision ${PRECISION:-fp32}"

val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2" | head -1; }
# PRECISION=bf16: pure's bf16 weights (precision: bf16) against the same PyTorch autocast run
PREC="--precision ${PRECISION:-fp32}"
TRAIN=${TRAIN:-"--batch 8 --seq 512 --iters 3"}
DECODE=${DECODE:-"--prompts 64 --prompt-len 64 --new 128 --iters 2"}
ATTN=${ATTN:-"--batch 4 --seq 4096 --iters 3"}
# runs a benchmark, prints its line with a label; a failure prints FAILED and leaves the line empty
run() {
  local label=$1; shift
  local out
  if out=$("$@" | tail -1) && [ -n "$out" ]; then printf '%-7s %s\n' "$label:" "$out" >&2; echo "$out"
  else echo "$label: FAILED ($*)" >&2; fi
}

if [ "$WHAT" = all ] || [ "$WHAT" = train ]; then
  # shellcheck disable=SC2086
  p_train=$(run pure "$BUILD/cuda_bench" --size "$SIZE" --what train $TRAIN $PREC)
  # shellcheck disable=SC2086
  [ "$TORCH" = 1 ] && t_train=$(run torch "$PY" bench/cuda_bench_torch.py --size "$SIZE" --what train $TRAIN)
  # MFU: bench_shapes.h's FLOPs of the step (pure's flops_per_s), for torch scaled by its tokens/s
  awk -v pt="$(val tokens_per_s "$p_train")" -v tt="$(val tokens_per_s "${t_train:-}")" \
      -v pf="$(val flops_per_s "$p_train")" -v peak="$peak" -v size="$SIZE" 'BEGIN {
    if (pt == "") { print "train " size ": pure failed"; exit }
    mp = "n/a (unknown GPU)"; mt = "n/a"
    if (peak > 0) mp = sprintf("%.1f%%", 100 * pf / (peak * 1e12))
    if (peak > 0 && tt != "") mt = sprintf("%.1f%%", 100 * pf * tt / pt / (peak * 1e12))
    if (tt == "") printf "train %s: pure %.0f tok/s, MFU %s (no torch run)\n", size, pt, mp
    else printf "train %s: pure %.0f tok/s, torch %.0f tok/s, ratio %.2f (goal >= 1.0); MFU pure %s, torch %s\n", size,
                pt, tt, pt / tt, mp, mt
  }'
fi

if [ "$WHAT" = all ] || [ "$WHAT" = decode ]; then
  # shellcheck disable=SC2086
  p_dec=$(run pure "$BUILD/cuda_bench" --size "$SIZE" --what decode $DECODE $PREC)
  # shellcheck disable=SC2086
  [ "$TORCH" = 1 ] && t_dec=$(run torch "$PY" bench/cuda_bench_torch.py --size "$SIZE" --what decode $DECODE)
  # bandwidth: pure's bytes_per_s (every weight once per step, plus the KV cache read) over the GPU's
  awk -v pd="$(val tokens_per_s "$p_dec")" -v td="$(val tokens_per_s "${t_dec:-}")" -v P="$(val prompts "$p_dec")" \
      -v N="$(val new "$p_dec")" -v pb="$(val bytes_per_s "$p_dec")" -v df="$(val flops_per_s "$p_dec")" \
      -v peak="$peak" -v bw="$bw" -v size="$SIZE" 'BEGIN {
    if (pd == "") { print "decode " size ": pure failed"; exit }
    b = "n/a"; f = "n/a"
    if (bw > 0) b = sprintf("%.1f%%", 100 * pb / (bw * 1e12))
    if (peak > 0) f = sprintf("%.2f%%", 100 * df / (peak * 1e12))
    printf "decode %s, %s sequences x %s tokens: pure %.0f tok/s", size, P, N, pd
    if (td != "") printf ", torch %.0f tok/s, ratio %.2f (goal >= 3.0)", td, pd / td
    printf "; bandwidth %s (%.3g TB/s), MFU %s\n", b, pb / 1e12, f
  }'
fi

if [ "$WHAT" = attention ]; then
  # shellcheck disable=SC2086
  a_simt=$(PURE_CUDA_ATTENTION=simt run simt "$BUILD/cuda_bench" --size "$SIZE" --what attention $ATTN)
  # shellcheck disable=SC2086
  a_mma=$(PURE_CUDA_ATTENTION=mma run mma "$BUILD/cuda_bench" --size "$SIZE" --what attention $ATTN)
  # torch: one line per GQA mode (enable_gqa where torch has it, and k/v repeated); the faster one counts
  a_torch=
  # shellcheck disable=SC2086
  [ "$TORCH" = 1 ] && a_torch=$("$PY" bench/cuda_bench_torch.py --size "$SIZE" --what attention --gqa both $ATTN)
  if [ -n "$a_torch" ]; then sed 's/^/torch:  /' <<<"$a_torch"; elif [ "$TORCH" = 1 ]; then echo "torch: FAILED"; fi
  best_torch=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^tflops_per_s=/) { v = substr($i, 14) + 0; if (v > b) { b = v; l = $0 } } }
                    END { print l }' <<<"$a_torch")
  [ "$(val attn_kernel "$a_mma")" = mma ] || echo "attention: PURE_CUDA_ATTENTION=mma did not run the mma kernels here"
  awk -v s="$(val tflops_per_s "$a_simt")" -v m="$(val tflops_per_s "$a_mma")" -v t="$(val tflops_per_s "$best_torch")" \
      -v sf="$(val fwd_tflops_per_s "$a_simt")" -v sb="$(val bwd_tflops_per_s "$a_simt")" \
      -v mf="$(val fwd_tflops_per_s "$a_mma")" -v mb="$(val bwd_tflops_per_s "$a_mma")" \
      -v tf="$(val fwd_tflops_per_s "$best_torch")" -v tb="$(val bwd_tflops_per_s "$best_torch")" \
      -v g="$(val gqa "$best_torch")" -v peak="$peak" -v size="$SIZE" -v shape="$ATTN" 'BEGIN {
    printf "attention %s (%s), TFLOP/s fwd+bwd (fwd, bwd): simt %s (%s, %s), mma %s (%s, %s)", size, shape, s, sf, sb,
           m, mf, mb
    if (t != "") printf ", torch sdpa %s (%s, %s; gqa %s)", t, tf, tb, g
    printf "\n"
    if (m != "" && s > 0) printf "  mma / simt %.2f", m / s
    if (m != "" && t > 0) printf ", mma / torch %.2f", m / t
    if (m != "" && peak > 0) printf ", mma at %.1f%% of the bf16 peak", 100 * m / peak
    printf "\n"
  }'
fi
