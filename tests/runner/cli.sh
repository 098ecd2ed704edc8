#!/usr/bin/env bash
# cli.sh PURE - end-to-end behaviour of pure run/status/validate/dag/stages/gc
# on the test-only kinds: swap, corruption, stage failure, lock, unwritable
# and full disk, --until/--force, keep_last, gc, exit codes and --help.
set -u
PURE=$1
W=$(mktemp -d)
holder=
trap '[ -z "$holder" ] || kill -9 $holder 2>/dev/null; rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() { # expect RC FRAGMENT -- command...
  local want=$1 frag=$2
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  [ $rc -eq "$want" ] || fail "'$*' exited $rc, expected $want: $out"
  [ -z "$frag" ] || grep -qF -- "$frag" <<<"$out" || fail "'$*' output lacks '$frag': $out"
}

cat > p.yaml <<'YAML'
seed: 3
stages:
  src: {kind: test_blob, n: 32, value: 2}
loop:
  iterations: 4
  state: {w: src.out}
  stages:
    step: {kind: test_blob, inputs: {a: state.w}}
    credit: {kind: test_blob, inputs: {a: step.out}, mode: add}
    opt: {kind: test_blob, inputs: {a: credit.out, b: step.out}}
  update: {w: opt.out}
after:
  final: {kind: test_vec, inputs: {b: loop.w}}
YAML

# ---- help and usage
for c in run status validate dag stages gc; do
  expect 0 "usage: pure $c" -- "$PURE" $c --help
done
expect 2 "unknown option" -- "$PURE" run p.yaml --bogus
expect 2 "give PIPELINE.yaml or --run-dir DIR" -- "$PURE" status
expect 0 "valid (5 stages, 14 stage runs)" -- "$PURE" validate p.yaml
expect 0 "state w          = src.out, then opt.out" -- "$PURE" dag p.yaml
expect 0 '"opt" -> "step" [label="state.w", style=dashed];' -- "$PURE" dag p.yaml --dot
expect 0 "test_blob (version 1)" -- "$PURE" stages test_blob
expect 0 '| `mode` | enum | `add` | add\|mul | how inputs combine |' -- "$PURE" stages test_blob --markdown
expect 2 "did you mean 'test_blob'" -- "$PURE" stages test_blb

# ---- a bad spec exits 2 and creates nothing
expect 2 "pure: --set:1:25: stage 'credit' (kind test_blob): parameter 'mode': expected one of add|mul, got 'sum' (did you mean 'mul'?)" -- \
  "$PURE" run p.yaml --set loop.stages.credit.mode=sum
[ ! -e runs ] || fail "a bad spec created the run directory"
expect 2 "no stage named 'stpe'" -- "$PURE" run p.yaml --until stpe
[ ! -e runs ] || fail "a bad --until created the run directory"

# ---- first run: default run directory runs/p, metrics, keep_last
expect 0 "14 stage run(s) done" -- "$PURE" run p.yaml
[ -f runs/p/spec.yaml ] || fail "resolved spec not saved"
[ "$(wc -l < runs/p/metrics.jsonl)" -eq 14 ] || fail "metrics.jsonl should have 14 lines"
grep -q '"stage":"step","iteration":2,"mean":' runs/p/metrics.jsonl || fail "metrics line format"

# ---- swap: one parameter changes -> that stage and its dependants only
expect 0 "parameter mode: add (default) -> mul" -- "$PURE" status p.yaml --set loop.stages.credit.mode=mul
out=$("$PURE" status p.yaml --set loop.stages.credit.mode=mul)
grep -Eq "^step +0 +done" <<<"$out" || fail "swap: step[0] should stay done: $out"
grep -Eq "^step +1-3 +stale +input a changed \(opt is stale\)" <<<"$out" || fail "swap: later steps read the new state: $out"
grep -Eq "^opt +0-3 +stale +input a changed \(credit is stale\)" <<<"$out" || fail "swap: opt should be stale via credit: $out"
out=$("$PURE" run p.yaml --set loop.stages.credit.mode=mul 2>&1)
grep -q "12 stage run(s) done, 2 already up to date" <<<"$out" || fail "swap should re-run credit, opt, later steps and final: $out"
grep -q "step\[0\] (test_blob) running" <<<"$out" && fail "swap re-ran step[0]"
# swapping back is free: the old artifacts are still there (content-addressed)
expect 0 "0 stage run(s) done, 14 already up to date" -- "$PURE" run p.yaml

