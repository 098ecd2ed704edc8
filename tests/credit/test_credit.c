/* test_credit.c - credit assignment (stages/credit/credit_core.c, credit_lua.c):
 * hand-worked examples for every rule, baseline, KL estimator and whitening;
 * the properties of issue 3 on random batches; every edge case's error; the
 * shipped Lua rules against the built-ins (1e-6); Lua rule errors; issue 12:
 * hostile rules, non-finite results and the JSON reader's limits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stages/credit/credit.h"
#include "tests/check.h"
#include "tests/credit/credit_random.h"

#define TOL 1e-6

/* Rows of the tables by name (a name missing from a table is a test bug). */
static const CreditRule *rule_of(const char *name) {
    PureErr err;
    const CreditRule *r = credit_rule_find(name, &err);
    if (!r) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
    return r;
}

static const CreditBaseline *baseline_of(const char *name) {
    PureErr err;
    const CreditBaseline *b = credit_baseline_find(name, &err);
    if (!b) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
    return b;
}

static CreditConfig cfg_of(const char *rule, const char *bl) {
    CreditConfig c;
    credit_config_init(&c);
    c.rule = rule_of(rule);
    c.baseline = baseline_of(bl);
    return c;
}

static int runs_script(const void *row) { return (((const CreditRule *)row)->needs & CREDIT_NEEDS_SCRIPT) != 0; }

/* Runs and checks returns and advantages of every token against want_ret / want_adv (NULL = skip). */
static void check_run(const CreditBatch *b, const CreditConfig *c, const double *want_ret, const double *want_adv) {
    PureErr err;
    err_clear(&err);
    CreditResult res;
    int rc = credit_compute(b, c, &res, &err);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "  error: %s\n", err.msg);
        return;
    }
    for (int64_t t = 0; t < res.n_tokens; t++) {
        if (want_ret) CHECK_NEAR(res.returns[t], want_ret[t], TOL);
        if (want_adv) CHECK_NEAR(res.advantages[t], want_adv[t], TOL);
    }
    credit_result_free(&res);
}

/* Expects failure with exactly this message. */
static void check_error(const CreditBatch *b, const CreditConfig *c, const char *want) {
    PureErr err;
    err_clear(&err);
    CreditResult res;
    CHECK(credit_compute(b, c, &res, &err) < 0);
    CHECK_STR(err.msg, want);
}

/* ---- rules, hand-worked ---- */

static void test_min_hand(void) {
    /* L=4, steps end at 1 and 3, r = [1, 1 + ln 3], T = 1: softmax(-r) = [3/4, 1/4],
     * token rewards [0, 0.75, 0, (1 + ln 3) / 4 = 0.5246530], suffix sums below. */
    float rw[] = {1.0f, (float)(1 + log(3.0))};
    CreditBatch b = {.n = 1, .group = (int64_t[]){0}, .length = (int32_t[]){4}, .step_off = (int64_t[]){0, 2},
                     .step_ends = (int32_t[]){1, 3}, .step_rewards = rw};
    CreditConfig c = cfg_of("min", "none");
    c.temperature = 1;
    double g3 = (double)rw[1] / 4, g0 = 0.75 + g3;
    check_run(&b, &c, (double[]){g0, g0, g3, g3}, (double[]){g0, g0, g3, g3});
    /* prm_coef scales, verifiable lands on the last token (vr_coef 2), gamma 0.5 discounts */
    c.prm_coef = 2;
    c.vr_coef = 2;
    c.gamma = 0.5;
    b.verifiable = (float[]){1.0f};
    double r3 = 2 * g3 + 2, r1 = 1.5;
    double G3 = r3, G2 = 0.5 * G3, G1 = r1 + 0.5 * G2, G0 = 0.5 * G1;
    check_run(&b, &c, (double[]){G0, G1, G2, G3}, NULL);
}

static void test_min_exact_hand(void) {
    /* L=6, steps end at 1, 3, 5 with r = [0.5, -0.3, 0.2]: min of remaining steps
     * = [-0.3, -0.3, -0.3, -0.3, 0.2, 0.2]; verifiable 1 with vr_coef 0.5 adds 0.5 everywhere */
    CreditBatch b = {.n = 1, .group = (int64_t[]){0}, .length = (int32_t[]){6}, .step_off = (int64_t[]){0, 3},
                     .step_ends = (int32_t[]){1, 3, 5}, .step_rewards = (float[]){0.5f, -0.3f, 0.2f}};
    CreditConfig c = cfg_of("min-exact", "none");
    check_run(&b, &c, (double[]){-0.3, -0.3, -0.3, -0.3, 0.2, 0.2}, NULL);
    b.verifiable = (float[]){1.0f};
    c.vr_coef = 0.5;
    c.prm_coef = 2;
    check_run(&b, &c, (double[]){-0.1, -0.1, -0.1, -0.1, 0.9, 0.9}, NULL);
    /* the last step ending before the last token: tokens after it get no process return */
    b.step_ends = (int32_t[]){1, 2, 3};
    b.verifiable = NULL;
    c.prm_coef = 1;
    check_run(&b, &c, (double[]){-0.3, -0.3, -0.3, 0.2, 0, 0}, NULL);
}

