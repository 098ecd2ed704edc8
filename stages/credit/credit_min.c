/* credit_min.c - the `min` rule, the method's min form: the step rewards r_j
 * of a response, weighted by w = softmax(-r / T) over its steps, as token
 * rewards on the step ends (summed into the returns with gamma). */
#include <math.h>

#include "credit.h"

CreditRuleFn credit_min;

int credit_min(const CreditRuleRun *run, int64_t i, double *tok, double *ret) {
    const CreditBatch *b = run->b;
    const CreditConfig *cfg = run->cfg;
    int64_t s0 = b->step_off[i], s1 = b->step_off[i + 1];
    if (!b->step_rewards || s1 == s0) return 0;
    const float *rw = b->step_rewards;
    /* shifted by the smallest reward so exp never overflows */
    double rmin = rw[s0], z = 0;
    for (int64_t k = s0; k < s1; k++) rmin = rw[k] < rmin ? rw[k] : rmin;
    for (int64_t k = s0; k < s1; k++) z += exp(-(rw[k] - rmin) / cfg->temperature);
    for (int64_t k = s0; k < s1; k++)
        tok[b->step_ends[k]] += cfg->prm_coef * exp(-(rw[k] - rmin) / cfg->temperature) / z * rw[k];
    return 0;
}
