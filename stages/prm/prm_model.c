/* prm_model.c - PRM mode `model`: a token-classification PRM (prm_train's
 * output or a Hugging Face token classifier with 2 labels) scores each step
 * at its marker: reward = P(correct) - P(incorrect). The input is built in
 * the stage's `input_format` (stages/common/prmfmt.h): `text` re-tokenizes
 * problem and steps; `tokens` reuses the rollout's own ids, which is only
 * meaningful when the PRM reads them with the policy's tokenizer.
 *
 * With the `lm` input (a causal LM on the policy's tokenizer, e.g. the
 * prm_base policy the PRM was built on) each step also gets the lowest
 * log-probability of its tokens under that LM (prompt + response, cut at the
 * LM's context): the second feature of the calibration (stages/common/calib.h).
 * Then the head's score of a step past max_len is NaN here, and prm.c turns
 * it into unscored_reward after recording the features. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prm.h"
#include "stages/common/lm.h"
#include "stages/common/prmfmt.h"
#include "stages/stage.h"

PrmScoreFn prm_model_score;

/* The policy tokenizer's size the rollout stage recorded (attribute tokenizer_vocab) into *v, -1 when absent;
 * -1 with err set when the rollouts cannot be opened. */
static int rollouts_vocab(StageCtx *ctx, int64_t *v, PureErr *err) {
    Artifact *a = stage_input_open(ctx, "rollouts", err);
    if (!a) return -1;
    PureErr tmp = {0};
    *v = -1;
    if (artifact_get_attr_i64(a, "/", "tokenizer_vocab", v, &tmp)) *v = -1;
    artifact_close(a, NULL);
    return 0;
}

/* The tokens format feeds the policy's ids to the PRM unchanged: the two
 * tokenizers must agree. The rollout stage records its tokenizer's size. */
static int check_same_tokenizer(StageCtx *ctx, const Tokenizer *prm_tok, int32_t *nl, PureErr *err) {
    int64_t v;
    if (rollouts_vocab(ctx, &v, err)) return -1;
    if (v < 0)
        return err_set(err, "input_format tokens: input 'rollouts' does not record the policy tokenizer's size "
                       "(attribute tokenizer_vocab; written by an older rollout?), so the PRM's tokenizer cannot be "
                       "checked against it; rerun the rollout or use input_format: text");
    if (v != tokenizer_vocab_size(prm_tok))
        return err_set(err, "input_format tokens: the PRM's tokenizer has %d ids but the policy's (input 'rollouts', "
                       "attribute tokenizer_vocab) has %lld; the tokens format feeds the policy's ids to the PRM "
                       "and needs one tokenizer for both (use input_format: text otherwise)",
                       tokenizer_vocab_size(prm_tok), (long long)v);
    return prm_newline_id(prm_tok, "input_format tokens: the PRM's tokenizer", nl, err);
}

/* j->lm_min[t] for the steps of responses [j->lo, j->hi): the LM's lowest token log-prob over step t's tokens
 * (response tokens from the previous step's end + 1 through its own end), NaN where the LM's context cut the step. */
