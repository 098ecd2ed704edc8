"""grade_compat.py - `pure grade` against Hugging Face math-verify on the benchmark answers.

For every reference answer of the shared benchmarks (MATH-500, Minerva, OlympiadBench,
AIME 24, AMC 23, GSM8K) the response is the reference itself in a sentence, and rewrites of
it: equivalent spellings (\\dfrac, spaces, `x = ` in front, an integer as 12.0, a terminating
fraction as a decimal, a decimal as a fraction) and near misses (an integer + 1, a numerator
+ 1). Both graders judge every pair: pure through `pure grade`, math-verify as
verify(parse("$reference$"), parse(response)).

Every disagreement is printed. The judged ones are listed in grade_disagreements.tsv (the
pair, both verdicts, and who is right; docs/verifier.md discusses them): the test fails on a
disagreement that is not in that list, so a change in either grader is seen and judged.
Listed pairs that no longer disagree are printed as stale.

Usage: grade_compat.py PURE_BIN SHARED_DIR [--write-list]
"""
import csv
import glob
import json
import multiprocessing
import os
import re
import subprocess
import sys
from fractions import Fraction

import math_verify
from math_verify import parse, verify

from compat_util import Failures

LIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grade_disagreements.tsv")


def last_boxed(s):
    i = s.rfind("\\boxed{")
    if i < 0:
        return None
    j, depth = i + len("\\boxed{"), 1
    for k in range(j, len(s)):
        depth += {"{": 1, "}": -1}.get(s[k], 0)
        if depth == 0:
            return s[j:k]
    return None


def references(shared):
    refs = []
    for f in sorted(glob.glob(os.path.join(shared, "data/benchmarks/*/test.jsonl"))):
        bench = os.path.basename(os.path.dirname(f))
        for line in open(f, encoding="utf-8"):
            if not line.strip():
                continue
            r = json.loads(line)
            if bench == "gsm8k":
                a = r["answer"].split("####")[-1].strip().replace(",", "")
            elif bench == "minerva_math":
                a = last_boxed(r["solution"])
            elif bench == "olympiadbench":
                fa = r["final_answer"]
                a = ", ".join(fa) if isinstance(fa, list) else fa
            else:
                a = r["answer"]
            if a is not None and str(a).strip():
                refs.append((bench, str(a).strip()))
    return refs


INT = re.compile(r"^-?\d+$")
DEC = re.compile(r"^-?\d+\.\d+$")
FRAC = re.compile(r"^(-?)\\frac\{(\d+)\}\{(\d+)\}$")


TUPLE = re.compile(r"^\\left\((.*)\\right\)$|^\((.*)\)$")
SQRT = re.compile(r"\\sqrt\{(\d)\}")


