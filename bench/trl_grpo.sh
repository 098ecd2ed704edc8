#!/bin/sh
# trl_grpo.sh - one GRPO update by pure against TRL's GRPOTrainer (bench/trl_grpo.py): same tiny Qwen2
# policy, same sampled batch, same rewards; prints the advantage and weight-delta agreement and the seconds.
#   bench/trl_grpo.sh [BUILD_DIR]        (also the ctest compat_trl_grpo, label compat)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
cmake -S "$ROOT" -B "$BUILD" -DPURE_CUDA=OFF >/dev/null
cmake --build "$BUILD" --target pure -j2 >/dev/null
exec bash "$ROOT/tests/compat/run_trl.sh" "$BUILD/pure"
