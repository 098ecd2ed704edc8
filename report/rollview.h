/* rollview.h - one iteration's rollouts as the run stored them: the prompt,
 * each step with its process reward (the minimum marked), the verifiable
 * result and the credit each step got, for `pure show rollouts` and the HTML
 * report.
 *
 * Everything is read from the committed artifacts that one credit stage run
 * read (its identity names their fingerprints): its rollouts, the process
 * rewards it used, its verifiable rewards (or, when credit had none, those of
 * a verify stage that graded the same rollouts), the prompts the rollouts
 * were sampled from, and its advantages. Nothing is recomputed: a step's
 * "return" and "advantage" are the stored per-token values at the step's
 * first token.
 */
#ifndef PURE_REPORT_ROLLVIEW_H
#define PURE_REPORT_ROLLVIEW_H

#include <stdio.h>
#include "report/runview.h"
#include "stages/common/io.h"

typedef enum { RV_SORT_NONE, RV_SORT_ADVANTAGE, RV_SORT_REWARD, RV_SORT_LENGTH } RvSort;
typedef enum { RV_FILTER_NONE, RV_FILTER_WRONG, RV_FILTER_FLAGGED } RvFilter;

/* Why a response is flagged (docs/reports.md): the update pushes up an
 * answer the verifier rejects, or the response repeats a step verbatim. */
enum { RV_FLAG_WRONG_REINFORCED = 1, RV_FLAG_REPEATED_STEP = 2 };

typedef struct RollView {
    int iteration;
    char *credit_stage, *rule;      /* the credit stage run shown and its rule */
    char *rollout_stage, *prm_stage, *prm_mode, *verify_stage; /* verify_stage NULL without a verifiable result */
    Rollouts ro;                    /* N responses */
    Prompts pr;                     /* the prompts the rollouts index; n = 0 when not stored */
    Ragged rewards;                 /* (N, steps) f32 step rewards */
    int has_verify;
    float *vreward;                 /* (N) verifiable reward */
    uint8_t *has_reward, *correct;  /* (N) */
    char **extracted;               /* (N) */
    Ragged returns, adv;            /* (N, tokens) f32 */
    /* per response, derived for display (no model, no credit rule runs) */
    double *score;                  /* (N) advantage at the first token */
    double *total;                  /* (N) return at the first token */
    int *min_step;                  /* (N) step with the lowest process reward, -1 without steps */
    unsigned *flags;                /* (N) RV_FLAG_* */
} RollView;

/* Loads iteration `iter` (-1: the run's last iteration with a credit stage
 * run). credit_stage: which credit stage when the run has several (NULL:
 * the only one). Errors name what is missing: the iteration, the stage, a
 * pruned or missing artifact, the dataset. */
int rollview_load(const RunView *rv, int iter, const char *credit_stage, RollView *v, PureErr *err);
void rollview_free(RollView *v);

/* Indices of the responses to show, after the filter, in sort order (best
 * first), at most limit (<= 0: all); returns the count, *idx malloc'd,
 * *matched (may be NULL) the count before the limit. */
int rollview_select(const RollView *v, RvSort sort, RvFilter filter, int limit, int **idx, int *matched);

/* Text of step s of response i (not NUL-terminated: *len bytes); NULL when
 * the rollouts carry no step byte offsets. */
const char *rollview_step_text(const RollView *v, int64_t i, int64_t s, size_t *len);
/* Start token of step s of response i. */
int rollview_step_start(const RollView *v, int64_t i, int64_t s);

/* The terminal view. color: ANSI colours. Control characters and bytes that
 * are not UTF-8 in stored text are shown escaped (\x1b), never sent raw. */
void rollview_print(FILE *f, const RollView *v, const int *idx, int n, int matched, int color);

#endif
