#!/bin/bash
# pipeline_data.sh PURE SHARED_DIR PYTHON - the data stage kind through `pure run`: toy, benchmark and training
# sources, the prompts layout read back with h5py, determinism of a re-run, and bad specs/inputs refused with
# clear messages.
set -u
PURE=$1; SHARED=$2; PY=$3
T=$(mktemp -d /tmp/pure_pipeline_data.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

if [ ! -d "$SHARED/data" ]; then echo "no $SHARED/data: skipped"; exit 77; fi
"$PY" -c "import h5py" 2>/dev/null || { echo "no h5py: skipped"; exit 77; }

cat > "$T/spec.yaml" <<YAML
seed: 5
stages:
  toy: {kind: data, source: toy, n_train: 64, n_test: 16, reference_fraction: 0.25}
  bench: {kind: data, sources: [math500, amc23, gsm8k], data_dir: $SHARED/data, limit: 4}
  mtrain: {kind: data, source: math_train, data_dir: $SHARED/data, limit: 300, test_size: 20, reference_select: answer_field}
  custom: {kind: data, source: jsonl, path: custom.jsonl, problem_field: q, answer_field: "", solution_field: s,
           template: "Q: {problem}\nA:", shuffle: false}
YAML
printf '%s\n' '{"q": "one", "s": "so \\boxed{1}"}' '{"q": "two", "s": "then \\boxed{\\frac{2}{1}}"}' > "$T/custom.jsonl"

"$PURE" run "$T/spec.yaml" --run-dir "$T/run" -q || err "pure run failed"
"$PURE" run "$T/spec.yaml" --run-dir "$T/run2" -q || err "second pure run failed"

SHARED_JSON="$SHARED/data/train/math_level3to5_8k.json" "$PY" - "$T" <<'PY' || fail=1
import h5py, json, sys, glob, os
T = sys.argv[1]
def art(run, stage, port):
    latest = json.load(open(f"{T}/{run}/stages/{stage}/latest.json"))
    d = glob.glob(f"{T}/{run}/stages/{stage}/*/{port}.h5")
    assert d, (stage, port)
    return h5py.File(sorted(d, key=os.path.getmtime)[-1], "r")
bad = 0
def check(cond, what):
    global bad
    if not cond:
        print("FAIL:", what, file=sys.stderr); bad = 1
cols = ["id", "benchmark", "problem", "prompt", "reference", "has_reference", "solution"]
def s(ds): return [x.decode() if isinstance(x, bytes) else x for x in ds[()]]
tr, te = art("run", "toy", "train"), art("run", "toy", "test")
for f in (tr, te):
    check(all(c in f for c in cols), f"toy columns {list(f.keys())}")
check(len(tr["id"]) == 64 and len(te["id"]) == 16, "toy sizes")
check(int(tr["has_reference"][()].sum()) == 16 and int(te["has_reference"][()].sum()) == 16, "toy has_reference")
check(not set(s(tr["problem"])) & set(s(te["problem"])), "toy test held out")
p, q, sol, ref = s(tr["prompt"])[0], s(tr["problem"])[0], s(tr["solution"])[0], s(tr["reference"])[0]
check(p == q + "\n\n", f"toy prompt {p!r}")
check(eval(q[:-2]) == int(ref), f"toy reference {q} {ref}")
check(sol.endswith("}.") and "\\boxed{" in sol, f"toy solution {sol!r}")
b = art("run", "bench", "test")
check(len(b["id"]) == 12 and len(art("run", "bench", "train")["id"]) == 0, "bench sizes")
bench = s(b["benchmark"])
check(sorted(set(bench)) == ["amc23", "gsm8k", "math500"] and all(bench.count(x) == 4 for x in set(bench)), f"bench {bench}")
check(all("Please reason step by step" in x for x in s(b["prompt"])), "method template")
check(all(r != "" for r in s(b["reference"])), "bench references")
m, mt = art("run", "mtrain", "train"), art("run", "mtrain", "test")
check(len(m["id"]) == 280 and len(mt["id"]) == 20, "math_train split")
src = json.load(open(os.environ["SHARED_JSON"]))
given = [src[i]["answer"] != "null" for i in m["id"][()]]
check(list(m["has_reference"][()]) == [int(g) for g in given], "answer_field selection")
c = art("run", "custom", "train")
check(s(c["reference"]) == ["1", "\\frac{2}{1}"] and s(c["prompt"]) == ["Q: one\nA:", "Q: two\nA:"], f"custom {s(c['reference'])} {s(c['prompt'])}")
check(s(c["benchmark"]) == ["custom", "custom"] and list(c["id"][()]) == [0, 1], "custom ids")
# the second run directory: bit-identical datasets
for stage in ("toy", "bench", "mtrain", "custom"):
    for port in ("train", "test"):
        a, z = art("run", stage, port), art("run2", stage, port)
        for k in cols:
            check(list(a[k][()]) == list(z[k][()]), f"determinism {stage}.{port}/{k}")
sys.exit(bad)
PY

# bad specs: refused before anything runs (exit 2), with the parameter and the reason
expect() { # expect CODE PATTERN SPEC_BODY
  printf 'seed: 1\nstages:\n  d: %s\n' "$3" > "$T/bad.yaml"
  out=$("$PURE" run "$T/bad.yaml" --run-dir "$T/badrun" -q 2>&1); code=$?
  [ "$code" = "$1" ] || err "exit $code (want $1) for $3: $out"
  echo "$out" | grep -q -- "$2" || err "message lacks '$2' for $3: $out"
}
expect 2 "min_ops (3) must not exceed max_ops (2)" "{kind: data, min_ops: 3, max_ops: 2}"
expect 2 "template must contain {problem}" "{kind: data, template: 'no placeholder'}"
expect 2 "set data_dir" "{kind: data, sources: [math500], path: custom.jsonl}"
expect 2 "sources\[1\]: 'math501' is not a benchmark" "{kind: data, sources: [math500, math501], data_dir: $SHARED/data}"
expect 2 "set \`path\`" "{kind: data, source: math500}"
expect 2 "answer_field applies to source math_train" "{kind: data, source: math500, data_dir: $SHARED/data, reference_select: answer_field}"
expect 2 "not found" "{kind: data, source: jsonl, path: missing.jsonl}"
expect 2 "n_extra draws new toy problems; source .math500. reads a file" "{kind: data, source: math500, data_dir: $SHARED/data, n_extra: 5}"
expect 1 "distinct extra problems in none of train, test and dev (n_extra=5)" "{kind: data, max_operand: 1, min_ops: 1, max_ops: 1, n_train: 8, n_test: 0, n_extra: 5}"
expect 2 "extra_error_rate must be a probability in \[0, 1\], or -1" "{kind: data, n_train: 8, n_test: 2, n_extra: 5, extra_error_rate: -0.5}"
printf '%s\n' '{"problem": "a", "answer": "1"}' '{"problem": "b", "answer": ' > "$T/broken.jsonl"
expect 1 "broken.jsonl:2:" "{kind: data, source: jsonl, path: broken.jsonl}"
printf '%s\n' '{"problem": "a", "answer": "1"}' '{"answer": "2"}' > "$T/nofield.jsonl"
expect 1 "nofield.jsonl:2: missing field 'problem'" "{kind: data, source: jsonl, path: nofield.jsonl}"
[ $fail = 0 ] && echo "pipeline_data: all checks passed"
exit $fail
