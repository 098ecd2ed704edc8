#!/bin/bash
# sweep.sh PURE PYTHON - sweeps (spec `sweep:` block, runner/sweep.c) on
# tests/report/sweep_smoke.yaml (2 credit rules x 2 seeds + a named variant):
# validation counts, sharing (stage runs common to runs have one fingerprint
# and run once), progress per run, the status grid, resume after kill -9
# equal to an uninterrupted sweep, compare/show/report on the sweep directory,
# TensorBoard per run, gc keeping every run's results, and errors in the
# sweep block named by file:line:column.
PURE=$1 PY=$2
SW=tests/report/sweep_smoke.yaml
source "$(dirname "$0")/lib.sh" sweep
cd "$SRC"

out=$("$PURE" validate $SW 2>&1)
grep -q "valid sweep of 6 runs (3 variants x 2 seeds): 126 stage runs, 88 distinct" <<<"$out" && ok "validate: $out" || bad "validate: $out"
"$PURE" status $SW --run-dir "$T/a" | grep -q "^rule=min  pending" && ok "status before: pending" || bad "status before"
out=$("$PURE" validate pipelines/study.yaml 2>&1)
grep -q "valid sweep of 8 runs (4 variants x 2 seeds)" <<<"$out" && ok "the example study: $out" || bad "pipelines/study.yaml: $out"

"$PURE" run $SW --run-dir "$T/a" > "$T/a.log" 2>&1 || { tail -5 "$T/a.log"; bad "sweep run failed"; }
grep -q "sweep run 6/6: low_lr seed 8" "$T/a.log" && ok "progress per run" || bad "no per-run progress"
grep -q "\[pure\] rule=sum seed 7: 12 of 21 stage run(s) to run" "$T/a.log" && ok "rule=sum reuses data, SFT, PRM and iteration-0 rollouts" || bad "sharing: $(grep 'rule=sum seed 7:' "$T/a.log")"
grep -q "credit\[0\] done in .*  |  rule=sum seed 7 |" "$T/a.log" && ok "done lines carry the run's label" || bad "no label in done lines"

# sharing, checked from the plan files: what must be shared is, what must differ does
"$PY" - "$T/a" <<'PYEOF' && ok "fingerprints shared exactly where the specs agree" || bad "sharing by fingerprint"
import json, os, sys
root = sys.argv[1]
sw = json.load(open(f"{root}/sweep.json"))
fp = {}
for r in sw["runs"]:
    plan = json.load(open(os.path.join(root, r["plan"])))
    fp[(r["variant"], r["seed"])] = {(i["stage"], i["iteration"]): i["fingerprint"] for i in plan["instances"]}
for seed in (7, 8):
    m, s, l = fp[("rule=min", seed)], fp[("rule=sum", seed)], fp[("low_lr", seed)]
    for st in ("data", "sft", "prm_train", "eval_sft"):
        assert m[(st, -1)] == s[(st, -1)] == l[(st, -1)], st
    assert m[("rollout", 0)] == s[("rollout", 0)] == l[("rollout", 0)]
    assert m[("credit", 0)] != s[("credit", 0)] and m[("credit", 0)] == l[("credit", 0)]
    assert m[("optimize", 0)] != l[("optimize", 0)]
    assert m[("rollout", 1)] != s[("rollout", 1)]
assert fp[("rule=min", 7)][("sft", -1)] != fp[("rule=min", 8)][("sft", -1)]
distinct = {f for run in fp.values() for f in run.values()}
stored = sum(1 for d, _, files in os.walk(f"{root}/stages") if "done.json" in files)
assert len(distinct) == 88 == stored, (len(distinct), stored)
print(len(distinct), "distinct stage runs, all committed once")
PYEOF

grid=$("$PURE" status $SW --run-dir "$T/a")
grep -q "^low_lr    done (21)  done (21)" <<<"$grid" && grep -q "88 distinct stage runs (shared ones count once), 88 done" <<<"$grid" &&
    ok "status grid" || bad "status grid: $grid"
"$PURE" status --run-dir "$T/a" | grep -q "^rule=sum  done (21)" && ok "status --run-dir of a sweep" || bad "status --run-dir"
"$PURE" run $SW --run-dir "$T/a" 2>&1 | grep -c ": 0 of 21 stage run(s) to run" | grep -q 6 && ok "rerun: nothing to do" || bad "rerun ran something"

