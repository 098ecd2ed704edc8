/* credit_baselines.c - the table of baselines: what is subtracted from (and
 * how the advantage is scaled against) each response's returns, from the
 * statistics of its group (credit_core.c computes them; formulas in credit.h).
 * The `baseline` parameter of the credit stage and `pure credit --baseline`
 * take their choices from this table. */
#include <math.h>

#include "credit.h"

#define GRPO_EPS 1e-6

/* Others' summed returns over (K-1) N tokens: the method's baseline. */
static void rloo_token(const CreditGroup *g, double sum, double first, double *base, double *scale) {
    *base = g->n_norm > 0 ? (g->sum_tot - sum) / ((g->k - 1) * g->n_norm) : 0;
}

static void rloo(const CreditGroup *g, double sum, double first, double *base, double *scale) {
    *base = (g->sum_first - first) / (g->k - 1);
}

static void grpo(const CreditGroup *g, double sum, double first, double *base, double *scale) {
    *base = g->mean;
    *scale = 1 / (g->sd + GRPO_EPS);
}

static void none(const CreditGroup *g, double sum, double first, double *base, double *scale) {}

const CreditBaseline credit_baselines[] = {
    {"rloo-token", "the method's: others' summed returns / ((K-1) N), N = max_length or the longest response", 2,
     rloo_token},
    {"rloo", "the others' mean first-token return", 2, rloo},
    {"grpo", "(G - group mean) / (group std + 1e-6) of the first-token returns", 2, grpo},
    {"none", "no baseline: advantages are the returns", 1, none},
    {NULL},
};
