/* verify_equal.c - mathematical equivalence of two answers: structure (lists, tuples, intervals, sets,
 * unions, equations), then numbers and expressions through verify_expr.c (docs/verifier.md).
 *
 * Symmetric by construction: every rule treats both sides alike, unordered lists are matched through the
 * whole table of item comparisons (not greedily in one side's order), and the work budget is charged the same
 * in both orders. The budget (proportional to the answers' length) bounds nested lists of lists, which
 * compare every item with every item at each level. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "verifier/verify.h"
#include "verifier/verify_expr.h"
#include "verifier/verify_scan.h"
#include "util/err.h"

#define MAX_ITEMS 64

/* One comparison: its options and its budget. */
typedef struct {
    int percent;              /* either side had a % sign: x = y/100 also counts */
    unsigned long long budget; /* bytes of sub-answers left to compare; when spent, nothing more is equal */
    int spent;
} Cmp;

/* A view of a normalized answer as a bracketed or bare list of items (pointers into a private copy). */
typedef struct {
    char *buf;
    int n;
    char *items[MAX_ITEMS];
    char open, close; /* '(' '[' '{' (for \{) or 0 for a bare list; ')' ']' '}' or 0 */
} List;

/* Matching close of the bracket at s (any of ( [ { and \{ \}); intervals may mix ( with ], so any closer
   at depth 0 counts. Returns the index of the closer, or -1. */
static long match_close(const char *s, long n, long at) {
    int depth = 0;
    for (long i = at; i < n; i++) {
        VERIFY_STEP(1);
        if (s[i] == '\\' && (s[i + 1] == '{' || s[i + 1] == '}')) {
            depth += s[i + 1] == '{' ? 1 : -1;
            i++;
            if (depth == 0) return i - 1;
            continue;
        }
        if (s[i] == '(' || s[i] == '[' || s[i] == '{') depth++;
        else if (s[i] == ')' || s[i] == ']' || s[i] == '}') {
            if (--depth == 0) return i;
        }
    }
    return -1;
}

/* Splits s at top-level occurrences of sep (a string such as "," or "\cup"); returns the count. */
static int split_top(char *s, const char *sep, char **items, int max) {
    size_t k = strlen(sep);
    int n = 0, depth = 0;
    items[n++] = s;
    for (char *p = s; *p; p++) {
        VERIFY_STEP(1);
        if (*p == '\\' && (p[1] == '{' || p[1] == '}')) {
            depth += p[1] == '{' ? 1 : -1;
            p++;
            continue;
        }
        if (*p == '(' || *p == '[' || *p == '{') depth++;
        else if (*p == ')' || *p == ']' || *p == '}') depth--;
        else if (depth == 0 && strncmp(p, sep, k) == 0 && n < max) {
            *p = 0;
            p += k - 1;
            items[n++] = p + 1;
        }
    }
    return n;
}

static void list_parse(const char *norm, List *l) {
    memset(l, 0, sizeof *l);
    long n = (long)strlen(norm);
    VERIFY_STEP(n);
    l->buf = xstrdup(norm);
    char *s = l->buf;
    int esc = n >= 4 && s[0] == '\\' && s[1] == '{';
    if (n >= 2 && (s[0] == '(' || s[0] == '[' || esc) && match_close(s, n, 0) == n - (esc ? 2 : 1) &&
        (esc ? s[n - 2] == '\\' && s[n - 1] == '}' : (s[n - 1] == ')' || s[n - 1] == ']'))) {
        l->open = esc ? '{' : s[0];
        l->close = esc ? '}' : s[n - 1];
        s[n - (esc ? 2 : 1)] = 0;
        s += esc ? 2 : 1;
    }
    l->n = split_top(s, ",", l->items, MAX_ITEMS);
}

static int equal_norm(const char *a, const char *b, Cmp *c, int depth);

/* Augmenting path for Kuhn's matching: can item i of a take a partner in the table eq (n x n)? */
static int augment(const unsigned char *eq, int n, int i, int *partner_of_b, unsigned char *seen) {
    for (int j = 0; j < n; j++) {
        if (!eq[i * n + j] || seen[j]) continue;
        seen[j] = 1;
        if (partner_of_b[j] < 0 || augment(eq, n, partner_of_b[j], partner_of_b, seen)) {
            partner_of_b[j] = i;
            return 1;
        }
    }
    return 0;
}

/* Every item of a matched to a distinct item of b. The whole table of comparisons is filled first (so the
   verdict and the work do not depend on which side comes first), then a perfect matching is sought. */
static int match_unordered(char **a, char **b, int n, Cmp *c, int depth) {
    unsigned char eq[MAX_ITEMS * MAX_ITEMS], seen[MAX_ITEMS];
    int partner_of_b[MAX_ITEMS];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) eq[i * n + j] = (unsigned char)equal_norm(a[i], b[j], c, depth + 1);
    for (int j = 0; j < n; j++) partner_of_b[j] = -1;
    for (int i = 0; i < n; i++) {
        memset(seen, 0, sizeof seen);
        if (!augment(eq, n, i, partner_of_b, seen)) return 0;
    }
    return 1;
}

