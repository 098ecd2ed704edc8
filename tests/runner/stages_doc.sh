#!/usr/bin/env bash
# stages_doc.sh PURE SPEC_DOC ARTIFACTS_DOC [--update] - the generated sections
# of the docs are exactly what the registry prints, so they cannot go stale:
#   SPEC_DOC (docs/pipeline-spec.md)     the stage-kind reference, `pure stages --markdown`
#   ARTIFACTS_DOC (docs/artifacts.md)    the declared datasets, `pure stages --artifacts`
# each between its BEGIN GENERATED / END GENERATED marker lines. With --update,
# rewrites those sections instead (run it after changing a kind's tables).
set -u
PURE=$1
SPEC_DOC=$2
ART_DOC=$3
UPDATE=${4:-}
END='<!-- END GENERATED -->'
# `pure` is the shipped program: no test-only kinds to leave out
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
status=0

# check_section DOC FLAG: the section after "<!-- BEGIN GENERATED: pure stages FLAG -->"
check_section() {
  local doc=$1 flag=$2 begin="<!-- BEGIN GENERATED: pure stages $2 -->"
  [ "$(grep -cxF -- "$begin" "$doc")" -eq 1 ] && [ "$(grep -cxF -- "$END" "$doc")" -eq 1 ] || {
    echo "FAIL: $doc must hold each marker line once: '$begin' and '$END'"
    status=1
    return
  }
  "$PURE" stages "$flag" > "$W/gen.md" || { echo "FAIL: '$PURE stages $flag' exited $?"; status=1; return; }
  [ -s "$W/gen.md" ] || { echo "FAIL: '$PURE stages $flag' printed nothing"; status=1; return; }
  # the generated section is a blank line, the output, then the END marker
  { echo; cat "$W/gen.md"; } > "$W/want.md"
  awk -v b="$begin" -v e="$END" '$0 == e { inside = 0 } inside { print } $0 == b { inside = 1 }' "$doc" > "$W/have.md"
  if [ "$UPDATE" = --update ]; then
    awk -v b="$begin" -v e="$END" -v gen="$W/want.md" '
      $0 == e { inside = 0 }
      !inside { print }
      $0 == b { inside = 1; while ((getline line < gen) > 0) print line }' "$doc" > "$W/new.md"
    cat "$W/new.md" > "$doc"
    echo "stages_doc: regenerated the '$flag' section of $doc"
    return
  fi
  if ! cmp -s "$W/have.md" "$W/want.md"; then
    echo "FAIL: the generated section of $doc differs from 'pure stages $flag'"
    echo "      (regenerate: bash tests/runner/stages_doc.sh PURE $SPEC_DOC $ART_DOC --update)"
    diff -u --label "$doc (committed)" --label "pure stages $flag" "$W/have.md" "$W/want.md" | head -40
    status=1
    return
  fi
  echo "stages_doc: $doc matches 'pure stages $flag' ($(grep -c '^### ' "$W/gen.md") sections)"
}

check_section "$SPEC_DOC" --markdown
check_section "$ART_DOC" --artifacts
exit $status
