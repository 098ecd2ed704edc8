#!/usr/bin/env bash
# toy_results.sh - the toy-task evidence: every quickstart variant over several seeds, same budget,
# evaluated on the held-out test set (500 problems), summarized into docs/results.md.
#
# Usage: bench/toy_results.sh [options]
#   --seeds "1 2 3"        seeds (each seed = a different toy data draw, model init and sampling)
#   --variants "quickstart quickstart_sum ..."   pipelines/<name>.yaml to run
#   --iterations N         RL iterations (default: the pipeline's)
#   --set k.p=v            extra --set passed to every run (repeatable), e.g. a learning rate
#   --runs DIR             where run directories go (default runs/toy_results)
#   --out FILE             the report (default docs/results.md)
#   --reduced              the variants that share one SFT per seed, 15 iterations
#   --explore FILE         append this exploration report (bench/toy_explore.sh's output) to the report
#   --notes FILE           append this hand-written discussion (default bench/toy_results_notes.md)
#   --report-only          do not run anything: summarize the results already in RUNS/results
# Runs already complete are not recomputed (pure resumes), so the script can be re-run after a kill.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS="1 2 3"
VARIANTS="quickstart quickstart_sum quickstart_verifiable quickstart_min_verifiable quickstart_min_verifiable10"
ITER="" RUNS=runs/toy_results OUT=docs/results.md EXPLORE="" NOTES=bench/toy_results_notes.md REPORT_ONLY=0
SETS=()
while [ $# -gt 0 ]; do
  case $1 in
    --seeds) SEEDS=$2; shift 2 ;;
    --variants) VARIANTS=$2; shift 2 ;;
    --iterations) ITER=$2; shift 2 ;;
    --set) SETS+=(--set "$2"); shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --explore) EXPLORE=$2; shift 2 ;;
    --notes) NOTES=$2; shift 2 ;;
    --report-only) REPORT_ONLY=1; shift ;;
    --reduced) VARIANTS="quickstart quickstart_sum quickstart_verifiable quickstart_min_verifiable"; ITER=${ITER:-15}; shift ;;
    *) echo "toy_results.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
PURE=${PURE:-build/pure}
[ -x "$PURE" ] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build build -j2 --target pure; }
PY=${PYTHON:-/usr/bin/python3}
mkdir -p "$RUNS"
LIST="$RUNS/runs.tsv"
: > "$LIST"
mkdir -p "$RUNS/results"
for seed in $SEEDS; do
  [ $REPORT_ONLY = 1 ] && break
  # one run directory per seed: the variants share its data, SFT and PRM training (same fingerprints)
  dir="$RUNS/seed$seed"
  for v in $VARIANTS; do
    # --force final_eval: the newest final_eval is this variant's even when everything else is cached
    args=(--set "seed=$seed" --run-dir "$dir" --quiet --force final_eval)
    [ -n "$ITER" ] && args+=(--set "vars.iterations=$ITER")
    start=$(date +%s)
    echo "== $v seed $seed" >&2
    if nice -n 10 "$PURE" run "pipelines/$v.yaml" "${args[@]}" "${SETS[@]}" > "$RUNS/$v-seed$seed.log" 2>&1; then
      cp "$(ls -t "$dir"/stages/final_eval/*/results.h5 | head -1)" "$RUNS/results/$v-seed$seed.h5"
      echo "$(( $(date +%s) - start ))" > "$RUNS/results/$v-seed$seed.seconds"
    else
      echo "toy_results.sh: $v seed $seed failed (see $RUNS/$v-seed$seed.log)" >&2
    fi
  done
done
# every result present for the chosen variants and seeds (also those of earlier invocations)
for v in $VARIANTS; do
  for seed in $SEEDS; do
    f="$RUNS/results/$v-seed$seed.h5"
    [ -f "$f" ] && printf '%s\t%s\t%s\t%s\n' "$v" "$seed" "$f" "$(cat "${f%.h5}.seconds" 2> /dev/null || echo 0)" >> "$LIST"
  done
done
"$PY" bench/toy_results.py "$LIST" "$OUT" "pipelines/<variant>.yaml as written, extra settings: ${SETS[*]:-none}, iterations: ${ITER:-as in the pipeline (30)}"
if [ -n "$EXPLORE" ] && [ -f "$EXPLORE" ]; then
  { echo; echo "# Settings explored (bench/toy_explore.sh)"; echo; sed '1,2d' "$EXPLORE"; } >> "$OUT"
fi
if [ -f "$NOTES" ]; then { echo; cat "$NOTES"; } >> "$OUT"; fi
