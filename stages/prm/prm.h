/* prm.h - the `prm` stage kind's scoring modes: one table (prm_modes.c) of
 * name, doc, what the mode needs and its score function, each mode in its
 * own file (prm_NAME.c). prm.c holds the stage kind: it checks what the
 * chosen row needs, reads the inputs, calls the row's function and writes the
 * rewards; it also holds what the modes share (scoring a response's text
 * steps and folding them onto the stored steps). */
#ifndef PURE_PRM_H
#define PURE_PRM_H

#include <stddef.h>
#include <stdint.h>

#include "stages/common/io.h"
#include "stages/stage.h"

/* What a mode needs besides the rollouts and prompts; prm.c turns these into
 * the errors "mode NAME needs the input 'model'" (run time: only then are the
 * inputs known) and "mode NAME needs the parameter 'script'" (validate time). */
enum {
    PRM_NEEDS_MODEL = 1 << 0,  /* the `model` input: a token-classification PRM folder */
    PRM_NEEDS_SCRIPT = 1 << 1, /* the `script` parameter: a Lua script defining PRM_LUA_FUNCTION */
};
#define PRM_LUA_FUNCTION "score"  /* score(problem, steps, reference) -> one number per step */

/* One stage run's scoring job: what every mode reads and fills. */
typedef struct PrmJob {
    const Rollouts *ro;
    const Prompts *pr;   /* ro->prompt_index[i] is a row of pr (checked) */
    float *out;          /* (S) one reward per stored step, flat, aligned with ro->step_ends */
    int64_t lo, hi;      /* the responses this rank scores (all of them on one rank; docs/distributed.md) */
    int64_t unscored;    /* model mode: steps past max_len, which got unscored_reward */
    float *lm_min;       /* (S) model mode with the `lm` input: each step's lowest token log-prob under the LM (NaN:
                            past its context), and then out[] holds NaN for the steps past max_len; else NULL */
} PrmJob;

/* Fills j->out; -1 with err set (the stage adds nothing but its name). */
typedef int PrmScoreFn(StageCtx *ctx, PrmJob *j, PureErr *err);

typedef struct PrmMode {
    const char *name;    /* first: the row is a PT_ENUM choice (stage.h) */
    const char *doc;
    unsigned needs;      /* PRM_NEEDS_* */
    PrmScoreFn *score;
} PrmMode;

extern const PrmMode prm_modes[];  /* ends with a row whose name is NULL */

/* The `script` of a lua-mode stage loaded into a sandbox with the stage's
 * limits, checked to define PRM_LUA_FUNCTION; NULL with err set. Used at run
 * time and by `pure validate` (prm_check), so a broken script fails before
 * anything runs. */
struct Sandbox;
struct Sandbox *prm_lua_open(const StageParams *p, PureErr *err);

/* ---- shared: modes that score the text's steps (oracle, lua) ---- */

/* One response's text steps (steps_split of its text). */
typedef struct PrmText {
    int64_t i;                    /* response */
    int64_t prompt_row;           /* its row in the prompts */
    const char *text, *problem, *reference;
    const size_t *starts, *ends;  /* (nt) byte range [starts[s], ends[s]) of text step s */
    int nt;
} PrmText;

/* Scores the nt text steps of t into rewards[0..nt). */
typedef int PrmTextScoreFn(void *state, const PrmText *t, float *rewards, PureErr *err);

/* For every response of [j->lo, j->hi): splits its text into steps, scores them with fn, and
 * folds the text steps' rewards onto the stored steps (a stored step that
 * merged several text steps gets their lowest reward; one with none gets
 * wrong_reward). */
int prm_score_text(StageCtx *ctx, PrmJob *j, PrmTextScoreFn *fn, void *state, PureErr *err);

#endif