def top_level_items(ref):
    """The comma-separated items of a bare list (no brackets around it), else None."""
    if ref[:1] in "([{\\" or ref.startswith("\\{"):
        return None
    items, depth, cur = [], 0, ""
    for ch in ref:
        depth += {"{": 1, "(": 1, "[": 1, "}": -1, ")": -1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append(cur.strip())
            cur = ""
        else:
            cur += ch
    items.append(cur.strip())
    return items if len(items) > 1 and all(items) and not any(INT.match(i) and len(i) == 3 for i in items[1:]) else None


def rewrites(ref):
    """(response, verdict by construction): True equivalent, False a near miss, None a matter of convention."""
    out = [("The answer is $\\boxed{%s}$." % ref, True)]
    if "\\frac" in ref:
        out.append(("So \\boxed{%s}" % ref.replace("\\frac", "\\dfrac"), True))
    out.append(("\\boxed{ %s }" % ref, True))
    if SQRT.search(ref):
        out.append(("\\boxed{%s}" % SQRT.sub(r"\\sqrt\1", ref), True))
    m = TUPLE.match(ref)
    if m and "\\left" not in ref:
        out.append(("\\boxed{\\left(%s\\right)}" % m.group(2), True))
    items = top_level_items(ref)
    if items:
        out.append(("\\boxed{%s}" % ", ".join(reversed(items)), None))  # order of a list of answers
    if INT.match(ref):
        n = int(ref)
        out += [("\\boxed{%d.0}" % n, True), ("\\boxed{x = %d}" % n, True), ("\\boxed{%d}" % (n + 1), False),
                ("\\boxed{%d^\\circ}" % n, None), ("\\boxed{%d\\%%}" % n, None), ("\\boxed{%d \\text{ cm}}" % n, None)]
        if abs(n) >= 1000:
            out.append(("\\boxed{%s}" % format(n, ","), True))
        if n and n % 100 == 0:
            k = len(str(abs(n))) - len(str(abs(n)).rstrip("0"))
            out.append(("\\boxed{%d\\times 10^{%d}}" % (n // 10 ** k, k), True))
    elif DEC.match(ref):
        q = Fraction(ref)
        out += [("\\boxed{\\frac{%d}{%d}}" % (q.numerator, q.denominator), True),
                ("\\boxed{%s}" % (ref + "1"), False)]
    m = FRAC.match(ref)
    if m:
        sign, a, b = m.group(1), int(m.group(2)), int(m.group(3))
        if b:
            q = Fraction(a, b)
            d = q.denominator
            while d % 2 == 0:
                d //= 2
            while d % 5 == 0:
                d //= 5
            if d == 1:
                out.append(("\\boxed{%s%s}" % (sign, repr(float(q))), True))  # exact: a terminating fraction
            out.append(("\\boxed{%s%s}" % (sign, format(float(q), ".4g")), None))  # rounded to 4 digits
            out += [("\\boxed{%s%d/%d}" % (sign, a, b), True), ("\\boxed{%s\\frac{%d}{%d}}" % (sign, a + 1, b), False)]
    return out


def pure_grades(pure, pairs):
    inp = "".join(json.dumps({"response": r, "reference": ref}) + "\n" for ref, r in pairs)
    p = subprocess.run([pure, "grade"], input=inp, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("pure grade: " + p.stderr)
    return [json.loads(l)["correct"] for l in p.stdout.splitlines() if l.strip()]


GOLD = {}


def mv_grade(ref, resp):
    try:
        if ref not in GOLD:
            GOLD[ref] = parse("$" + ref + "$")
        return bool(verify(GOLD[ref], parse(resp)))
    except Exception:
        return False


def main():
    pure, shared = sys.argv[1], sys.argv[2]
    write = "--write-list" in sys.argv
    fl = Failures("grade_compat")
    print("math-verify %s" % getattr(math_verify, "__version__", "?"))
    refs = references(shared)
    fl.check(len(refs) > 2500, "only %d benchmark references found" % len(refs))
    pairs, meta = [], []
    for bench, ref in refs:
        for resp, eq in rewrites(ref):
            pairs.append((ref, resp))
            meta.append((bench, eq))
    ours = pure_grades(pure, pairs)
    fl.check(len(ours) == len(pairs), "pure grade answered %d of %d pairs" % (len(ours), len(pairs)))
    # math-verify takes ~10 ms a pair: two worker processes (its timeouts use signals, so processes, not threads)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        theirs = pool.starmap(mv_grade, pairs, chunksize=256)
    known = {}
    if os.path.exists(LIST):
        with open(LIST, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                known[(row["reference"], row["response"])] = row
    dis = [(i, pairs[i]) for i in range(len(pairs)) if ours[i] != theirs[i]]
    new = [(i, p) for i, p in dis if p not in known or known[p]["pure"] != str(ours[i]).lower()]
    stale = set(known) - {p for _, p in dis}
    agree = len(pairs) - len(dis)
    print("%d pairs from %d references: agree on %d (%.2f%%), disagree on %d (%d judged in %s, %d new)" % (
        len(pairs), len(refs), agree, 100.0 * agree / len(pairs), len(dis), len(dis) - len(new),
        os.path.basename(LIST), len(new)))
    for i, (ref, resp) in new:
        print("NEW DISAGREEMENT [%s] reference %r response %r: pure %s, math-verify %s (by construction: %s)" % (
            meta[i][0], ref, resp, ours[i], theirs[i], meta[i][1]))
    for p in sorted(stale):
        print("stale (no longer disagree): %r" % (p,))
    wrong_by_construction = [i for i in range(len(pairs)) if meta[i][1] is False and ours[i]]
    for i in wrong_by_construction:
        print("pure accepts a near miss: %r vs %r" % pairs[i])
    fl.check(not wrong_by_construction, "pure accepts %d near misses" % len(wrong_by_construction))
    if write:
        with open(LIST, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, delimiter="\t", lineterminator="\n")
            w.writerow(["benchmark", "reference", "response", "pure", "math_verify", "right", "why"])
            for i, (ref, resp) in dis:
                old = known.get((ref, resp), {})
                w.writerow([meta[i][0], ref, resp, str(ours[i]).lower(), str(theirs[i]).lower(),
                            old.get("right", "?"), old.get("why", "")])
        print("wrote %s" % LIST)
    fl.check(not new, "%d disagreements with math-verify are not judged in %s" % (len(new), LIST))
    unjudged = [k for k, row in known.items() if row.get("right", "?") in ("", "?")]
    fl.check(not unjudged, "%d rows of %s have no judgement (column right)" % (len(unjudged), LIST))
    fl.done()


if __name__ == "__main__":
    main()