/* "x=5" -> "5", "x\in[1,2]" -> "[1,2]" when the left side is one variable. */
static const char *strip_var_prefix(const char *s) {
    const char *p = s;
    if (isalpha((unsigned char)*p)) {
        p++;
        if (*p == '_' && isalnum((unsigned char)p[1])) p += 2;
        /* a function's name and arguments: f(x)=2x+1, g(a,b)=... */
        if (*p == '(') {
            const char *q = p + 1;
            while (isalpha((unsigned char)*q) || *q == ',') q++, VERIFY_STEP(1);
            if (*q == ')' && q > p + 1) p = q + 1;
        }
    } else if (*p == '\\') {
        static const char *const greek[] = {"\\theta", "\\alpha", "\\beta", "\\lambda", "\\phi", "\\omega", NULL};
        int g = 0;
        for (int i = 0; greek[i] && !g; i++)
            if (strncmp(p, greek[i], strlen(greek[i])) == 0) { p += strlen(greek[i]); g = 1; }
        if (!g) return s;
    } else {
        return s;
    }
    VERIFY_STEP(strlen(p)); /* the strchr below */
    if (*p == '=' && p[1] && !strchr(p + 1, '=')) return p + 1;
    if (strncmp(p, "\\in", 3) == 0 && !isalpha((unsigned char)p[3]) && p[3]) return p + 3;
    return s;
}

/* s with its one "\\pm" at pm written out as the bare list "s[+],s[-]" (malloc'd). */
static char *expand_pm(const char *s, const char *pm) {
    size_t pre = (size_t)(pm - s), post = strlen(pm + 3), n = 2 * (pre + 1 + post) + 2;
    VERIFY_STEP(n);
    char *out = xmalloc(n);
    snprintf(out, n, "%.*s+%s,%.*s-%s", (int)pre, s, pm + 3, (int)pre, s, pm + 3);
    return out;
}

/* Integers exactly; other numbers to a relative 1e-8 (a 9-digit decimal of 1/3 passes, 3.14 for pi does not);
   against zero, an absolute 1e-12. Infinities here are the symbol \infty (the evaluator reports overflow and
   division by zero as out of range, never as a value). */
static int numbers_equal(double x, double y) {
    if (isinf(x) || isinf(y)) return x == y;
    if (x == floor(x) && y == floor(y) && fabs(x) < 9e15 && fabs(y) < 9e15) return x == y;
    if (x == 0 || y == 0) return fabs(x - y) < 1e-12; /* sin(pi) is 1e-16, not a tiny answer */
    return fabs(x - y) <= 1e-8 * fmax(fabs(x), fabs(y));
}

/* Numeric comparison through the evaluator; with variables, at several points. -1: cannot say. A point where
   either side leaves the range of doubles (10^{400}, 1/0, an underflow) says nothing, like one outside a
   domain: 10^{400} and 10^{401} are not the same infinity. */
static int equal_expr(const char *a, const char *b, int percent) {
    int good = 0;
    for (int pt = 0; pt < 6; pt++) {
        double x = NAN, y = NAN;
        int va = 0, vb = 0;
        int ra = expr_eval(a, pt, &x, &va);
        if (ra < 0) return -1;
        int rb = expr_eval(b, pt, &y, &vb);
        if (rb < 0) return -1;
        int constants = va == 0 && vb == 0; /* one point says it all */
        if (ra > 0 || rb > 0 || (isnan(x) && isnan(y))) { /* outside the range or both domains here */
            if (constants) return 0;
            continue;
        }
        if (isnan(x) || isnan(y)) return 0;
        int eq = numbers_equal(x, y) || (percent && (numbers_equal(x, y / 100) || numbers_equal(x / 100, y)));
        if (!eq) return 0;
        good++;
        if (constants) return 1;
    }
    return good >= 3;
}

/* A word such as "Monday" or "even" (3 letters or more: "ab" is a product of variables). */
static int all_alpha(const char *s) {
    VERIFY_STEP(strlen(s));
    if (strlen(s) < 3) return 0;
    for (; *s; s++)
        if (!isalpha((unsigned char)*s) && *s != ' ') return 0;
    return 1;
}

