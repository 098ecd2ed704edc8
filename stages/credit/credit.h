/* credit.h - credit assignment: step-level process rewards (plus optional
 * verifiable rewards and KL) to per-token returns and advantages.
 *
 * One implementation serves the `credit` stage kind (credit.c) and the
 * `pure credit` command (cli/cmd_credit.c). The batch is ragged: response i
 * owns tokens [tok_off[i], tok_off[i+1]) (tok_off built from the lengths) and
 * steps [step_off[i], step_off[i+1]). Everything is computed in double and
 * stored as float.
 *
 * Three tables say what can be chosen: the rules (credit_rules.c, each rule in
 * its own file credit_NAME.c), the baselines (credit_baselines.c) and the KL
 * estimators (credit_kl.c). Each row begins with its name, so a table is at
 * the same time the `choices` of the stage's PT_ENUM parameter (stage.h), the
 * list `pure credit` accepts and prints, and what an error message lists.
 *
 * Returns, per response of length L with token rewards r_t (process part
 * scaled by prm_coef, vr_coef * verifiable on token L-1, -kl_coef * kl_t):
 *   min       r_t at step ends = w_j * r_j, w = softmax(-r / T) over the steps;
 *             G_t = sum_{t' >= t} gamma^(t'-t) r_t'
 *   sum       r_t at step ends = r_j; same discounted suffix sum
 *   min-exact process return P_t = min of r_j over steps ending at or after t
 *             (0 after the last step); G_t = prm_coef * P_t + suffix sum of
 *             the verifiable and KL token rewards
 *   lua       a user function per group (credit_lua.c, docs/lua-api.md)
 * Baselines (per response i of a group of K, on the total returns G):
 *   rloo-token b_i = sum_{k != i} sum_t G_kt / ((K-1) N), N = max_length or
 *              the longest response of the batch
 *   rloo       b_i = mean_{k != i} G_k0
 *   grpo       A_it = (G_it - mean_k G_k0) / (std_k G_k0 + 1e-6), sample std
 *   none       b_i = 0
 * then optional whitening over every token of the batch:
 *   A = (A - mean) / sqrt(var + 1e-8), var with Bessel's correction.
 */
#ifndef PURE_CREDIT_H
#define PURE_CREDIT_H

#include <stddef.h>
#include <stdint.h>
#include "../../lua/sandbox.h"
#include "../../util/err.h"

#define CREDIT_LUA_FUNCTION "credit"  /* the global a Lua rule defines */

/* The input batch; arrays are borrowed, never freed here. */
typedef struct CreditBatch {
    int64_t n;                     /* responses */
    const int64_t *group;          /* (N) group (prompt) id: responses sharing it are siblings */
    const int32_t *length;         /* (N) response tokens */
    const uint8_t *truncated;      /* (N) 1 = cut at the length limit; NULL = none */
    const int64_t *step_off;       /* (N+1) row offsets into step_ends/step_rewards */
    const int32_t *step_ends;      /* (S) token index ending each step, ascending, < length */
    const float *step_rewards;     /* (S) one process reward per step; NULL = no process rewards */
    const float *verifiable;       /* (N) NULL = none */
    const uint8_t *has_verifiable; /* (N) 0 = no verifiable reward for this response; NULL = all present */
    const float *kl;               /* (T) per-token KL estimate, rows follow the lengths; NULL = none */
} CreditBatch;

typedef struct CreditRule CreditRule;
typedef struct CreditBaseline CreditBaseline;
typedef struct CreditKlEstimator CreditKlEstimator;

typedef struct CreditConfig {
    const CreditRule *rule;         /* a row of credit_rules */
    double temperature;             /* min: softmax temperature T > 0 */
    double gamma;                   /* discount of the token-reward suffix sums, in [0, 1] */
    const CreditBaseline *baseline; /* a row of credit_baselines */
    int64_t max_length;             /* rloo-token N; 0 = longest response of the batch */
    int whiten;
    double prm_coef, vr_coef, kl_coef;
    Sandbox *lua;                   /* a rule that needs a script: a sandbox defining CREDIT_LUA_FUNCTION (borrowed) */
} CreditConfig;

#define CREDIT_MAX_METRICS 16
typedef struct CreditMetric {
    const char *name;
    double value;
} CreditMetric;

