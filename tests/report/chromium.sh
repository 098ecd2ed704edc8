#!/bin/bash
# chromium.sh PURE TEST_REPORT PYTHON OUTDIR - the HTML report in headless
# Chromium (Debian's `chromium`, scripts/install-deps.sh): a hand-made report
# (test_report) and one of two real smoke runs render without console errors
# (script errors and Content-Security-Policy violations are console errors),
# the charts in the rendered DOM carry the expected series, and a screenshot
# of each comes out in OUTDIR. A page with a script error checks that such
# errors are seen. Skipped (77) without chromium.
PURE=$1 TEST_REPORT=$2 PY=$3 OUT=$4
CHROME=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROME" ] || { echo "chromium not found: skipped (bash scripts/install-deps.sh installs it)"; exit 77; }
mkdir -p "$OUT"
source "$(dirname "$0")/lib.sh" chromium

# render PAGE NAME: DOM into $T/NAME.dom, console lines into $T/NAME.console, screenshot into $OUT/NAME.png
render() {
    local page=$1 name=$2
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$T/profile" \
        --enable-logging=stderr --v=0 --dump-dom "file://$page" > "$T/$name.dom" 2> "$T/$name.log"
    grep -a "CONSOLE" "$T/$name.log" > "$T/$name.console"
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$T/profile" \
        --hide-scrollbars --window-size=1300,2600 --screenshot="$OUT/$name.png" "file://$page" > /dev/null 2>&1
}

# check_dom NAME EXPECTED_SERIES(comma-separated) MIN_CHARTS: every chart has exactly these series, each with points
check_dom() {
    "$PY" - "$T/$1.dom" "$2" "$3" <<'PYEOF'
import sys
from html.parser import HTMLParser
dom, want, min_charts = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2].split(","), int(sys.argv[3])
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.charts = []; s.ready = None; s.cap = None
    def handle_starttag(s, tag, attrs):
        a = dict(attrs)
        if tag == "body": s.ready = a.get("data-ready")
        if tag == "figure" and "chart" in (a.get("class") or ""): s.charts.append({"title": "", "series": {}})
        if tag == "figcaption": s.cap = True
        if tag == "path" and a.get("class") == "series": s.charts[-1]["series"][a["data-series"]] = int(a["data-points"])
    def handle_data(s, d):
        if s.cap: s.charts[-1]["title"] += d
    def handle_endtag(s, tag):
        if tag == "figcaption": s.cap = None
p = P(); p.feed(dom)
total = sum(len(c["series"]) for c in p.charts)
assert p.ready == str(total), f"data-ready {p.ready} (the page script did not run?), {total} series in the DOM"
assert len(p.charts) >= min_charts, f"{len(p.charts)} charts, expected at least {min_charts}"
for c in p.charts:
    assert sorted(c["series"]) == sorted(want), f"{c['title']}: series {sorted(c['series'])}, expected {sorted(want)}"
    assert all(n > 0 for n in c["series"].values()), c
print(f"{len(p.charts)} charts, {total} series:", "; ".join(c["title"] for c in p.charts))
PYEOF
}

png_ok() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && [ "$(stat -c %s "$1")" -gt 20000 ]; }

# 0. the detector sees a script error
echo '<html><body><script>undefinedFunction();</script></body></html>' > "$T/broken.html"
render "$T/broken.html" broken
grep -q "Uncaught ReferenceError" "$T/broken.console" && ok "console errors are detected" || bad "a script error went unseen: $(cat "$T/broken.log" | tail -3)"

# 1. the hand-made report (hostile strings, two variants, monitor warnings)
"$TEST_REPORT" "$T/fixture.html" > /dev/null || bad "test_report failed"
render "$T/fixture.html" report_fixture
[ -s "$T/report_fixture.console" ] && bad "console output: $(cat "$T/report_fixture.console")" || ok "fixture report: no console errors"
check_dom report_fixture "min,<b>sum</b>" 5 && ok "fixture report: charts carry both variants" || bad "fixture report DOM"
grep -q "<script>alert" "$T/report_fixture.dom" && bad "hostile text became markup" || ok "fixture report: hostile text stays text"
png_ok "$OUT/report_fixture.png" && ok "screenshot $OUT/report_fixture.png" || bad "no screenshot"

# 2. a report of two real smoke runs (variants min and sum)
cd "$SRC"
"$PURE" run pipelines/smoke.yaml --run-dir "$T/runs/min" -q &&
    "$PURE" run pipelines/smoke.yaml --run-dir "$T/runs/sum" --set loop.stages.credit.rule=sum -q || { echo "smoke run failed"; exit 1; }
"$PURE" report "$T/runs/min" "$T/runs/sum" -o "$T/smoke.html" --title "smoke: min vs sum" || bad "pure report failed"
render "$T/smoke.html" report_smoke
[ -s "$T/report_smoke.console" ] && bad "console output: $(cat "$T/report_smoke.console")" || ok "smoke report: no console errors"
check_dom report_smoke "min,sum" 8 && ok "smoke report: charts carry both variants" || bad "smoke report DOM"
for t in "Greedy accuracy" "KL to the reference" "Clip fraction" "Process reward of the rollouts" "Repetition"; do
    grep -q "<figcaption>$t" "$T/report_smoke.dom" && ok "chart: $t" || bad "missing chart: $t"
done
png_ok "$OUT/report_smoke.png" && ok "screenshot $OUT/report_smoke.png" || bad "no screenshot"
exit $fail
