#!/usr/bin/env bash
# venv.sh - create or reuse the cached Python environment of pure's compatibility
# tests and benchmarks (transformers, tokenizers, safetensors, torch 2, math-verify).
# These are test references only: pure itself never needs them.
#
# Usage: scripts/venv.sh [--llama] [--trl]
#   Prints the environment's folder on the last line of stdout (use "$dir/bin/python").
#   --llama  also builds llama.cpp from llama-cpp-python's sdist (about 15 minutes on 2 cores) for
#            bench/llama_bench.sh.
#   --trl    also installs TRL (tests/compat/requirements-trl.txt: it only adds packages) for bench/trl_*.
#
# The environment lives in ${PURE_VENV_CACHE:-~/.cache/pure-venv}/<key>, the key being a hash of
# tests/compat/requirements.txt and the interpreter's version, so a changed pin builds a fresh
# one and an unchanged one returns at once. A lock serializes concurrent callers; a marker file
# written last means a half-built environment (killed install) is rebuilt, never used.
set -euo pipefail
cd "$(dirname "$0")/.."

REQ=tests/compat/requirements.txt
REQ_LLAMA=tests/compat/requirements-llama.txt
REQ_LLAMA_DEPS=tests/compat/requirements-llama-deps.txt
REQ_TRL=tests/compat/requirements-trl.txt
WITH_LLAMA=0
WITH_TRL=0
for a in "$@"; do
  case "$a" in
    --llama) WITH_LLAMA=1 ;;
    --trl) WITH_TRL=1 ;;
    *) echo "venv.sh: unknown option '$a' (expected --llama or --trl)" >&2; exit 2 ;;
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

# TRL and what it brings (accelerate, datasets) add to the environment without changing a pinned package.
if [ "$WITH_TRL" = 1 ] && [ ! -f "$DIR/.complete-trl" ]; then
  "$DIR/bin/python" -m pip install -q -r "$REQ_TRL" >&2
  "$DIR/bin/python" -c 'import trl' >&2
  touch "$DIR/.complete-trl"
fi

# The llama.cpp build takes many minutes: it has its own lock, so the compat tests are not held up.
flock -u 9
exec 8>"$ROOT/.lock-llama"
[ "$WITH_LLAMA" = 1 ] && flock 8
if [ "$WITH_LLAMA" = 1 ] && [ ! -f "$DIR/.complete-llama" ]; then
  # PyPI has no Linux wheel of llama-cpp-python, and a pip install of its sdist also builds llama.cpp's
  # common library (forced on by its CMakeLists) and mtmd: about twice the compile. So the sdist's vendored
  # llama.cpp is built here for the one library the bindings load (libllama + ggml, -march=native), and the
  # sdist's pure-Python package is copied beside it. PURE_LLAMA_WORK keeps the download and build (resumable).
  t0=$(date +%s)
  VER=$(sed -n 's/^llama-cpp-python==//p' "$REQ_LLAMA")
  WORK=${PURE_LLAMA_WORK:-$DIR/llama-work}
  SRC="$WORK/llama_cpp_python-$VER"
  mkdir -p "$WORK"
  echo "venv.sh: building llama.cpp from llama-cpp-python $VER's sdist (CPU, native, library only) in $WORK" >&2
  [ -f "$SRC.tar.gz" ] || "$DIR/bin/python" -m pip download -q --no-deps --no-binary=:all: -d "$WORK" \
    "llama-cpp-python==$VER" >&2
  [ -d "$SRC" ] || tar -C "$WORK" -xzf "$SRC.tar.gz"
  cmake -S "$SRC/vendor/llama.cpp" -B "$WORK/lb" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
    -DGGML_NATIVE=ON -DGGML_CUDA=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_COMMON=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF \
    -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON '-DCMAKE_INSTALL_RPATH=$ORIGIN' >&2
  nice -n 10 cmake --build "$WORK/lb" --target llama -j"${PURE_LLAMA_JOBS:-2}" >&2
  "$DIR/bin/python" -m pip install -q -r "$REQ_LLAMA_DEPS" >&2
  SITE=$("$DIR/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  rm -rf "$SITE/llama_cpp"
  cp -r "$SRC/llama_cpp" "$SITE/llama_cpp"
  mkdir -p "$SITE/llama_cpp/lib"
  cp -P "$WORK"/lb/bin/lib*.so* "$SITE/llama_cpp/lib/"
  "$DIR/bin/python" -c 'import llama_cpp, gguf; print("venv.sh: llama.cpp", llama_cpp.llama_print_system_info().decode())' >&2
  echo "venv.sh: llama.cpp built in $(( $(date +%s) - t0 )) s" >&2
  touch "$DIR/.complete-llama"
fi

echo "$DIR"
