/* verify_expr.c - recursive-descent evaluation of normalized answer expressions (see verify_expr.h).
 *
 * Every operation on finite operands checks that its result is still a faithful double: an overflow to
 * infinity, a division by zero or a nonzero value lost to underflow marks the evaluation out of range
 * (10^{400} and 10^{401} would otherwise both be "infinity" and compare equal). Infinite values come only
 * from the symbol \infty. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "verifier/verify_expr.h"
#include "verifier/verify_scan.h"

typedef struct {
    const char *s;   /* cursor */
    int point;       /* which random point variables take */
    int n_vars;
    int bad;         /* 1 once the text is not an expression */
    int range;       /* 1 once a value left the range of doubles (overflow, division by zero, underflow) */
    int depth;       /* recursion guard against hostile inputs */
} Parser;

static double parse_expr(Parser *p);
static double parse_unary(Parser *p);

static int starts(const Parser *p, const char *w) { return strncmp(p->s, w, strlen(w)) == 0; }
/* Consumes the word w if it is not followed by another letter (so "\pi" does not match "\pix"). */
static int take_word(Parser *p, const char *w) {
    if (p->s[0] != w[0]) return 0; /* most tries end here: cheaper than strlen + strncmp */
    size_t k = strlen(w);
    if (strncmp(p->s, w, k) != 0 || isalpha((unsigned char)p->s[k])) return 0;
    p->s += k;
    return 1;
}
/* Spaces survive normalization only between a command and a letter ("\\sin x"). */
static void ws(Parser *p) {
    while (*p->s == ' ') p->s++, VERIFY_STEP(1);
}
static int take(Parser *p, char c) {
    ws(p);
    if (*p->s != c) return 0;
    p->s++;
    return 1;
}

/* ---- range checks: r is the result of an operation on a (and b) ---- */

/* Lost to underflow: zero or subnormal where the exact result is not zero. */
static int underflow(double r) { return r == 0 || fpclassify(r) == FP_SUBNORMAL; }

static double add_chk(Parser *p, double r, double a, double b) {
    if (isfinite(a) && isfinite(b) && isinf(r)) p->range = 1;
    return r;
}
static double mul_chk(Parser *p, double a, double b) {
    double r = a * b;
    if (isfinite(a) && isfinite(b) && (isinf(r) || (a != 0 && b != 0 && underflow(r)))) p->range = 1;
    return r;
}
static double div_chk(Parser *p, double a, double b) {
    double r = a / b;
    if (isfinite(a) && isfinite(b) && (b == 0 || isinf(r) || (a != 0 && underflow(r)))) p->range = 1;
    return r;
}
static double pow_chk(Parser *p, double r, double a, double e) {
    if (isfinite(a) && isfinite(e) && (isinf(r) || (a != 0 && !isnan(r) && underflow(r)))) p->range = 1;
    return r;
}

/* The value of a variable at a point: FNV-1a of the name and the point mapped into [0.35, 2.85),
   away from 0 and 1 where different expressions tend to agree by accident. */
static double var_value(const char *name, size_t n, int point) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)name[i]) * 1099511628211ULL;
    h = (h ^ (uint64_t)(point + 1)) * 1099511628211ULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return 0.35 + 2.5 * (double)(h >> 11) / 9007199254740992.0;
}

/* A braced group {...}; a single character or command argument when there are no braces (\frac12). */
static double parse_arg(Parser *p) {
    if (take(p, '{')) {
        double v = parse_expr(p);
        if (!take(p, '}')) p->bad = 1;
        return v;
    }
    if (isdigit((unsigned char)*p->s)) {
        double v = *p->s - '0';
        p->s++;
        return v;
    }
    return parse_unary(p);
}

