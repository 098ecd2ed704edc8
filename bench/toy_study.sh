#!/usr/bin/env bash
# toy_study.sh - the toy reproduction of docs/results-criteria.md: per seed, one shared pre-RL part (data, SFT,
# PRM training, the PRM's held-out quality, the SFT evaluation), then every variant's RL from it; summarized into
# docs/results.md with the verdict of each claim.
#
# Usage: bench/toy_study.sh [options]
#   --seeds "2 3 4"        seeds (1 is the tuning seed; the verdicts use the others)
#   --variants "V ..."     variants, each NAME or NAME=PIPELINE[:key=value,key=value...] (default: the four of the
#                          criteria: min sum verifiable min_vr10)
#   --iterations N         RL iterations (default: the pipeline's)
#   --set k.p=v            extra --set for every run (repeatable)
#   --runs DIR             run directories (default runs/toy_study)
#   --out FILE             the report (default docs/results.md); --no-report: only run
#   --title TEXT           the report's heading
#   --report-only          summarize what RUNS holds
# Each variant gets its own run directory, a copy of the seed's shared one (pure accepts a copied run directory
# whose files match their recorded hashes), so the variants share SFT and the PRM and `pure compare` reads each.
# Runs already complete are not recomputed (pure resumes), so the script can be re-run after a kill.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS="2 3 4"
VARIANTS="min sum verifiable min_vr10"
ITER="" RUNS=runs/toy_study OUT=docs/results.md REPORT=1 REPORT_ONLY=0 TITLE="Toy-task results"
SETS=()
while [ $# -gt 0 ]; do
  case $1 in
    --seeds) SEEDS=$2; shift 2 ;;
    --variants) VARIANTS=$2; shift 2 ;;
    --iterations) ITER=$2; shift 2 ;;
    --set) SETS+=(--set "$2"); shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --title) TITLE=$2; shift 2 ;;
    --no-report) REPORT=0; shift ;;
    --report-only) REPORT_ONLY=1; shift ;;
    *) echo "toy_study.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
PURE=${PURE:-build/pure}
[ -x "$PURE" ] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build build -j2 --target pure; }
PY=${PYTHON:-/usr/bin/python3}
[ -n "$ITER" ] && SETS+=(--set "vars.iterations=$ITER")

# NAME -> pipeline and extra sets
pipeline_of() {
  case $1 in
    min) echo "pipelines/quickstart.yaml" ;;
    sum) echo "pipelines/quickstart_sum.yaml" ;;
    verifiable) echo "pipelines/quickstart_verifiable.yaml" ;;
    min_vr10) echo "pipelines/quickstart_min_verifiable10.yaml" ;;
    min_vr) echo "pipelines/quickstart_min_verifiable.yaml" ;;
    *) echo "" ;;
  esac
}

mkdir -p "$RUNS"
LIST="$RUNS/variants.tsv"
: > "$LIST"
for seed in $SEEDS; do
  base="$RUNS/seed$seed/shared"
  for spec in $VARIANTS; do
    name=${spec%%=*}
    rest=""; [ "$name" != "$spec" ] && rest=${spec#*=}
    pipe=${rest%%:*}; extra=""
    [ "$pipe" != "$rest" ] && extra=${rest#*:}
    [ -z "$pipe" ] && pipe=$(pipeline_of "$name")
    [ -n "$pipe" ] || { echo "toy_study.sh: variant '$name' has no pipeline (NAME=PIPELINE[:k=v,...])" >&2; exit 2; }
    args=(--set "seed=$seed" "${SETS[@]}")
    IFS=',' read -r -a kvs <<< "$extra"
    for kv in "${kvs[@]}"; do [ -n "$kv" ] && args+=(--set "$kv"); done
    dir="$RUNS/seed$seed/$name"
    printf '%s\t%s\t%s\t%s\n' "$name" "$seed" "$dir" "$pipe${extra:+ $extra}" >> "$LIST"
    [ $REPORT_ONLY = 1 ] && continue
    if [ ! -d "$base" ]; then
      echo "== seed $seed: shared part" >&2
      nice -n 5 "$PURE" run "$pipe" "${args[@]}" --run-dir "$base.tmp" --until prm_quality --quiet > "$RUNS/seed$seed-shared.log" 2>&1
      nice -n 5 "$PURE" run "$pipe" "${args[@]}" --run-dir "$base.tmp" --until eval_sft --quiet >> "$RUNS/seed$seed-shared.log" 2>&1
      mv "$base.tmp" "$base"
    fi
    [ -d "$dir" ] || cp -r "$base" "$dir"
    echo "== seed $seed: $name ($pipe${extra:+ $extra})" >&2
    start=$(date +%s)
    if nice -n 5 "$PURE" run "$pipe" "${args[@]}" --run-dir "$dir" --quiet > "$dir.log" 2>&1; then
      [ -f "$dir.seconds" ] || echo "$(( $(date +%s) - start ))" > "$dir.seconds"
    else
      echo "toy_study.sh: seed $seed $name failed (see $dir.log)" >&2
    fi
  done
done
[ $REPORT = 1 ] && "$PY" bench/toy_study.py "$LIST" "$OUT" "$TITLE"
exit 0
