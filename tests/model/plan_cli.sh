#!/usr/bin/env bash
# plan_cli.sh - `pure plan` and the check `pure run` makes with it (cli/cmd_plan.c):
# the smoke pipeline fits; the paper's 1.5B recipe (Qwen2.5-Math-1.5B policy, PURE-PRM-7B, 64 prompts x 8
# samples) fits one H200 and gets a time estimate; the 7B recipe in f32 does not and is told how many GPUs
# with which sharding; a pipeline that cannot fit is refused by `pure run` before its run directory exists.
# Usage: plan_cli.sh PURE_BIN
set -u
PURE=$1
cd "$(dirname "$0")/../.."
S=tests/model/shapes
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

"$PURE" plan pipelines/smoke.yaml --device cpu >"$T/smoke" 2>&1 || bad "smoke plan exit $?"
n=$(grep -c ': fits$' "$T/smoke")
[ "$n" = 8 ] || bad "smoke: $n stages fit, expected 8 (sft prm_train eval_sft rollout prm optimize eval final_eval)"

"$PURE" plan pipelines/qwen_math.yaml --device cuda --gpu h200 --set vars.policy_model=$S/qwen2.5-math-1.5b \
  --set vars.prm_model=$S/pure-prm-7b --set loop.stages.rollout.samples=8 >"$T/p15" 2>&1 || bad "1.5B plan exit $?"
grep -q "1.54B parameters" "$T/p15" || bad "1.5B: parameter count (Qwen2.5-Math-1.5B has 1.54B)"
grep -q "7.07B parameters" "$T/p15" || bad "1.5B: PRM parameter count (a 7B token classifier: 7.07B, no LM head)"
grep -q "DOES NOT FIT" "$T/p15" && bad "1.5B recipe should fit one H200"
grep -q "time per RL iteration on one h200" "$T/p15" || bad "1.5B: no time estimate"

"$PURE" plan pipelines/qwen_math.yaml --device cuda --gpu h200 --set vars.policy_model=$S/qwen2.5-math-7b \
  --set vars.prm_model=$S/pure-prm-7b >"$T/p7" 2>&1
rc=$?
[ $rc = 1 ] || bad "7B f32 plan exit $rc, expected 1 (does not fit)"
grep -q "7.62B parameters" "$T/p7" || bad "7B: parameter count (Qwen2.5-Math-7B has 7.62B)"
grep -q "16 GPUs with pure's ZeRO-1 (mpirun -np 16" "$T/p7" || bad "7B: no sharding advice (pure's ZeRO-1 over 16 GPUs in f32)"
grep -A3 "^optimize" "$T/p7" | grep -q "DOES NOT FIT" || bad "7B: optimize should not fit one H200 in f32"

# an impossible model: refused before the run directory exists, naming the stage and the sizes
"$PURE" run pipelines/smoke.yaml --run-dir "$T/run" --set stages.sft.hidden_size=8192 --set stages.sft.layers=64 \
  --set stages.sft.heads=64 --set stages.sft.kv_heads=8 --set stages.sft.intermediate_size=30000 >"$T/run.log" 2>&1
rc=$?
[ $rc = 2 ] || bad "pure run of a pipeline that does not fit: exit $rc, expected 2"
grep -q "stage 'sft' needs .* on cpu but .* has" "$T/run.log" || bad "refusal message: $(cat "$T/run.log")"
[ -e "$T/run" ] && bad "the refused run created its run directory"

# --until: only the stages this run may execute are checked (data loads no model)
"$PURE" run pipelines/smoke.yaml --run-dir "$T/until" --until data -q --set stages.sft.hidden_size=8192 \
  --set stages.sft.layers=64 --set stages.sft.heads=64 --set stages.sft.kv_heads=8 \
  --set stages.sft.intermediate_size=30000 >"$T/until.log" 2>&1 || bad "--until data refused: $(cat "$T/until.log")"

"$PURE" plan pipelines/smoke.yaml --gpu nosuch >/dev/null 2>&1
[ $? = 2 ] || bad "--gpu nosuch should be a usage error"

# the CUDA backend's kernel choices come from the environment: a value it does not know stops the run (exit 2)
# naming the variable and what it takes, before any stage runs (builds with the CUDA backend read them)
if grep -q PURE_CUDA_ATTENTION "$PURE"; then
  for var in PURE_CUDA_ATTENTION=tensor PURE_CUDA_MATMUL=fp16; do
    env "$var" "$PURE" run pipelines/smoke.yaml --run-dir "$T/env" --until sft --set stages.sft.device=auto -q \
      >"$T/env.log" 2>&1
    rc=$?
    [ $rc = 2 ] || bad "$var: exit $rc, expected 2: $(cat "$T/env.log")"
    grep -q "environment variable ${var%%=*}=\"${var#*=}\": expected one of" "$T/env.log" || bad "$var: $(cat "$T/env.log")"
    ls "$T"/env/stages/sft/*/done.json >/dev/null 2>&1 && bad "$var: sft ran anyway"
  done
fi

if [ $fail = 0 ]; then echo "plan_cli: all checks passed"; else cat "$T"/p15 "$T"/p7; fi
exit $fail
