#!/usr/bin/env bash
# fidelity_options.sh - the options that make qwen_math.yaml match the official code, through `pure run`, on a
# tiny random model with the real Qwen tokenizer (docs/fidelity.md):
#   rollout/eval cap_at_context: prompt + max_new_tokens past max_position (64 here) generates up to
#     max_position with finish = length, where the default refuses with a message naming the option;
#   rollout step_rule token: step_ends equal an independent Python rule over the sampled ids (every token whose
#     bytes end with "\n\n", decoded from tokenizer.json's byte-level vocabulary, plus the last token once);
#   prm input_format tokens on those rollouts with a PRM of the same tokenizer, and refused with a PRM of another;
#   prm_train input_format tokens on a PRM800K-style jsonl;
#   data max_prompt_tokens: the metric of dropped rows.
# Usage: fidelity_options.sh PURE SRC PYTHON   (exit 77 when ../shared is absent)
set -uo pipefail
PURE=$1 SRC=$2 PY=$3
QWEN="$(cd "$SRC/.." && pwd)/shared/tokenizers/qwen/tokenizer.json"
[ -f "$QWEN" ] || { echo "fidelity_options: no Qwen tokenizer, skipped"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
M='hidden_size: 16, layers: 1, heads: 2, kv_heads: 1, intermediate_size: 32, device: cpu'
printf '{"problem": "1+1=?", "steps": ["1+1=2.", "The answer is 2."], "labels": [1, 1]}\n{"problem": "2+2=?", "steps": ["2+2=5."], "labels": [0]}\n' > "$T/prm.jsonl"
printf '{"problem": "%s", "answer": "1"}\n{"problem": "short", "answer": "2"}\n' "$(printf 'word %.0s' $(seq 1 40))" > "$T/rows.jsonl"
cat > "$T/p.yaml" <<YAML
seed: 5
stages:
  data: {kind: data, source: toy, n_train: 8, n_test: 4}
  files: {kind: data, source: jsonl, path: $T/rows.jsonl, template: "{problem}", max_prompt_tokens: 20, tokenizer: $QWEN}
  policy: {kind: sft, inputs: {train: data.train}, steps: 0, epochs: 0, tokenizer: $QWEN, max_position: 64, $M}
  prm_qwen: {kind: prm_train, inputs: {train: data.train}, steps: 0, epochs: 0, tokenizer: $QWEN, max_position: 256, $M}
  prm_bytes: {kind: prm_train, inputs: {train: data.train}, steps: 0, epochs: 0, max_position: 256, $M}
  prm_jsonl: {kind: prm_train, inputs: {train: data.train}, source: jsonl, data: $T/prm.jsonl, input_format: tokens,
              steps: 2, batch_size: 2, tokenizer: $QWEN, max_position: 256, $M}
  text: {kind: rollout, inputs: {policy: policy.policy, prompts: data.train}, samples: 2, prompts_per_iteration: 8,
         max_new_tokens: 200, cap_at_context: true, device: cpu}
  token: {kind: rollout, inputs: {policy: policy.policy, prompts: data.train}, samples: 2, prompts_per_iteration: 8,
          max_new_tokens: 200, cap_at_context: true, step_rule: token, device: cpu}
  prm: {kind: prm, inputs: {rollouts: token.rollouts, prompts: data.train, model: prm_qwen.prm}, mode: model,
        input_format: tokens, max_len: 256, device: cpu}
  eval: {kind: eval, inputs: {policy: policy.policy, data: data.test}, max_new_tokens: 200, cap_at_context: true,
         device: cpu}
YAML
fails=0
if ! "$PURE" run "$T/p.yaml" --run-dir "$T/run" > "$T/run.log" 2>&1; then
  cat "$T/run.log"; echo "fidelity_options: FAIL the pipeline"; exit 1
fi
for want in "eval: 4 of 4 prompts may only be answered up to max_position 64" \
            "prompts may only generate up to max_position 64" "1 rows dropped: their prompt has more than 20 tokens"; do
  grep -qF -- "$want" "$T/run.log" || { echo "fidelity_options: FAIL missing log line: $want"; fails=$((fails + 1)); }
done
"$PY" - "$T/run" "$QWEN" <<'PY' || fails=$((fails + 1))
import glob, json, sys
import h5py
run, qwen = sys.argv[1], sys.argv[2]
def art(stage, name):
    hits = glob.glob(f"{run}/**/{stage}/**/{name}.h5", recursive=True)
    assert hits, f"no {stage}/{name}.h5 under {run}"
    return h5py.File(sorted(hits)[-1], "r")
def ragged(f, name):
    g = f[name]
    off, v = g["offsets"][:], g["values"][:]
    return [v[off[i]:off[i + 1]] for i in range(len(off) - 1)]
# GPT-2 byte-level alphabet: token string -> bytes (independent of pure's tokenizer)
bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
cs, k = bs[:], 0
for b in range(256):
    if b not in bs:
        bs.append(b); cs.append(256 + k); k += 1
dec = {chr(c): b for b, c in zip(bs, cs)}
tj = json.load(open(qwen))
sep = {i for t, i in tj["model"]["vocab"].items() if bytes(dec[ch] for ch in t).endswith(b"\n\n")}
ok, seen, capped = True, 0, 0
for stage in ("text", "token"):
    f = art(stage, "rollouts")
    pt, tk, ends = ragged(f, "prompt_tokens"), ragged(f, "tokens"), ragged(f, "step_ends")
    fin, ln = f["finish"][:], f["length"][:]
    for i in range(len(tk)):
        n = len(tk[i])
        if len(pt[i]) + n > 64:
            print(f"FAIL {stage} response {i}: {len(pt[i])} + {n} tokens > max_position 64"); ok = False
        if len(pt[i]) + n == 64 and fin[i] == 2:
            capped += 1
        if stage == "token":
            want = [j for j in range(n) if int(tk[i][j]) in sep or j == n - 1]
            seen += sum(int(t) in sep for t in tk[i])
            if list(map(int, ends[i])) != want:
                print(f"FAIL token response {i}: step_ends {list(ends[i])}, want {want}"); ok = False
assert capped > 0, "no response ran to max_position"
assert seen > 0, "no separator token sampled: the step rule was not exercised"
r = art("prm", "rewards")
steps = sum(len(e) for e in ragged(art("token", "rollouts"), "step_ends"))
assert r["step_rewards"]["values"].shape[0] == steps
print(f"fidelity_options: {capped} responses capped at max_position, {seen} separator tokens, {steps} steps scored")
sys.exit(0 if ok else 1)
PY
check() { # name, expected message, stage yaml
  { cat "$T/p.yaml"; echo "  bad: $3"; } > "$T/$1.yaml"
  if "$PURE" run "$T/$1.yaml" --run-dir "$T/run" > "$T/$1.log" 2>&1 || ! grep -qF -- "$2" "$T/$1.log"; then
    echo "fidelity_options: FAIL $1: expected an error: $2"; sed 's/^/    /' "$T/$1.log"; fails=$((fails + 1))
  else
    echo "fidelity_options: ok $1: $(grep -F -- "$2" "$T/$1.log" | head -1 | cut -c1-200)"
  fi
}
check eval_refuses "(cap_at_context: true answers up to max_position instead)" \
  "{kind: eval, inputs: {policy: policy.policy, data: data.test}, max_new_tokens: 200, device: cpu}"
check rollout_refuses "(cap_at_context: true generates up to max_position instead)" \
  "{kind: rollout, inputs: {policy: policy.policy, prompts: data.train}, max_new_tokens: 200, device: cpu}"
check prm_other_tokenizer "input_format tokens: the PRM's tokenizer has" \
  "{kind: prm, inputs: {rollouts: token.rollouts, prompts: data.train, model: prm_bytes.prm}, mode: model, input_format: tokens, device: cpu}"
check data_no_tokenizer "max_prompt_tokens counts tokens with \`tokenizer\`" \
  "{kind: data, source: jsonl, path: $T/rows.jsonl, max_prompt_tokens: 20}"
[ $fails -eq 0 ] && echo "fidelity_options: ok" || { echo "fidelity_options: $fails failures"; exit 1; }