static void test_sum_hand(void) {
    /* L=4, r = [1, 2] at tokens 1 and 3; gamma 0.5: G = [0.75, 1.5, 1, 2]; gamma 1: [3, 3, 2, 2] */
    CreditBatch b = {.n = 1, .group = (int64_t[]){0}, .length = (int32_t[]){4}, .step_off = (int64_t[]){0, 2},
                     .step_ends = (int32_t[]){1, 3}, .step_rewards = (float[]){1, 2}};
    CreditConfig c = cfg_of("sum", "none");
    check_run(&b, &c, (double[]){3, 3, 2, 2}, NULL);
    c.gamma = 0.5;
    check_run(&b, &c, (double[]){0.75, 1.5, 1, 2}, NULL);
}

static void test_kl(void) {
    /* k1 = logp - ref; k3 = e^x - x - 1 with x = ref - logp; k3 clamped at 10 */
    float logp[] = {-1, -2, -20}, ref[] = {-2, -1, 0}, out[3];
    credit_kl_estimate(credit_kl_find("k1", NULL), logp, ref, 3, out);
    CHECK_NEAR(out[0], 1, TOL);
    CHECK_NEAR(out[1], -1, TOL);
    CHECK_NEAR(out[2], -20, TOL);
    credit_kl_estimate(credit_kl_find("k3", NULL), logp, ref, 3, out);
    CHECK_NEAR(out[0], exp(-1.0), TOL);
    CHECK_NEAR(out[1], exp(1.0) - 2, TOL);
    CHECK_NEAR(out[2], 10, 0);
    /* kl folded into token rewards: sum rule, no steps, kl = [1, 2, 3], beta 0.1:
     * r = [-0.1, -0.2, -0.3] -> G = [-0.6, -0.5, -0.3] */
    CreditBatch b = {.n = 1, .group = (int64_t[]){0}, .length = (int32_t[]){3}, .step_off = (int64_t[]){0, 0},
                     .step_ends = (int32_t[]){0}, .step_rewards = (float[]){0}, .kl = (float[]){1, 2, 3}};
    CreditConfig c = cfg_of("sum", "none");
    c.kl_coef = 0.1;
    check_run(&b, &c, (double[]){-0.6, -0.5, -0.3}, NULL);
    /* min-exact keeps its process return apart from the KL suffix sum */
    b.step_off = (int64_t[]){0, 1};
    b.step_ends = (int32_t[]){1};
    b.step_rewards = (float[]){-0.5f};
    c.rule = rule_of("min-exact");
    check_run(&b, &c, (double[]){-1.1, -1.0, -0.3}, NULL);
}

/* ---- baselines, hand-worked ---- */

/* Two groups, interleaved, group ids 7 and 3. Group 7: A (L=2, G=[1,1]), B (L=3, G=[2,2,2]),
 * C (L=1, G=[4]); group 3: D (L=2, G=[0,0]... r=0) and E (L=1, G=[2]). Sum rule, gamma 1. */
static const int64_t bl_group[] = {7, 3, 7, 7, 3};
static const int32_t bl_len[] = {2, 2, 3, 1, 1};
static const int64_t bl_off[] = {0, 1, 2, 3, 4, 5};
static const int32_t bl_ends[] = {1, 1, 2, 0, 0};
static const float bl_rw[] = {1, 0, 2, 4, 2};

static void test_baselines(void) {
    CreditBatch b = {.n = 5, .group = bl_group, .length = bl_len, .step_off = bl_off, .step_ends = bl_ends,
                     .step_rewards = bl_rw};
    double ret[] = {1, 1, 0, 0, 2, 2, 2, 4, 2};
    CreditConfig c = cfg_of("sum", "none");
    check_run(&b, &c, ret, ret);

    /* rloo-token, N = longest = 3: group 7 totals A 2, B 6, C 4 -> b_A = 10/6, b_B = 6/6, b_C = 8/6;
     * group 3 totals D 0, E 2 -> b_D = 2/3, b_E = 0 */
    c.baseline = baseline_of("rloo-token");
    double bA = 10.0 / 6, bB = 1, bC = 8.0 / 6, bD = 2.0 / 3, bE = 0;
    check_run(&b, &c, ret, (double[]){1 - bA, 1 - bA, 0 - bD, 0 - bD, 2 - bB, 2 - bB, 2 - bB, 4 - bC, 2 - bE});
    /* N = max_length 4 */
    c.max_length = 4;
    bA = 10.0 / 8, bB = 6.0 / 8, bC = 8.0 / 8, bD = 2.0 / 4;
    check_run(&b, &c, ret, (double[]){1 - bA, 1 - bA, 0 - bD, 0 - bD, 2 - bB, 2 - bB, 2 - bB, 4 - bC, 2 - bE});
    c.max_length = 0;

    /* rloo on first-token returns: group 7 = {1, 2, 4} -> b = [3, 2.5, 1.5]; group 3 = {0, 2} -> [2, 0] */
    c.baseline = baseline_of("rloo");
    check_run(&b, &c, ret, (double[]){-2, -2, -2, -2, -0.5, -0.5, -0.5, 2.5, 2});

    /* grpo: group 7 mean 7/3, sample std sqrt(7/3); group 3 mean 1, std sqrt(2) */
    c.baseline = baseline_of("grpo");
    double m7 = 7.0 / 3, s7 = sqrt(7.0 / 3) + 1e-6, s3 = sqrt(2.0) + 1e-6;
    double a = (1 - m7) / s7, bb = (2 - m7) / s7, cc = (4 - m7) / s7, d = -1 / s3, e = 1 / s3;
    check_run(&b, &c, ret, (double[]){a, a, d, d, bb, bb, bb, cc, e});

    /* whitening (baseline none): tokens [1,1,0,0,2,2,2,4,2], mean 14/9, unbiased var */
    c.baseline = baseline_of("none");
    c.whiten = 1;
    double mean = 14.0 / 9, var = 0;
    for (int t = 0; t < 9; t++) var += (ret[t] - mean) * (ret[t] - mean);
    var /= 8;
    double w[9];
    for (int t = 0; t < 9; t++) w[t] = (ret[t] - mean) / sqrt(var + 1e-8);
    check_run(&b, &c, ret, w);
}

