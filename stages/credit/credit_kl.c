/* credit_kl.c - the table of per-token KL estimators, computed from the
 * rollout's log-probabilities and its reference model's (the credit stage's
 * `kl_estimator` parameter takes its choices from this table). */
#include <math.h>

#include "credit.h"

static void k1(const float *logp, const float *ref_logp, int64_t n, float *out) {
    for (int64_t t = 0; t < n; t++) out[t] = (float)((double)logp[t] - ref_logp[t]);
}

static void k3(const float *logp, const float *ref_logp, int64_t n, float *out) {
    for (int64_t t = 0; t < n; t++) {
        double d = (double)logp[t] - ref_logp[t];
        double x = -d, v = expm1(x) - x;  /* exp(x) - x - 1 without cancellation near 0 */
        out[t] = (float)(v > 10 ? 10 : v < -10 ? -10 : v);
    }
}

const CreditKlEstimator credit_kl_estimators[] = {
    {"k1", "logp - ref", k1},
    {"k3", "exp(ref - logp) - (ref - logp) - 1, clamped to [-10, 10]", k3},
    {NULL},
};
