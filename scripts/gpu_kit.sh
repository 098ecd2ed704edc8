#!/usr/bin/env bash
# gpu_kit.sh - build here, on a machine without a GPU, everything tests/cuda/gpu_session.sh runs on a lent GPU
# machine, as one compressed file that travels with the working tree.
#
# Why: the lent machine is a CUDA + PyTorch image. It has nvcc, cuBLAS and CMake but none of pure's Debian
# libraries (libyaml, Lua, HDF5, OpenBLAS, PCRE2, utf8proc, cJSON, OpenMPI) and nothing can be installed there,
# so pure cannot be built there; its device time (15 minutes, start-up included) is also too short to spend on
# a build. Nor does ../shared (the tokenizer, the datasets) travel: only the repository does.
#
# Usage: scripts/gpu_kit.sh [KIT_DIR]          (default KIT_DIR: .gpukit, ignored by git)
# Result: KIT_DIR/kit.tar.xz holding pure-VERSION-linux-ARCH/ with
#   bin/      pure, pure-test, the GPU tests (test_cuda_ops, test_cuda_model), the memory plan and bf16 tests
#             (test_model_memplan, test_model_bf16) and the benchmark (cuda_bench), CUDA code for sm_90
#             (H100, H200; PURE_KIT_ARCHS overrides), RPATH $ORIGIN/../lib
#   lib/      every shared library they need (scripts/bundle.sh) except the C runtime, the NVIDIA driver and
#             the CUDA runtime / cuBLAS / NCCL, which the GPU machine's toolkit provides (gpu_session.sh finds them)
#   shared/   the Qwen tokenizer and the datasets qwen_math_smoke.yaml reads (a copy of ../shared's files)
#   MANIFEST  the commit it was built from, whether the tree was clean, the build flags, the libraries
# It fails when the kit and the working tree together would not fit the 64 MiB the device call carries.
# On the GPU machine: tests/cuda/gpu_session.sh unpacks KIT_DIR/kit.tar.xz when it is there (carry: [.gpukit]).
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=${1:-.gpukit}
ARCHS=${PURE_KIT_ARCHS:-90}
BUILD=${PURE_BUNDLE_BUILD:-build-gpukit}
SHARED=../shared
TARGETS="pure-test test_cuda_ops test_cuda_model test_model_memplan test_model_bf16 cuda_bench"
LIMIT_MIB=64

# the bundle: binaries with a relative RPATH, their libraries, checked with the system copies hidden
rm -rf "$BUILD/dist"
PURE_BUNDLE_BUILD=$BUILD PURE_BUNDLE_CUDA_LIBS=0 PURE_BUNDLE_TARGETS="$TARGETS" \
  bash scripts/bundle.sh "$BUILD/dist" -DPURE_CUDA=ON -DPURE_CUDA_ARCHS="$ARCHS"
B=$(ls -d "$BUILD"/dist/pure-*-linux-*/)
B=${B%/}
NAME=$(basename "$B")
for t in $TARGETS; do
  [ -x "$B/bin/$t" ] || { echo "gpu_kit: $t missing from $B/bin (was PURE_CUDA found?)" >&2; exit 1; }
done
# the CUDA libraries must have been left to the GPU machine, not half-bundled
if ls "$B/lib" | grep -Eq '^lib(cudart|cublas|cublasLt|nccl)\.so'; then
  echo "gpu_kit: CUDA libraries were bundled: $(ls "$B/lib" | grep -E '^lib(cudart|cublas|nccl)' | tr '\n' ' ')" >&2
  exit 1
fi

# ../shared's files the session reads, at the same relative paths
for f in tokenizers/qwen/tokenizer.json tokenizers/qwen/tokenizer_config.json data/train/math_level3to5_8k.json \
         data/benchmarks/{math500,minerva_math,olympiadbench,aime24,amc23,gsm8k}/test.jsonl; do
  [ -f "$SHARED/$f" ] || { echo "gpu_kit: $SHARED/$f not found (the kit carries a copy of it)" >&2; exit 1; }
  mkdir -p "$B/shared/$(dirname "$f")"
  cp "$SHARED/$f" "$B/shared/$f"
done

REV=$(git rev-parse HEAD)
CLEAN=clean; [ -n "$(git status --porcelain --untracked-files=no)" ] && CLEAN="uncommitted changes"
{
  echo "pure GPU session kit $NAME"
  echo "built:    $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "commit:   $REV ($CLEAN)"
  echo "cuda:     $(nvcc --version | tail -1), archs $ARCHS"
  echo "needs:    libcudart.so.13, libcublas.so.13, libcublasLt.so.13 (and libnccl.so.2) from the GPU machine"
  echo "binaries: $(ls "$B/bin" | tr '\n' ' ')"
  echo "libs:     $(ls "$B/lib" | tr '\n' ' ')"
} > "$B/MANIFEST"
echo "$REV" > "$B/COMMIT"

mkdir -p "$KIT"
rm -f "$KIT/kit.tar.xz"
tar -C "$BUILD/dist" -cf - "$NAME" | xz -T0 -6 > "$KIT/kit.tar.xz"
cp "$B/MANIFEST" "$KIT/MANIFEST"
kit_b=$(stat -c %s "$KIT/kit.tar.xz")
tree_b=$(git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
echo "gpu_kit: $KIT/kit.tar.xz $((kit_b / 1048576)) MiB ($(du -sh "$B" | cut -f1) unpacked), tracked tree $((tree_b / 1048576)) MiB"
if [ $((kit_b + tree_b)) -ge $((LIMIT_MIB * 1048576)) ]; then
  echo "gpu_kit: kit + tree = $(((kit_b + tree_b) / 1048576)) MiB, over the ${LIMIT_MIB} MiB a device call carries" >&2
  exit 1
fi
echo "gpu_kit: run on the GPU machine with carry [$KIT]: bash tests/cuda/gpu_session.sh"
