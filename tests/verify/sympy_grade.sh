#!/bin/bash
# sympy_grade.sh PURE PYTHON - `pure grade` against sympy as an independent judge of equivalence
# (tests/verify/sympy_pairs.py): every verdict must match. Skipped (77) without sympy.
set -u
PURE=$1; PY=$2; DIR=$(dirname "$0")
"$PY" -c "import sympy" 2>/dev/null || { echo "no sympy: skipped"; exit 77; }
T=$(mktemp -d /tmp/pure_sympy_grade.XXXXXX)
trap 'rm -rf "$T"' EXIT
"$PY" "$DIR/sympy_pairs.py" 3 > "$T/pairs.jsonl" || exit 1
"$PURE" grade < "$T/pairs.jsonl" > "$T/out.jsonl" || { echo "FAIL: pure grade exited non-zero"; exit 1; }
"$PY" - "$T" <<'PY'
import json, sys
T = sys.argv[1]
P = [json.loads(l) for l in open(f"{T}/pairs.jsonl")]
O = [json.loads(l) for l in open(f"{T}/out.jsonl")]
bad = [(p, o) for p, o in zip(P, O) if p["want"] != o["correct"]]
for p, o in bad[:20]:
    print("FAIL: want", p["want"], p["response"], "|", p["reference"], file=sys.stderr)
n_eq = sum(p["want"] for p in P)
print(f"sympy_grade: {len(P)} pairs ({n_eq} equivalent), {len(bad)} verdicts differ from sympy")
sys.exit(1 if bad or len(O) != len(P) or len(P) < 500 else 0)
PY
