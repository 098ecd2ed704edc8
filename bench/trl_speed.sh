#!/bin/sh
# trl_speed.sh - seconds per RL iteration of the toy task, pure's pipeline against TRL's GRPOTrainer generating
# itself (bench/trl_speed.py): the same SFT policy, prompts, 16 x 8 samples, 96 new tokens, temperature 1, threads.
# Prints key=value lines: per iteration and the medians (warm-up excluded) of the total and its split into
# generation, scoring and update, the ratios TRL / pure, the CPU, threads and load average. About 3-5 minutes.
#   bench/trl_speed.sh [BUILD_DIR] [trl_speed.py options: --threads N --iterations 4 --sft-steps 300 ...]
# The environment with TRL is scripts/venv.sh --trl (cached; ~30 s to add TRL once).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
[ $# -gt 0 ] && shift
BUILD=$(cd "$BUILD" 2>/dev/null && pwd || echo "$BUILD")
cmake -S "$ROOT" -B "$BUILD" -DPURE_CUDA=OFF >/dev/null
cmake --build "$BUILD" --target pure -j2 >/dev/null
VENV=$(bash "$ROOT/scripts/venv.sh" --trl | tail -1)
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error HF_HUB_DISABLE_PROGRESS_BARS=1 TOKENIZERS_PARALLELISM=false
exec "$VENV/bin/python" -u "$ROOT/bench/trl_speed.py" "$BUILD/pure" "$@"
