#!/usr/bin/env bash
# hostile.sh PURE - the runner under a hostile or careless user (issue 12):
# the lock file deleted during a run, a run directory copied with new file
# times, a kill between done.json and latest.json, a file-size limit that
# would kill the process with SIGXFSZ, latest.json that cannot be written.
# PURE is pure-test (test-only kinds and PURE_CRASH_AT fault points).
set -u
PURE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
W=$(mktemp -d)
holder=
trap '[ -z "$holder" ] || kill -9 $holder 2>/dev/null; rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

cat > p.yaml <<'YAML'
seed: 5
stages:
  src: {kind: test_blob, n: 16, value: 2}
  vec: {kind: test_vec, inputs: {b: src.out}}
  nap: {kind: test_blob, wait_for: release}
YAML

# ---- 1. deleting RUN/lock during a run does not let a second run in
"$PURE" run p.yaml --run-dir r1 -q 2> holder.log &
holder=$!
until ls r1/stages/nap/*.scratch/started >/dev/null 2>&1; do
  kill -0 $holder 2>/dev/null || { fail "holder ended early: $(cat holder.log)"; break; }
  sleep 0.05
done
rm -f r1/lock
out=$("$PURE" run p.yaml --run-dir r1 -q 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "in use by another \`pure run\`" <<<"$out" || fail "second run after deleting the lock: rc $rc: $out"
touch release
wait $holder; rc=$?
holder=
[ $rc -eq 0 ] || fail "the holder failed: $(cat holder.log)"
echo "hostile: lock survives deleting RUN/lock"

# ---- 2. a copy with new file times (cp -r) is not damage: nothing recomputed, times re-recorded
sleep 1.1   # so that every copied file gets a different mtime
cp -r r1 r2
out=$("$PURE" status p.yaml --run-dir r2 2>&1)
grep -q "damaged" <<<"$out" && fail "status calls a copied run damaged: $out"
out=$("$PURE" run p.yaml --run-dir r2 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "0 of 3 stage run(s) to run" <<<"$out" || fail "copied run recomputed: $out"
grep -q "re-recorded their times" <<<"$out" || fail "no note on re-recorded times: $out"
out=$("$PURE" run p.yaml --run-dir r2 2>&1)
grep -q "re-recorded" <<<"$out" && fail "times re-recorded twice: $out"
# a real change of content, same size and a new time, is still damage
f=$(ls r2/stages/src/*/out/values.bin)
printf '\x01' | dd of="$f" bs=1 seek=3 conv=notrunc 2>/dev/null
out=$("$PURE" status p.yaml --run-dir r2 2>&1)
grep -q "damaged.*its SHA-256 differs" <<<"$out" || fail "changed bytes not reported as damage: $out"
echo "hostile: copies with new times accepted, changed bytes refused"

# ---- 3. a kill between done.json and latest.json: latest.json is repaired, status explains staleness
PURE_CRASH_AT=done:1 "$PURE" run p.yaml --run-dir r3 -q >/dev/null 2>&1 && fail "run was not killed at done:1"
[ -f r3/stages/src/latest.json ] && fail "latest.json written before the kill point (test premise)"
"$PURE" run p.yaml --run-dir r3 -q || fail "resume failed"
[ -f r3/stages/src/latest.json ] || fail "latest.json not repaired on resume"
out=$("$PURE" status p.yaml --run-dir r3 --set stages.src.value=3 2>&1)
grep -Eq "src +- +stale .*value" <<<"$out" || fail "status after a parameter change: $out"
echo "hostile: latest.json repaired after a kill at the done point"

# ---- 4. a file-size limit: exit 1 with EFBIG's message (no silent SIGXFSZ death), resume completes
out=$(bash -c "ulimit -f 4; '$PURE' run p.yaml --run-dir r4 --set stages.src.n=5000 -q" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "file-size limit: exit $rc (expected 1, 153 = killed by SIGXFSZ): $out"
grep -q "File too large" <<<"$out" || fail "file-size limit message: $out"
"$PURE" run p.yaml --run-dir r4 --set stages.src.n=5000 -q || fail "resume after the file-size limit failed"
echo "hostile: file-size limit reported as EFBIG"

# ---- 5. latest.json cannot be written (a full disk, here a directory in its place): a warning naming it, the
# commit stands, the next run repairs it
"$PURE" run p.yaml --run-dir r5 -q || fail "first run of r5 failed"
rm -f r5/stages/src/latest.json && mkdir r5/stages/src/latest.json
out=$("$PURE" run p.yaml --run-dir r5 --set stages.src.value=3 2>&1); rc=$?
[ $rc -eq 0 ] || fail "a failed latest.json write failed the run: rc $rc: $out"
grep -q "cannot write .*stages/src/latest.json" <<<"$out" || fail "no warning for the latest.json write: $out"
rmdir r5/stages/src/latest.json
out=$("$PURE" run p.yaml --run-dir r5 --set stages.src.value=3 2>&1)
grep -q "0 of 3 stage run(s) to run" <<<"$out" || fail "the repair run recomputed: $out"
[ -f r5/stages/src/latest.json ] || fail "latest.json not repaired after a failed write"
out=$("$PURE" status p.yaml --run-dir r5 --set stages.src.value=4 2>&1)
grep -Eq "src +- +stale .*value.*3" <<<"$out" || fail "status after the repaired latest.json: $out"
echo "hostile: a failed latest.json write is reported and repaired"

[ $fails -eq 0 ] || { echo "hostile: $fails failure(s)"; exit 1; }
echo "hostile: all checks passed"