static double parse_number(Parser *p) {
    const char *q = p->s;
    double v = 0;
    int any = 0;
    int nonzero = 0; /* a nonzero digit: a value of 0 then means underflow */
    while (isdigit((unsigned char)*q)) {
        VERIFY_STEP(1);
        nonzero |= *q != '0';
        v = v * 10 + (*q++ - '0');
        any = 1;
    }
    if (*q == '.' && isdigit((unsigned char)q[1])) {
        q++;
        double scale = 0.1;
        while (isdigit((unsigned char)*q)) {
            VERIFY_STEP(1);
            nonzero |= *q != '0';
            v += (*q++ - '0') * scale;
            scale *= 0.1;
            any = 1;
        }
    }
    if (!any) { p->bad = 1; return NAN; }
    if (isinf(v) || (nonzero && underflow(v))) p->range = 1; /* 400 digits, or 0.000...0001 */
    /* scientific notation 1.6e5, 3E-2 (only with digits after the e: "2e" stays 2 times e); the exponent is
       an integer, and beyond 9999 it only says "out of range" (unless the number is 0) */
    if ((*q == 'e' || *q == 'E') && (isdigit((unsigned char)q[1]) || ((q[1] == '-' || q[1] == '+') && isdigit((unsigned char)q[2])))) {
        int neg = q[1] == '-';
        q += 1 + (q[1] == '-' || q[1] == '+');
        long e = 0;
        while (isdigit((unsigned char)*q)) {
            VERIFY_STEP(1);
            if (e < 100000) e = e * 10 + (*q - '0');
            q++;
        }
        double scale = pow(10, (double)(neg ? -e : e));
        if (v != 0) v = pow_chk(p, v * scale, v, (double)e);
    }
    p->s = q;
    /* mixed number: 2\frac{1}{2} is 2.5 in the benchmarks' answers, not 2 * 1/2 */
    if (starts(p, "\\frac{") && isdigit((unsigned char)p->s[6])) {
        const char *save = p->s;
        p->s += 5;
        const char *a = p->s + 1;
        while (isdigit((unsigned char)*a)) a++;
        if (a[0] == '}' && a[1] == '{' && isdigit((unsigned char)a[2])) {
            const char *b = a + 2;
            while (isdigit((unsigned char)*b)) b++;
            if (*b == '}' && floor(v) == v && (b[1] == 0 || b[1] == ')' || b[1] == '}' || b[1] == ',')) {
                double num = parse_arg(p), den = parse_arg(p);
                return v + div_chk(p, num, den);
            }
        }
        p->s = save;
    }
    return v;
}

/* Functions of one argument, with and without a backslash. */
typedef double (*Fn1)(double);
static const struct { const char *name; Fn1 f; } functions[] = {
    {"sin", sin}, {"cos", cos}, {"tan", tan}, {"arcsin", asin}, {"arccos", acos}, {"arctan", atan},
    {"ln", log}, {"exp", exp}, {NULL, NULL}};
static const char *const greek[] = {"alpha", "beta", "gamma", "delta", "epsilon", "theta", "lambda", "mu",
                                    "phi", "omega", "sigma", "rho", "tau", "psi", "xi", "eta", "zeta", "kappa", NULL};

static double parse_primary(Parser *p) {
    VERIFY_STEP(1);
    if (++p->depth > 200) { p->bad = 1; return NAN; }
    double v = NAN;
    ws(p);
    const char *c = p->s;
    if (isdigit((unsigned char)*c) || (*c == '.' && isdigit((unsigned char)c[1]))) {
        v = parse_number(p);
    } else if (take(p, '(')) {
        v = parse_expr(p);
        if (!take(p, ')')) p->bad = 1;
    } else if (take(p, '{')) {
        v = parse_expr(p);
        if (!take(p, '}')) p->bad = 1;
    } else if (take_word(p, "\\frac") || take_word(p, "\\dfrac") || take_word(p, "\\tfrac")) {
        double a = parse_arg(p), b = parse_arg(p);
        v = div_chk(p, a, b);
    } else if (take_word(p, "\\sqrt") || take_word(p, "sqrt")) {
        double n = 2;
        if (take(p, '[')) {
            n = parse_expr(p);
            if (!take(p, ']')) p->bad = 1;
        }
        double a = parse_arg(p);
        v = (n == 3) ? cbrt(a) : pow_chk(p, pow(a, div_chk(p, 1.0, n)), a, 1.0 / n);
    } else if (take_word(p, "\\pi") || take_word(p, "pi")) {
        v = M_PI;
    } else if (take_word(p, "\\infty")) {
        v = INFINITY;
    } else if (take_word(p, "\\log") || take_word(p, "log")) {
        double base = 10;
        if (take(p, '_')) base = parse_arg(p);
        double a = parse_unary(p), la = log(a);
        if (isfinite(a) && isinf(la)) p->range = 1; /* log 0 */
        v = div_chk(p, la, log(base));
    } else {
        int done = 0;
        /* a function with or without its backslash; a Greek letter with it (the names are tried without
           building "\\name" strings: this runs for every operand) */
        int slash = *p->s == '\\';
        for (int i = 0; functions[i].name && !done; i++) {
            p->s += slash;
            if (take_word(p, functions[i].name)) {
                double a = parse_unary(p);
                v = functions[i].f(a);
                /* exp overflows and underflows; ln 0 is -infinity; the others stay in range */
                if (isfinite(a) && (isinf(v) || (functions[i].f == exp && underflow(v)))) p->range = 1;
                done = 1;
            } else {
                p->s -= slash;
            }
        }
        for (int i = 0; slash && greek[i] && !done; i++) {
            p->s++;
            if (take_word(p, greek[i])) {
                v = var_value(c, (size_t)(p->s - c), p->point); /* the name with its backslash */
                p->n_vars++;
                done = 1;
            } else {
                p->s--;
            }
        }
        if (!done && isalpha((unsigned char)*c)) {
            /* one letter, plus a subscript: x, a_1, a_{12} */
            const char *q = c + 1;
            if (*q == '_') {
                if (q[1] == '{') {
                    const char *e = strchr(q, '}');
                    VERIFY_STEP(e ? (size_t)(e - q) : strlen(q));
                    q = e ? e + 1 : q;
                } else if (isalnum((unsigned char)q[1])) {
                    q += 2;
                }
            }
            v = var_value(c, (size_t)(q - c), p->point);
            p->n_vars++;
            p->s = q;
            done = 1;
        }
        if (!done) p->bad = 1;
    }
    while (take(p, '!')) { /* factorial of a small non-negative integer */
        if (v < 0 || v > 170 || floor(v) != v) v = NAN;
        else v = tgamma(v + 1);
    }
    p->depth--;
    return v;
}

