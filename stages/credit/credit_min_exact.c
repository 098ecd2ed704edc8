/* credit_min_exact.c - the `min-exact` rule: the process return at token t is
 * the lowest reward of the steps ending at or after t (0 after the last step),
 * used as it is, not summed (the limit T -> 0 of min, without its smoothing). */
#include <math.h>

#include "credit.h"

CreditRuleFn credit_min_exact;

int credit_min_exact(const CreditRuleRun *run, int64_t i, double *tok, double *ret) {
    const CreditBatch *b = run->b;
    if (!b->step_rewards) return 0;
    int64_t s0 = b->step_off[i], j = b->step_off[i + 1] - 1;
    double m = INFINITY;
    for (int32_t t = b->length[i] - 1; t >= 0; t--) {
        while (j >= s0 && b->step_ends[j] >= t) {
            if (b->step_rewards[j] < m) m = b->step_rewards[j];
            j--;
        }
        ret[t] = m != INFINITY ? run->cfg->prm_coef * m : 0;
    }
    return 1;
}
