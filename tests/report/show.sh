#!/bin/bash
# show.sh PURE PYTHON - `pure show rollouts` on a real smoke run: the step
# rewards, returns and verifiable results it prints equal the stored
# artifacts (read independently with h5py), options and errors, colour only
# when asked or on a terminal (and never with NO_COLOR).
PURE=$1 PY=$2
source "$(dirname "$0")/lib.sh" show

cd "$SRC"
"$PURE" run pipelines/smoke.yaml --run-dir "$T/run" --quiet || { echo "smoke run failed"; exit 1; }

out=$("$PURE" show rollouts "$T/run" 2>&1) && ok "show exits 0" || bad "show failed: $out"
grep -q "^iteration 1 " <<<"$out" && ok "default: last iteration" || bad "no 'iteration 1' header"
grep -q "<- min" <<<"$out" && ok "min step marked" || bad "no min marker"

# every response's step rewards, first-token return and advantage against h5py
"$PURE" show rollouts "$T/run" --iteration 0 --no-color > "$T/show0.txt"
"$PY" - "$T/run" "$T/show0.txt" <<'PYEOF' && ok "values equal the artifacts (h5py)" || bad "values differ from the artifacts"
import glob, json, re, sys, h5py, os
run, txt = sys.argv[1], open(sys.argv[2]).read()
def commit(stage, it):
    d = json.load(open(f"{run}/stages/{stage}/{it}/latest.json"))
    return f"{run}/stages/{stage}/{it}/{d['fingerprint'][:16]}", d
cdir, cdone = commit("credit", 0)
ins = cdone["identity"]["inputs"]
def producer(ref):
    fp = ref.split(":")[0]
    for p in glob.glob(f"{run}/stages/*/0/{fp[:16]}"):
        return p
ro = h5py.File(producer(ins["rollouts"]) + "/rollouts.h5")
rw = h5py.File(producer(ins["rewards"]) + "/rewards.h5")
vf = h5py.File(producer(ins["verifiable"]) + "/verifiable.h5")
ad = h5py.File(cdir + "/advantages.h5")
blocks = re.split(r"\n(?=#\d+ )", txt)[1:]
assert len(blocks) == len(ro["length"]), (len(blocks), len(ro["length"]))
so, sv = rw["step_rewards/offsets"][()], rw["step_rewards/values"][()]
to, av, rv = ad["advantages/offsets"][()], ad["advantages/values"][()], ad["returns/values"][()]
for b in blocks:
    i = int(re.match(r"#(\d+)", b).group(1))
    head = re.search(r"advantage ([-+]\d+\.\d+)  return ([-+]\d+\.\d+)", b)
    assert abs(float(head.group(1)) - av[to[i]]) < 1e-4 and abs(float(head.group(2)) - rv[to[i]]) < 1e-4, b
    prm = [float(x) for x in re.findall(r"step \d+ +prm ([-+]\d+\.\d+)", b)]
    want = sv[so[i]:so[i + 1]]
    assert len(prm) == len(want) and all(abs(a - c) < 1e-4 for a, c in zip(prm, want)), (prm, want)
    m = min(range(len(want)), key=lambda k: (want[k], k))
    lines = [l for l in b.splitlines() if re.match(r"  step ", l)]
    assert "<- min" in lines[m] and sum("<- min" in l for l in lines) == 1, b
    word = "correct" if vf["correct"][i] else "wrong"
    assert f"verify:  {word}" in b or not vf["has_reward"][i], b
print("checked", len(blocks), "responses")
PYEOF

n=$("$PURE" show rollouts "$T/run" --sort length --limit 2 | grep -c "^#")
[ "$n" = 2 ] && ok "--limit 2" || bad "--limit 2 showed $n"
"$PURE" show rollouts "$T/run" --filter wrong > /dev/null && ok "--filter wrong" || bad "--filter wrong failed"
"$PURE" show rollouts "$T/run" --filter flagged --sort advantage > /dev/null && ok "--filter flagged" || bad "--filter flagged"

expect_err() { # expect_err "what" "message part" args...
    local what=$1 msg=$2; shift 2
    local e rc
    e=$("$PURE" show "$@" 2>&1 >/dev/null); rc=$?
    if [ $rc = 2 ] && grep -qF -- "$msg" <<<"$e"; then ok "$what"; else bad "$what: rc $rc, '$e'"; fi
}
expect_err "missing iteration" "no committed credit stage run in iteration 7 (iterations with one: 0-1)" rollouts "$T/run" --iteration 7
expect_err "missing stage" "no committed credit stage 'nope'" rollouts "$T/run" --stage nope
expect_err "no run directory" "no such run directory" rollouts "$T/none"
expect_err "bad sort" "expected one of none|advantage|reward|length, got 'size'" rollouts "$T/run" --sort size
expect_err "bad view" "unknown view 'metrics'" metrics "$T/run"
expect_err "bad limit" "--limit wants a number >= 1" rollouts "$T/run" --limit 0
rm "$T"/run/stages/credit/0/*/advantages.h5
expect_err "missing artifact" "advantages.h5 is missing" rollouts "$T/run" --iteration 0

# pure compare's front end on the same run
"$PURE" compare "$T/run" --csv -o "$T/c.csv" && head -1 "$T/c.csv" | grep -q "^variant,runs,metric,n,mean,sd,delta$" &&
    grep -q "^run,1,final_eval.accuracy,1," "$T/c.csv" && ok "compare --csv -o" || bad "compare --csv -o: $(cat "$T/c.csv")"
e=$("$PURE" compare "$T/run" --json --csv 2>&1); [ $? = 2 ] && grep -q "exclude each other" <<<"$e" && ok "compare --json --csv refused" || bad "compare --json --csv: $e"
e=$("$PURE" compare 2>&1); [ $? = 2 ] && grep -q "no run directories given" <<<"$e" && ok "compare without runs" || bad "compare without runs: $e"
e=$("$PURE" compare "$T/run" --metrics final_eval.nope 2>&1); [ $? = 2 ] && grep -q "metric 'final_eval.nope': no run has it" <<<"$e" && ok "compare unknown metric" || bad "compare unknown metric: $e"
e=$("$PURE" report "$T/run" 2>&1); [ $? = 2 ] && grep -q "missing -o REPORT.html" <<<"$e" && ok "report without -o" || bad "report without -o: $e"
"$PURE" report "$T/run" -o "$T/r.html" 2>/dev/null && grep -q "advantages.h5 is missing" "$T/r.html" &&
    ok "report: an iteration with a missing artifact says so, the rest renders" || bad "report with a missing artifact"
e=$("$PURE" report "$T/run" -o "$T/no/such/dir/r.html" 2>&1); [ $? = 1 ] && grep -q "r.html" <<<"$e" && ok "report to an unwritable path: $e" || bad "report unwritable: $e"

# colour: off in a pipe, on with --color, on a terminal unless NO_COLOR is set
"$PURE" show rollouts "$T/run" | grep -q $'\033' && bad "colour in a pipe" || ok "no colour in a pipe"
"$PURE" show rollouts "$T/run" --color | grep -q $'\033\[1;33m' && ok "--color" || bad "--color gave no colour"
if command -v script > /dev/null; then
    script -qec "'$PURE' show rollouts '$T/run'" /dev/null | grep -q $'\033\[1;33m' && ok "colour on a tty" || bad "no colour on a tty"
    NO_COLOR=1 script -qec "'$PURE' show rollouts '$T/run'" /dev/null | grep -q $'\033\[' && bad "colour with NO_COLOR" || ok "NO_COLOR respected"
fi
exit $fail