/* ---- properties on random batches ---- */

static void test_properties(void) {
    RandBatch rb;
    rand_batch_init(&rb, 42, 64, 4, 1, 40, 6, 0, 0);
    const CreditBatch *b = &rb.b;
    PureErr err;
    CreditResult rmin, rsum, rtiny, rexact;
    CreditConfig c = cfg_of("min", "none");
    CHECK(credit_compute(b, &c, &rmin, &err) == 0);
    c.temperature = 1e-4;
    CHECK(credit_compute(b, &c, &rtiny, &err) == 0);
    c.rule = rule_of("min-exact");
    CHECK(credit_compute(b, &c, &rexact, &err) == 0);
    c.rule = rule_of("sum");
    CHECK(credit_compute(b, &c, &rsum, &err) == 0);
    int bad_range = 0, bad_tiny = 0, bad_exact = 0, bad_sum = 0;
    for (int64_t i = 0; i < b->n; i++) {
        int64_t s0 = b->step_off[i], s1 = b->step_off[i + 1], o = rmin.tok_off[i];
        int L = b->length[i];
        if (s1 == s0) continue;
        double lo = INFINITY, hi = -INFINITY;
        int64_t worst = s0;
        for (int64_t k = s0; k < s1; k++) {
            lo = fmin(lo, b->step_rewards[k]);
            hi = fmax(hi, b->step_rewards[k]);
            if (b->step_rewards[k] < b->step_rewards[worst]) worst = k;
        }
        /* the min return at the first token lies between the smallest and largest step reward */
        bad_range += !(rmin.returns[o] >= lo - 1e-6 && rmin.returns[o] <= hi + 1e-6);
        for (int t = 0; t < L; t++) {
            /* T -> 0: min(r) up to the end of the worst step, 0 after */
            double want = t <= b->step_ends[worst] ? lo : 0;
            bad_tiny += fabs(rtiny.returns[o + t] - want) > 1e-3;
            /* min-exact: the minimum of the steps ending at or after t */
            double m = 0;
            int any = 0;
            for (int64_t k = s0; k < s1; k++)
                if (b->step_ends[k] >= t) {
                    m = any ? fmin(m, b->step_rewards[k]) : b->step_rewards[k];
                    any = 1;
                }
            bad_exact += fabs(rexact.returns[o + t] - m) > 1e-6;
            /* sum, gamma 1: the plain suffix sum of step rewards */
            double s = 0;
            for (int64_t k = s0; k < s1; k++)
                if (b->step_ends[k] >= t) s += b->step_rewards[k];
            bad_sum += fabs(rsum.returns[o + t] - s) > 1e-5;
        }
    }
    CHECK(bad_range == 0);
    CHECK(bad_tiny == 0);
    CHECK(bad_exact == 0);
    CHECK(bad_sum == 0);
    credit_result_free(&rmin);
    credit_result_free(&rtiny);
    credit_result_free(&rexact);
    credit_result_free(&rsum);
    rand_batch_free(&rb);
}

/* ---- edge cases ---- */