# kill -9 in the middle, resume: the same stage runs and metrics as the uninterrupted sweep
"$PURE" run $SW --run-dir "$T/b" -q > /dev/null 2>&1 &
pid=$!
sleep 3
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
"$PURE" status $SW --run-dir "$T/b" | grep -q "pending\|/21 done" && ok "killed mid-sweep" || echo "note: the sweep finished before the kill"
"$PURE" run $SW --run-dir "$T/b" -q || bad "resume failed"
"$PY" - "$T/a" "$T/b" <<'PYEOF' && ok "resumed sweep equals the uninterrupted one" || bad "resumed sweep differs"
import json, sys
def load(root):
    m = {}
    for l in open(f"{root}/metrics.jsonl"):
        d = json.loads(l)
        m[d.pop("fingerprint")] = d
    return m
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys(), (len(a), len(b))
assert all(a[k] == b[k] for k in a), [k for k in a if a[k] != b[k]][:3]
print(len(a), "metrics lines equal")
PYEOF

# the views on a sweep directory
js=$("$PURE" compare "$T/a" --json --metrics final_eval.accuracy,optimize.lr)
"$PY" -c '
import json, sys
j = json.loads(sys.argv[1])
assert j["baseline"] == "rule=min", j["baseline"]
v = {x["name"]: x for x in j["variants"]}
assert sorted(v) == ["low_lr", "rule=min", "rule=sum"] and all(x["runs"] == 2 for x in v.values())
lr = v["low_lr"]["metrics"]["optimize.lr"]
assert abs(lr["mean"] - 1e-4) < 1e-12 and abs(lr["delta"] - (1e-4 - 1e-3)) < 1e-12, lr
' "$js" && ok "compare on the sweep directory" || bad "compare: $js"
"$PURE" show rollouts "$T/a" --variant rule=sum --seed 8 --limit 1 | grep -q "credit 'credit' (rule sum)" && ok "show --variant" || bad "show --variant"
e=$("$PURE" show rollouts "$T/a" 2>&1); [ $? = 2 ] && grep -q "is a sweep: choose a run with --variant" <<<"$e" && ok "show asks for a variant" || bad "show without --variant: $e"
"$PURE" report "$T/a" -o "$T/a.html" 2>/dev/null && grep -q 'data-series="low_lr"' "$T/a.html" && ok "report on the sweep" || bad "report on the sweep"

# TensorBoard: one folder per run
"$PURE" run $SW --run-dir "$T/a" --set tensorboard=true -q
n=$(ls "$T/a/tensorboard" | wc -l)
[ "$n" = 6 ] && [ -s "$T/a/tensorboard/rule=sum-seed8/events.out.tfevents.0.pure" ] && ok "tensorboard per run" || bad "tensorboard folders: $(ls "$T/a/tensorboard")"

# gc keeps every run's results; gc of one variant's plain spec would not
"$PURE" gc $SW --run-dir "$T/a" --dry-run | grep -q "would remove 0 artifact directories" && ok "gc keeps the sweep" || bad "gc of a sweep"

# errors in the sweep block: file:line:col and what was expected
bad_spec() { # bad_spec NAME "expected message" YAML-for-the-sweep-block
    printf 'extends: %s/pipelines/smoke.yaml\nsweep:\n%b\n' "$SRC" "$3" > "$T/$1.yaml"
    local e rc
    e=$("$PURE" validate "$T/$1.yaml" 2>&1); rc=$?
    if [ $rc = 2 ] && grep -qF -- "$2" <<<"$e"; then ok "error $1: $e"; else bad "error $1: rc $rc '$e'"; fi
}
bad_spec seeds "$T/seeds.yaml:3:10: sweep.seeds: expected a list of seeds" "  seeds: 3"
bad_spec seed_twice "$T/seed_twice.yaml:3:14: sweep.seeds: seed 1 twice" "  seeds: [1, 1]"
bad_spec key "$T/key.yaml:3:3: sweep: unknown key 'grd'" "  grd: {}"
bad_spec values "$T/values.yaml:4:30: sweep.grid.loop.stages.credit.rule: expected a non-empty list of values" \
    "  grid:\n    loop.stages.credit.rule: min"
bad_spec bad_value "sweep run 'rule=bogus': $T/bad_value.yaml:4:36: " "  grid:\n    loop.stages.credit.rule: [min, bogus]"
bad_spec baseline "sweep.baseline: no variant named 'rule=mim' (did you mean 'rule=min'?)" \
    "  grid:\n    loop.stages.credit.rule: [min, sum]\n  baseline: rule=mim"
bad_spec self "sweep: 'sweep.seeds': a sweep cannot change its own block" "  variants:\n    x: {sweep.seeds: [1]}"
# a sweep key that changes nothing is worth a warning
printf 'extends: %s/pipelines/smoke.yaml\nvars: {x: 1}\nsweep:\n  grid:\n    vars.x: [1, 2]\n' "$SRC" > "$T/noop.yaml"
"$PURE" validate "$T/noop.yaml" | grep -q "warning: runs 'x=1' and 'x=2' plan the same stage runs" && ok "no-op sweep key warned" ||
    bad "no warning for a sweep key that changes nothing"
exit $fail
