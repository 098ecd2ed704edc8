#!/usr/bin/env bash
# quickstart.sh - build pure and run the default example pipeline on the CPU
# (toy data -> SFT of a tiny Qwen2-shaped model -> PRM training -> PURE min-form RL -> evaluation).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target pure
./build/pure run pipelines/quickstart.yaml "$@"