static void test_edges(void) {
    /* zero steps: only the verifiable reward, on the last token (also for a truncated response) */
    CreditBatch b = {.n = 2, .group = (int64_t[]){0, 0}, .length = (int32_t[]){3, 2},
                     .truncated = (uint8_t[]){0, 1}, .step_off = (int64_t[]){0, 0, 1},
                     .step_ends = (int32_t[]){1}, .step_rewards = (float[]){-0.5f},
                     .verifiable = (float[]){1, 0.5f}, .has_verifiable = (uint8_t[]){1, 1}};
    CreditConfig c = cfg_of("min", "none");
    check_run(&b, &c, (double[]){1, 1, 1, 0, 0}, NULL);
    /* has_verifiable 0 drops it; rloo over the two: first returns {1, 0} -> advantages 1, -1 */
    b.has_verifiable = (uint8_t[]){1, 0};
    c.baseline = baseline_of("rloo");
    check_run(&b, &c, (double[]){1, 1, 1, -0.5, -0.5}, (double[]){1.5, 1.5, 1.5, -1.5, -1.5});
    PureErr err;
    CreditResult res;
    CHECK(credit_compute(&b, &c, &res, &err) == 0);
    for (int k = 0; k < res.n_metrics; k++) {
        if (!strcmp(res.metrics[k].name, "zero_step_fraction")) CHECK_NEAR(res.metrics[k].value, 0.5, 0);
        if (!strcmp(res.metrics[k].name, "truncated_fraction")) CHECK_NEAR(res.metrics[k].value, 0.5, 0);
        if (!strcmp(res.metrics[k].name, "steps_per_response")) CHECK_NEAR(res.metrics[k].value, 0.5, 0);
        if (!strcmp(res.metrics[k].name, "tokens")) CHECK_NEAR(res.metrics[k].value, 5, 0);
    }
    CHECK(res.n_metrics >= 10);
    credit_result_free(&res);
    /* a zero-length response has no tokens and a total return of 0 */
    b.length = (int32_t[]){3, 0};
    b.step_off = (int64_t[]){0, 0, 0};
    check_run(&b, &c, (double[]){1, 1, 1}, (double[]){1, 1, 1});
    b.length = (int32_t[]){3, 2};
    b.step_off = (int64_t[]){0, 0, 1};

    /* groups of one under leave-one-out baselines and grpo */
    b.group = (int64_t[]){0, 5};
    c.baseline = baseline_of("rloo-token");
    check_error(&b, &c, "group 0 has one response (response 0); baseline rloo-token needs at least 2 responses per "
                        "group (use baseline none)");
    c.baseline = baseline_of("grpo");
    check_error(&b, &c, "group 0 has one response (response 0); baseline grpo needs at least 2 responses per "
                        "group (use baseline none)");
    c.baseline = baseline_of("none");
    check_run(&b, &c, NULL, NULL);

    /* non-finite rewards name response and step */
    b.step_rewards = (float[]){NAN};
    check_error(&b, &c, "response 1 step 0: step reward is NaN");
    b.step_rewards = (float[]){INFINITY};
    check_error(&b, &c, "response 1 step 0: step reward is infinite");
    b.step_rewards = (float[]){0.5f};
    b.verifiable = (float[]){NAN, 0};
    check_error(&b, &c, "response 0: verifiable reward is NaN");
    b.verifiable = NULL;
    b.kl = (float[]){0, 0, 0, 0, -INFINITY};
    check_error(&b, &c, "response 1 token 1: kl is infinite");
    b.kl = NULL;

    /* step ends out of order or outside the response */
    b.step_ends = (int32_t[]){2};
    check_error(&b, &c, "response 1 step 0: step end 2 is outside the response (length 2)");
    b.step_ends = (int32_t[]){-1};
    check_error(&b, &c, "response 1 step 0: step end -1 is outside the response (length 2)");
    CreditBatch d = {.n = 1, .group = (int64_t[]){0}, .length = (int32_t[]){5}, .step_off = (int64_t[]){0, 3},
                     .step_ends = (int32_t[]){1, 3, 3}, .step_rewards = (float[]){0, 0, 0}};
    check_error(&d, &c, "response 0 step 2: step end 3 is not after the previous step end 3");
    d.length = (int32_t[]){-2};
    check_error(&d, &c, "response 0: length -2 is negative");
    d.length = (int32_t[]){5};
    d.step_ends = (int32_t[]){1, 3, 4};
    c.max_length = 4;
    check_error(&d, &c, "response 0: length 5 exceeds max_length 4");
    c.max_length = 0;

    /* empty batch, bad configs */
    d.n = 0;
    check_error(&d, &c, "empty batch: no responses");
    d.n = 1;
    c.temperature = 0;
    check_error(&d, &c, "temperature 0: the min rule needs a temperature > 0");
    c.temperature = 0.1;
    c.gamma = 1.5;
    check_error(&d, &c, "gamma 1.5 is outside [0, 1]");
    c.gamma = 1;
    c.rule = rule_of("lua");
    check_error(&d, &c, "rule lua needs a script");

    /* no process rewards at all (no PRM): returns are the verifiable reward alone */
    d.step_rewards = NULL;
    d.verifiable = (float[]){2};
    for (const CreditRule *r = credit_rules; r->name; r++) {
        if (r->needs & CREDIT_NEEDS_SCRIPT) continue;
        c.rule = r;
        check_run(&d, &c, (double[]){2, 2, 2, 2, 2}, NULL);
    }

    /* lookups in the tables: one helper, errors listing the table's names */
    const CreditRule *found = credit_rule_find("min-exact", &err);
    CHECK(found != NULL && !strcmp(found->name, "min-exact"));
    CHECK(credit_rule_find("mi", &err) == NULL);
    /* (rule lists are checked by prefix: a new rule adds a row without breaking this test) */
    CHECK(strncmp(err.msg, "unknown rule 'mi' (expected one of min|min-exact|sum|", 53) == 0);
    CHECK(strstr(err.msg, "|lua") != NULL);
    const CreditBaseline *fb = credit_baseline_find("grpo", &err);
    CHECK(fb != NULL && !strcmp(fb->name, "grpo"));
    CHECK(credit_baseline_find("rloo-tok", &err) == NULL);
    CHECK_STR(err.msg, "unknown baseline 'rloo-tok' (expected one of rloo-token|rloo|grpo|none)");
    CHECK(credit_kl_find("k2", &err) == NULL);
    CHECK_STR(err.msg, "unknown kl estimator 'k2' (expected one of k1|k3)");
    CHECK(credit_rule_find("x", NULL) == NULL);  /* no err: just the lookup */
    /* the defaults: row 0 of each table */
    CreditConfig d0;
    credit_config_init(&d0);
    CHECK_STR(d0.rule->name, "min");
    CHECK_STR(d0.baseline->name, "rloo-token");
    /* names, all or without the rules that run a script (as `pure credit --rule` lists them) */
    char buf[256];
    CHECK(strncmp(credit_table_names(credit_rules, sizeof *credit_rules, ", ", NULL, buf, sizeof buf),
                  "min, min-exact, sum", 19) == 0);
    CHECK(strstr(buf, ", lua") != NULL);
    CHECK(strncmp(credit_table_names(credit_rules, sizeof *credit_rules, "|", runs_script, buf, sizeof buf),
                  "min|min-exact|sum", 17) == 0);
    CHECK(strstr(buf, "lua") == NULL);
    CHECK_STR(credit_table_names(credit_baselines, sizeof *credit_baselines, " ", NULL, buf, sizeof buf),
              "rloo-token rloo grpo none");
    CHECK_STR(credit_table_names(credit_kl_estimators, sizeof *credit_kl_estimators, "|", NULL, buf, sizeof buf),
              "k1|k3");
}

