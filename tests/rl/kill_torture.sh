#!/usr/bin/env bash
# kill_torture.sh PURE SOURCE_DIR PYTHON [KILLS] - kill -9 at random moments.
#
# Run A: pipelines/smoke.yaml uninterrupted. Then rounds: the same command
# on a fresh run directory, started again and again and SIGKILLed after a
# random delay (seeded, so a failure replays) until it completes, until at
# least KILLS (default 20) kills have landed in runs with work left. Every
# committed artifact of each round must equal A's (tests/rl/compare_runs.py),
# every latest.json must describe the same commit, and metrics.jsonl must hold
# the same lines (in any order: a line a kill kept out is appended on resume).
# Label slow (tests/cmake/rl.cmake).
set -uo pipefail
PURE=$1 SRC=$2 PY=$3 KILLS=${4:-20}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "kill_torture: FAIL: $*" >&2; exit 1; }
SPEC="$SRC/pipelines/smoke.yaml"

start=$(date +%s.%N)
"$PURE" run "$SPEC" --run-dir "$T/a" -q > "$T/a.log" 2>&1 || { cat "$T/a.log"; fail "uninterrupted run failed"; }
whole=$(echo "$(date +%s.%N) - $start" | bc)
echo "kill_torture: uninterrupted run ${whole}s"

RANDOM=12345
# rounds: a fresh run directory each, started and SIGKILLed after a random
# delay (20-420 ms: the whole run is about a second) until a start finishes;
# only kills of runs that had work left count
kills=0 round=0
while [ $kills -lt "$KILLS" ]; do
  round=$((round + 1))
  B="$T/b$round"
  while :; do
    "$PURE" run "$SPEC" --run-dir "$B" -q > "$T/b.log" 2>&1 &
    pid=$!
    sleep "$(printf '0.%03d' $((RANDOM % 400 + 20)))"
    if kill -9 $pid 2>/dev/null; then
      wait $pid 2>/dev/null
      [ -e "$B"/stages/final_eval/*/done.json ] && break   # it finished just before the kill
      kills=$((kills + 1))
      continue
    fi
    wait $pid; rc=$?
    [ $rc -eq 0 ] || { cat "$T/b.log"; fail "round $round: a resumed run exited $rc"; }
    break
  done
  "$PURE" run "$SPEC" --run-dir "$B" -q > "$T/b.log" 2>&1 || { cat "$T/b.log"; fail "round $round: final resume failed"; }
  "$PY" "$SRC/tests/rl/compare_runs.py" "$T/a" "$B" || fail "round $round: artifacts differ from the uninterrupted run"
  "$PY" - "$T/a" "$B" <<'PY' || fail "round $round: latest.json or metrics.jsonl differ"
import glob, json, os, sys
a, b = sys.argv[1:]
def latest(root):
    out = {}
    for p in glob.glob(os.path.join(root, "stages", "**", "latest.json"), recursive=True):
        d = json.load(open(p))
        out[os.path.relpath(p, root)] = (d["fingerprint"], json.dumps(d["identity"], sort_keys=True),
                                          json.dumps(d.get("metrics"), sort_keys=True))
    return out
la, lb = latest(a), latest(b)
bad = [k for k in la if la[k] != lb.get(k)] + [k for k in lb if k not in la]
for k in bad: print("latest.json differs:", k)
ma = sorted(open(os.path.join(a, "metrics.jsonl")).read().splitlines())
mb = sorted(open(os.path.join(b, "metrics.jsonl")).read().splitlines())
if ma != mb:
    print("metrics.jsonl differs: %d vs %d lines" % (len(ma), len(mb)))
    for l in set(ma) ^ set(mb): print("  ", l[:160])
    bad.append("metrics")
if not bad: print("kill_torture: %d latest.json files and %d metrics lines identical" % (len(la), len(ma)))
sys.exit(1 if bad else 0)
PY
  echo "kill_torture: round $round done, $kills kills so far"
done
echo "kill_torture: resumed run identical to the uninterrupted one"
