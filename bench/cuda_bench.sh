#!/usr/bin/env bash
# cuda_bench.sh - the CUDA backend against PyTorch on the same GPU, same random
# Qwen2.5-0.5B-shaped model (issue 7): training step tokens/s (goal >= PyTorch
# eager bf16) and batch-64 greedy decoding tokens/s (goal >= 3x an eager
# PyTorch loop with a KV cache), with MFU (model FLOP/s over the GPU's dense
# bf16 peak) and the share of memory bandwidth the decode reaches.
#
# Usage: bench/cuda_bench.sh [BUILD_DIR] [--size toy|0.5b]   (needs nvcc, a GPU, python3 with CUDA torch)
# Environment: PYTHON (default python3), PEAK_TFLOPS / PEAK_TBPS to override the table below.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-cuda}
SIZE=0.5b
[ "${2:-}" = "--size" ] && SIZE=${3:-0.5b}
PY=${PYTHON:-python3}

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPURE_CUDA=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target cuda_bench >/dev/null

GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
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
echo "GPU: $GPU (peak ${peak} TFLOP/s bf16 dense, ${bw} TB/s)"

val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
# PRECISION=bf16: pure's bf16 weights (precision: bf16) against the same PyTorch autocast run
PREC="--precision ${PRECISION:-fp32}"
TRAIN="--batch 8 --seq 512 --iters 3"
DECODE="--prompts 64 --prompt-len 64 --new 128 --iters 2"

p_train=$("$BUILD/cuda_bench" --size "$SIZE" --what train $TRAIN $PREC)
t_train=$("$PY" bench/cuda_bench_torch.py --size "$SIZE" --what train $TRAIN)
p_dec=$("$BUILD/cuda_bench" --size "$SIZE" --what decode $DECODE $PREC)
t_dec=$("$PY" bench/cuda_bench_torch.py --size "$SIZE" --what decode $DECODE)
printf 'pure:    %s\ntorch:   %s\npure:    %s\ntorch:   %s\n' "$p_train" "$t_train" "$p_dec" "$t_dec"

awk -v pt="$(val tokens_per_s "$p_train")" -v tt="$(val tokens_per_s "$t_train")" \
    -v pf="$(val flops_per_s "$p_train")" -v pd="$(val tokens_per_s "$p_dec")" -v td="$(val tokens_per_s "$t_dec")" \
    -v pb="$(val bytes_per_s "$p_dec")" -v df="$(val flops_per_s "$p_dec")" -v peak="$peak" -v bw="$bw" 'BEGIN {
  printf "train:  pure %.0f tok/s, torch %.0f tok/s, ratio %.2f (goal >= 1.0); MFU %s\n", pt, tt, pt / tt,
         peak > 0 ? sprintf("%.1f%%", 100 * pf / (peak * 1e12)) : "n/a (unknown GPU)"
  printf "decode: pure %.0f tok/s, torch %.0f tok/s, ratio %.2f (goal >= 3.0); bandwidth %s, MFU %s\n", pd, td, pd / td,
         bw > 0 ? sprintf("%.1f%%", 100 * pb / (bw * 1e12)) : "n/a",
         peak > 0 ? sprintf("%.2f%%", 100 * df / (peak * 1e12)) : "n/a"
}'
