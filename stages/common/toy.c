/* toy.c - the toy task: problem generator, demonstrations and the exact step checker (see toy.h,
 * docs/toy-task.md for the design and the hacks it leaves open on purpose). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stages/common/steps.h"
#include "stages/common/toy.h"
#include "util/sbuf.h"
#include "util/err.h"
#include "util/rng.h"

void toy_config_default(ToyConfig *c) {
    c->min_ops = 2;
    c->max_ops = 3;
    c->max_operand = 20;
    c->filler_rate = 0.2;
    c->error_rate = 0.15;
}

void toy_check_options_default(ToyCheckOptions *o) {
    o->require_progress = 0;
    o->correct_reward = 1.0f;
    o->wrong_reward = -1.0f;
    o->filler_correct = 1;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Uniform integer in [lo, hi]. */
static int draw_int(Rng *r, int lo, int hi) { return lo + (int)rng_next_below(r, (uint64_t)(hi - lo + 1)); }

void toy_problem_generate(const ToyConfig *c, uint64_t seed, uint64_t index, ToyProblem *p) {
    Rng r;
    rng_init(&r, rng_derive(seed, "toy/problem"), index);
    int max_ops = clampi(c->max_ops, 1, TOY_MAX_OPS), min_ops = clampi(c->min_ops, 1, max_ops);
    int maxv = c->max_operand < 0 ? 0 : c->max_operand;
    int n_ops = draw_int(&r, min_ops, max_ops);
    memset(p, 0, sizeof *p);
    p->n_operands = n_ops + 1;
    int cur = p->operands[0] = draw_int(&r, 0, maxv);
    /* subtractions never go below zero: negative numbers would add a sign the tiny model must learn */
    for (int i = 0; i < n_ops; i++) {
        int sub = rng_next_uniform(&r) < 0.5f;
        p->ops[i] = sub ? '-' : '+';
        p->operands[i + 1] = sub ? draw_int(&r, 0, cur < maxv ? cur : maxv) : draw_int(&r, 0, maxv);
        cur += sub ? -p->operands[i + 1] : p->operands[i + 1];
    }
    p->answer = cur;
    int off = snprintf(p->text, sizeof p->text, "%d", p->operands[0]);
    for (int i = 0; i < n_ops; i++) off += snprintf(p->text + off, sizeof p->text - (size_t)off, "%c%d", p->ops[i], p->operands[i + 1]);
    snprintf(p->text + off, sizeof p->text - (size_t)off, "=?");
}

char *toy_solution(const ToyConfig *c, const ToyProblem *p, uint64_t seed, uint64_t index) {
    Rng r;
    rng_init(&r, rng_derive(seed, "toy/solution"), index);
    int n_ops = p->n_operands - 1;
    /* filler steps go into the gaps before operation g (g = n_ops: before the answer) */
    int filler_at[TOY_MAX_OPS + 2] = {0};
    if (rng_next_uniform(&r) < (float)c->filler_rate) {
        int n_fill = draw_int(&r, 1, 2);
        for (int k = 0; k < n_fill; k++) filler_at[draw_int(&r, 0, n_ops)]++;
    }
    SBuf b = {0};
    int cur = p->operands[0];
    for (int g = 0; g <= n_ops; g++) {
        for (int k = 0; k < filler_at[g]; k++) {
            int minus = rng_next_uniform(&r) < 0.5f;
            sbuf_printf(&b, "%d%c0=%d\n\n", cur, minus ? '-' : '+', cur);
        }
        if (g == n_ops) break;
        int x = p->operands[g + 1];
        int v = p->ops[g] == '-' ? cur - x : cur + x;
        if (rng_next_uniform(&r) < (float)c->error_rate) {
            /* a plausible slip: off by 1..10, never negative; later steps continue from it */
            int d = draw_int(&r, 1, 10);
            v = (rng_next_uniform(&r) < 0.5f && v - d >= 0) ? v - d : v + d;
        }
        sbuf_printf(&b, "%d%c%d=%d\n\n", cur, p->ops[g], x, v);
        cur = v;
    }
    sbuf_printf(&b, "The answer is \\boxed{%d}.", cur);
    return sbuf_take(&b);
}