typedef struct CreditResult {
    int64_t n, n_tokens;
    int64_t *tok_off;        /* (N+1) */
    float *returns;          /* (T) */
    float *advantages;       /* (T) */
    int n_metrics;
    CreditMetric metrics[CREDIT_MAX_METRICS];
} CreditResult;

/* Defaults: rule min, T 0.1, gamma 1, baseline rloo-token, coefficients 1, 0 KL. */
void credit_config_init(CreditConfig *cfg);

/* Checks every array of the batch against the others and the config (the
 * messages name the response and step): empty batch, lengths < 0, step ends
 * not ascending or outside the response, non-finite rewards or KL, groups of
 * one under a leave-one-out baseline or grpo, what the rule needs. */
int credit_validate(const CreditBatch *b, const CreditConfig *cfg, PureErr *err);
/* Validates, then computes; res is filled (free with credit_result_free).
 * Fails, naming the response, group and token, when a return or advantage is
 * not finite as the float32 it is stored as (|value| > 3.4e38, or NaN): finite
 * inputs can still overflow, and nothing non-finite is ever handed on. */
int credit_compute(const CreditBatch *b, const CreditConfig *cfg, CreditResult *res, PureErr *err);
void credit_result_free(CreditResult *res);

/* ---------------------------------------------------------------- the JSON batch (credit_json.c) */

/* `pure credit`'s input, {"responses": [{"group", "length", "eos", "step_ends",
 * "step_rewards", "verifiable", "kl"}, ...]} (cli/cmd_credit.c), read into a
 * CreditBatch that points into the arrays it owns. */
typedef struct CreditJson {
    CreditBatch b;
    int64_t *group, *step_off;
    int32_t *length, *step_ends;
    uint8_t *truncated, *has_verifiable;
    float *step_rewards, *verifiable, *kl;
} CreditJson;

#define CREDIT_JSON_MAX_TOKENS ((int64_t)1 << 24)  /* default cap on a batch's total tokens */

/* Parses len bytes of text (strict JSON, util/json.h: trailing data and
 * duplicate keys are errors); `name` names the input in messages ("stdin:1:5:
 * ...", "stdin: response 3: field 'length' ..."). The lengths may add up to
 * at most max_tokens (<= 0: CREDIT_JSON_MAX_TOKENS), checked before anything
 * is allocated from them: the error names the response and the limit.
 * Returns 0, or -1 with err set and nothing to free. */
int credit_json_read(const char *text, size_t len, const char *name, int64_t max_tokens, CreditJson *jb,
                     PureErr *err);
void credit_json_free(CreditJson *jb);

/* ---------------------------------------------------------------- the tables */

/* A row of any of the three tables is found by name with one helper: rows
 * begin with their name and the table ends with a row whose name is NULL.
 * Returns the row, or NULL with err (when not NULL) set to
 * "unknown WHAT 'NAME' (expected one of a|b|c)". */
const void *credit_table_find(const void *rows, size_t stride, const char *what, const char *name, PureErr *err);
/* The names joined by sep ("a|b|c"), skipping rows for which skip(row) is
 * true (skip may be NULL), into buf. */
const char *credit_table_names(const void *rows, size_t stride, const char *sep, int (*skip)(const void *row),
                               char *buf, size_t cap);
#define CREDIT_TABLE_FIND(table, what, name, err) credit_table_find((table), sizeof *(table), (what), (name), (err))

/* ---- rules (credit_rules.c) ---- */

/* What a rule needs besides the batch's lengths and steps. */
enum {
    CREDIT_NEEDS_STEP_REWARDS = 1 << 0, /* process rewards (the stage's `rewards` input): without them the
                                           process part is 0, which the stage warns about */
    CREDIT_NEEDS_SCRIPT = 1 << 1,       /* a Lua script defining CREDIT_LUA_FUNCTION (cfg->lua; the stage's
                                           `script` parameter, `pure credit --rule FILE.lua`) */
    CREDIT_NEEDS_TEMPERATURE = 1 << 2,  /* cfg->temperature > 0 */
};

/* One credit_compute() call as a rule sees it. */
typedef struct CreditRuleRun {
    const CreditBatch *b;
    const CreditConfig *cfg;
    const int64_t *tok_off;   /* (N+1) */
    /* Scratch a rule's prepare() may allocate (xmalloc); credit_compute frees both. */
    double *values;           /* e.g. (T) */
    uint8_t *flags;           /* e.g. (N) */
} CreditRuleRun;

