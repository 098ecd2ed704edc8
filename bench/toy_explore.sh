#!/usr/bin/env bash
# toy_explore.sh - learning-rate, KL and PRM settings explored on one seed of the toy task.
# Each row is a label, a pipeline and --set overrides; runs share one run directory (same data, SFT and PRM).
# Usage: bench/toy_explore.sh [--seed N] [--runs DIR] [--out FILE] [--only LABEL...]
# Writes a table + curves like toy_results.sh (bench/toy_results.py), one "variant" per setting.
set -euo pipefail
cd "$(dirname "$0")/.."
SEED=1 RUNS=runs/toy_explore OUT=runs/toy_explore/explore.md ONLY=""
while [ $# -gt 0 ]; do
  case $1 in
    --seed) SEED=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --only) ONLY="$ONLY $2"; shift 2 ;;
    *) echo "toy_explore.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
PURE=${PURE:-build/pure}
PY=${PYTHON:-/usr/bin/python3}
KL="--set loop.stages.rollout.inputs.reference=sft.policy --set loop.stages.optimize.kl_coef=0.05"
ORACLE="--set loop.stages.prm.mode=oracle --set loop.stages.prm.inputs.model="
SETTINGS=(
  "min_lr5e-5|quickstart|--set vars.lr=5.0e-5"
  "sum_lr5e-5|quickstart_sum|--set vars.lr=5.0e-5"
  "min_kl0.05|quickstart|$KL"
  "sum_kl0.05|quickstart_sum|$KL"
  "min_oracle_progress|quickstart|$ORACLE"
  "min_oracle_arith_only|quickstart|$ORACLE --set loop.stages.prm.require_progress=false"
  "sum_oracle_progress|quickstart_sum|$ORACLE"
  "min_vr_lr5e-5|quickstart_min_verifiable|--set vars.lr=5.0e-5"
)
mkdir -p "$RUNS/results"
LIST="$RUNS/runs.tsv"
: > "$LIST"
for s in "${SETTINGS[@]}"; do
  IFS='|' read -r label pipe sets <<< "$s"
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $label "* ]]; then continue; fi
  echo "== $label" >&2
  start=$(date +%s)
  # shellcheck disable=SC2086
  if nice -n 10 "$PURE" run "pipelines/$pipe.yaml" --set "seed=$SEED" --run-dir "$RUNS/seed$SEED" --quiet \
      --force final_eval $sets > "$RUNS/$label.log" 2>&1; then
    cp "$(ls -t "$RUNS/seed$SEED"/stages/final_eval/*/results.h5 | head -1)" "$RUNS/results/$label.h5"
    printf '%s\t%s\t%s\t%s\n' "$label" "$SEED" "$RUNS/results/$label.h5" "$(( $(date +%s) - start ))" >> "$LIST"
  else
    echo "toy_explore.sh: $label failed (see $RUNS/$label.log)" >&2
  fi
done
"$PY" bench/toy_results.py "$LIST" "$OUT" "seed $SEED, settings explored around the quickstart (lr 2e-4, no KL, learned PRM)"
