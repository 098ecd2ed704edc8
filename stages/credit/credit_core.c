/* credit_core.c - what every credit rule shares: the table lookup,
 * validation, the returns (a rule's process part plus the verifiable reward
 * and KL, summed backwards), the baseline of the configured row, whitening
 * and metrics (the formulas are in credit.h; each rule is in its own file). */
#include "credit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHITEN_EPS 1e-8

void credit_config_init(CreditConfig *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->rule = &credit_rules[0];
    cfg->temperature = 0.1;
    cfg->gamma = 1.0;
    cfg->baseline = &credit_baselines[0];
    cfg->prm_coef = 1.0;
    cfg->vr_coef = 1.0;
}

/* ---- the tables ---- */

static const char *row_name(const void *rows, size_t stride, int i) {
    const char *name;
    memcpy(&name, (const char *)rows + (size_t)i * stride, sizeof name); /* every row begins with its name */
    return name;
}

const char *credit_table_names(const void *rows, size_t stride, const char *sep, int (*skip)(const void *row),
                               char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    const char *name;
    for (int i = 0; (name = row_name(rows, stride, i)) && len < cap; i++)
        if (!skip || !skip((const char *)rows + (size_t)i * stride))
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? sep : "", name);
    return buf;
}

const void *credit_table_find(const void *rows, size_t stride, const char *what, const char *name, PureErr *err) {
    const char *n;
    for (int i = 0; (n = row_name(rows, stride, i)); i++)
        if (!strcmp(n, name)) return (const char *)rows + (size_t)i * stride;
    if (err) {
        char names[512];
        err_set(err, "unknown %s '%s' (expected one of %s)", what, name,
                credit_table_names(rows, stride, "|", NULL, names, sizeof names));
    }
    return NULL;
}

/* ---- groups ---- */

typedef struct { int64_t group, index; } GroupKey;

