#!/usr/bin/env bash
# e2e_smoke.sh - pipelines/smoke.yaml end to end, then a kill-and-resume run.
#
# 1. An uninterrupted run (A) of every stage kind must succeed and leave the
#    final eval's results and a metrics line per stage run.
# 2. A second run (B) is SIGKILLed in the middle of the RL loop, twice (as a
#    stage of iteration 1 starts, then while the resumed run commits), then
#    `pure run` again resumes it;
#    every committed artifact of B must equal A's (tests/rl/compare_runs.py).
# Usage: e2e_smoke.sh PURE SOURCE_DIR PYTHON
set -euo pipefail
PURE=$1 SRC=$2 PY=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "e2e_smoke: FAIL: $*" >&2; exit 1; }

"$PURE" run "$SRC/pipelines/smoke.yaml" --run-dir "$T/a" > "$T/a.log" 2>&1 || { cat "$T/a.log"; fail "smoke run failed"; }
ls "$T"/a/stages/final_eval/*/results.h5 > /dev/null || fail "no final_eval results"
for s in data sft prm_train rollout prm oracle verify credit optimize eval final_eval; do
  grep -q "\"stage\": *\"$s\"" "$T/a/metrics.jsonl" || grep -q "\"stage\":\"$s\"" "$T/a/metrics.jsonl" \
    || fail "no metrics line for stage $s"
done
grep -q "average" "$T/a.log" || fail "final summary table not printed"
# the optimizer state survives across iterations: the second optimize continues at step 2
grep -q '"step": 2' "$T"/a/stages/optimize/1/*/optimizer/state.json || fail "optimizer step count did not carry over"
echo "e2e_smoke: uninterrupted run ok"

# kill in the middle of the loop. pure-test's PURE_CRASH_AT=POINT:N sends the process SIGKILL the Nth time it
# reaches POINT (runner/exec.c), so the kill lands at the same place however fast the machine is:
#   run:14     as the 14th stage run starts: data, sft, prm_train, eval_sft, 8 stages of iteration 0, rollout[1],
#              then prm[1] is killed before it writes anything;
#   commit:3   the resumed run is killed again while committing its 3rd stage (outputs written, not yet renamed).
PURE_CRASH_AT=run:14 "$PURE" run "$SRC/pipelines/smoke.yaml" --run-dir "$T/b" > "$T/b1.log" 2>&1 && fail "run 1 was not killed"
ls -d "$T"/b/stages/rollout/1/*/ > /dev/null 2>&1 || fail "run 1 did not get to iteration 1"
[ -e "$T"/b/stages/optimize/1 ] && fail "run 1 got past the middle of iteration 1"
PURE_CRASH_AT=commit:3 "$PURE" run "$SRC/pipelines/smoke.yaml" --run-dir "$T/b" > "$T/b1b.log" 2>&1 && fail "run 2 was not killed"
[ -e "$T"/b/stages/final_eval ] && fail "killed run got to final_eval"
echo "e2e_smoke: killed twice in iteration 1 (SIGKILL at a stage start, then in a commit)"
"$PURE" run "$SRC/pipelines/smoke.yaml" --run-dir "$T/b" > "$T/b2.log" 2>&1 || { cat "$T/b2.log"; fail "resume failed"; }
"$PY" "$SRC/tests/rl/compare_runs.py" "$T/a" "$T/b" || fail "resumed run differs from the uninterrupted one"
echo "e2e_smoke: resumed run identical"

# sampled pass@1 in eval: at a temperature near 0 every sample is the greedy response, so each row's sampled
# share equals its greedy correctness; at T = 1 the shares are multiples of 1/k in [0, 1]
for temp in 1e-6 1.0; do
  "$PURE" run "$SRC/pipelines/smoke.yaml" --run-dir "$T/a" --until final_eval -q \
    --set after.final_eval.samples=3 --set after.final_eval.temperature=$temp > "$T/s.log" 2>&1 \
    || { cat "$T/s.log"; fail "eval with samples failed (T=$temp)"; }
  "$PY" - "$T/a" "$temp" <<'PY' || fail "sampled pass@1 check failed (T=$temp)"
import glob, json, sys, h5py, numpy as np
root, temp = sys.argv[1], float(sys.argv[2])
latest = json.load(open(root + "/stages/final_eval/latest.json"))
f = h5py.File(glob.glob(root + "/stages/final_eval/%s/results.h5" % latest["fingerprint"][:16])[0], "r")
s, c = f["sampled_correct"][()], f["correct"][()]
assert "sampled_accuracy" in f.attrs and 0 <= f.attrs["sampled_accuracy"] <= 1
assert np.all((s * 3).round() == s * 3) and s.min() >= 0 and s.max() <= 1, s
if temp < 1e-3:
    assert np.array_equal(s, c.astype(np.float32)), (s, c)
print("e2e_smoke: sampled pass@1 at T=%g: %.3f (greedy %.3f)" % (temp, f.attrs["sampled_accuracy"], f.attrs["accuracy"]))
PY
done
