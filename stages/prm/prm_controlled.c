/* prm_controlled.c - PRM mode `controlled`: the toy task's exact step checker
 * with stated error rates, so the results can say how an outcome moves with
 * PRM quality (docs/results.md) instead of resting on one learned PRM.
 *
 * A wrong step is accepted with probability false_accept_slip when it is a
 * slip within slip_margin of the true result (the errors learned PRMs miss
 * most: "8-4=3"), false_accept otherwise; a correct step is rejected with
 * probability false_reject. Each verdict is a pure function of (noise_seed,
 * problem, the step's text): the same step of the same problem always gets
 * the same score, as with a real model, so a policy can learn to exploit a
 * consistent blind spot exactly as it exploits a learned PRM. */
#include <stdlib.h>
#include <string.h>

#include "prm.h"
#include "stages/common/toy.h"
#include "util/hash.h"
#include "util/rng.h"

PrmScoreFn prm_controlled_score;

typedef struct Controlled {
    ToyCheckOptions check;
    double false_accept_slip, false_accept, false_reject;
    long slip_margin;
    uint64_t seed;
    int64_t flipped, wrong, correct;
} Controlled;

/* Uniform [0,1) from the step's identity. */
static double step_draw(uint64_t seed, const char *problem, const char *step, size_t len) {
    while (len && (*step == ' ' || *step == '\n')) step++, len--;
    while (len && (step[len - 1] == ' ' || step[len - 1] == '\n')) len--;
    Sha256 h;
    uint8_t d[32];
    sha256_init(&h);
    sha256_update(&h, problem, strlen(problem) + 1);
    sha256_update(&h, step, len);
    sha256_final(&h, d);
    uint64_t stream = 0;
    for (int k = 0; k < 8; k++) stream = stream << 8 | d[k];
    return rng_uniform_double(seed, stream, 0);
}

static int controlled_text(void *state, const PrmText *t, float *rewards, PureErr *err) {
    Controlled *c = state;
    ToyStepInfo *info = xmalloc(((size_t)t->nt + 1) * sizeof *info);
    int n = toy_check_steps_info(t->problem, t->text, &c->check, rewards, info, t->nt);
    int rc = 0;
    if (n < 0)
        rc = err_set(err, "prompt row %lld: '%.60s' is not a toy problem (mode controlled checks the toy task only)",
                     (long long)t->prompt_row, t->problem);
    else if (n != t->nt)
        rc = err_set(err, "response %lld: the checker found %d steps, steps_split %d", (long long)t->i, n, t->nt);
    for (int s = 0; s < n && !rc; s++) {
        int ok = rewards[s] == c->check.correct_reward;
        double rate = ok ? c->false_reject
                         : (info[s].kind == TOY_STEP_SLIP && labs(info[s].error) <= c->slip_margin) ? c->false_accept_slip
                                                                                                 : c->false_accept;
        ok ? c->correct++ : c->wrong++;
        if (rate > 0 && step_draw(c->seed, t->problem, t->text + t->starts[s], t->ends[s] - t->starts[s]) < rate) {
            rewards[s] = ok ? c->check.wrong_reward : c->check.correct_reward;
            c->flipped++;
        }
    }
    free(info);
    return rc;
}

int prm_controlled_score(StageCtx *ctx, PrmJob *j, PureErr *err) {
    Controlled c = {0};
    toy_check_options_default(&c.check);
    c.check.require_progress = stage_param_bool(ctx, "require_progress");
    c.check.filler_correct = stage_param_bool(ctx, "filler_correct");
    c.check.correct_reward = (float)stage_param_float(ctx, "correct_reward");
    c.check.wrong_reward = (float)stage_param_float(ctx, "wrong_reward");
    c.false_accept_slip = stage_param_float(ctx, "false_accept_slip");
    c.false_accept = stage_param_float(ctx, "false_accept");
    c.false_reject = stage_param_float(ctx, "false_reject");
    c.slip_margin = (long)stage_param_int(ctx, "slip_margin");
    c.seed = (uint64_t)stage_param_int(ctx, "noise_seed");
    int rc = prm_score_text(ctx, j, controlled_text, &c, err);
    if (!rc) {
        stage_metric(ctx, "flipped_fraction", c.correct + c.wrong ? (double)c.flipped / (double)(c.correct + c.wrong) : 0);
        stage_metric(ctx, "wrong_step_fraction", c.correct + c.wrong ? (double)c.wrong / (double)(c.correct + c.wrong) : 0);
    }
    return rc;
}
