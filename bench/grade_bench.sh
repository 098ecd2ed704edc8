#!/usr/bin/env bash
# grade_bench.sh - time of `pure grade` on hostile answers of 10k/20k/40k/80k repeats (issue 12: 80k repeated
# "\boxed{" took 21 s when extraction was quadratic). Linear code doubles its time with the input; quadratic
# code quadruples it. The tests check the same growth by counting steps (tests/verify/test_verify_linear.c);
# this script shows it in seconds.
# Usage: [PURE=BINARY] bench/grade_bench.sh [BUILD_DIR]   (default: build; the pure target is built there)
# Times are per line: the best of 3 runs of 10 lines, less the start-up of pure; 80k/40k is the growth for twice
# the input.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
# PURE=path/to/pure: time that binary instead (e.g. an older build, to compare)
if [ -z "${PURE:-}" ]; then cmake --build "$BUILD" --target pure >/dev/null; PURE=$BUILD/pure; fi
/usr/bin/python3 - "$PURE" <<'PY'
import json, os, subprocess, sys, time
pure = sys.argv[1]
# name: (response, reference) for n repeats
patterns = {
    "unclosed \\boxed{":  lambda n: ("\\boxed{" * n, "1"),
    "nested \\boxed{}":   lambda n: ("\\boxed{" * n + "1" + "}" * n, "1"),
    "\\boxed\\boxed...":  lambda n: ("\\boxed" * n + " 1", "1"),
    "unit suffixes":     lambda n: ("\\boxed{5}", "5" + " cm" * n),
    "unclosed \\text{":   lambda n: ("\\boxed{5}", "\\text{" * n),
    "unclosed \\frac{":   lambda n: ("\\boxed{5}", "\\frac{" * n),
    "letters and spaces": lambda n: ("\\boxed{5}", "a " * n),
    "trailing dots":     lambda n: ("\\boxed{5}", "5" + " ." * n),
    "sets of lists":     lambda n: ("\\boxed{%s}" % ("\\{1,2\\}," * n), "\\{2,1\\}," * n),
}
sizes = [10000, 20000, 40000, 80000]
RUNS = int(os.environ.get("RUNS", "3"))  # best of
REPEAT = int(os.environ.get("REPEAT", "10"))  # lines per run of pure grade: its start-up is spread over them
def run(line):
    t = time.perf_counter()
    subprocess.run([pure, "grade"], input=line.encode(), stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t
# starting pure costs more than grading a short answer: the figures below are net of it
start = min(run('{"response": "\\\\boxed{1}", "reference": "1"}\n') for _ in range(5))
print("start-up of pure grade: %.3fs (subtracted)" % start)
print("%-20s" % "pattern" + "".join("%10s" % ("%dk" % (n // 1000)) for n in sizes) + "   80k/40k")
for name, make in patterns.items():
    times = []
    for n in sizes:
        r, ref = make(n)
        line = json.dumps({"response": r, "reference": ref}) + "\n"
        times.append(max((min(run(line * REPEAT) for _ in range(RUNS)) - start) / REPEAT, 1e-4))
    print("%-20s" % name + "".join("%9.4fs" % t for t in times) + "   %.2fx" % (times[3] / times[2]))
PY