/* ---- metrics: the per-response sums agree with direct token-level statistics ---- */

static double metric(const CreditResult *r, const char *name) {
    for (int k = 0; k < r->n_metrics; k++)
        if (!strcmp(r->metrics[k].name, name)) return r->metrics[k].value;
    return NAN;
}

static void direct_mean_std(const float *v, int64_t n, double *m, double *sd) {
    double s = 0, q = 0;
    for (int64_t t = 0; t < n; t++) s += v[t];
    *m = s / n;
    for (int64_t t = 0; t < n; t++) q += (v[t] - *m) * (v[t] - *m);
    *sd = sqrt(q / n);
}

static void test_metrics(void) {
    RandBatch rb;
    rand_batch_init(&rb, 11, 48, 4, 1, 200, 8, 1, 1);
    for (const CreditBaseline *bl = credit_baselines; bl->name; bl++)
        for (int w = 0; w < 2; w++) {
            CreditConfig c = cfg_of("min", bl->name);
            c.whiten = w;
            c.kl_coef = 0.1;
            CreditResult res;
            PureErr err;
            CHECK(credit_compute(&rb.b, &c, &res, &err) == 0);
            double m, sd;
            direct_mean_std(res.returns, res.n_tokens, &m, &sd);
            CHECK_NEAR(metric(&res, "returns_mean"), m, 1e-6);
            CHECK_NEAR(metric(&res, "returns_std"), sd, 1e-6);
            direct_mean_std(res.advantages, res.n_tokens, &m, &sd);
            CHECK_NEAR(metric(&res, "advantages_mean"), m, 1e-6);
            CHECK_NEAR(metric(&res, "advantages_std"), sd, 1e-6);
            double f = 0;
            for (int64_t i = 0; i < rb.b.n; i++) f += res.tok_off[i + 1] > res.tok_off[i] ? res.returns[res.tok_off[i]] : 0;
            CHECK_NEAR(metric(&res, "first_return_mean"), f / rb.b.n, 1e-6);
            credit_result_free(&res);
        }
    rand_batch_free(&rb);
}

/* ---- Lua rules ---- */

static Sandbox *open_rule(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/lua/rules/%s", PURE_SOURCE_DIR, name);
    PureErr err;
    Sandbox *sb = sandbox_open(path, NULL, &err);
    if (!sb) fprintf(stderr, "%s\n", err.msg);
    return sb;
}

static double max_diff(const CreditResult *a, const CreditResult *b) {
    double m = 0;
    for (int64_t t = 0; t < a->n_tokens; t++) {
        m = fmax(m, fabs(a->returns[t] - b->returns[t]));
        m = fmax(m, fabs(a->advantages[t] - b->advantages[t]));
    }
    return m;
}

static void test_lua_matches_builtins(void) {
    RandBatch rb;
    rand_batch_init(&rb, 7, 96, 8, 1, 300, 12, 1, 1);
    const struct { const char *file, *rule; double temperature, gamma; } cases[] = {
        {"min.lua", "min", 0.1, 1}, {"min.lua", "min", 0.7, 0.95},
        {"sum.lua", "sum", 0.1, 1}, {"sum.lua", "sum", 0.1, 0.9}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        Sandbox *sb = open_rule(cases[k].file);
        CHECK(sb != NULL);
        if (!sb) continue;
        CreditConfig c = cfg_of(cases[k].rule, "rloo-token");
        c.temperature = cases[k].temperature;
        c.gamma = cases[k].gamma;
        c.kl_coef = 0.05;
        CreditResult built, lua;
        PureErr err;
        CHECK(credit_compute(&rb.b, &c, &built, &err) == 0);
        c.rule = rule_of("lua");
        c.lua = sb;
        int rc = credit_compute(&rb.b, &c, &lua, &err);
        CHECK(rc == 0);
        if (rc == 0) {
            double m = max_diff(&built, &lua);
            printf("  %s T=%g gamma=%g: max |lua - built-in| = %.3g\n", cases[k].file, c.temperature, c.gamma, m);
            CHECK(m < 1e-6);
            credit_result_free(&lua);
        } else {
            fprintf(stderr, "%s\n", err.msg);
        }
        credit_result_free(&built);
        sandbox_close(sb);
    }
    rand_batch_free(&rb);
}

