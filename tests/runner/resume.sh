#!/usr/bin/env bash
# resume.sh PURE PYTHON - kill `pure run` with SIGKILL at many points (inside a
# stage, before/after each commit step, asynchronously), resume, and compare
# the final artifacts with an uninterrupted run (tests/runner/compare_runs.py).
set -u
PURE=$1
PY=${2:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
if ! "$PY" -c "import h5py, numpy" 2>/dev/null; then
  echo "resume: skipped ($PY has no h5py/numpy to compare HDF5 artifacts)"
  exit 77
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

cat > "$W/p.yaml" <<'YAML'
seed: 11
stages:
  src: {kind: test_vec, n: 16, value: 2}
  raw: {kind: test_blob, n: 16}
loop:
  iterations: 5
  state: {w: raw.out}
  stages:
    step: {kind: test_blob, inputs: {a: state.w}, value: 0.25, sleep_ms: "${nap}"}
    vec:  {kind: test_vec, inputs: {a: src.out, b: step.out}, sleep_ms: "${nap}"}
    ev:   {kind: test_vec, every: 2, inputs: {a: vec.out}}
  update: {w: step.out}
after:
  final: {kind: test_blob, inputs: {a: loop.w, b: raw.out}}
vars: {nap: 0}
YAML

"$PURE" run "$W/p.yaml" --run-dir "$W/ref" -q || fail "reference run"

# 1. deterministic kills at every commit step (PURE_CRASH_AT of pure-test, tests/runner/test_main.c).
# Each point gets its own run directory, so that all three kills land (1 + 4 +
# 9 instances < 16); a shared one would be complete before the later points.
n=0
for point in run commit rename scratch done metrics; do
  c=$W/c-$point
  for k in 1 4 9; do
    n=$((n + 1))
    PURE_CRASH_AT=$point:$k "$PURE" run "$W/p.yaml" --run-dir "$c" -q 2>/dev/null
    rc=$?
    [ $rc -eq 137 ] || fail "crash at $point:$k: exit $rc, expected 137 (SIGKILL)"
    # an interrupted stage shows as such
    if [ $point:$k = run:1 ]; then
      "$PURE" status "$W/p.yaml" --run-dir "$c" | grep -q interrupted || fail "status does not show the interrupted stage"
    fi
  done
  "$PURE" run "$W/p.yaml" --run-dir "$c" -q || fail "resume after crashes at $point"
  # also fails on a leftover .tmp/.scratch (a crash after done.json used to leave the scratch)
  $PY "$HERE/compare_runs.py" "$W/ref" "$c" >/dev/null || fail "artifacts differ after crashes at $point: $($PY "$HERE/compare_runs.py" "$W/ref" "$c")"
  "$PURE" status "$W/p.yaml" --run-dir "$c" | grep -q "16 stage runs: 16 done" || fail "status after resume ($point)"
done
c=$W/c-run
# a done instance's scratch left by an older runner is removed by the next run, which runs nothing
fp=$(basename "$(ls -d "$c"/stages/final/*/ | head -1)")
mkdir -p "$c/stages/final/$fp.scratch/sub" && touch "$c/stages/final/$fp.scratch/sub/x"
"$PURE" run "$W/p.yaml" --run-dir "$c" 2>&1 | grep -q "0 stage run(s) done, 16 already up to date" || fail "run with a stale scratch re-ran stages"
[ ! -e "$c/stages/final/$fp.scratch" ] || fail "the stale scratch of a done stage run was not removed"

# 2. asynchronous SIGKILL while stages sleep (mid-stage and mid-commit, wherever
# it lands). Kill k waits for 3k-2 committed stage runs (1, 4, 7, 10, 13 of 16;
# at least one new one) rather than for a fixed time, so the kills spread over
# the loop however loaded the machine; a short random delay after that picks
# the landing point.
ndone() { find "$W/a/stages" -name done.json 2>/dev/null | wc -l; }
for kill_no in 1 2 3 4 5; do
  want=$((3 * kill_no - 2))
  [ "$want" -gt "$(ndone)" ] || want=$(($(ndone) + 1))
  "$PURE" run "$W/p.yaml" --run-dir "$W/a" --set vars.nap=60 -q 2>/dev/null &
  pid=$!
  while [ "$(ndone)" -lt $want ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
  sleep "0.0$((RANDOM % 10))"
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
done
"$PURE" run "$W/p.yaml" --run-dir "$W/a" --set vars.nap=60 -q || fail "resume after async kills"
# sleep_ms is a parameter (it enters the fingerprint), so compare with a reference of the same spec
"$PURE" run "$W/p.yaml" --run-dir "$W/ref60" --set vars.nap=60 -q || fail "reference run (nap)"
$PY "$HERE/compare_runs.py" "$W/ref60" "$W/a" || fail "artifacts differ after async kills"

# 3. a second run is a no-op: nothing re-runs, metrics.jsonl unchanged
before=$(md5sum < "$c/metrics.jsonl")
"$PURE" run "$W/p.yaml" --run-dir "$c" 2>&1 | grep -q "0 stage run(s) done, 16 already up to date" || fail "second run re-ran stages"
[ "$before" = "$(md5sum < "$c/metrics.jsonl")" ] || fail "metrics.jsonl changed on a no-op run"

[ $fails -eq 0 ] && echo "resume: all checks passed ($n deterministic crash points, 5 async kills)"
exit $((fails > 0))
