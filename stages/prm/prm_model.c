/* prm_model.c - PRM mode `model`: a token-classification PRM (prm_train's
 * output or a Hugging Face token classifier with 2 labels) scores the
 * method's input format at each step marker: reward = P(correct) -
 * P(incorrect) (stages/common/prmfmt.h). */
#include <stdlib.h>
#include <string.h>

#include "prm.h"
#include "stages/common/lm.h"
#include "stages/common/prmfmt.h"

PrmScoreFn prm_model_score;

int prm_model_score(StageCtx *ctx, PrmJob *j, PureErr *err) {
    Policy p;
    if (policy_load(stage_input_path(ctx, "model"), "model", 2, stage_param_str(ctx, "device"), &p, err)) return -1;
    const Rollouts *ro = j->ro;
    int micro = (int)stage_param_int(ctx, "micro_batch"), max_len = (int)stage_param_int(ctx, "max_len");
    if (max_len > model_config(p.m)->max_position) max_len = model_config(p.m)->max_position;
    PrmInput *in = xcalloc((size_t)micro, sizeof *in);
    float unscored = (float)stage_param_float(ctx, "unscored_reward");
    int64_t n_unscored = 0;
    int rc = 0;
    for (int64_t s = 0; s < ro->n && !rc; s += micro) {
        int c = (int)(ro->n - s < micro ? ro->n - s : micro);
        for (int k = 0; k < c && !rc; k++) {
            int64_t i = s + k, o = ro->step_ends.off[i];
            int ns = (int)ragged_len(&ro->step_ends, i);
            const char *text = ro->text[i];
            size_t tlen = strlen(text);
            const char **steps = xmalloc(((size_t)ns + 1) * sizeof(char *));
            size_t *lens = xmalloc(((size_t)ns + 1) * sizeof(size_t)), prev = 0;
            for (int t = 0; t < ns; t++) {
                size_t e = ro->step_bytes.n ? (size_t)((const int32_t *)ro->step_bytes.v)[o + t] : tlen;
                if (t == ns - 1 || e > tlen) e = tlen; /* offsets never point past the stored text */
                if (e < prev) e = prev;
                steps[t] = text + prev;
                lens[t] = e - prev;
                prev = e;
            }
            rc = prm_format(p.tok, j->pr->problem[ro->prompt_index[i]], steps, lens, ns, max_len, &in[k], err);
            free(steps), free(lens);
        }
        if (!rc) rc = prm_score(p.m, in, c, unscored, j->out + ro->step_ends.off[s], &n_unscored, err);
        for (int k = 0; k < c; k++) prm_input_free(&in[k]);
        stage_progress(ctx, s + c, ro->n, "responses");
    }
    if (!rc) {
        int64_t total = ro->step_ends.off[ro->n];
        stage_metric(ctx, "unscored_step_fraction", total ? (double)n_unscored / (double)total : 0);
        if (n_unscored)
            stage_warn(ctx, "%lld of %lld steps lie past max_len %d tokens of PRM input and got unscored_reward %g",
                       (long long)n_unscored, (long long)total, max_len, unscored);
    }
    free(in);
    policy_free(&p);
    return rc;
}