static void test_first_error(void) {
    /* the docs/lua-api.md example: L=8, steps end at 2, 5, 7 with r = [0.6, -0.4, -0.9] and
     * verifiable 1: the first mistake is step 2 (-0.4, ends at token 5);
     * returns -0.4 + 1 on tokens 0..5, 0 + 1 on 6..7. A second response with no
     * mistake (r = [0.2, 0.4], L=4, ends 1, 3) gets the mean 0.3 on every token. */
    Sandbox *sb = open_rule("first_error.lua");
    CHECK(sb != NULL);
    if (!sb) return;
    CreditBatch b = {.n = 2, .group = (int64_t[]){0, 0}, .length = (int32_t[]){8, 4},
                     .step_off = (int64_t[]){0, 3, 5}, .step_ends = (int32_t[]){2, 5, 7, 1, 3},
                     .step_rewards = (float[]){0.6f, -0.4f, -0.9f, 0.2f, 0.4f}, .verifiable = (float[]){1, 0},
                     .has_verifiable = (uint8_t[]){1, 0}};
    CreditConfig c = cfg_of("lua", "rloo");
    c.lua = sb;
    /* rloo: first returns 0.6 and 0.3 -> baselines 0.3 and 0.6 */
    check_run(&b, &c, (double[]){0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 1, 1, 0.3, 0.3, 0.3, 0.3},
              (double[]){0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.7, 0.7, -0.3, -0.3, -0.3, -0.3});
    /* compare min-exact on the same batch: it blames the worst step (-0.9) everywhere */
    c.rule = rule_of("min-exact");
    check_run(&b, &c, (double[]){0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.2, 0.4, 0.4}, NULL);
    sandbox_close(sb);
}

static void check_lua_error(const char *code, const SandboxLimits *lim, const char *want) {
    PureErr err;
    err_clear(&err);
    Sandbox *sb = sandbox_open_string(code, strlen(code), "rule.lua", lim, &err);
    CHECK(sb != NULL);
    if (!sb) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CreditBatch b = {.n = 3, .group = (int64_t[]){4, 9, 9}, .length = (int32_t[]){3, 2, 2},
                     .step_off = (int64_t[]){0, 2, 3, 4}, .step_ends = (int32_t[]){0, 2, 1, 1},
                     .step_rewards = (float[]){1, 2, 3, 4}};
    CreditConfig c = cfg_of("lua", "none");
    c.lua = sb;
    CreditResult res;
    CHECK(credit_compute(&b, &c, &res, &err) < 0);
    if (!strstr(err.msg, want)) fprintf(stderr, "  got: %s\n  want: %s\n", err.msg, want);
    CHECK(strstr(err.msg, want) != NULL);
    CHECK(lua_gettop(sandbox_state(sb)) == 0);  /* nothing left on the stack */
    sandbox_close(sb);
}

static void test_lua_errors(void) {
    /* runtime error: script:line and the group */
    check_lua_error("function credit(rs, p)\n  if p.group == 9 then\n    error('bad group')\n  end\n"
                    "  local o = {} for k, r in ipairs(rs) do o[k] = r.step_rewards end return o\nend\n",
                    NULL, "rule.lua:3: bad group (group 9)");
    check_lua_error("function credit(rs, p)\n  return rs[1].nothing.x\nend\n", NULL,
                    "rule.lua:2: attempt to index a nil value (field 'nothing') (group 4)");
    check_lua_error("function credit(rs, p) return {} end\n", NULL,
                    "rule.lua: credit() returned 0 entries for group 4 of 1 responses; expected one per response");
    check_lua_error("function credit(rs, p) return {{steps = {1}}} end\n", NULL,
                    "rule.lua: credit() result[1] for response 0 (group 4): steps has 1 entries, expected 2");
    check_lua_error("function credit(rs, p) return {{tokens = {1, 2, 0/0}}} end\n", NULL,
                    "rule.lua: credit() result[1] for response 0 (group 4): tokens[3] is NaN, expected a finite number");
    check_lua_error("function credit(rs, p) return {{tokens = {1, 2, 3}, returns = {1, 2, 3}}} end\n", NULL,
                    "rule.lua: credit() result[1] for response 0 (group 4): the value has both 'returns' and 'tokens'");
    check_lua_error("function credit(rs, p) return {7} end\n", NULL,
                    "result[1] for response 0 (group 4): the value is a number, expected a table");
    check_lua_error("function credit(rs, p) while true do end end\n", &(SandboxLimits){10000, 0, 0, 0},
                    "instruction budget of 10000 per call exceeded (a runaway loop? raise the instruction limit) "
                    "(group 4)");
    check_lua_error("function rule(rs, p) return {} end\n", NULL, "rule.lua: the script defines no function 'credit'");
}

static void test_lua_kinds(void) {
    /* per-token rewards are summed (gamma 0.5); per-token returns are taken as they are */
    const char *code = "function credit(rs, p)\n  local o = {}\n  for k, r in ipairs(rs) do\n"
                       "    if r.index == 0 then o[k] = {tokens = {1, 1, 1}} else o[k] = {returns = {5, 6}} end\n"
                       "  end\n  return o\nend\n";
    PureErr err;
    Sandbox *sb = sandbox_open_string(code, strlen(code), "kinds.lua", NULL, &err);
    CHECK(sb != NULL);
    CreditBatch b = {.n = 2, .group = (int64_t[]){0, 1}, .length = (int32_t[]){3, 2},
                     .step_off = (int64_t[]){0, 0, 0}, .step_ends = (int32_t[]){0},
                     .verifiable = (float[]){2, 2}};
    CreditConfig c = cfg_of("lua", "none");
    c.lua = sb;
    c.gamma = 0.5;
    c.prm_coef = 2;
    /* response 0: r = [2, 2, 2 + 2] -> G = [2 + 0.5 * 4, 2 + 0.5 * 4, 4] = [4, 4, 4];
     * response 1: prm_coef * returns + verifiable suffix [0.5 * 2, 2] = [11, 14] */
    check_run(&b, &c, (double[]){4, 4, 4, 11, 14}, NULL);
    sandbox_close(sb);
}

