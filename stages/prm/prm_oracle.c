/* prm_oracle.c - PRM mode `oracle`: the toy task's exact step checker
 * (stages/common/toy.h), with or without the "must make progress" option, so
 * the toy experiments can switch between PRMs with realistic flaws. */
#include "prm.h"
#include "stages/common/toy.h"

PrmScoreFn prm_oracle_score;

static int oracle_text(void *state, const PrmText *t, float *rewards, PureErr *err) {
    int n = toy_check_steps(t->problem, t->text, state, rewards, t->nt);
    if (n < 0)
        return err_set(err, "prompt row %lld: '%.60s' is not a toy problem (mode oracle checks the toy task only)",
                       (long long)t->prompt_row, t->problem);
    if (n != t->nt) return err_set(err, "response %lld: the checker found %d steps, steps_split %d", (long long)t->i, n, t->nt);
    return 0;
}

int prm_oracle_score(StageCtx *ctx, PrmJob *j, PureErr *err) {
    ToyCheckOptions o;
    toy_check_options_default(&o);
    o.require_progress = stage_param_bool(ctx, "require_progress");
    o.filler_correct = stage_param_bool(ctx, "filler_correct");
    o.correct_reward = (float)stage_param_float(ctx, "correct_reward");
    o.wrong_reward = (float)stage_param_float(ctx, "wrong_reward");
    return prm_score_text(ctx, j, oracle_text, &o, err);
}