# ---- corruption: flip a byte without changing size or mtime -> caught by SHA-256 before use
f=$(ls runs/p/stages/src/*/out/values.bin)
stamp=$(stat -c %y "$f")
printf '\x55' | dd of="$f" bs=1 seek=5 conv=notrunc 2>/dev/null
touch -d "$stamp" "$f"
expect 0 "14 done" -- "$PURE" status p.yaml          # quick check cannot see it...
expect 0 "damaged" -- "$PURE" status p.yaml --verify # ...--verify can
expect 0 "src: committed artifact is damaged (out/values.bin does not match its committed SHA-256); recomputing it" -- \
  "$PURE" run p.yaml --force step
expect 0 "" -- "$PURE" status p.yaml --verify
# an artifact nothing reads any more: only --verify hashes it
for f in runs/p/stages/step/3/*/out/values.bin; do
  stamp=$(stat -c %y "$f")
  printf '\x55' | dd of="$f" bs=1 seek=9 conv=notrunc 2>/dev/null
  touch -d "$stamp" "$f"
done
expect 0 "0 of 14 stage run(s) to run" -- "$PURE" run p.yaml
expect 0 "step[3]: committed artifact is damaged (out/values.bin does not match its committed SHA-256); it will be recomputed" -- \
  "$PURE" run p.yaml --verify
expect 0 "14 done" -- "$PURE" status p.yaml --verify
# truncation is caught by the quick check
for f in runs/p/stages/final/*/out.h5; do truncate -s 100 "$f"; done
expect 0 "final              -            damaged" -- "$PURE" status p.yaml
expect 0 "final: committed artifact is damaged (out.h5 has 100 bytes" -- "$PURE" run p.yaml
expect 0 "14 done" -- "$PURE" status p.yaml --verify

# ---- keep_last: old iterations' outputs go once nothing pending reads them
expect 0 "14 stage run(s) done" -- "$PURE" run p.yaml --run-dir k --set loop.stages.step.keep_last=1
ls k/stages/step/0/*/out >/dev/null 2>&1 && fail "keep_last: 1 left step[0]'s outputs"
ls k/stages/step/3/*/out/values.bin >/dev/null 2>&1 || fail "keep_last removed the last iteration"
expect 0 "step               0-2          done (pruned)" -- "$PURE" status p.yaml --run-dir k
expect 0 "14 stage runs: 11 done, 3 done (pruned)" -- "$PURE" status --run-dir k   # its saved spec.yaml
expect 0 "0 stage run(s) done, 14 already up to date" -- "$PURE" run p.yaml --run-dir k
# a swap that needs a pruned artifact recomputes it (and prunes it again)
out=$("$PURE" run p.yaml --run-dir k --set loop.stages.step.keep_last=1 --set loop.stages.credit.mode=mul 2>&1)
grep -q "step\[0\]: outputs were pruned by keep_last; recomputing them" <<<"$out" || fail "pruned input not recomputed: $out"
expect 0 "step               0-2          done (pruned)" -- "$PURE" status p.yaml --run-dir k --set loop.stages.credit.mode=mul

# ---- a failing stage: exit 1, stage and iteration named, earlier artifacts intact, resumable
expect 1 "stage opt[0] failed: test_blob asked to fail (fail: true)" -- \
  "$PURE" run p.yaml --set loop.stages.opt.fail=true --run-dir f
expect 0 "credit             0            done" -- "$PURE" status p.yaml --run-dir f
expect 0 "opt                0-3          pending" -- "$PURE" status p.yaml --run-dir f
ls f/stages/opt/0/*.tmp >/dev/null 2>&1 && fail "a failed stage left its .tmp outputs"
expect 0 "11 stage run(s) done, 3 already up to date" -- "$PURE" run p.yaml --run-dir f

# ---- --until / --force
expect 0 "2 stage run(s) done" -- "$PURE" run p.yaml --run-dir u --until step@0
expect 0 "step               0            done" -- "$PURE" status p.yaml --run-dir u
expect 0 "credit             0-3          pending" -- "$PURE" status p.yaml --run-dir u
expect 0 "4 stage run(s) done" -- "$PURE" run p.yaml --run-dir u --until credit@1 # step[0] is reused
expect 0 "5 stage run(s) done, 9 already up to date" -- "$PURE" run p.yaml --force opt@2

# ---- lock: a second run on the same directory names the holder's pid.
# The stage blocks until the test creates `release`, so every check below runs
# while the holder is provably inside it, however slow the machine.
cat > slow.yaml <<'YAML'
stages:
  nap: {kind: test_blob, wait_for: release}
YAML
# ---- progress: redrawn in place on a terminal (script gives the run a pseudo-terminal);
# the final n/n line is always drawn, whatever the speed
if command -v script >/dev/null; then
  out=$(script -qec "'$PURE' run slow.yaml --run-dir tty --set stages.nap.wait_for= --set stages.nap.sleep_ms=300 --set stages.nap.n=50" /dev/null)
  grep -q $'\r\e\[K\[pure\] nap 50/50 values, .*/s, ETA 0s' <<<"$out" || fail "no progress line on a terminal: $out"
fi
# the lock
"$PURE" run slow.yaml -q 2> term.log &
holder=$!
until ls runs/slow/stages/nap/*.scratch/started >/dev/null 2>&1; do
  kill -0 $holder 2>/dev/null || { fail "the slow run ended before its stage started: $(cat term.log)"; break; }
  sleep 0.05
done
expect 1 "in use by another \`pure run\` (pid $holder)" -- "$PURE" run slow.yaml
expect 0 "a \`pure run\` is running on it (pid $holder)" -- "$PURE" status slow.yaml
expect 1 "pid $holder" -- "$PURE" gc slow.yaml
kill -TERM $holder; wait $holder 2>/dev/null
holder=
grep -q "interrupted: run the same command again to resume" term.log || fail "no message on SIGTERM: $(cat term.log)"
expect 0 "nap                -            interrupted" -- "$PURE" status slow.yaml
ls runs/slow/stages/nap/*.scratch/started >/dev/null 2>&1 || fail "the scratch directory did not survive the kill"
touch release
expect 0 "1 stage run(s) done" -- "$PURE" run slow.yaml
ls -d runs/slow/stages/nap/*.scratch >/dev/null 2>&1 && fail "commit did not remove the scratch directory"
expect 0 "1 stage run(s) done" -- "$PURE" run slow.yaml --set stages.nap.n=5
expect 0 "removed stages/nap/" -- "$PURE" gc slow.yaml --set stages.nap.n=5

# ---- unwritable run directory and a full disk: clear error, earlier artifacts intact
touch plainfile
expect 1 "run directory is not usable" -- "$PURE" run p.yaml --run-dir plainfile/run
# a file-size limit makes writes fail like a full disk (EFBIG) part way through the loop
before=$(cd runs/p && find stages -name values.bin | sort | xargs md5sum)
out=$(bash -c "trap '' XFSZ; ulimit -f 8; '$PURE' run p.yaml --set stages.src.n=2000 -q" 2>&1)
[ $? -eq 1 ] || fail "full disk should exit 1: $out"
grep -Eq "src.*(File too large|write failed)" <<<"$out" || fail "full disk message: $out"
[ "$before" = "$(cd runs/p && find stages -name values.bin | sort | xargs md5sum)" ] || fail "full disk damaged earlier artifacts"
expect 0 "14 done" -- "$PURE" status p.yaml --verify
ls runs/p/stages/src/*.tmp >/dev/null 2>&1 && fail "full disk left a .tmp directory"

# ---- gc keeps what the spec references, removes the rest
n_before=$(find runs/p/stages -name done.json | wc -l)
expect 0 "would remove stages/credit/0/" -- "$PURE" gc p.yaml --dry-run
[ "$n_before" -eq "$(find runs/p/stages -name done.json | wc -l)" ] || fail "gc --dry-run removed something"
expect 0 "removed" -- "$PURE" gc p.yaml
[ "$(find runs/p/stages -name done.json | wc -l)" -eq 14 ] || fail "gc should leave exactly the 14 referenced results"
expect 0 "0 stage run(s) done, 14 already up to date" -- "$PURE" run p.yaml
expect 0 "removed 0 artifact directories" -- "$PURE" gc --run-dir runs/p

[ $fails -eq 0 ] && echo "cli: all checks passed"
exit $((fails > 0))