static int lm_features(StageCtx *ctx, PrmJob *j, PureErr *err) {
    Policy lm;
    if (policy_load_ctx(ctx, stage_input_path(ctx, "lm"), "lm", 0, 0, &lm, err)) return -1;
    const Rollouts *ro = j->ro;
    int64_t v = -1;
    int rc = rollouts_vocab(ctx, &v, err);
    if (!rc && v < 0)
        rc = err_set(err, "input 'lm': input 'rollouts' does not record the policy tokenizer's size (attribute "
                     "tokenizer_vocab), so the LM's tokenizer cannot be checked against it; rerun the rollout");
    if (!rc && v != tokenizer_vocab_size(lm.tok))
        rc = err_set(err, "input 'lm': the LM's tokenizer has %d ids but the policy's (input 'rollouts', attribute "
                     "tokenizer_vocab) has %lld; the LM scores the policy's own ids and needs its tokenizer",
                     tokenizer_vocab_size(lm.tok), (long long)v);
    int ctxlen = model_config(lm.m)->max_position, micro = (int)stage_param_int(ctx, "micro_batch");
    int64_t n = j->hi - j->lo;
    SeqRow *rows = xcalloc((size_t)n + 1, sizeof *rows);
    int64_t *at = xcalloc((size_t)n + 1, sizeof *at), total = 0, nr = 0;
    for (int64_t i = j->lo; i < j->hi && !rc; i++) {
        int plen = (int)ragged_len(&ro->prompt_tokens, i), rlen = (int)ragged_len(&ro->tokens, i);
        if (rlen > ctxlen - plen) rlen = ctxlen - plen > 0 ? ctxlen - plen : 0;
        at[i - j->lo] = rlen > 0 && plen > 0 ? total : -1;
        if (at[i - j->lo] < 0) continue;
        rows[nr++] = (SeqRow){(const int32_t *)ro->prompt_tokens.v + ro->prompt_tokens.off[i], plen,
                              (const int32_t *)ro->tokens.v + ro->tokens.off[i], rlen};
        total += rlen;
    }
    float *lp = xmalloc(((size_t)total + 1) * sizeof *lp);
    if (!rc && nr) rc = lm_rows_logprobs(lm.m, rows, (int)nr, micro, lp, err);
    for (int64_t i = j->lo, r = 0; i < j->hi && !rc; i++) {
        int64_t o = ro->step_ends.off[i], base = at[i - j->lo];
        int ns = (int)ragged_len(&ro->step_ends, i), start = 0, have = base >= 0 ? rows[r].rlen : 0;
        const int32_t *ends = (const int32_t *)ro->step_ends.v + o;
        for (int t = 0; t < ns; t++) {
            int end = ends[t];
            float m = NAN;
            if (end >= start && end < have)
                for (int q = start; q <= end; q++) m = q == start || lp[base + q] < m ? lp[base + q] : m;
            j->lm_min[o + t] = m;
            start = end + 1;
        }
        r += base >= 0;
    }
    free(rows), free(at), free(lp);
    policy_free(&lm);
    return rc;
}

int prm_model_score(StageCtx *ctx, PrmJob *j, PureErr *err) {
    Policy p;
    if (policy_load_ctx(ctx, stage_input_path(ctx, "model"), "model", 2, 0, &p, err)) return -1;
    const Rollouts *ro = j->ro;
    int micro = (int)stage_param_int(ctx, "micro_batch"), max_len = (int)stage_param_int(ctx, "max_len");
    if (max_len > model_config(p.m)->max_position) max_len = model_config(p.m)->max_position;
    PrmInput *in = xcalloc((size_t)micro, sizeof *in);
    /* with features, a step past the cut is marked NaN for prm.c (which records it, then gives unscored_reward) */
    float unscored = j->lm_min ? NAN : (float)stage_param_float(ctx, "unscored_reward");
    int tokens = stage_param_enum(ctx, "input_format") == PRM_INPUT_TOKENS, rc = 0;
    int32_t nl = 0;
    if (tokens) rc = check_same_tokenizer(ctx, p.tok, &nl, err);
    for (int64_t s = j->lo; s < j->hi && !rc; s += micro) {
        int c = (int)(j->hi - s < micro ? j->hi - s : micro);
        for (int k = 0; k < c && !rc; k++) {
            int64_t i = s + k, o = ro->step_ends.off[i];
            int ns = (int)ragged_len(&ro->step_ends, i);
            if (tokens) {
                prm_format_tokens((const int32_t *)ro->prompt_tokens.v + ro->prompt_tokens.off[i],
                                  (int)ragged_len(&ro->prompt_tokens, i), (const int32_t *)ro->tokens.v + ro->tokens.off[i],
                                  (int)ragged_len(&ro->tokens, i), (const int32_t *)ro->step_ends.v + o, ns, nl, max_len,
                                  &in[k]);
                continue;
            }
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
        if (!rc) rc = prm_score(p.m, in, c, unscored, j->out + ro->step_ends.off[s], &j->unscored, err);
        for (int k = 0; k < c; k++) prm_input_free(&in[k]);
        stage_progress(ctx, s + c - j->lo, j->hi - j->lo, "responses");
    }
    free(in);
    policy_free(&p);
    if (!rc && j->lm_min) rc = lm_features(ctx, j, err);
    return rc;
}
