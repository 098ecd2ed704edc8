/* credit_min_exact.c - the `min-exact` rule: the process return at token t is
 * the lowest reward of the steps ending at or after t (0 after the last step),
 * used as it is, not summed (the limit T -> 0 of min, without its smoothing). */
#include "credit.h"

CreditRuleFn credit_min_exact;

int credit_min_exact(const CreditRuleRun *run, int64_t i, double *tok, double *ret) {
    const CreditBatch *b = run->b;
    if (!b->step_rewards) return 0;
    int32_t L = b->length[i];
    int64_t s0 = b->step_off[i], j = b->step_off[i + 1] - 1;
    /* backwards over the steps: tokens (end of step j-1, end of step j] take the
     * minimum over steps j, j+1, ... */
    int32_t t = L - 1;
    for (; t > (j >= s0 ? b->step_ends[j] : -1); t--) ret[t] = 0;
    float m = 0;
    for (; j >= s0; j--) {
        if (j == b->step_off[i + 1] - 1 || b->step_rewards[j] < m) m = b->step_rewards[j];
        double v = run->cfg->prm_coef * m;
        int32_t lo = j > s0 ? b->step_ends[j - 1] : -1;
        for (; t > lo; t--) ret[t] = v;
    }
    return 1;
}