/* A rule's process part of response i (L = length[i] tokens), already
 * weighted by cfg->prm_coef, written as one or both of:
 *   tok[0..L): token rewards, zeroed on entry; a rule adds into them. They are
 *              summed into the returns with gamma, like the verifiable reward
 *              and the KL penalty (which are added to tok after the rule).
 *   ret[0..L): process returns, added as they are to the discounted sum at
 *              each token; not initialised: a rule that uses them writes all L.
 * Returns 1 if it wrote ret, 0 if not. */
typedef int CreditRuleFn(const CreditRuleRun *run, int64_t i, double *tok, double *ret);
/* Optional: runs once over the whole batch before the responses (the Lua
 * rule calls the script here); -1 with err set fails credit_compute. */
typedef int CreditRulePrepareFn(CreditRuleRun *run, PureErr *err);

struct CreditRule {
    const char *name;             /* first: the row is a PT_ENUM choice */
    const char *doc;              /* one line for `pure credit --help` */
    unsigned needs;               /* CREDIT_NEEDS_* */
    CreditRuleFn *response;
    CreditRulePrepareFn *prepare; /* NULL = none */
};

extern const CreditRule credit_rules[];  /* ends with a row whose name is NULL; row 0 is the default */

static inline const CreditRule *credit_rule_find(const char *name, PureErr *err) {
    return CREDIT_TABLE_FIND(credit_rules, "rule", name, err);
}
/* The first rule that runs a script (rule lua), NULL if none: what a script
 * path selects (`pure credit --rule FILE.lua`, the hint of the stage's check). */
static inline const CreditRule *credit_script_rule(void) {
    for (const CreditRule *r = credit_rules; r->name; r++)
        if (r->needs & CREDIT_NEEDS_SCRIPT) return r;
    return NULL;
}

/* ---- baselines (credit_baselines.c) ---- */

/* What a baseline sees of one group (the responses sharing a group id). */
typedef struct CreditGroup {
    int64_t k;                  /* responses */
    double sum_tot, sum_first;  /* sums over the group of the responses' summed returns and first returns */
    double mean, sd;            /* of the first returns (sd: sample, 0 for one response) */
    double n_norm;              /* rloo-token N: max_length, or the longest response of the batch */
} CreditGroup;

/* Advantage of response i's tokens = (return - *base) * *scale; *base = 0 and
 * *scale = 1 on entry. sum: the response's summed returns, first: its first. */
typedef void CreditBaselineFn(const CreditGroup *g, double sum, double first, double *base, double *scale);

struct CreditBaseline {
    const char *name;      /* first: the row is a PT_ENUM choice */
    const char *doc;
    int min_group;         /* responses a group needs (2 for a leave-one-out or a group statistic) */
    CreditBaselineFn *fn;
};

extern const CreditBaseline credit_baselines[];  /* ends with a NULL name; row 0 is the default */

static inline const CreditBaseline *credit_baseline_find(const char *name, PureErr *err) {
    return CREDIT_TABLE_FIND(credit_baselines, "baseline", name, err);
}

/* ---- KL estimators (credit_kl.c) ---- */

/* Per-token KL estimate of n tokens from log-probabilities. */
typedef void CreditKlFn(const float *logp, const float *ref_logp, int64_t n, float *out);

struct CreditKlEstimator {
    const char *name;      /* first: the row is a PT_ENUM choice */
    const char *doc;
    CreditKlFn *fn;
};

/* k1 = logp - ref, k3 = exp(ref - logp) - (ref - logp) - 1 clamped to [-10, 10]. */
extern const CreditKlEstimator credit_kl_estimators[];  /* ends with a NULL name; row 0 is the default */

static inline const CreditKlEstimator *credit_kl_find(const char *name, PureErr *err) {
    return CREDIT_TABLE_FIND(credit_kl_estimators, "kl estimator", name, err);
}
static inline void credit_kl_estimate(const CreditKlEstimator *est, const float *logp, const float *ref_logp,
                                      int64_t n, float *out) {
    est->fn(logp, ref_logp, n, out);
}

/* ---- shared by the core and the rules ---- */

/* Responses ordered by (group, index), and where each group starts: order (N),
 * starts (n_groups+1). Returns n_groups. Caller frees both. */
int64_t credit_group_order(const CreditBatch *b, int64_t **order, int64_t **starts);

#endif