/* Parses an optionally signed decimal integer at *s (no spaces inside); advances *s. */
static int parse_int(const char **s, long *v) {
    const char *q = *s;
    int neg = 0;
    if (*q == '-') { neg = 1; q++; }
    if (!isdigit((unsigned char)*q)) return -1;
    long x = 0;
    while (isdigit((unsigned char)*q)) {
        if (x > 100000000L) return -1; /* far outside the task: not a toy number */
        x = x * 10 + (*q++ - '0');
    }
    *v = neg ? -x : x;
    *s = q;
    return 0;
}

static const char *skip_ws(const char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    return s;
}

int toy_problem_parse(const char *text, ToyProblem *p) {
    memset(p, 0, sizeof *p);
    const char *s = skip_ws(text);
    long v;
    if (*s == '-' || parse_int(&s, &v) < 0) return -1;
    p->operands[0] = (int)v;
    p->n_operands = 1;
    long cur = v;
    while (*s == '+' || *s == '-') {
        if (p->n_operands == TOY_MAX_OPS + 1) return -1;
        char op = *s++;
        if (*s == '-' || parse_int(&s, &v) < 0) return -1;
        p->ops[p->n_operands - 1] = op;
        p->operands[p->n_operands++] = (int)v;
        cur += op == '-' ? -v : v;
    }
    if (p->n_operands < 2 || s[0] != '=' || s[1] != '?') return -1;
    s = skip_ws(s + 2);
    if (*s) return -1;
    p->answer = (int)cur;
    size_t n = (size_t)(s - text);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\n' || text[n - 1] == '\t' || text[n - 1] == '\r')) n--;
    const char *t = skip_ws(text);
    n -= (size_t)(t - text);
    if (n >= sizeof p->text) return -1;
    memcpy(p->text, t, n);
    p->text[n] = 0;
    return 0;
}

/* ---- the step checker ---- */

/* One parsed arithmetic step "t0 op1 t1 ... = rhs". */
typedef struct {
    int n_terms;
    long terms[16];
    char ops[16];
    long rhs;
} ArithStep;

