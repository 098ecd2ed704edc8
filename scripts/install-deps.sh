#!/usr/bin/env bash
# install-deps.sh - install pure's build and test dependencies from Debian packages.
# Idempotent: packages already present are not reinstalled; safe to run twice.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  libyaml-dev liblua5.4-dev libhdf5-dev hdf5-tools
  libopenblas-dev libopenblas0-pthread
  libpcre2-dev libutf8proc-dev libcjson-dev
  libopenmpi-dev openmpi-bin
  python3-numpy python3-torch python3-h5py python3-sympy python3-venv
  clang libclang-rt-14-dev bc patchelf
  chromium
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#PKGS[@]} packages present"
fi
