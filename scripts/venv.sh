#!/usr/bin/env bash
# venv.sh - create or reuse the cached Python environment of pure's compatibility
# tests and benchmarks (transformers, tokenizers, safetensors, torch 2, math-verify).
# These are test references only: pure itself never needs them.
#
# Usage: scripts/venv.sh [--llama]
#   Prints the environment's folder on the last line of stdout (use "$dir/bin/python").
#   --llama  also builds llama-cpp-python from source (minutes on 2 cores) for bench/llama_bench.
#
# The environment lives in ${PURE_VENV_CACHE:-~/.cache/pure-venv}/<key>, the key being a hash of
# tests/compat/requirements.txt and the interpreter's version, so a changed pin builds a fresh
# one and an unchanged one returns at once. A lock serializes concurrent callers; a marker file
# written last means a half-built environment (killed install) is rebuilt, never used.
set -euo pipefail
cd "$(dirname "$0")/.."

REQ=tests/compat/requirements.txt
REQ_LLAMA=tests/compat/requirements-llama.txt
WITH_LLAMA=0
for a in "$@"; do
  case "$a" in
    --llama) WITH_LLAMA=1 ;;
    *) echo "venv.sh: unknown option '$a' (expected --llama)" >&2; exit 2 ;;
  esac
done

# Debian's interpreter first: it is what a fresh CI machine has (python3-venv is in
# install-deps.sh); any python3 >= 3.10 with the venv module works.
PY=${PURE_VENV_PYTHON:-}
if [ -z "$PY" ]; then
  for c in /usr/bin/python3 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      PY=$(command -v "$c"); break
    fi
  done
fi
if [ -z "$PY" ]; then
  echo "venv.sh: no python3 >= 3.10 with the venv and ensurepip modules (apt-get install python3-venv)" >&2
  exit 1
fi

ROOT=${PURE_VENV_CACHE:-$HOME/.cache/pure-venv}
mkdir -p "$ROOT"
KEY=$( { cat "$REQ"; "$PY" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)
DIR="$ROOT/$KEY"

exec 9>"$ROOT/.lock"
flock 9

if [ ! -f "$DIR/.complete" ]; then
  rm -rf "$DIR"
  t0=$(date +%s)
  echo "venv.sh: building $DIR from $REQ with $PY (a few GB: PyPI's torch brings its CUDA libraries)" >&2
  "$PY" -m venv "$DIR" >&2
  "$DIR/bin/python" -m pip install -q --upgrade pip >&2
  "$DIR/bin/python" -m pip install -q -r "$REQ" >&2
  "$DIR/bin/python" -c 'import torch, transformers, tokenizers, safetensors, math_verify, h5py' >&2
  "$DIR/bin/python" -m pip freeze > "$DIR/freeze.txt"
  echo "venv.sh: built in $(( $(date +%s) - t0 )) s" >&2
  touch "$DIR/.complete"
  # Environments of older pins are 7 GB each: keep only this one.
  for old in "$ROOT"/*/; do
    [ "${old%/}" != "$DIR" ] && [ -f "$old/pyvenv.cfg" ] && rm -rf "${old%/}" && echo "venv.sh: removed $old" >&2
  done
fi

# The llama.cpp build takes many minutes: it has its own lock, so the compat tests are not held up.
flock -u 9
exec 8>"$ROOT/.lock-llama"
[ "$WITH_LLAMA" = 1 ] && flock 8
if [ "$WITH_LLAMA" = 1 ] && [ ! -f "$DIR/.complete-llama" ]; then
  t0=$(date +%s)
  echo "venv.sh: building llama-cpp-python from source (CPU, native) into $DIR" >&2
  CMAKE_ARGS="-DGGML_NATIVE=ON -DGGML_CUDA=OFF" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
    "$DIR/bin/python" -m pip install -q --no-binary llama-cpp-python -r "$REQ_LLAMA" >&2
  "$DIR/bin/python" -c 'import llama_cpp, gguf' >&2
  echo "venv.sh: llama-cpp-python built in $(( $(date +%s) - t0 )) s" >&2
  touch "$DIR/.complete-llama"
fi

echo "$DIR"
