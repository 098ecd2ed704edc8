#!/usr/bin/env bash
# stages_doc.sh PURE DOC [--update] - the stage-kind reference in DOC
# (docs/pipeline-spec.md, between the BEGIN/END GENERATED markers) is exactly
# what `pure stages --markdown` prints, so it cannot go stale. With --update,
# rewrites that section instead (run it after changing a kind's table).
set -u
PURE=$1
DOC=$2
BEGIN='<!-- BEGIN GENERATED: pure stages --markdown -->'
END='<!-- END GENERATED -->'
# `pure` is the shipped program: no test-only kinds to leave out
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

[ "$(grep -cxF -- "$BEGIN" "$DOC")" -eq 1 ] && [ "$(grep -cxF -- "$END" "$DOC")" -eq 1 ] || {
  echo "FAIL: $DOC must hold each marker line once: '$BEGIN' and '$END'"
  exit 1
}
"$PURE" stages --markdown > "$W/gen.md" || { echo "FAIL: '$PURE stages --markdown' exited $?"; exit 1; }
[ -s "$W/gen.md" ] || { echo "FAIL: '$PURE stages --markdown' printed nothing"; exit 1; }
# the generated section is a blank line, the output, then the END marker
{ echo; cat "$W/gen.md"; } > "$W/want.md"
awk -v b="$BEGIN" -v e="$END" '$0 == e { inside = 0 } inside { print } $0 == b { inside = 1 }' "$DOC" > "$W/have.md"

if [ "${3:-}" = --update ]; then
  awk -v b="$BEGIN" -v e="$END" -v gen="$W/want.md" '
    $0 == e { inside = 0 }
    !inside { print }
    $0 == b { inside = 1; while ((getline line < gen) > 0) print line }' "$DOC" > "$W/new.md"
  cat "$W/new.md" > "$DOC"
  echo "stages_doc: regenerated the stage-kind reference in $DOC"
  exit 0
fi
if ! cmp -s "$W/have.md" "$W/want.md"; then
  echo "FAIL: the stage-kind reference in $DOC differs from 'pure stages --markdown'"
  echo "      (regenerate it: bash tests/runner/stages_doc.sh PURE $DOC --update)"
  diff -u --label "$DOC (committed)" --label "pure stages --markdown" "$W/have.md" "$W/want.md" | head -40
  exit 1
fi
echo "stages_doc: $DOC matches 'pure stages --markdown' ($(grep -c '^### ' "$W/gen.md") kinds)"
