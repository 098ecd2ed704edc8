#!/usr/bin/env bash
# run.sh - run one tests/compat script in the reference environment of scripts/venv.sh.
# Usage: tests/compat/run.sh SCRIPT.py [ARGS...]
# The environment is built on first use (minutes, a few GB); when it cannot be built (no
# network, no python3-venv) the test says so in capitals and exits 77, which CTest reports
# as "Skipped" (never as passed). PURE_COMPAT_VENV=DIR uses a ready environment instead.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SCRIPT=$1
shift
VENV=${PURE_COMPAT_VENV:-}
if [ -z "$VENV" ] && ! VENV=$(bash "$HERE/../../scripts/venv.sh" | tail -1); then
  VENV=none
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "COMPAT TEST NOT RUN: the reference environment (transformers, tokenizers, torch, math-verify)"
  echo "COMPAT TEST NOT RUN: is missing ('$VENV'): scripts/venv.sh could not install it; see its messages."
  exit 77
fi
cd "$HERE"
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error HF_HUB_DISABLE_PROGRESS_BARS=1 TOKENIZERS_PARALLELISM=false
exec "$VENV/bin/python" -u "$HERE/$SCRIPT" "$@"
