#!/usr/bin/env bash
# pipelines.sh - every example pipeline validates, and qwen_math_smoke.yaml (the published setting's graph with
# a tiny random model, the real Qwen tokenizer and the real data) runs end to end on the CPU.
# Usage: pipelines.sh PURE SOURCE_DIR PYTHON
set -euo pipefail
PURE=$1 SRC=$2 PY=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for f in "$SRC"/pipelines/*.yaml; do
  "$PURE" validate "$f" > "$T/v.log" 2>&1 || { cat "$T/v.log"; echo "pipelines: FAIL: $f does not validate"; exit 1; }
  echo "pipelines: $(cat "$T/v.log")"
done
if [ ! -f "$SRC/../shared/tokenizers/qwen/tokenizer.json" ] || [ ! -d "$SRC/../shared/data/train" ]; then
  echo "pipelines: ../shared data not available, qwen_math_smoke skipped"; exit 77
fi
"$PURE" run "$SRC/pipelines/qwen_math_smoke.yaml" --run-dir "$T/q" > "$T/q.log" 2>&1 \
  || { cat "$T/q.log"; echo "pipelines: FAIL: qwen_math_smoke"; exit 1; }
"$PY" - "$T/q" <<'PY'
import glob, sys
import h5py
run = sys.argv[1]
res = glob.glob(run + "/stages/final_eval/*/results.h5")[0]
with h5py.File(res, "r") as f:
    benches = sorted(set(b.decode() for b in f["benchmark"][()]))
    assert benches == ["aime24", "amc23", "math500", "minerva_math", "olympiadbench"], benches
    assert "accuracy" in f.attrs
ro = glob.glob(run + "/stages/rollout/1/*/rollouts.h5")[0]
with h5py.File(ro, "r") as f:
    n = len(f["length"][()])
    off = f["step_ends/offsets"][()]
    ends = f["step_ends/values"][()]
    lens = f["length"][()]
    assert n == 4, n
    for i in range(n):   # every response has steps, the last one ending at its last token
        e = ends[off[i]:off[i + 1]]
        assert len(e) >= 1 and e[-1] == lens[i] - 1, (i, e, lens[i])
    pt, po = f["prompt_tokens/values"][()], f["prompt_tokens/offsets"][()]
    p0 = list(pt[po[0]:po[1]])
    assert 151644 not in p0 and 151645 not in p0, p0[:3]   # the plain template, no ChatML (docs/fidelity.md)
print("pipelines: qwen_math_smoke ok:", benches)
PY
