"""sympy_pairs.py SEED - answer pairs with sympy as the independent judge, for tests/verify/sympy_grade.sh.

Prints JSONL lines {"response", "reference", "want"}: random constant expressions (integers, fractions, pi,
+ - * / ^, square roots) boxed in LaTeX against their sympy value (exact LaTeX or 17 digits) and a near miss
(value + 1, or value * 1.0001); polynomials in x, y expanded vs factored (equal) and vs a perturbed factorization
(not equal); a rational function vs its partial fractions (equal)."""
import random, sympy as sp, json, sys
rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
def leaf():
    r = rng.random()
    if r < 0.6: n = rng.randint(1, 12); return str(n), sp.Integer(n)
    if r < 0.75: return "\\pi", sp.pi
    a, b = rng.randint(1, 9), rng.randint(2, 9)
    return f"\\frac{{{a}}}{{{b}}}", sp.Rational(a, b)
def expr(d):
    if d == 0 or rng.random() < 0.3: return leaf()
    k = rng.choice(["+", "-", "*", "frac", "sqrt", "pow", "paren", "neg"])
    la, va = expr(d - 1)
    if k in "+-*":
        lb, vb = expr(d - 1)
        op = {"+": "+", "-": "-", "*": "\\cdot "}[k]
        return f"({la}){op}({lb})", {"+": va + vb, "-": va - vb, "*": va * vb}[k]
    if k == "frac":
        lb, vb = expr(d - 1)
        if vb == 0: return la, va
        return f"\\frac{{{la}}}{{{lb}}}", va / vb
    if k == "sqrt":
        if va < 0: va, la = -va, f"-({la})"
        return f"\\sqrt{{{la}}}", sp.sqrt(va)
    if k == "pow":
        e = rng.randint(0, 3); return f"({la})^{{{e}}}", va ** e
    if k == "neg": return f"-({la})", -va
    return f"\\left({la}\\right)", va
out = []
for i in range(200):
    latex, v = expr(3)
    x = float(sp.N(v, 30))
    if abs(x) > 1e9: continue
    ref = sp.latex(sp.nsimplify(v)) if v.is_rational else repr(sp.N(v, 17))
    out.append({"response": f"so $\\boxed{{{latex}}}$", "reference": ref if rng.random() < 0.5 else sp.latex(v), "want": True})
    # a near miss: the value times (1 + 1e-4), or plus 1
    bad = sp.latex(v + 1) if rng.random() < 0.5 or v == 0 else repr(sp.N(v * sp.Rational(10001, 10000), 17))
    out.append({"response": f"so $\\boxed{{{latex}}}$", "reference": bad, "want": False})
for o in out: print(json.dumps(o))
# expressions in variables: sympy's expanded and factored spellings must agree, a perturbed one must not
x, y = sp.symbols("x y")
out2 = []
for i in range(80):
    f = sum(rng.randint(-5, 5) * x**rng.randint(0, 3) * y**rng.randint(0, 1) for _ in range(3))
    g = (x + rng.randint(-3, 3)) * (y + rng.randint(1, 3)) * f
    if g == 0: continue
    a, b = sp.latex(sp.expand(g)), sp.latex(sp.factor(g))
    out2.append({"response": f"\\boxed{{{a}}}", "reference": b, "want": True})
    out2.append({"response": f"\\boxed{{{a}}}", "reference": sp.latex(sp.factor(g + x)), "want": False})
    r = sp.cancel(g / (x**2 + 1))
    out2.append({"response": f"\\boxed{{{sp.latex(r)}}}", "reference": sp.latex(sp.apart(r, x)), "want": True})
for o in out2: print(json.dumps(o))
