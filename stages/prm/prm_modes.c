/* prm_modes.c - the table of PRM modes: name, doc, what the mode needs and
 * its score function. The `mode` parameter of the prm stage takes its choices
 * from this table, and prm.c its checks from `needs`.
 *
 * To add a mode: write prm_NAME.c defining its PrmScoreFn (prm.h), declare it
 * below and add its row. */
#include "prm.h"

/* Each mode's function, defined in its own file. */
PrmScoreFn prm_model_score, prm_oracle_score, prm_controlled_score, prm_lua_score;

const PrmMode prm_modes[] = {
    {"model", "a token-classification PRM (the `model` input): reward = P(correct) - P(incorrect) at each step marker",
     PRM_NEEDS_MODEL, prm_model_score},
    {"oracle", "the toy task's exact step checker (require_progress, filler_correct, correct_reward, wrong_reward)", 0,
     prm_oracle_score},
    {"controlled", "the exact checker with stated error rates (false_accept_slip, false_accept, false_reject): each "
     "verdict a fixed function of (noise_seed, problem, step text), so its blind spots are consistent like a model's",
     0, prm_controlled_score},
    {"lua", "a sandboxed Lua script (`script`): " PRM_LUA_FUNCTION "(problem, steps, reference) returns one number per "
     "step", PRM_NEEDS_SCRIPT, prm_lua_score},
    {NULL},
};
