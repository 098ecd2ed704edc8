#!/usr/bin/env bash
# shipped.sh PURE - the shipped program carries no test machinery: the
# test-only stage kinds are unknown to it and PURE_CRASH_AT does nothing.
set -uo pipefail
PURE=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$PURE" stages test_vec > "$W/out" 2>&1 && fail "pure stages test_vec succeeded in the shipped program"
grep -q "unknown stage kind 'test_vec'" "$W/out" || fail "unexpected message: $(cat "$W/out")"
"$PURE" stages | grep -q '^test_' && fail "pure stages lists a test-only kind"
cat > "$W/p.yaml" <<'YAML'
stages:
  data: {kind: data, source: toy, n_train: 8, n_test: 4}
YAML
PURE_CRASH_AT=run:1 "$PURE" run "$W/p.yaml" --run-dir "$W/run" -q || fail "run was killed or failed (rc $?)"
[ -f "$W"/run/stages/data/*/done.json ] || fail "no committed data stage"
echo "ok: shipped program has no test kinds and no fault hook"
