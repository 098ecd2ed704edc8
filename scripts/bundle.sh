#!/usr/bin/env bash
# bundle.sh - build a self-contained pure bundle for a bare Linux (CUDA) machine.
#
# Usage: scripts/bundle.sh [OUT_DIR] [extra cmake args...]      (default OUT_DIR: dist)
#   e.g. scripts/bundle.sh dist -DPURE_CUDA=ON -DPURE_CUDA_ARCHS="80;90"
# Result: OUT_DIR/pure-VERSION-linux-ARCH/ and OUT_DIR/pure-VERSION-linux-ARCH.tar.gz with
#   bin/pure                 linked with DT_RPATH $ORIGIN/../lib (old-style RPATH, so it also applies to
#                            the libraries' own dependencies, e.g. HDF5 -> libsz, OpenBLAS -> libgfortran)
#   lib/                     every shared library pure needs (libyaml, Lua, HDF5, cJSON, PCRE2, utf8proc,
#                            OpenBLAS, their dependencies, and the CUDA runtime + cuBLAS when built with CUDA),
#                            except the C runtime (glibc, libgcc_s, libstdc++) and the NVIDIA driver
#                            (libcuda), which every target machine has
#   share/pure/pipelines/    the example pipelines
# PURE_BUNDLE_CUDA_LIBS=0 leaves out the CUDA runtime and cuBLAS (for targets with the CUDA toolkit).
# Then it checks the bundle (PURE_BUNDLE_CHECK=0 skips): with LD_LIBRARY_PATH cleared, ldd resolves every
# bundled library inside lib/; and, in a private mount namespace where the system copies of the bundled
# libraries are hidden (/dev/null bind-mounted over them; needs unprivileged user namespaces), `pure --help`
# and the smoke pipeline run on the CPU from the bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${1:-dist}
shift || true
BUILD=${PURE_BUNDLE_BUILD:-build-bundle}
VERSION=$(sed -n 's/^project(pure VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
NAME="pure-${VERSION}-linux-$(uname -m)"
B="$OUT/$NAME"

# ---- build: no build-tree RPATH, only the relative one ----
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_SKIP_BUILD_RPATH=ON \
  '-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath,$ORIGIN/../lib -Wl,--disable-new-dtags' "$@" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target pure
rpath=$(readelf -d "$BUILD/pure" | sed -n 's/.*(RPATH).*\[\(.*\)\]/\1/p')
if [ "$rpath" != '$ORIGIN/../lib' ]; then
  echo "bundle: expected RPATH \$ORIGIN/../lib in $BUILD/pure, found '$rpath'" >&2
  exit 1
fi

# ---- assemble ----
rm -rf "$B"
mkdir -p "$B/bin" "$B/lib" "$B/share/pure"
cp "$BUILD/pure" "$B/bin/pure"
cp -r pipelines "$B/share/pure/pipelines"
SYSTEM_RE='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libresolv\.so|libutil\.so|libgcc_s\.so|libstdc\+\+\.so|libcuda\.so|libnvidia)'
# PURE_BUNDLE_CUDA_LIBS=0 leaves the CUDA runtime and cuBLAS (~600 MB) to a target that has the toolkit
[ "${PURE_BUNDLE_CUDA_LIBS:-1}" = 1 ] || SYSTEM_RE="${SYSTEM_RE%)}|libcudart\.so|libcublas\.so|libcublasLt\.so)"
missing=0
while read -r name arrow path _; do
  [ "$arrow" = "=>" ] || continue
  if [ "$path" = "not" ]; then
    echo "bundle: $name not found on this machine" >&2
    missing=1
    continue
  fi
  [[ "$name" =~ $SYSTEM_RE ]] && continue
  cp -L "$path" "$B/lib/$name"
done < <(env -u LD_LIBRARY_PATH ldd "$B/bin/pure")
[ "$missing" = 0 ] || exit 1
cat > "$B/README.txt" <<TXT
pure $VERSION, self-contained bundle ($(uname -m) Linux, glibc $(ldd --version | head -1 | awk '{print $NF}') or newer).
Run:    bin/pure --help
        bin/pure run share/pure/pipelines/quickstart.yaml
Every library pure needs is in lib/ (found through the binary's relative RPATH), except the C runtime
(glibc, libgcc_s, libstdc++) and, for device: cuda, the NVIDIA driver (libcuda.so.1).
Built with: cmake $* (see scripts/bundle.sh)
TXT
tar -C "$OUT" -czf "$OUT/$NAME.tar.gz" "$NAME"
echo "bundle: $B ($(du -sh "$B" | cut -f1), $(ls "$B/lib" | wc -l) libraries) and $OUT/$NAME.tar.gz"

[ "${PURE_BUNDLE_CHECK:-1}" = 1 ] || exit 0

# ---- check 1: every bundled library resolves inside the bundle ----
bad=0
while read -r name arrow path _; do
  [ "$arrow" = "=>" ] || continue
  [[ "$name" =~ $SYSTEM_RE ]] && continue
  case "$(readlink -f "$path")" in
    "$(readlink -f "$B/lib")"/*) ;;
    *) echo "bundle check: $name resolves to $path, outside the bundle" >&2; bad=1 ;;
  esac
done < <(env -u LD_LIBRARY_PATH ldd "$B/bin/pure")
[ "$bad" = 0 ] || exit 1
echo "bundle check: ldd resolves all $(ls "$B/lib" | wc -l) bundled libraries inside $B/lib"

# ---- check 2: run with the system copies hidden ----
hide=()
for f in "$B"/lib/*; do
  n=$(basename "$f")
  while read -r p; do hide+=("$(readlink -f "$p")"); done < <(ldconfig -p | awk -v n="$n" '$1 == n {print $NF}')
done
if ! unshare -rm true 2>/dev/null; then
  echo "bundle check: no unprivileged mount namespaces here; the run with hidden system libraries is skipped"
  exit 0
fi
RUN=$(mktemp -d)
trap 'rm -rf "$RUN"' EXIT
BA=$(readlink -f "$B")
# mount itself may need a library being hidden (libpcre2 via libselinux): it runs on private copies
mkdir -p "$RUN/syslibs"
for p in "${hide[@]}"; do cp -L "$p" "$RUN/syslibs/$(basename "$p")"; done
for f in "$B"/lib/*; do [ -e "$RUN/syslibs/$(basename "$f")" ] || cp -L "$f" "$RUN/syslibs/"; done
unshare -rm bash -c '
  set -e
  for p in "${@:4}"; do LD_LIBRARY_PATH="$2/syslibs" mount --bind /dev/null "$p"; done
  cd "$2"
  env -i PATH=/usr/bin:/bin HOME="$2" "$1/bin/pure" --help >/dev/null
  if [ -f "$4/tokenizers/qwen/tokenizer.json" ]; then
    echo "Hello, world: 1+1=2" | env -i PATH=/usr/bin:/bin "$1/bin/pure" tokenize --tokenizer "$4/tokenizers/qwen/tokenizer.json" >/dev/null
  fi
  env -i PATH=/usr/bin:/bin HOME="$2" "$1/bin/pure" run "$1/share/pure/pipelines/smoke.yaml" --run-dir "$2/run" --quiet
' bundle-check "$BA" "$RUN" "$(readlink -f "$ROOT/../shared")" "${hide[@]}"
echo "bundle check: pure --help, pure tokenize and the smoke pipeline ran from the bundle with ${#hide[@]} system libraries hidden"
