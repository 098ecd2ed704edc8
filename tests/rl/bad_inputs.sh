#!/usr/bin/env bash
# bad_inputs.sh - each RL stage kind refuses bad inputs with a clear message.
#
# A tiny base pipeline (toy data, 1- and 2-step SFT policies, a classifier PRM, rollouts, oracle rewards, credit)
# is run once; each case then adds one stage `bad` that wires a wrong artifact or parameter, runs in the same run
# directory (the base stages are reused), and must fail with the expected exit code and message. The last case
# is a warning, not an error: optimize skips an update whose importance ratio explodes (policy != sampler).
# Usage: bad_inputs.sh PURE
set -uo pipefail
PURE=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
M='hidden_size: 16, layers: 1, heads: 2, kv_heads: 1, intermediate_size: 32, max_position: 200, device: cpu'
cat > "$T/base.yaml" <<YAML
seed: 3
stages:
  data: {kind: data, source: toy, n_train: 8, n_test: 4}
  sft: {kind: sft, inputs: {train: data.train}, steps: 1, batch_size: 2, $M}
  sft_b: {kind: sft, inputs: {train: data.train}, steps: 2, batch_size: 2, $M}
  prm_model: {kind: prm_train, inputs: {train: data.train}, steps: 1, batch_size: 2, $M}
  rollout: {kind: rollout, inputs: {policy: sft.policy, prompts: data.train}, samples: 2, prompts_per_iteration: 2, max_new_tokens: 8, device: cpu}
  oracle: {kind: prm, inputs: {rollouts: rollout.rollouts, prompts: data.train}, mode: oracle}
  credit: {kind: credit, inputs: {rollouts: rollout.rollouts, rewards: oracle.rewards}}
YAML
printf 'not json\n' > "$T/bad.jsonl"
printf '{"problem": "1+1=?", "steps": ["1+1=2"], "labels": [1]}\n{"problem": "x", "steps": ["a", "b"], "labels": [1]}\n' > "$T/short.jsonl"
printf -- '-- defines no score()\nlocal x = 1\n' > "$T/noscore.lua"
printf 'function score(problem, steps, reference) return {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12} end\n' > "$T/onescore.lua"

"$PURE" run "$T/base.yaml" --run-dir "$T/run" --quiet > "$T/base.log" 2>&1 || { cat "$T/base.log"; echo "bad_inputs: base pipeline failed"; exit 1; }

fails=0 n=0
check() { # name, expected exit code, expected message (grep -F), stage yaml
  n=$((n + 1))
  { cat "$T/base.yaml"; echo "  bad: $4"; } > "$T/$1.yaml"
  "$PURE" run "$T/$1.yaml" --run-dir "$T/run" --quiet > "$T/$1.log" 2>&1
  local rc=$?
  if [ $rc -ne "$2" ] || ! grep -qF -- "$3" "$T/$1.log"; then
    echo "bad_inputs: FAIL $1: exit $rc (expected $2), expected message: $3"; sed 's/^/    /' "$T/$1.log"
    fails=$((fails + 1))
  else
    echo "bad_inputs: ok $1: $(grep -F -- "$3" "$T/$1.log" | head -1 | cut -c1-200)"
  fi
}
check sft_wrong_train 1 "h5 (written by stage 'oracle', kind prm): missing dataset 'id', expected a rank-1 dataset of i64" \
  "{kind: sft, inputs: {train: oracle.rewards}, steps: 1, $M}"
check sft_bad_shape 1 "heads must divide hidden_size" \
  "{kind: sft, inputs: {train: data.train}, steps: 1, hidden_size: 30, layers: 1, heads: 4, kv_heads: 2, device: cpu}"
check rollout_classifier 1 "is a token-classification model (num_labels 2), expected a causal LM" \
  "{kind: rollout, inputs: {policy: prm_model.prm, prompts: data.train}, device: cpu}"
check rollout_wrong_prompts 1 "(written by stage 'rollout', kind rollout): missing dataset 'id'" \
  "{kind: rollout, inputs: {policy: sft.policy, prompts: rollout.rollouts}, device: cpu}"
