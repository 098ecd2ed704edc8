#!/usr/bin/env bash
# gpu_session.sh - the checks to run first on a machine with an NVIDIA GPU,
# in one go, writing everything to OUT_DIR (default gpu-session/): the GPU
# tests (ctest -L gpu), the toy and 0.5B benchmarks against PyTorch when a
# CUDA-enabled torch is importable, and nvidia-smi's view of the device.
# Usage: tests/cuda/gpu_session.sh [OUT_DIR] [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-gpu-session}
BUILD=${2:-build-cuda}
mkdir -p "$OUT"
exec > >(tee "$OUT/session.log") 2>&1
nvidia-smi || true
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPURE_CUDA=ON -DPURE_CUDA_ARCHS="80;90" >/dev/null &&
  cmake --build "$BUILD" -j"$(nproc)" --target test_cuda_ops test_cuda_model cuda_bench pure || exit 1
echo "== GPU tests"
ctest --test-dir "$BUILD" -L gpu --output-on-failure -V 2>&1 | tail -120
PY=${PYTHON:-python3}
if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "== benchmarks"
  bash bench/cuda_bench.sh "$BUILD" --size toy
  bash bench/cuda_bench.sh "$BUILD" --size 0.5b
else
  echo "== no CUDA-enabled torch for $PY: pure alone"
  "$BUILD/cuda_bench" --size 0.5b --what train --batch 8 --seq 512 --iters 3
  "$BUILD/cuda_bench" --size 0.5b --what decode --prompts 64 --prompt-len 64 --new 128 --iters 2
fi
