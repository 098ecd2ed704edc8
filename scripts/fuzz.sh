#!/usr/bin/env bash
# fuzz.sh [SECONDS] [NAME...] - build the libFuzzer harnesses (clang, ASan +
# UBSan, -DPURE_FUZZ=ON into build-fuzz/) and run each for SECONDS (default
# 20) from a copy of its seed corpus (tests/fuzz/corpus/NAME/). Exits 1 when a
# harness crashes, leaks, times out or exceeds its memory limit; the input is
# left in build-fuzz/findings/. CI runs it on every change (.ci/run).
# Environment: PURE_FUZZ_DIR, the build folder (default build-fuzz);
# PURE_FUZZ_RUNS=N, stop after N executions instead (a long run: SECONDS is
# then only an upper bound, 0 for none); PURE_FUZZ_KEEP=DIR, grow the corpus
# in DIR/NAME and keep it (a long campaign in several runs);
# PURE_FUZZ_TIMEOUT=S, the per-input time limit (default 10; on a loaded
# machine a long run needs more). Each run prints
# its executions and seconds, the numbers docs/reliability.md records.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-20}
shift || true
B=${PURE_FUZZ_DIR:-build-fuzz}
limit=(-max_total_time="$SECS")
if [ -n "${PURE_FUZZ_RUNS:-}" ]; then
  limit=(-runs="$PURE_FUZZ_RUNS")
  [ "$SECS" != 0 ] && limit+=(-max_total_time="$SECS")
fi
cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DPURE_FUZZ=ON -DPURE_CUDA=OFF \
  -DCMAKE_C_FLAGS_DEBUG="-O1 -g" >/dev/null
NAMES=("$@")
if ((${#NAMES[@]} == 0)); then
  for f in tests/fuzz/fuzz_*.c; do n=$(basename "$f" .c); NAMES+=("${n#fuzz_}"); done
fi
targets=()
for n in "${NAMES[@]}"; do targets+=("fuzz_$n"); done
cmake --build "$B" -j"$(nproc)" --target "${targets[@]}"
mkdir -p "$B"/findings
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fail=0
for n in "${NAMES[@]}"; do
  if [ -n "${PURE_FUZZ_KEEP:-}" ]; then work=$PURE_FUZZ_KEEP/$n; mkdir -p "$work"; else work=$(mktemp -d); fi
  [ -d "tests/fuzz/corpus/$n" ] && cp -r "tests/fuzz/corpus/$n/." "$work/"
  log=$B/findings/$n.log
  t0=$(date +%s)
  if "$B"/fuzz_"$n" "$work" "${limit[@]}" -timeout="${PURE_FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$B/findings/$n-" > "$log" 2>&1; then
    echo "fuzz: $n ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in $(($(date +%s) - t0))s)"
  else
    echo "fuzz: $n FAILED (see $log)"; tail -30 "$log"; fail=1
  fi
  [ -n "${PURE_FUZZ_KEEP:-}" ] || rm -rf "$work"
done
exit $fail