/* ---- issue 12: hostile rules fail with a message, never an abort or a hang ---- */

static void test_lua_hardening(void) {
    /* (a) a result entry whose __index raises while the C side reads it */
    check_lua_error("function credit(rs, p)\n  local o = {}\n  for k = 1, #rs do\n"
                    "    o[k] = setmetatable({}, {__index = function() error('boom') end})\n  end\n  return o\nend\n",
                    NULL, "rule.lua:4: boom (credit() result[1] for response 0, group 4)");
    /* (b) the globals' __index raises and there is no credit() */
    check_lua_error("setmetatable(_G, {__index = function() error('nope') end})\n", NULL,
                    "rule.lua: the script defines no function 'credit'");
    /* (c) the top level fills the memory cap through pcall: building the arguments fails */
    check_lua_error("keep = {}\npcall(function() local i = 0 while true do i = i + 1 keep[i] = {i} end end)\n"
                    "function credit(rs, p) return {} end\n",
                    &(SandboxLimits){0, (size_t)2 << 20, 0, 0},
                    "rule.lua: memory limit of 2.0 MB exceeded (raise the memory limit) (group 4)");
    /* the budget cannot be swallowed: pcall, xpcall, sliced work */
    check_lua_error("function credit(rs, p)\n  while true do pcall(function() while true do end end) end\nend\n",
                    &(SandboxLimits){100000, 0, 0, 0}, "rule.lua:2: instruction budget of 100000 per call exceeded");
    check_lua_error("function credit(rs, p)\n  while true do xpcall(function() while true do end end, print) end\nend\n",
                    &(SandboxLimits){100000, 0, 0, 0}, "instruction budget of 100000 per call exceeded");
    check_lua_error("function credit(rs, p)\n  for i = 1, 60 do pcall(function() for j = 1, 1e9 do end end) end\n"
                    "  local o = {}\n  for k, r in ipairs(rs) do o[k] = r.step_rewards end\n  return o\nend\n",
                    &(SandboxLimits){100000, 0, 0, 0},
                    "rule.lua:2: instruction budget of 100000 per call exceeded (a runaway loop? raise the "
                    "instruction limit) (group 4)");
    /* a finalizer would run with hooks off */
    check_lua_error("function credit(rs, p)\n  setmetatable({}, {__gc = function() while true do end end})\nend\n",
                    NULL, "rule.lua:2: setmetatable: __gc metamethods are not available in the sandbox");
    /* wall clock: 0.2 s on an infinite loop the instruction budget would let run for days */
    check_lua_error("function credit(rs, p)\n  while true do end\nend\n", &(SandboxLimits){(int64_t)1e15, 0, 0.2, 0},
                    "rule.lua:2: time limit of 0.2 s per call exceeded (a runaway loop? raise the time limit) "
                    "(group 4)");
}

/* ---- issue 12: nothing non-finite leaves credit_compute ---- */

static void check_error_has(const CreditBatch *b, const CreditConfig *c, const char *want) {
    PureErr err;
    err_clear(&err);
    CreditResult res;
    CHECK(credit_compute(b, c, &res, &err) < 0);
    if (!strstr(err.msg, want)) fprintf(stderr, "  got: %s\n  want: %s\n", err.msg, want);
    CHECK(strstr(err.msg, want) != NULL);
}

