/* credit_sum.c - the `sum` rule, the canonical sum form: each step's reward
 * as the token reward of its last token (summed into the returns with gamma). */
#include "credit.h"

CreditRuleFn credit_sum;

int credit_sum(const CreditRuleRun *run, int64_t i, double *tok, double *ret) {
    const CreditBatch *b = run->b;
    int64_t s0 = b->step_off[i], s1 = b->step_off[i + 1];
    if (!b->step_rewards) return 0;
    for (int64_t k = s0; k < s1; k++) tok[b->step_ends[k]] += run->cfg->prm_coef * b->step_rewards[k];
    return 0;
}
