/* credit.h - credit assignment: step-level process rewards (plus optional
 * verifiable rewards and KL) to per-token returns and advantages.
 *
 * One implementation serves the `credit` stage kind (credit.c) and the
 * `pure credit` command (cmd_credit.c). The batch is ragged: response i owns
 * tokens [tok_off[i], tok_off[i+1]) (tok_off built from the lengths) and steps
 * [step_off[i], step_off[i+1]). Everything is computed in double and stored
 * as float.
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

#include <stdint.h>
#include "../../lua/sandbox.h"
#include "../../util/err.h"

typedef enum { CREDIT_MIN = 0, CREDIT_MIN_EXACT, CREDIT_SUM, CREDIT_LUA } CreditRule;
typedef enum { CREDIT_BASE_RLOO_TOKEN = 0, CREDIT_BASE_RLOO, CREDIT_BASE_GRPO, CREDIT_BASE_NONE } CreditBaseline;
typedef enum { CREDIT_KL_K1 = 0, CREDIT_KL_K3 } CreditKl;

/* Names in enum order (NULL-terminated): the parameters' choices tables. */
extern const char *const credit_rule_names[];
extern const char *const credit_baseline_names[];
extern const char *const credit_kl_names[];
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

typedef struct CreditConfig {
    CreditRule rule;
    double temperature;       /* min: softmax temperature T > 0 */
    double gamma;             /* discount of the token-reward suffix sums, in [0, 1] */
    CreditBaseline baseline;
    int64_t max_length;       /* rloo-token N; 0 = longest response of the batch */
    int whiten;
    double prm_coef, vr_coef, kl_coef;
    Sandbox *lua;             /* rule lua: a sandbox defining CREDIT_LUA_FUNCTION (borrowed) */
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
/* Parses a rule or baseline name; -1 + err listing the choices. */
int credit_rule_parse(const char *s, CreditRule *out, PureErr *err);
int credit_baseline_parse(const char *s, CreditBaseline *out, PureErr *err);
int credit_kl_parse(const char *s, CreditKl *out, PureErr *err);

/* Checks every array of the batch against the others and the config (the
 * messages name the response and step): empty batch, lengths < 0, step ends
 * not ascending or outside the response, non-finite rewards or KL, groups of
 * one under a leave-one-out baseline or grpo. */
int credit_validate(const CreditBatch *b, const CreditConfig *cfg, PureErr *err);
/* Validates, then computes; res is filled (free with credit_result_free). */
int credit_compute(const CreditBatch *b, const CreditConfig *cfg, CreditResult *res, PureErr *err);
void credit_result_free(CreditResult *res);

/* Per-token KL estimate from log-probabilities (n tokens):
 * k1 = logp - ref, k3 = exp(ref - logp) - (ref - logp) - 1 clamped to [-10, 10]. */
void credit_kl_estimate(CreditKl est, const float *logp, const float *ref_logp, int64_t n, float *out);

/* ---- internal: the Lua rule (credit_lua.c), used by credit_compute ---- */
/* Runs the user function group by group. Output per response i: proc[tok_off[i] ..]
 * holds L_i values, and is_return[i] says whether they are token rewards (0: to
 * be summed with gamma) or process returns (1). */
int credit_lua_run(const CreditBatch *b, const CreditConfig *cfg, const int64_t *tok_off, double *proc,
                   uint8_t *is_return, PureErr *err);
/* Responses ordered by (group, index), and where each group starts: order (N),
 * starts (n_groups+1). Returns n_groups. Caller frees both. */
int64_t credit_group_order(const CreditBatch *b, int64_t **order, int64_t **starts);

#endif
