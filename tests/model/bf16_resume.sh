#!/usr/bin/env bash
# bf16_resume.sh - pipelines/smoke.yaml with precision: bf16 on every model stage: it runs, it differs from the
# f32 run (the setting reaches the engine), and a run SIGKILLed in the middle of the RL loop (pure-test's
# PURE_CRASH_AT, as tests/rl/e2e_smoke.sh) resumes to artifacts equal to an uninterrupted bf16 run.
# Usage: bf16_resume.sh PURE_TEST SOURCE_DIR PYTHON
set -euo pipefail
PURE=$1 SRC=$2 PY=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "bf16_resume: FAIL: $*" >&2; exit 1; }
BF=()
for s in stages.sft stages.prm_train stages.eval_sft loop.stages.rollout loop.stages.prm loop.stages.optimize \
         loop.stages.eval after.final_eval; do
  BF+=(--set "$s.precision=bf16")
done
"$PURE" run "$SRC/pipelines/smoke.yaml" --run-dir "$T/a" "${BF[@]}" > "$T/a.log" 2>&1 || { cat "$T/a.log"; fail "bf16 run failed"; }
"$PURE" run "$SRC/pipelines/smoke.yaml" --run-dir "$T/f" --until sft > "$T/f.log" 2>&1 || fail "f32 sft failed"
cmp -s "$T"/a/stages/sft/*/policy/model.safetensors "$T"/f/stages/sft/*/policy/model.safetensors \
  && fail "bf16 and f32 sft wrote identical weights: precision did not reach the engine"
PURE_CRASH_AT=run:14 "$PURE" run "$SRC/pipelines/smoke.yaml" --run-dir "$T/b" "${BF[@]}" > "$T/b1.log" 2>&1 \
  && fail "run 1 was not killed"
[ -e "$T"/b/stages/final_eval ] && fail "killed run got to final_eval"
"$PURE" run "$SRC/pipelines/smoke.yaml" --run-dir "$T/b" "${BF[@]}" > "$T/b2.log" 2>&1 || { cat "$T/b2.log"; fail "resume failed"; }
"$PY" "$SRC/tests/rl/compare_runs.py" "$T/a" "$T/b" || fail "resumed bf16 run differs from the uninterrupted one"
echo "bf16_resume: bf16 smoke killed in iteration 1 and resumed: identical to the uninterrupted run"