static int cmp_key(const void *a, const void *b) {
    const GroupKey *x = a, *y = b;
    if (x->group != y->group) return x->group < y->group ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int64_t credit_group_order(const CreditBatch *b, int64_t **order, int64_t **starts) {
    GroupKey *k = xmalloc((size_t)b->n * sizeof *k);
    for (int64_t i = 0; i < b->n; i++) k[i] = (GroupKey){b->group[i], i};
    qsort(k, (size_t)b->n, sizeof *k, cmp_key);
    *order = xmalloc((size_t)(b->n ? b->n : 1) * sizeof **order);
    *starts = xmalloc((size_t)(b->n + 1) * sizeof **starts);
    int64_t ng = 0;
    for (int64_t i = 0; i < b->n; i++) {
        (*order)[i] = k[i].index;
        if (i == 0 || k[i].group != k[i - 1].group) (*starts)[ng++] = i;
    }
    (*starts)[ng] = b->n;
    free(k);
    return ng;
}

/* ---- validation ---- */

static const char *nonfinite_name(double v) { return isnan(v) ? "NaN" : "infinite"; }


static int validate_response(const CreditBatch *b, const CreditConfig *cfg, int64_t i, int64_t tok0, PureErr *err) {
    int32_t L = b->length[i];
    if (L < 0) return err_set(err, "response %lld: length %d is negative", (long long)i, L);
    if (cfg->max_length > 0 && L > cfg->max_length)
        return err_set(err, "response %lld: length %d exceeds max_length %lld", (long long)i, L,
                       (long long)cfg->max_length);
    int64_t s0 = b->step_off[i], s1 = b->step_off[i + 1];
    if (s1 < s0) return err_set(err, "response %lld: step offsets decrease (%lld then %lld)", (long long)i,
                                (long long)s0, (long long)s1);
    for (int64_t k = s0; k < s1; k++) {
        long long j = (long long)(k - s0);
        int32_t e = b->step_ends[k];
        if (e < 0 || e >= L)
            return err_set(err, "response %lld step %lld: step end %d is outside the response (length %d)",
                           (long long)i, j, e, L);
        if (k > s0 && e <= b->step_ends[k - 1])
            return err_set(err, "response %lld step %lld: step end %d is not after the previous step end %d",
                           (long long)i, j, e, b->step_ends[k - 1]);
        if (b->step_rewards && !isfinite(b->step_rewards[k]))
            return err_set(err, "response %lld step %lld: step reward is %s", (long long)i, j,
                           nonfinite_name(b->step_rewards[k]));
    }
    if (b->verifiable && (!b->has_verifiable || b->has_verifiable[i]) && !isfinite(b->verifiable[i]))
        return err_set(err, "response %lld: verifiable reward is %s", (long long)i, nonfinite_name(b->verifiable[i]));
    if (b->kl)
        for (int32_t t = 0; t < L; t++)
            if (!isfinite(b->kl[tok0 + t]))
                return err_set(err, "response %lld token %d: kl is %s", (long long)i, t,
                               nonfinite_name(b->kl[tok0 + t]));
    return 0;
}

int credit_validate(const CreditBatch *b, const CreditConfig *cfg, PureErr *err) {
    const CreditRule *rule = cfg->rule;
    if (b->n <= 0) return err_set(err, "empty batch: no responses");
    if ((rule->needs & CREDIT_NEEDS_TEMPERATURE) && !(cfg->temperature > 0))
        return err_set(err, "temperature %g: the %s rule needs a temperature > 0", cfg->temperature, rule->name);
    if (!(cfg->gamma >= 0 && cfg->gamma <= 1)) return err_set(err, "gamma %g is outside [0, 1]", cfg->gamma);
    if (!isfinite(cfg->prm_coef) || !isfinite(cfg->vr_coef) || !isfinite(cfg->kl_coef))
        return err_set(err, "prm_coef, vr_coef and kl_coef must be finite");
    if ((rule->needs & CREDIT_NEEDS_SCRIPT) && !cfg->lua) return err_set(err, "rule %s needs a script", rule->name);
    if (b->step_off[0] != 0) return err_set(err, "step offsets must start at 0");
    int64_t tok = 0;
    for (int64_t i = 0; i < b->n; i++) {
        if (validate_response(b, cfg, i, tok, err) < 0) return -1;
        tok += b->length[i];
    }
    int need = cfg->baseline->min_group;
    if (need <= 1) return 0;
    int64_t *order, *starts;
    int64_t ng = credit_group_order(b, &order, &starts);
    int rc = 0;
    for (int64_t g = 0; g < ng && rc == 0; g++)
        if (starts[g + 1] - starts[g] < need) {
            int64_t i = order[starts[g]];
            rc = err_set(err, "group %lld has %s (response %lld); baseline %s needs at least %d "
                              "responses per group (use baseline none)",
                         (long long)b->group[i], starts[g + 1] - starts[g] == 1 ? "one response" : "too few responses",
                         (long long)i, cfg->baseline->name, need);
        }
    free(order);
    free(starts);
    return rc;
}

/* ---- returns ---- */

/* Per-response sums, so the metrics need no extra pass over the tokens. */
typedef struct RespStats {
    double first;        /* return at the first token (0 for an empty response) */
    double sum, sumsq;   /* of the returns over the response's tokens */
    double base, scale;  /* advantage = (return - base) * scale */
} RespStats;

/* Fills the returns of response i; r and p are scratch of L doubles. */
static void response_returns(const CreditRuleRun *run, int64_t i, int64_t off, double *r, double *p, float *ret,
                             RespStats *st) {
    const CreditBatch *b = run->b;
    const CreditConfig *cfg = run->cfg;
    int32_t L = b->length[i];
    st->first = st->sum = st->sumsq = 0;
    if (L == 0) return;
    memset(r, 0, (size_t)L * sizeof *r);
    int has_ret = cfg->rule->response(run, i, r, p);
    if (b->verifiable && (!b->has_verifiable || b->has_verifiable[i])) r[L - 1] += cfg->vr_coef * b->verifiable[i];
    if (b->kl && cfg->kl_coef != 0)
        for (int32_t t = 0; t < L; t++) r[t] -= cfg->kl_coef * b->kl[off + t];

    /* One backward pass: discounted suffix sum, plus the rule's process returns. */
    double s = 0, sum = 0, sq = 0, g = 0;
    for (int32_t t = L - 1; t >= 0; t--) {
        s = r[t] + cfg->gamma * s;
        g = s;
        if (has_ret) g += p[t];
        ret[off + t] = (float)g;
        sum += g;
        sq += g * g;
    }
    st->first = g;
    st->sum = sum;
    st->sumsq = sq;
}

/* ---- baselines and whitening ---- */

static void apply_baseline(const CreditBatch *b, const CreditConfig *cfg, CreditResult *res, RespStats *st,
                           int32_t max_len) {
    int64_t *order, *starts;
    int64_t ng = credit_group_order(b, &order, &starts);
    double n_norm = cfg->max_length > 0 ? (double)cfg->max_length : (double)max_len;
    for (int64_t g = 0; g < ng; g++) {
        int64_t a = starts[g], z = starts[g + 1], K = z - a;
        double sum_tot = 0, sum_first = 0, sq = 0;
        for (int64_t k = a; k < z; k++) {
            sum_tot += st[order[k]].sum;
            sum_first += st[order[k]].first;
        }
        double mean = sum_first / K;
        for (int64_t k = a; k < z; k++) sq += (st[order[k]].first - mean) * (st[order[k]].first - mean);
        double sd = K > 1 ? sqrt(sq / (K - 1)) : 0;
        CreditGroup grp = {K, sum_tot, sum_first, mean, sd, n_norm};
        for (int64_t k = a; k < z; k++) {
            RespStats *p = &st[order[k]];
            p->base = 0;
            p->scale = 1;
            cfg->baseline->fn(&grp, p->sum, p->first, &p->base, &p->scale);
        }
    }
    for (int64_t i = 0; i < b->n; i++)
        for (int64_t t = res->tok_off[i]; t < res->tok_off[i + 1]; t++)
            res->advantages[t] = (float)((res->returns[t] - st[i].base) * st[i].scale);
    free(order);
    free(starts);
}

/* Eight partial sums: a single running sum is one long chain of dependent
 * additions (about 4 cycles each); eight chains keep the FP units busy. */
#define LANES 8
static double sum_dev(const float *v, int64_t n, double center, int square) {
    double acc[LANES] = {0};
    int64_t t = 0;
    for (; t + LANES <= n; t += LANES)
        for (int k = 0; k < LANES; k++) {
            double d = v[t + k] - center;
            acc[k] += square ? d * d : d;
        }
    for (; t < n; t++) {
        double d = v[t] - center;
        acc[0] += square ? d * d : d;
    }
    double s = 0;
    for (int k = 0; k < LANES; k++) s += acc[k];
    return s;
}

/* Whitens in place with a two-pass mean and variance (no cancellation);
 * returns the shift and scale applied: a' = (a - *mean) * *inv. */
static void whiten(float *a, int64_t n, double *mean, double *inv) {
    *mean = n ? sum_dev(a, n, 0, 0) / n : 0;
    double var = n > 1 ? sum_dev(a, n, *mean, 1) / (n - 1) : 0;  /* Bessel's correction */
    *inv = 1 / sqrt(var + WHITEN_EPS);
    for (int64_t t = 0; t < n; t++) a[t] = (float)((a[t] - *mean) * *inv);
}

/* ---- finiteness of what is stored ---- */

/* The values are stored as float32: a double that is finite can still become
 * infinite there (|x| > 3.4e38), and inf - inf is NaN. Nothing non-finite may
 * leave credit_compute (optimize would skip its update, `pure credit` would
 * print a bare inf). The check costs nothing per token: each response's sum
 * of squared returns bounds its largest value, and from it the largest
 * advantage and whitened advantage follow; only a response whose bound passes
 * the float32 range (or is NaN) has its values looked at one by one. */
#define F32_MAX 3.4028234663852886e38
#define BOUND_SLACK (1 + 1e-6)  /* covers the roundings between a bound and the stored value */

/* Looks at response i's stored values v: -1 with err naming the first that
 * is not finite, else 0 with their largest magnitude in *absmax. */
static int scan_response(const CreditBatch *b, const CreditResult *res, const float *v, int64_t i, const char *what,
                         double *absmax, PureErr *err) {
    double m = 0;
    for (int64_t t = res->tok_off[i]; t < res->tok_off[i + 1]; t++) {
        if (!isfinite(v[t]))
            return err_set(err, "response %lld (group %lld) token %lld: the %s is %s as a float32 (finite float32 "
                                "values end at 3.4e38): the rewards, the rule's values or the coefficients are too "
                                "large", (long long)i, (long long)b->group[i], (long long)(t - res->tok_off[i]), what,
                           nonfinite_name(v[t]));
        m = fmax(m, fabs(v[t]));
    }
    *absmax = m;
    return 0;
}

/* After the returns: sum g^2 <= F32_MAX^2 means every |g| <= F32_MAX. */
static int check_returns(const CreditBatch *b, const CreditResult *res, const RespStats *st, PureErr *err) {
    double m;
    for (int64_t i = 0; i < b->n; i++)
        if (!(st[i].sumsq <= F32_MAX * F32_MAX) && scan_response(b, res, res->returns, i, "return", &m, err) < 0)
            return -1;
    return 0;
}

/* After the baseline: |a| <= (max |g| + |base|) |scale|. *amax gets a bound
 * on every |advantage| of the batch. */
static int check_advantages(const CreditBatch *b, const CreditResult *res, const RespStats *st, double *amax,
                            PureErr *err) {
    *amax = 0;
    for (int64_t i = 0; i < b->n; i++) {
        double bound = (sqrt(st[i].sumsq) * BOUND_SLACK + fabs(st[i].base)) * fabs(st[i].scale) * BOUND_SLACK;
        if (!(bound <= F32_MAX) && scan_response(b, res, res->advantages, i, "advantage", &bound, err) < 0) return -1;
        *amax = fmax(*amax, bound);
    }
    return 0;
}

/* After whitening: |a'| <= (max |a| + |mean|) inv. */
static int check_whitened(const CreditBatch *b, const CreditResult *res, double amax, double w_mean, double w_inv,
                          PureErr *err) {
    double m, bound = (amax * BOUND_SLACK + fabs(w_mean)) * w_inv * BOUND_SLACK;
    if (bound <= F32_MAX) return 0;
    for (int64_t i = 0; i < b->n; i++)
        if (scan_response(b, res, res->advantages, i, "whitened advantage", &m, err) < 0) return -1;
    return 0;
}

static void add_metric(CreditResult *res, const char *name, double v) {
    if (res->n_metrics < CREDIT_MAX_METRICS) res->metrics[res->n_metrics++] = (CreditMetric){name, v};
}

/* Token-level means and population deviations from the per-response sums:
 * advantage a = (g - base) * scale, then optionally (a - w_mean) * w_inv. */
static void fill_metrics(const CreditBatch *b, CreditResult *res, const RespStats *st, double w_mean,
                         double w_inv) {
    double T = res->n_tokens ? (double)res->n_tokens : 1;
    double gs = 0, gq = 0, as = 0, aq = 0;
    double f = 0, steps = 0, zero = 0, trunc = 0, ver = 0;
    for (int64_t i = 0; i < b->n; i++) {
        const RespStats *p = &st[i];
        double L = b->length[i], sc2 = p->scale * p->scale;
        gs += p->sum;
        gq += p->sumsq;
        as += p->scale * (p->sum - L * p->base);
        aq += sc2 * (p->sumsq - 2 * p->base * p->sum + L * p->base * p->base);
        int64_t s = b->step_off[i + 1] - b->step_off[i];
        f += p->first;
        steps += (double)s;
        zero += s == 0;
        trunc += b->truncated && b->truncated[i];
        ver += b->verifiable && (!b->has_verifiable || b->has_verifiable[i]);
    }
    double gm = gs / T, am = as / T;
    double gsd = sqrt(fmax(0, gq / T - gm * gm)), asd = sqrt(fmax(0, aq / T - am * am));
    add_metric(res, "returns_mean", gm);
    add_metric(res, "returns_std", gsd);
    add_metric(res, "advantages_mean", (am - w_mean) * w_inv);
    add_metric(res, "advantages_std", asd * w_inv);
    add_metric(res, "first_return_mean", f / b->n);
    add_metric(res, "steps_per_response", steps / b->n);
    add_metric(res, "zero_step_fraction", zero / b->n);
    add_metric(res, "truncated_fraction", trunc / b->n);
    add_metric(res, "verifiable_fraction", ver / b->n);
    add_metric(res, "responses", (double)b->n);
    add_metric(res, "tokens", (double)res->n_tokens);
    if (b->kl) {
        /* the estimator's value against the reference: per token, and summed over a response (the sequence KL) */
        double k = 0;
        for (int64_t t = 0; t < res->n_tokens; t++) k += b->kl[t];
        add_metric(res, "kl_token_mean", k / T);
        add_metric(res, "kl_response_mean", k / b->n);
    }
}

int credit_compute(const CreditBatch *b, const CreditConfig *cfg, CreditResult *res, PureErr *err) {
    memset(res, 0, sizeof *res);
    if (credit_validate(b, cfg, err) < 0) return -1;
    res->n = b->n;
    res->tok_off = xmalloc((size_t)(b->n + 1) * sizeof *res->tok_off);
    res->tok_off[0] = 0;
    int32_t max_len = 0;
    for (int64_t i = 0; i < b->n; i++) {
        res->tok_off[i + 1] = res->tok_off[i] + b->length[i];
        if (b->length[i] > max_len) max_len = b->length[i];
    }
    res->n_tokens = res->tok_off[b->n];
    size_t tbytes = (size_t)(res->n_tokens ? res->n_tokens : 1) * sizeof(float);
    res->returns = xmalloc(tbytes);
    res->advantages = xmalloc(tbytes);

    CreditRuleRun run = {b, cfg, res->tok_off, NULL, NULL};
    if (cfg->rule->prepare && cfg->rule->prepare(&run, err) < 0) {
        free(run.values);
        free(run.flags);
        credit_result_free(res);
        return -1;
    }
    size_t row = (size_t)(max_len ? max_len : 1);
    double *scratch = xmalloc(2 * row * sizeof *scratch);  /* token rewards, then process returns */
    RespStats *st = xmalloc((size_t)b->n * sizeof *st);
    for (int64_t i = 0; i < b->n; i++)
        response_returns(&run, i, res->tok_off[i], scratch, scratch + row, res->returns, &st[i]);
    double amax = 0, w_mean = 0, w_inv = 1;
    int rc = check_returns(b, res, st, err);
    if (rc == 0) {
        apply_baseline(b, cfg, res, st, max_len);
        rc = check_advantages(b, res, st, &amax, err);
    }
    if (rc == 0 && cfg->whiten) {
        whiten(res->advantages, res->n_tokens, &w_mean, &w_inv);
        rc = check_whitened(b, res, amax, w_mean, w_inv, err);
    }
    if (rc == 0) {
        fill_metrics(b, res, st, w_mean, w_inv);
        for (int k = 0; k < res->n_metrics && rc == 0; k++)
            if (!isfinite(res->metrics[k].value))
                rc = err_set(err, "metric %s is %s: the returns are too large to summarize", res->metrics[k].name,
                             nonfinite_name(res->metrics[k].value));
    }
    free(scratch);
    free(st);
    free(run.values);
    free(run.flags);
    if (rc < 0) credit_result_free(res);
    return rc;
}

void credit_result_free(CreditResult *res) {
    free(res->tok_off);
    free(res->returns);
    free(res->advantages);
    memset(res, 0, sizeof *res);
}