static void test_nonfinite(void) {
    /* 1e308 per token: finite in Lua, the suffix sum is inf in double */
    check_lua_error("function credit(rs, p)\n  local o = {}\n  for k, r in ipairs(rs) do\n    local t = {}\n"
                    "    for i = 1, r.length do t[i] = 1e308 end\n    o[k] = {tokens = t}\n  end\n  return o\nend\n",
                    NULL, "response 0 (group 4) token 0: the return is infinite as a float32");
    /* 1e39: finite in double, infinite as a float32 */
    check_lua_error("function credit(rs, p)\n  local o = {}\n  for k, r in ipairs(rs) do\n    local t = {}\n"
                    "    for i = 1, r.length do t[i] = 0 end\n    if r.index == 2 then t[2] = 1e39 end\n"
                    "    o[k] = {returns = t}\n  end\n  return o\nend\n",
                    NULL, "response 2 (group 9) token 1: the return is infinite as a float32");
    /* sum form, step rewards [3e38, 3e38]: 6e38 on the first token */
    CreditBatch b = {.n = 2, .group = (int64_t[]){0, 0}, .length = (int32_t[]){2, 1}, .step_off = (int64_t[]){0, 2, 3},
                     .step_ends = (int32_t[]){0, 1, 0}, .step_rewards = (float[]){3e38f, 3e38f, 1}};
    CreditConfig c = cfg_of("sum", "none");
    check_error(&b, &c, "response 0 (group 0) token 0: the return is infinite as a float32 (finite float32 values end "
                        "at 3.4e38): the rewards, the rule's values or the coefficients are too large");
    /* finite returns, infinite advantage: 3e38 against a baseline of -3e38 */
    CreditBatch a = {.n = 2, .group = (int64_t[]){5, 5}, .length = (int32_t[]){1, 1}, .step_off = (int64_t[]){0, 1, 2},
                     .step_ends = (int32_t[]){0, 0}, .step_rewards = (float[]){3e38f, -3e38f}};
    c = cfg_of("sum", "rloo");
    check_error_has(&a, &c, "response 0 (group 5) token 0: the advantage is infinite as a float32");
    /* a coefficient that overflows the verifiable reward, and inf - inf = NaN in the KL part */
    CreditBatch v = {.n = 1, .group = (int64_t[]){3}, .length = (int32_t[]){2}, .step_off = (int64_t[]){0, 0},
                     .step_ends = (int32_t[]){0}, .verifiable = (float[]){3e38f}};
    c = cfg_of("sum", "none");
    c.vr_coef = 1e6;
    check_error_has(&v, &c, "response 0 (group 3) token 0: the return is infinite as a float32");
    /* the same batches with finite values still work, unchanged */
    c.vr_coef = 1;
    check_run(&v, &c, (double[]){3e38, 3e38}, NULL);
    /* large but finite everywhere: the per-response bounds pass the float32 range, so the values are
     * looked at one by one, and they pass (returns, advantages and whitened advantages) */
    int32_t len100[] = {100, 100};
    CreditBatch big = {.n = 2, .group = (int64_t[]){0, 0}, .length = len100, .step_off = (int64_t[]){0, 0, 0},
                       .step_ends = (int32_t[]){0}, .verifiable = (float[]){2e38f, 1e38f}};
    double want[200];
    for (int t = 0; t < 200; t++) want[t] = t < 100 ? 2e38 : 1e38;
    c = cfg_of("sum", "none");
    check_run(&big, &c, want, want);
    c.whiten = 1;
    double white[200];
    for (int t = 0; t < 200; t++) white[t] = (t < 100 ? 1 : -1) * sqrt(199.0 / 200.0);
    check_run(&big, &c, want, white);
    c = cfg_of("sum", "rloo");
    for (int t = 0; t < 200; t++) white[t] = t < 100 ? 1e38 : -1e38;
    check_run(&big, &c, want, white);
}

/* ---- issue 12: the JSON reader bounds what it allocates ---- */

static void check_json_error(const char *text, int64_t max_tokens, const char *want) {
    PureErr err;
    err_clear(&err);
    CreditJson jb;
    CHECK(credit_json_read(text, strlen(text), "stdin", max_tokens, &jb, &err) < 0);
    if (strcmp(err.msg, want)) fprintf(stderr, "  got: %s\n  want: %s\n", err.msg, want);
    CHECK_STR(err.msg, want);
}

static void test_json(void) {
    PureErr err;
    const char *two = "{\"responses\": [{\"group\": 1, \"length\": 5, \"eos\": false, \"step_ends\": [1, 4], "
                      "\"step_rewards\": [0.5, -1], \"verifiable\": 2},\n"
                      " {\"group\": 1, \"length\": 5, \"kl\": [1, 2, 3, 4, 5]}]}";
    CreditJson jb;
    CHECK(credit_json_read(two, strlen(two), "stdin", 10, &jb, &err) == 0);  /* exactly at the limit */
    CHECK(jb.b.n == 2 && jb.b.length[1] == 5 && jb.b.truncated[0] == 1 && jb.b.step_off[2] == 2);
    CHECK(jb.b.step_ends[1] == 4 && jb.b.step_rewards[1] == -1 && jb.b.has_verifiable[0] && !jb.b.has_verifiable[1]);
    CHECK(jb.b.kl && jb.b.kl[0] == 0 && jb.b.kl[9] == 5);
    credit_json_free(&jb);
    check_json_error(two, 9, "stdin: response 1: length 5 brings the batch to 10 tokens, over the limit of 9 tokens "
                             "per batch (pure credit --max-tokens raises it)");
    /* length 1e9: refused before anything is allocated for it (the default limit) */
    check_json_error("{\"responses\": [{\"group\": 0, \"length\": 1000000000}]}", 0,
                     "stdin: response 0: length 1000000000 brings the batch to 1000000000 tokens, over the limit of "
                     "16777216 tokens per batch (pure credit --max-tokens raises it)");
    /* strict JSON: trailing data and duplicate keys */
    check_json_error("{\"responses\": []} x", 0, "stdin:1:19: unexpected data after the JSON value");
    check_json_error("{\"responses\": [{\"group\": 0, \"group\": 1, \"length\": 2}]}", 0,
                     "stdin: duplicate key \"group\" in the object at $.responses[0]");
    check_json_error("{\"responses\": [{\"group\": 0, \"length\": 2, \"step_ends\": \"x\", \"kl\": 1}]}", 0,
                     "stdin: response 0: field 'step_ends' must be an array");
}

int main(void) {
    test_min_hand();
    test_min_exact_hand();
    test_sum_hand();
    test_kl();
    test_baselines();
    test_properties();
    test_edges();
    test_metrics();
    test_lua_matches_builtins();
    test_first_error();
    test_lua_errors();
    test_lua_kinds();
    test_lua_hardening();
    test_nonfinite();
    test_json();
    return check_report("test_credit");
}
