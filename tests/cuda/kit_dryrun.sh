#!/usr/bin/env bash
# kit_dryrun.sh - the GPU session's mechanics, checked on a machine without a GPU before device time is spent on
# them: tests/cuda/gpu_session.sh runs from the kit (scripts/gpu_kit.sh) in a copy of the tracked tree placed
# where the lent machine puts it, with no ../shared beside it, no build folder, no .git, a bare environment and
# GPU_SESSION_DEVICE=cpu, so the pipelines run on the CPU from the kit's binaries and the kit's copy of the
# shared files. The GPU tests must report SKIPPED (exit 77), the CPU checks must pass, every pipeline must run.
# (That the kit's binaries load none of this machine's copies of its libraries, bundle.sh checks with them hidden.)
# Usage: tests/cuda/kit_dryrun.sh [KIT]        (default .gpukit/kit.tar.xz); ~5 minutes on 2 cores
set -euo pipefail
cd "$(dirname "$0")/../.."
KIT=$(readlink -f "${1:-.gpukit/kit.tar.xz}")
[ -f "$KIT" ] || { echo "kit_dryrun: no kit at $KIT (scripts/gpu_kit.sh builds it)" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
R=$T/device/repo
mkdir -p "$R/.gpukit"
git ls-files -z | tar --null -T - -cf - | tar -C "$R" -xf -
cp "$KIT" "$R/.gpukit/kit.tar.xz"
PY=$(command -v python3)
(cd "$R" && env -i PATH="$(dirname "$PY"):/usr/bin:/bin" HOME="$T/home" TMPDIR="$T" GPU_SESSION_DEVICE=cpu \
   GPU_SESSION_LIMIT=${GPU_SESSION_LIMIT:-900} bash tests/cuda/gpu_session.sh "$T/out") > "$T/session.out" 2>&1 || true
L=$T/out/session.log
cp "$L" "${KIT%.tar.xz}.dryrun.log" 2>/dev/null || true
fail=0
need() { grep -q -- "$1" "$L" || { echo "kit_dryrun: FAIL: the session log lacks '$1'" >&2; fail=1; }; }
refuse() { ! grep -q -- "$1" "$L" || { echo "kit_dryrun: FAIL: the session log has '$1'" >&2; grep -- "$1" "$L" | head -5 >&2; fail=1; }; }
need "== kit "
need "test_cuda_ops: SKIPPED"
need "test_cuda_model: SKIPPED"
need "smoke fp32 on cpu: ok"
need "smoke bf16 on cpu: ok"
need "qwen_math_smoke on cpu: ok"
need "mpirun: skipped (a kit"
need "test_model_memplan: all .* checks passed"
need "test_model_bf16: all .* checks passed"
need "cuda_bench: device 'cuda': no usable CUDA device" # the benchmark started, then found no GPU, as it must here
need "time per RL iteration on one"
need "== done"
refuse "cannot load"
refuse "smoke .*FAILED"
refuse "No such file"
refuse "ModuleNotFoundError"
refuse "^pure: .*\.yaml" # pure's own errors name the pipeline file
[ -s "$T/out/summary.txt" ] || { echo "kit_dryrun: FAIL: the session wrote no summary.txt" >&2; fail=1; }
[ -f "$T/out/qwen_math_smoke/metrics.jsonl" ] || { echo "kit_dryrun: FAIL: qwen_math_smoke wrote no metrics" >&2; fail=1; }
if [ $fail = 0 ]; then
  echo "kit_dryrun: the session ran from the kit away from ../shared: GPU tests skipped, CPU checks and pipelines passed"
else
  echo "--- session log ---" >&2; tail -60 "$L" >&2
  exit 1
fi