/* Parses a step made only of an arithmetic line (spaces allowed, a trailing '.' tolerated). */
static int parse_arith(const char *s, size_t n, ArithStep *a) {
    char buf[256];
    if (n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    const char *q = skip_ws(buf);
    long v;
    if (parse_int(&q, &v) < 0) return -1;
    a->n_terms = 1;
    a->terms[0] = v;
    for (;;) {
        q = skip_ws(q);
        if (*q != '+' && *q != '-') break;
        if (a->n_terms == 16) return -1;
        char op = *q++;
        q = skip_ws(q);
        if (parse_int(&q, &v) < 0) return -1;
        a->ops[a->n_terms - 1] = op;
        a->terms[a->n_terms++] = v;
    }
    if (a->n_terms < 2 || *q != '=') return -1;
    q = skip_ws(q + 1);
    if (parse_int(&q, &a->rhs) < 0) return -1;
    q = skip_ws(q);
    if (*q == '.') q = skip_ws(q + 1);
    return *q ? -1 : 0;
}

static long arith_value(const ArithStep *a) {
    long v = a->terms[0];
    for (int i = 1; i < a->n_terms; i++) v += a->ops[i - 1] == '-' ? -a->terms[i] : a->terms[i];
    return v;
}

/* The integer inside the last \boxed{...} of the step; 1 found and parsed, 0 no box, -1 box without an integer. */
static int parse_boxed(const char *s, size_t n, long *v) {
    const char *last = NULL;
    for (size_t i = 0; i + 7 <= n; i++)
        if (memcmp(s + i, "\\boxed{", 7) == 0) last = s + i + 7;
    if (!last) return 0;
    const char *end = s + n, *q = last;
    while (q < end && *q == ' ') q++;
    char buf[32];
    size_t k = 0;
    while (q < end && *q != '}' && k + 1 < sizeof buf) buf[k++] = *q++;
    if (q >= end || *q != '}') return -1;
    while (k > 0 && buf[k - 1] == ' ') k--;
    buf[k] = 0;
    const char *b = buf;
    if (parse_int(&b, v) < 0 || *b) return -1;
    return 1;
}

const char *toy_step_kind_name(int kind) {
    static const char *const names[TOY_STEP_KINDS] = {"progress", "filler", "slip", "off_track", "answer",
                                                      "wrong_answer", "other"};
    return kind >= 0 && kind < TOY_STEP_KINDS ? names[kind] : "?";
}

int toy_check_steps(const char *problem_text, const char *response, const ToyCheckOptions *o, float *rewards,
                    int max_steps) {
    return toy_check_steps_info(problem_text, response, o, rewards, NULL, max_steps);
}

int toy_check_steps_info(const char *problem_text, const char *response, const ToyCheckOptions *o, float *rewards,
                         ToyStepInfo *info, int max_steps) {
    ToyProblem p;
    if (toy_problem_parse(problem_text, &p) < 0) return -1;
    size_t *ends = NULL, *starts = NULL;
    int n = steps_split(response, strlen(response), &ends, &starts);
    long cur = p.operands[0]; /* progress mode: the running value as written so far */
    int next = 1;             /* progress mode: index of the next operand to apply */
    long last = p.answer;     /* plain mode: the result of the last arithmetic step (the answer if none) */
    int seen_arith = 0;
    for (int k = 0; k < n; k++) {
        const char *s = response + starts[k];
        size_t len = ends[k] - starts[k];
        int ok = 0;
        ToyStepInfo si = {TOY_STEP_OTHER, 0};
        long boxed;
        ArithStep a;
        int box = parse_boxed(s, len, &boxed);
        if (box != 0) {
            /* The answer step. Without progress the checker only asks whether the answer follows from the
               steps written before it, so a short chain of true but useless steps passes (a hack on purpose). */
            long want = o->require_progress || !seen_arith ? (long)p.answer : last;
            ok = box == 1 && boxed == want;
            si = (ToyStepInfo){ok ? TOY_STEP_ANSWER : TOY_STEP_WRONG_ANSWER, box == 1 ? boxed - want : 0};
        } else if (parse_arith(s, len, &a) == 0) {
            long value = arith_value(&a);
            int true_arith = value == a.rhs;
            if (!o->require_progress) {
                ok = true_arith;
                si = (ToyStepInfo){ok ? TOY_STEP_PROGRESS : TOY_STEP_SLIP, a.rhs - value};
                last = a.rhs;
                seen_arith = 1;
            } else {
                int all_zero = 1;
                for (int i = 1; i < a.n_terms; i++) all_zero &= a.terms[i] == 0;
                int applied = a.n_terms - 1, matches = a.terms[0] == cur && next + applied <= p.n_operands;
                for (int i = 0; matches && i < applied; i++)
                    matches = a.ops[i] == p.ops[next - 1 + i] && a.terms[i + 1] == p.operands[next + i];
                si.kind = TOY_STEP_OFF_TRACK;
                if (matches) {
                    /* a slip is scored on its own step; later steps are judged from the value written
                       (checked before filler: "5+0=5" is progress when the problem adds 0) */
                    ok = true_arith;
                    si = (ToyStepInfo){ok ? TOY_STEP_PROGRESS : TOY_STEP_SLIP, a.rhs - value};
                    next += applied;
                    cur = a.rhs;
                } else if (a.terms[0] == cur && all_zero && a.rhs == cur) {
                    ok = o->filler_correct; /* filler: true, harmless, and no progress */
                    si.kind = TOY_STEP_FILLER;
                }
            }
        }
        if (k < max_steps) {
            rewards[k] = ok ? o->correct_reward : o->wrong_reward;
            if (info) info[k] = si;
        }
    }
    free(ends);
    free(starts);
    return n;
}

/* ---- hard negatives ---- */

/* d in {-2,-1,1,2}, never making v + d negative (v >= 0). */
static int small_offset(Rng *r, int v) {
    int d = draw_int(r, 1, 2);
    return (rng_next_uniform(r) < 0.5f && v - d >= 0) ? -d : d;
}

char *toy_negative(const ToyProblem *p, int kind, uint64_t seed, uint64_t index) {
    Rng r;
    rng_init(&r, rng_derive(seed, "toy/negative"), index * TOY_NEG_KINDS + (uint64_t)kind);
    int n_ops = p->n_operands - 1;
    int at = draw_int(&r, 0, n_ops - 1);
    if (kind == TOY_NEG_SKIP) {
        /* a skip needs an operation after the skipped one that differs from it ("5+3+3" skipped once reads
           as progress) and is not a filler ("+0"): drawn among those when there are any */
        int cand[TOY_MAX_OPS], nc = 0;
        for (int g = 0; g + 1 < n_ops; g++)
            if (p->operands[g + 2] != 0 && (p->ops[g] != p->ops[g + 1] || p->operands[g + 1] != p->operands[g + 2]))
                cand[nc++] = g;
        at = nc ? cand[draw_int(&r, 0, nc - 1)] : n_ops > 1 ? draw_int(&r, 0, n_ops - 2) : -1;
    }
    /* the true running values, so a slip downwards is only drawn where the rest of the chain stays >= 0
       (the toy writes no minus signs) and the defect stays the only one */
    int val[TOY_MAX_OPS + 2], low = 1 << 30;
    val[0] = p->operands[0];
    for (int g = 0; g < n_ops; g++) val[g + 1] = p->ops[g] == '-' ? val[g] - p->operands[g + 1] : val[g] + p->operands[g + 1];
    for (int g = at + 1; at >= 0 && g <= n_ops; g++) low = val[g] < low ? val[g] : low;
    SBuf b = {0};
    int cur = p->operands[0];
    for (int g = 0; g < n_ops; g++) {
        int x = p->operands[g + 1];
        char op = p->ops[g];
        if (g == at && kind == TOY_NEG_SKIP) {
            g++; /* operation g is left out: the next one is applied to the value before it */
            x = p->operands[g + 1];
            op = p->ops[g];
        } else if (g == at && kind == TOY_NEG_OPERAND) {
            int d = small_offset(&r, x);
            x += x + d == 0 ? -d : d; /* never 0: "v+0=v" would be a harmless filler step */
        }
        int v = op == '-' ? cur - x : cur + x;
        if (g == at && kind == TOY_NEG_SMALL_SLIP) {
            v += small_offset(&r, low);
        }
        if (v < 0) v = 0; /* a skip or miscopy can pass the running value: keep the toy's no-minus rule */
        sbuf_printf(&b, "%d%c%d=%d\n\n", cur, op, x, v);
        cur = v;
    }
    if (kind == TOY_NEG_WRONG_ANSWER) cur += small_offset(&r, cur);
    sbuf_printf(&b, "The answer is \\boxed{%d}.", cur);
    return sbuf_take(&b);
}

char *toy_clean_solution(const ToyProblem *p) {
    SBuf b = {0};
    int cur = p->operands[0];
    for (int g = 0; g + 1 < p->n_operands; g++) {
        int x = p->operands[g + 1], v = p->ops[g] == '-' ? cur - x : cur + x;
        sbuf_printf(&b, "%d%c%d=%d\n\n", cur, p->ops[g], x, v);
        cur = v;
    }
    sbuf_printf(&b, "The answer is \\boxed{%d}.", cur);
    return sbuf_take(&b);
}
