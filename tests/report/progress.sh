#!/bin/bash
# progress.sh PURE PYTHON - the latest metrics in `pure run`'s progress and
# "done" lines: on a terminal the progress line carries them; the numbers are
# those of metrics.jsonl (eval accuracy, the mean step reward of the PRM the
# credit stage read, rollout steps); a resumed run starts from the metrics it
# finds committed.
PURE=$1 PY=$2
source "$(dirname "$0")/lib.sh" progress
cd "$SRC"

# first only iteration 0, then the rest: the resumed run knows iteration 0's metrics from its done records
"$PURE" run pipelines/smoke.yaml --run-dir "$T/run" --until eval@0 > "$T/log0" 2>&1 || { cat "$T/log0"; exit 1; }
if command -v script > /dev/null; then
    script -qec "'$PURE' run pipelines/smoke.yaml --run-dir '$T/run'" /dev/null > "$T/tty" 2>&1
    tr '\r' '\n' < "$T/tty" > "$T/log1"
    grep -aq "rollout\[1\] [0-9]*/[0-9]* responses.*|  iteration 1/2 | accuracy [0-9.]* (it 0) | reward [-0-9.]* | steps [0-9.]*" "$T/log1" &&
        ok "progress line on a terminal carries the metrics of iteration 0" || bad "no metrics in the progress line: $(grep -a 'rollout\[1\]' "$T/log1" | head -3)"
else
    "$PURE" run pipelines/smoke.yaml --run-dir "$T/run" > "$T/log1" 2>&1
fi
"$PY" - "$T/run/metrics.jsonl" "$T/log0" "$T/log1" <<'PYEOF' && ok "done lines equal metrics.jsonl" || bad "done lines differ from metrics.jsonl"
import json, re, sys
m = [json.loads(l) for l in open(sys.argv[1])]
get = lambda st, it, k: next(l[k] for l in m if l["stage"] == st and l["iteration"] == it)
log = open(sys.argv[2], errors="replace").read() + open(sys.argv[3], errors="replace").read()
checked = 0
for it in (0, 1):
    line = re.search(rf"\[pure\] eval\[{it}\] done in [0-9.]+s  \|  accuracy ([0-9.]+) \(it {it}\) \| reward ([-0-9.]+) \| steps ([0-9.]+)", log)
    assert line, f"no done line for eval[{it}]"
    acc, rew, steps = map(float, line.groups())
    assert abs(acc - get("eval", it, "accuracy")) <= 5e-4, (acc, get("eval", it, "accuracy"))
    # smoke.yaml's credit reads prm.rewards (not oracle or lua_prm)
    assert abs(rew - get("prm", it, "step_reward")) <= 5e-4, (rew, get("prm", it, "step_reward"))
    assert abs(steps - get("rollout", it, "steps")) <= 5e-3, (steps, get("rollout", it, "steps"))
    checked += 1
print("checked", checked, "done lines")
PYEOF
exit $fail
