"""toy_check_ref.py CASES.jsonl - an independent Python implementation of the toy step checker, written from
docs/toy-task.md, compared with the C checker's rewards that test_toy_check_diff wrote into CASES.jsonl.
Each line: {"problem", "response", "progress", "filler", "rewards": [+1/-1 per step]}. Exit 1 on any difference."""
import json, re, sys

def split_steps(text):
    """Steps end at a run of 2+ newlines; whitespace-only pieces join the next step; trailing whitespace joins the
    last step."""
    pieces, pos = [], 0
    for m in re.finditer(r"\n{2,}", text):
        if text[pos:m.start()].strip():
            pieces.append((pos, m.end()))
            pos = m.end()
    if text[pos:].strip():
        pieces.append((pos, len(text)))
    elif pieces:
        pieces[-1] = (pieces[-1][0], len(text))
    return [text[a:b] for a, b in pieces]

ARITH = re.compile(r"^\s*(-?\d+)((?:\s*[+-]\s*-?\d+)+)\s*=\s*(-?\d+)\s*\.?\s*$")
TERM = re.compile(r"\s*([+-])\s*(-?\d+)")

def parse_problem(text):
    m = re.fullmatch(r"\s*(\d+)((?:[+-]\d+)+)=\?\s*", text)
    ops = [(o, int(v)) for o, v in re.findall(r"([+-])(\d+)", m.group(2))]
    return int(m.group(1)), ops

def check(problem, response, progress, filler_ok):
    first, ops = parse_problem(problem)
    answer = first + sum(v if o == "+" else -v for o, v in ops)
    cur, nxt, last, seen = first, 0, answer, False
    out = []
    for step in split_steps(response):
        ok = False
        if "\\boxed{" in step:
            inner = step[step.rindex("\\boxed{") + 7:]
            box = re.match(r"\s*(-?\d+)\s*\}", inner)
            target = answer if (progress or not seen) else last
            ok = box is not None and int(box.group(1)) == target
        else:
            m = ARITH.match(step)
            if m:
                t0, rhs = int(m.group(1)), int(m.group(3))
                terms = [(o, int(v)) for o, v in TERM.findall(m.group(2))]
                true = t0 + sum(v if o == "+" else -v for o, v in terms) == rhs
                if not progress:
                    ok, last, seen = true, rhs, True
                elif t0 == cur and terms == ops[nxt:nxt + len(terms)]:
                    ok, nxt, cur = true, nxt + len(terms), rhs
                elif t0 == cur and all(v == 0 for _, v in terms) and rhs == cur:
                    ok = filler_ok
        out.append(1 if ok else -1)
    return out

bad = 0
cases = [json.loads(l) for l in open(sys.argv[1])]
for c in cases:
    want = check(c["problem"], c["response"], c["progress"], c["filler"])
    if want != c["rewards"]:
        bad += 1
        if bad <= 10:
            print("DIFF", json.dumps(c), "python:", want, file=sys.stderr)
print(f"toy_check_ref: {len(cases)} responses, {bad} differ from the C checker")
sys.exit(1 if bad or len(cases) < 1000 else 0)
