#!/usr/bin/env bash
# prm_train_labels.sh - prm_train after_first_error: with `unlabelled`, every step after a response's first wrong
# step carries no label (PRM800K's protocol), counted on a hand-written PRM800K-style file and on the toy source;
# with `keep` all labels stay. A bad value is refused naming the parameter.
# Usage: prm_train_labels.sh PURE
set -euo pipefail
PURE=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "prm_train_labels: FAIL: $*" >&2; exit 1; }
M='hidden_size: 16, layers: 1, heads: 2, kv_heads: 1, intermediate_size: 32, max_position: 200, device: cpu'
# labels: [1,0,1,0] -> 4 labelled (2 correct) kept, 2 (1 correct) unlabelled after the first error;
#         [1,1,-1,1] -> no wrong step: 3 labelled either way (the -1 stays unlabelled);
#         [0,1,1]    -> 3 kept (2 correct), 1 (0 correct) unlabelled. In all: 10 (7) kept, 6 (4) unlabelled.
cat > "$T/l.jsonl" <<'J'
{"problem": "1+2+3=?", "steps": ["1+2=3", "3+3=7", "7+0=7", "\\boxed{7}"], "labels": [1, 0, 1, 0]}
{"problem": "1+1+1=?", "steps": ["1+1=2", "2+1=3", "ok", "\\boxed{3}"], "labels": [1, 1, -1, 1]}
{"problem": "2+2=?", "steps": ["2+2=5", "5-1=4", "\\boxed{4}"], "labels": [0, 1, 1]}
J
run() { # name, extra params -> prints "labelled_steps labelled_correct_fraction" of the stage prm
  cat > "$T/$1.yaml" <<YAML
seed: 1
stages:
  data: {kind: data, source: toy, n_train: 6, n_test: 2}
  prm: {kind: prm_train, inputs: {train: data.train}, steps: 1, batch_size: 2, $M, $2}
YAML
  "$PURE" run "$T/$1.yaml" --run-dir "$T/$1" --quiet > "$T/$1.log" 2>&1 || { cat "$T/$1.log"; fail "$1: run failed"; }
  /usr/bin/python3 - "$T/$1/metrics.jsonl" <<'PY'
import json, sys
m = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("stage") == "prm":
        m.update({k: v for k, v in r.items() if k.startswith("labelled")})
print(int(m["labelled_steps"]), round(m["labelled_correct_fraction"], 6))
PY
}
got=$(run keep "source: jsonl, data: $T/l.jsonl")
[ "$got" = "10 0.7" ] || fail "jsonl keep: $got (expected 10 labelled, 7/10 correct)"
got=$(run cut "source: jsonl, data: $T/l.jsonl, after_first_error: unlabelled")
[ "$got" = "6 0.666667" ] || fail "jsonl unlabelled: $got (expected 6 labelled, 4/6 correct)"
# the toy source: demonstrations with slips (error_rate 0.15) lose their labels after the slip, so fewer steps
# are labelled and a larger share of them are correct
k=$(run tkeep "hard_negatives: 2") u=$(run tcut "hard_negatives: 2, after_first_error: unlabelled")
read -r kn kf <<< "$k"
read -r un uf <<< "$u"
/usr/bin/python3 -c "import sys; sys.exit(0 if $un < $kn and $uf > $kf else 1)" \
  || fail "toy: keep $k, unlabelled $u (expected fewer labelled steps, a larger correct share)"
cat > "$T/bad.yaml" <<YAML
stages:
  data: {kind: data, source: toy, n_train: 6, n_test: 2}
  prm: {kind: prm_train, inputs: {train: data.train}, steps: 1, $M, after_first_error: drop}
YAML
if "$PURE" validate "$T/bad.yaml" > "$T/bad.log" 2>&1; then fail "after_first_error: drop accepted"; fi
grep -q "after_first_error" "$T/bad.log" || { cat "$T/bad.log"; fail "message"; }
echo "prm_train_labels: ok (jsonl keep 10/7, unlabelled 6/4; toy keep $k, unlabelled $u)"
