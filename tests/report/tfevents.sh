#!/bin/bash
# tfevents.sh PURE PYTHON - TensorBoard event files written by `pure run`
# (spec `tensorboard: true`), read back by an independent reader
# (tests/report/tfevents_read.py: both CRC-32C of every record, the Event
# protobuf): every numeric metric of metrics.jsonl is there once, with its
# step; a resumed run and a --force rerun leave no duplicates; a bad value is
# a spec error with its line; off by default.
PURE=$1 PY=$2
source "$(dirname "$0")/lib.sh" tfevents
READ="$SRC/tests/report/tfevents_read.py"
cd "$SRC"

# compare EVENTS METRICS: each numeric metric once, step = iteration (before the loop 0, after it: iterations)
compare() {
    "$PY" - "$1" "$2" "$READ" <<'PYEOF'
import json, struct, subprocess, sys
ev = json.loads(subprocess.run([sys.executable, sys.argv[3], sys.argv[1]], check=True, capture_output=True).stdout)
assert ev["version"] == "brain.Event:2", ev["version"]
f32 = lambda x: struct.unpack("<f", struct.pack("<f", x))[0]
lines = [json.loads(l) for l in open(sys.argv[2])]
iters = 1 + max(l["iteration"] for l in lines if l["iteration"] is not None)
after = {"final_eval"}
want = {}
for l in lines:
    step = l["iteration"] if l["iteration"] is not None else (iters if l["stage"] in after else 0)
    for k, v in l.items():
        if k in ("stage", "iteration", "fingerprint") or isinstance(v, (str, bool)) or v is None:
            continue
        want[(f"{l['stage']}/{k}", step)] = f32(v)
got = {}
for tag, step, value, wall in ev["scalars"]:
    assert (tag, step) not in got, f"duplicate scalar {tag} step {step}"
    got[(tag, step)] = value
assert set(got) == set(want), (sorted(set(want) - set(got))[:5], sorted(set(got) - set(want))[:5])
for k in want:
    assert got[k] == want[k] or (got[k] != got[k] and want[k] != want[k]), (k, got[k], want[k])
print(len(got), "scalars match metrics.jsonl")
PYEOF
}

EV="$T/run/tensorboard/smoke/events.out.tfevents.0.pure"
"$PURE" run pipelines/smoke.yaml --run-dir "$T/run" --set tensorboard=true -q || { echo "smoke run failed"; exit 1; }
[ -s "$EV" ] && ok "event file written" || bad "no event file at $EV"
compare "$EV" "$T/run/metrics.jsonl" && ok "scalars equal the metrics" || bad "scalars differ"
"$PURE" run pipelines/smoke.yaml --run-dir "$T/run" --set tensorboard=true -q
compare "$EV" "$T/run/metrics.jsonl" && ok "resume: rewritten, no duplicates" || bad "resume"
"$PURE" run pipelines/smoke.yaml --run-dir "$T/run" --set tensorboard=true --force optimize -q
compare "$EV" "$T/run/metrics.jsonl" && ok "--force: no duplicates" || bad "--force"
# optionally TensorBoard's own reader too: PURE_TB_PYTHON = a python with the tensorboard package
if [ -n "${PURE_TB_PYTHON:-}" ]; then
    n=$("$PURE_TB_PYTHON" -c '
import sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
ea = EventAccumulator(sys.argv[1]); ea.Reload()
print(sum(len(ea.Scalars(t)) for t in ea.Tags()["scalars"]))' "$(dirname "$EV")" 2>/dev/null)
    want=$("$PY" "$READ" "$EV" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["scalars"]))')
    [ "$n" = "$want" ] && ok "tensorboard's EventAccumulator reads all $n scalars" || bad "tensorboard read '$n' scalars, expected $want"
fi
# a corrupted byte is caught by the reader's CRC check (the reader can fail)
cp "$EV" "$T/broken"
printf '\x00' | dd of="$T/broken" bs=1 seek=40 conv=notrunc 2>/dev/null
"$PY" "$READ" "$T/broken" > /dev/null 2>&1 && bad "reader missed a flipped byte" || ok "reader checks CRCs"

"$PURE" run pipelines/smoke.yaml --run-dir "$T/off" -q
[ -e "$T/off/tensorboard" ] && bad "event files without tensorboard: true" || ok "off by default"
e=$("$PURE" validate pipelines/smoke.yaml --set tensorboard=maybe 2>&1); rc=$?
[ $rc = 2 ] && grep -q "tensorboard: expected true or false, got 'maybe'" <<<"$e" && ok "bad value: $e" || bad "bad value: rc $rc '$e'"
exit $fail
