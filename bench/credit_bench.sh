#!/usr/bin/env bash
# credit_bench.sh - credit assignment speed against the numpy reference, same batches,
# same run, pinned to one core. Goals (issue 3): built-in rules on 512 x 8,192 tokens
# < 100 ms; a Lua rule on 512 responses x 30 steps < 50 ms. The goal is judged on CPU
# time (best of N), which a loaded shared machine distorts less than wall time.
# usage: bench/credit_bench.sh [BUILD_DIR]   (default build-bench; configured Release if absent)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
BUILD=${1:-build-bench}
PY=${PURE_PYTHON:-/usr/bin/python3}
[ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPURE_CUDA=OFF >/dev/null
cmake --build "$BUILD" --target credit_bench >/dev/null
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
PIN=""
command -v taskset >/dev/null && PIN="taskset -c 0"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
$PIN "$BUILD/credit_bench" "$SRC" "$OUT" >"$OUT/c.txt"
$PIN "$PY" bench/credit_bench.py "$SRC" "$OUT" >"$OUT/np.txt"
echo "credit assignment on one core, best of N, milliseconds (cpu / wall); ratio = numpy cpu / C cpu"
printf "%-9s %-27s %17s %17s %7s  %s\n" rule batch "C cpu/wall" "numpy cpu/wall" ratio goal
while read -r _ rule batch cpu wall; do
    ref=$rule
    [ "$rule" = lua-min ] && ref=min  # min.lua computes the min rule
    read -r ncpu nwall < <(awk -v r="$ref" -v b="$batch" '$2 == r && $3 == b {print $4, $5}' "$OUT/np.txt")
    if [ "$batch" = big ]; then desc="512 x 8192 tok, 30 steps"; goal=100; else desc="512 x 30 steps, 1024 tok"; goal=50; fi
    [ "$rule" = lua-min ] || [ "$batch" = big ] || goal="-"
    verdict=""
    [ "$goal" != "-" ] && verdict=$(awk -v m="$cpu" -v g="$goal" 'BEGIN {print (m < g) ? "< " g " ms: met" : ">= " g " ms: MISSED"}')
    printf "%-9s %-27s %8.1f /%7.1f %8.1f /%7.1f %6.1fx  %s\n" "$rule" "$desc" "$cpu" "$wall" "$ncpu" "$nwall" \
        "$(awk -v a="$ncpu" -v b="$cpu" 'BEGIN {print a / b}')" "$verdict"
done <"$OUT/c.txt"