static double parse_power(Parser *p) {
    double b = parse_primary(p);
    if (take(p, '^')) {
        double e;
        if (*p->s == '{') e = parse_arg(p);
        else if (isdigit((unsigned char)*p->s)) e = parse_number(p);
        else e = parse_unary(p);
        /* odd roots of negatives: (-8)^(1/3) = -2 as a mathematician reads it (a root of degree up to 1e9) */
        if (b < 0 && floor(e) != e && fabs(1 / e) < 1e9 && fabs(1 / e - round(1 / e)) < 1e-12 &&
            ((long)round(1 / e)) % 2)
            return pow_chk(p, -pow(-b, e), b, e);
        return pow_chk(p, pow(b, e), b, e);
    }
    return b;
}

static double parse_unary(Parser *p) {
    if (++p->depth > 200) { p->bad = 1; return NAN; }
    double v;
    if (take(p, '-')) v = -parse_unary(p);
    else if (take(p, '+')) v = parse_unary(p);
    else v = parse_power(p);
    p->depth--;
    return v;
}

/* Does the text at the cursor start an operand (for implicit multiplication: 2x, 2\pi, (a)(b))? */
static int starts_operand(Parser *p) {
    ws(p);
    char c = *p->s;
    return isalnum((unsigned char)c) || c == '(' || c == '{' || (c == '\\' && isalpha((unsigned char)p->s[1])) || c == '.';
}

static double parse_term(Parser *p) {
    double v = parse_unary(p);
    while (!p->bad) {
        if (take(p, '*')) v = mul_chk(p, v, parse_unary(p));
        else if (take(p, '/')) v = div_chk(p, v, parse_unary(p));
        else if (starts_operand(p)) v = mul_chk(p, v, parse_power(p));
        else break;
    }
    return v;
}

static double parse_expr(Parser *p) {
    if (++p->depth > 200) { p->bad = 1; return NAN; }
    double v = parse_term(p);
    while (!p->bad) {
        if (take(p, '+')) { double t = parse_term(p); v = add_chk(p, v + t, v, t); }
        else if (take(p, '-')) { double t = parse_term(p); v = add_chk(p, v - t, v, t); }
        else break;
    }
    p->depth--;
    return v;
}

int expr_eval(const char *s, int point, double *v, int *n_vars) {
    Parser p = {s, point, 0, 0, 0, 0};
    if (!*s) return -1;
    double x = parse_expr(&p);
    ws(&p);
    if (p.bad || *p.s) return -1;
    *v = x;
    if (n_vars) *n_vars = p.n_vars;
    return p.range ? 1 : 0;
}