static int equal_norm(const char *a, const char *b, Cmp *c, int depth) {
    if (depth > 8) return 0;
    size_t na = strlen(a), nb = strlen(b);
    VERIFY_STEP(na + nb);
    if (strcmp(a, b) == 0) return 1;
    /* the same charge whichever side is a: the verdict stays symmetric when the budget runs out */
    if (c->spent || na + nb + 1 > c->budget) {
        c->spent = 1;
        return 0;
    }
    c->budget -= na + nb + 1;
    if (!*a || !*b) return 0;
    a = strip_var_prefix(a);
    b = strip_var_prefix(b);
    if (strcmp(a, b) == 0) return 1;
    if (all_alpha(a) && all_alpha(b)) return strcasecmp(a, b) == 0;

    /* unions of intervals or sets: the same pieces in any order */
    VERIFY_STEP(4 * (na + nb)); /* the strstr and strchr below */
    if (strstr(a, "\\cup") || strstr(b, "\\cup")) {
        char *ca = xstrdup(a), *cb = xstrdup(b), *ia[MAX_ITEMS], *ib[MAX_ITEMS];
        int ka = split_top(ca, "\\cup", ia, MAX_ITEMS), kb = split_top(cb, "\\cup", ib, MAX_ITEMS);
        int eq = ka > 1 && ka == kb && match_unordered(ia, ib, ka, c, depth);
        free(ca);
        free(cb);
        if (ka > 1 || kb > 1) return eq;
    }

    /* "a\pm b" is the list "a+b,a-b" */
    const char *pm_a = strstr(a, "\\pm"), *pm_b = strstr(b, "\\pm");
    if ((pm_a && !strstr(pm_a + 3, "\\pm")) || (pm_b && !strstr(pm_b + 3, "\\pm"))) {
        char *xa = pm_a ? expand_pm(a, pm_a) : xstrdup(a), *xb = pm_b ? expand_pm(b, pm_b) : xstrdup(b);
        int r = equal_norm(xa, xb, c, depth + 1);
        free(xa);
        free(xb);
        return r;
    }

    /* tuples, intervals, sets and bare lists */
    List la, lb;
    list_parse(a, &la);
    list_parse(b, &lb);
    int eq = -1;
    if (la.n > 1 || lb.n > 1 || la.open == '{' || lb.open == '{') {
        int unordered_a = la.open == '{' || la.open == 0, unordered_b = lb.open == '{' || lb.open == 0;
        if (la.n != lb.n) eq = 0;
        else if (unordered_a && unordered_b) eq = match_unordered(la.items, lb.items, la.n, c, depth);
        else if (la.open != lb.open || la.close != lb.close) eq = 0;
        else {
            eq = 1;
            for (int i = 0; i < la.n && eq; i++) eq = equal_norm(la.items[i], lb.items[i], c, depth + 1);
        }
    }
    free(la.buf);
    free(lb.buf);
    if (eq >= 0) return eq;

    /* equations and inequalities: side by side */
    const char *ea = strchr(a, '='), *eb = strchr(b, '=');
    if (ea && eb && !strchr(ea + 1, '=') && !strchr(eb + 1, '=')) {
        char *la_ = xstrdup(a), *lb_ = xstrdup(b);
        la_[ea - a] = 0;
        lb_[eb - b] = 0;
        int r = equal_norm(la_, lb_, c, depth + 1) && equal_norm(ea + 1, eb + 1, c, depth + 1);
        free(la_);
        free(lb_);
        return r;
    }
    if (ea || eb) return 0;
    return equal_expr(a, b, c->percent) == 1;
}

int verify_equal(const char *answer, const char *reference) {
    if (!answer || !reference) return 0;
    char *a = verify_normalize(answer), *b = verify_normalize(reference);
    size_t n = strlen(a) + strlen(b);
    /* room for every item against every item of a 64-item list, and for short answers */
    Cmp c = {strchr(answer, '%') || strchr(reference, '%'), 64ull * n + (1ull << 16), 0};
    int r = equal_norm(a, b, &c, 0);
    if (c.spent) r = 0; /* too much to compare: not equal (identical spellings were equal before any charge) */
    free(a);
    free(b);
    return r;
}

int verify_equal_n(const char *answer, size_t answer_len, const char *reference, size_t reference_len) {
    if (!answer || !reference) return 0;
    VERIFY_STEP(answer_len + reference_len);
    /* a NUL byte is an ordinary character, but no LaTeX: such an answer equals only the same bytes */
    if (memchr(answer, 0, answer_len) || memchr(reference, 0, reference_len))
        return answer_len == reference_len && memcmp(answer, reference, answer_len) == 0;
    /* C strings for the rest (the bytes need not be NUL-terminated) */
    char *a = xmalloc(answer_len + 1), *b = xmalloc(reference_len + 1);
    memcpy(a, answer, answer_len);
    memcpy(b, reference, reference_len);
    a[answer_len] = b[reference_len] = 0;
    int r = verify_equal(a, b);
    free(a);
    free(b);
    return r;
}

int verify_grade_n(const char *response, size_t response_len, const char *reference, size_t reference_len,
                   char **extracted, size_t *extracted_len) {
    size_t n = 0;
    char *x = verify_extract_n(response, response_len, &n);
    int r = x && reference && reference_len && verify_equal_n(x, n, reference, reference_len);
    if (extracted_len) *extracted_len = n;
    if (extracted) *extracted = x;
    else free(x);
    return r;
}

int verify_grade(const char *response, const char *reference, char **extracted) {
    return verify_grade_n(response, response ? strlen(response) : 0, reference, reference ? strlen(reference) : 0,
                          extracted, NULL);
}
