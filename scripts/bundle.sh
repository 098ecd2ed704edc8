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
# PURE_BUNDLE_TARGETS="t1 t2 ..." adds those targets' executables to bin/ (the GPU session kit, scripts/gpu_kit.sh,
# ships the GPU tests and the benchmark this way); lib/ then holds what any of them needs.
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
TARGETS=(pure ${PURE_BUNDLE_TARGETS:-})
cmake --build "$BUILD" -j"$(nproc)" --target "${TARGETS[@]}"
for t in "${TARGETS[@]}"; do
  rpath=$(readelf -d "$BUILD/$t" | sed -n 's/.*(RPATH).*\[\(.*\)\]/\1/p')
  if [ "$rpath" != '$ORIGIN/../lib' ]; then
    echo "bundle: expected RPATH \$ORIGIN/../lib in $BUILD/$t, found '$rpath'" >&2
    exit 1
  fi
done

# ---- assemble ----
rm -rf "$B"
mkdir -p "$B/bin" "$B/lib" "$B/share/pure"
for t in "${TARGETS[@]}"; do cp "$BUILD/$t" "$B/bin/$t"; done
cp -r pipelines "$B/share/pure/pipelines"
SYSTEM_RE='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libresolv\.so|libutil\.so|libgcc_s\.so|libstdc\+\+\.so|libcuda\.so|libnvidia)'
# PURE_BUNDLE_CUDA_LIBS=0 leaves the CUDA runtime, cuBLAS and NCCL (~900 MB) to a target that has the toolkit
[ "${PURE_BUNDLE_CUDA_LIBS:-1}" = 1 ] || SYSTEM_RE="${SYSTEM_RE%)}|libcudart\.so|libcublas\.so|libcublasLt\.so|libnccl\.so)"
# "name => path" for every library any bundled binary loads, once each
deps() { for t in "${TARGETS[@]}"; do env -u LD_LIBRARY_PATH ldd "$B/bin/$t"; done | awk '{print $1, $2, $3}' | sort -u; }
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
done < <(deps)
[ "$missing" = 0 ] || exit 1
# A library with its own RUNPATH (OpenMPI's point at /usr/lib/.../openmpi/lib) has its dependencies looked up
# there and not through the binary's RPATH: point it at the bundle instead (patchelf: apt-get install patchelf).
for f in "$B"/lib/*; do
  readelf -d "$f" | grep -Eq '\((RUNPATH|RPATH)\)' || continue
  command -v patchelf >/dev/null || { echo "bundle: $(basename "$f") has a RUNPATH; patchelf is needed to rewrite it" >&2; exit 1; }
  patchelf --set-rpath '$ORIGIN' "$f"
done
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
done < <(deps)
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
  if [ -f "$3/tokenizers/qwen/tokenizer.json" ]; then
    echo "Hello, world: 1+1=2" | env -i PATH=/usr/bin:/bin "$1/bin/pure" tokenize --tokenizer "$3/tokenizers/qwen/tokenizer.json" >/dev/null
  fi
  env -i PATH=/usr/bin:/bin HOME="$2" "$1/bin/pure" run "$1/share/pure/pipelines/smoke.yaml" --run-dir "$2/run" --quiet
' bundle-check "$BA" "$RUN" "$(readlink -f "$ROOT/../shared")" "${hide[@]}"
echo "bundle check: pure --help, pure tokenize and the smoke pipeline ran from the bundle with ${#hide[@]} system libraries hidden"