check rollout_too_long 1 "exceeds the model's max_position 200" \
  "{kind: rollout, inputs: {policy: sft.policy, prompts: data.train}, max_new_tokens: 1000, device: cpu}"
check prm_wrong_rollouts 1 "(written by stage 'data', kind data): missing dataset 'prompt_index'" \
  "{kind: prm, inputs: {rollouts: data.train, prompts: data.train}, mode: oracle}"
check prm_model_missing 1 "mode model needs the input 'model'" \
  "{kind: prm, inputs: {rollouts: rollout.rollouts, prompts: data.train}, mode: model}"
check prm_model_is_policy 1 "expected a token classifier with 2 labels" \
  "{kind: prm, inputs: {rollouts: rollout.rollouts, prompts: data.train, model: sft.policy}, mode: model, device: cpu}"
check prm_lua_noscript 2 "mode lua needs the parameter 'script'" \
  "{kind: prm, inputs: {rollouts: rollout.rollouts, prompts: data.train}, mode: lua}"
check prm_lua_noscore 2 "defines no function score(problem, steps, reference)" \
  "{kind: prm, inputs: {rollouts: rollout.rollouts, prompts: data.train}, mode: lua, script: $T/noscore.lua}"
check prm_lua_wrong_count 1 "score() result for response" \
  "{kind: prm, inputs: {rollouts: rollout.rollouts, prompts: data.train}, mode: lua, script: $T/onescore.lua}"
check prm_train_bad_jsonl 1 "bad.jsonl:1" \
  "{kind: prm_train, inputs: {train: data.train}, source: jsonl, data: $T/bad.jsonl, $M}"
check prm_train_short_labels 1 "short.jsonl:2: expected" \
  "{kind: prm_train, inputs: {train: data.train}, source: jsonl, data: $T/short.jsonl, $M}"
check prm_train_jsonl_nodata 2 "source jsonl needs the parameter 'data'" \
  "{kind: prm_train, inputs: {train: data.train}, source: jsonl, $M}"
check optimize_wrong_advantages 1 "h5 (written by stage 'rollout', kind rollout): missing dataset 'returns', expected a ragged group" \
  "{kind: optimize, inputs: {policy: sft.policy, rollouts: rollout.rollouts, advantages: rollout.rollouts}, device: cpu}"
check optimize_kl_without_reference 1 "needs ref_logprobs in the rollouts" \
  "{kind: optimize, inputs: {policy: sft.policy, rollouts: rollout.rollouts, advantages: credit.advantages}, kl_coef: 0.1, device: cpu}"
check optimize_bad_optimizer 1 "input 'optimizer'" \
  "{kind: optimize, inputs: {policy: sft.policy, optimizer: sft.policy, rollouts: rollout.rollouts, advantages: credit.advantages}, device: cpu}"
check eval_wrong_data 1 "h5 (written by stage 'rollout', kind rollout): missing dataset 'id'" \
  "{kind: eval, inputs: {policy: sft.policy, data: rollout.rollouts}, device: cpu}"
check eval_wrong_history 1 "h5 (written by stage 'data', kind data): missing dataset 'correct'" \
  "{kind: eval, inputs: {policy: sft.policy, data: data.test, history: data.train}, max_new_tokens: 4, device: cpu}"
check eval_wrong_rewards 1 "h5 (written by stage 'data', kind data): missing dataset 'step_rewards', expected a ragged group" \
  "{kind: eval, inputs: {policy: sft.policy, data: data.test, rewards: data.train}, max_new_tokens: 4, device: cpu}"
# not an error: an update whose importance ratio leaves [1/max_ratio, max_ratio] is skipped with a warning
check optimize_ratio_explodes 0 "skipping an update: mean importance ratio" \
  "{kind: optimize, inputs: {policy: sft_b.policy, rollouts: rollout.rollouts, advantages: credit.advantages}, max_ratio: 1.00001, device: cpu}"
grep -q '"skipped_updates":1' "$T/run/metrics.jsonl" || { echo "bad_inputs: FAIL: skipped_updates not 1 in metrics"; fails=$((fails + 1)); }
echo "bad_inputs: $((n - fails)) of $n cases refused with the expected message"
[ $fails -eq 0 ]
