#!/usr/bin/env bash
# run_trl.sh - bench/trl_grpo.py as a compat test: pure's GRPO update against TRL's GRPOTrainer, in the
# reference environment with TRL added (scripts/venv.sh --trl: pip adds trl, accelerate and datasets to the
# cached environment once, ~30 s). Like run.sh, it exits 77 (ctest: Skipped, never passed) and says so in
# capitals when that environment cannot be had.
# Usage: tests/compat/run_trl.sh PURE_BIN
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "${PURE_COMPAT_VENV:-}" != none ]; then
  if ! PURE_COMPAT_VENV=$(bash "$HERE/../../scripts/venv.sh" --trl | tail -1); then
    echo "COMPAT TEST NOT RUN: scripts/venv.sh --trl could not install TRL into the reference environment"
    exit 77
  fi
  export PURE_COMPAT_VENV
fi
exec bash "$HERE/run.sh" ../../bench/trl_grpo.py "$@"
