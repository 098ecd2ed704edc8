/* rollout.c - the `rollout` stage kind: K samples per prompt from the current policy.
 *
 * Picks prompts_per_iteration prompts deterministically from the loop
 * iteration (walking seeded per-epoch permutations of the prompt set), samples
 * K continuations each (random stream = prompt row * K + sample, seed = the
 * stage seed, so samples do not depend on batching), and stores tokens,
 * sampling log-probs, finish reasons, text and where each "\n\n" step ends
 * (stages/rollout/step_map.h; `step_rule` picks pure's text rule or the
 * official code's token rule). With a `reference` model connected it also
 * stores the reference log-probs for the KL term.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/common/io.h"
#include "stages/common/shard.h"
#include "stages/common/lm.h"
#include "stages/common/steps.h"
#include "stages/common/stops.h"
#include "stages/rollout/step_map.h"
#include "stages/common/layouts.h"
#include "stages/stage.h"

static const PortDef rollout_inputs[] = {
    {"policy", ART_DIR, 0, "the policy to sample from"},
    {"prompts", ART_H5, 0, "prompts artifact (data stage)", layout_prompts},
    {"reference", ART_DIR, 1, "reference model: when connected, ref_logprobs are stored for the KL term"},
    {0},
};
static const PortDef rollout_outputs[] = {
    {"rollouts", ART_H5, 0, "K sampled responses per prompt", layout_rollouts},
    {0},
};
static const char *const step_rules[] = {"text", "token", NULL};
enum { STEP_RULE_TEXT, STEP_RULE_TOKEN };

static const ParamDef rollout_params[] = {
    {"samples", PT_INT, "4", 1, 4096, NULL, "K responses per prompt"},
    {"prompts_per_iteration", PT_INT, "8", 0, 1e9, NULL, "prompts per iteration (0 = all)"},
    {"shuffle_seed", PT_INT, "0", 0, 1e18, NULL, "seed of the prompt order (shared by all iterations)"},
    {"max_new_tokens", PT_INT, "128", 1, 1e6, NULL, "longest response"},
    {"cap_at_context", PT_BOOL, "false", 1, 0, NULL,
     "a prompt whose prompt + max_new_tokens passes the model's max_position generates up to max_position (finish "
     "length), as vLLM does, instead of being refused"},
    {"step_rule", PT_ENUM, "text", 1, 0, step_rules,
     "text: the decoded text split at \"\\n\\n\" (no empty steps, steps in one token merged); token: the official "
     "code's, every token whose text ends with \"\\n\\n\" ends a step (empty ones too) and so does the last token"},
    {"temperature", PT_FLOAT, "1.0", 0, 100, NULL, "sampling temperature (0 = greedy)"},
    {"top_p", PT_FLOAT, "1.0", 0, 1, NULL, "nucleus sampling (1 = off)"},
    {"top_k", PT_INT, "0", 0, 1e9, NULL, "top-k sampling (0 = off)"},
    {"stop", PT_LIST, "[]", 1, 0, NULL,
     "stop words besides eos: one that is a special token (<|im_end|>) stops on its id, others on the decoded text"},
    {"chat_template", PT_BOOL, "false", 1, 0, NULL, "wrap prompts in the tokenizer's ChatML template"},
    {"recompute_logprobs", PT_BOOL, "false", 1, 0, NULL,
     "store log-probs from a batched forward pass (as optimize computes them) instead of the sampler's"},
    {"batch_size", PT_INT, "64", 1, 1e6, NULL, "sequences per generation call"},
    {"micro_batch", PT_INT, "16", 1, 1e6, NULL, "sequences per forward pass for log-probs"},
    COMMON_DEVICE_PARAM("where the model runs"),
    COMMON_PRECISION_PARAM,
    {0},
};

/* Rows of the prompts artifact used by `iteration`: positions iteration*n ..
 * iteration*n+n-1 in a stream of seeded permutations, one per epoch. */
static void pick_prompts(int64_t P, int64_t n, int64_t iteration, uint64_t seed, int64_t *out) {
    int64_t *perm = xmalloc((size_t)P * sizeof(int64_t)), epoch = -1;
    for (int64_t j = 0; j < n; j++) {
        int64_t g = iteration * n + j, e = g / P;
        if (e != epoch) common_permutation(perm, P, seed, (uint64_t)(epoch = e));
        out[j] = perm[g % P];
    }
    free(perm);
}

/* Text (non-special token bytes) and step ends of one response. */
static int fill_steps(const Tokenizer *tok, int rule, const int32_t *ids, int n, char **text, int32_t *step_tok,
                      int32_t *step_byte, int *n_steps, PureErr *err) {
    size_t *tok_end = xmalloc((size_t)(n + 1) * sizeof(size_t)), len = 0, cap = 64;
    unsigned char *is_sep = xcalloc((size_t)n + 1, 1);
    char *buf = xmalloc(cap);
    for (int j = 0; j < n; j++) {
        size_t bl = 0;
        const char *b = tokenizer_is_special(tok, ids[j]) ? NULL : tokenizer_token_bytes(tok, ids[j], &bl);
        is_sep[j] = (unsigned char)step_is_separator(b, bl);
        /* a NUL byte would end the stored string early and leave step offsets past its end: drop it
         * (a byte-level policy can sample the 0x00 byte token) */
        if (b && bl == 1 && b[0] == 0) b = NULL;
        if (b) {
            while (len + bl + 1 > cap) buf = xrealloc(buf, cap *= 2);
            memcpy(buf + len, b, bl);
            len += bl;
        }
        tok_end[j] = len;
    }
    buf[len] = 0;
    *text = buf;
    if (rule == STEP_RULE_TOKEN) {
        *n_steps = step_map_separators(tok_end, is_sep, n, step_tok, step_byte);
        free(tok_end), free(is_sep);
        return 0;
    }
    free(is_sep);
    size_t *ends = NULL, *starts = NULL;
    int ns = steps_split(buf, len, &ends, &starts);
    if (ns < 0) {
        free(tok_end), free(buf);
        *text = NULL;
        return err_set(err, "could not split a response into steps");
    }
    *n_steps = step_map_tokens(tok_end, n, ends, ns, step_tok, step_byte);
    free(ends), free(starts), free(tok_end);
    return 0;
}

/* Rows [lo, hi): with recompute_logprobs, their sampler log-probs are replaced by a batched forward's; with a
 * reference model, *ref_lp gets the reference's (the rows' tokens concatenated). */
static int block_logprobs(StageCtx *ctx, Policy *p, Policy *ref, int32_t **pids, const int *plens, int K,
                          SampleResult *res, int64_t lo, int64_t hi, float **ref_lp, PureErr *err) {
    int recompute = stage_param_bool(ctx, "recompute_logprobs");
    *ref_lp = NULL;
    if (!recompute && !ref->m) return 0;
    int64_t n = hi - lo, T = 0;
    SeqRow *rows = xmalloc(((size_t)n + 1) * sizeof *rows);
    for (int64_t r = lo; r < hi; r++) {
        rows[r - lo] = (SeqRow){pids[r / K], plens[r / K], res[r].tokens, res[r].n};
        T += res[r].n;
    }
    int micro = (int)stage_param_int(ctx, "micro_batch"), rc = 0;
    float *lp = xmalloc(((size_t)T + 1) * sizeof(float));
    if (recompute && !(rc = lm_rows_logprobs(p->m, rows, (int)n, micro, lp, err)))
        for (int64_t r = lo, o = 0; r < hi; o += res[r].n, r++) memcpy(res[r].logprobs, lp + o, res[r].n * sizeof(float));
    if (!rc && ref->m) {
        if ((rc = lm_rows_logprobs(ref->m, rows, (int)n, micro, lp, err))) err_prefix(err, "reference log-probs");
        else *ref_lp = lp, lp = NULL;
    }
    free(lp), free(rows);
    return rc;
}

/* Collective: every rank's rows [lo, hi) of res (and of *ref_lp) to rank 0, which ends with all N rows and the
 * reference log-probs of all of them in row order. On one rank it changes nothing. */
static int gather_rows(SampleResult *res, int64_t N, int64_t lo, int64_t hi, float **ref_lp, PureErr *err) {
    ShardBuf mine = {0}, all = {0};
    for (int64_t r = lo, o = 0; r < hi; o += res[r].n, r++) {
        shard_put_i32(&mine, res[r].n);
        shard_put_i32(&mine, res[r].finish);
        shard_put(&mine, res[r].tokens, res[r].n * sizeof(int32_t));
        shard_put(&mine, res[r].logprobs, res[r].n * sizeof(float));
        if (ref_lp) shard_put(&mine, *ref_lp + o, res[r].n * sizeof(float));
    }
    int rc = shard_gather(&mine, &all, err);
    shard_free(&mine);
    if (rc || !shard_is_writer() || (lo == 0 && hi == N)) {
        shard_free(&all);
        return rc;
    }
    for (int64_t r = lo; r < hi; r++) sample_result_free(&res[r]);
    size_t cap = 0, used = 0;
    float *ref_all = NULL;
    for (int64_t r = 0; r < N && !rc; r++) {
        SampleResult *x = &res[r];
        if ((rc = shard_get_i32(&all, &x->n, err) || shard_get_i32(&all, &x->finish, err))) break;
        if (x->n < 0 || x->n > (1 << 30)) {
            rc = err_set(err, "rollout: a gathered row has %d tokens", x->n);
            break;
        }
        x->tokens = xmalloc(((size_t)x->n + 1) * sizeof(int32_t));
        x->logprobs = xmalloc(((size_t)x->n + 1) * sizeof(float));
        rc = shard_get(&all, x->tokens, x->n * sizeof(int32_t), err) ||
             shard_get(&all, x->logprobs, x->n * sizeof(float), err);
        if (!rc && ref_lp) {
            while (used + (size_t)x->n + 1 > cap) ref_all = xrealloc(ref_all, (cap = cap ? 2 * cap : 4096) * sizeof(float));
            rc = shard_get(&all, ref_all + used, x->n * sizeof(float), err);
            used += (size_t)x->n;
        }
    }
    shard_free(&all);
    if (ref_lp) {
        free(*ref_lp);
        *ref_lp = ref_all ? ref_all : xcalloc(1, sizeof(float));
    }
    return rc;
}

static int rollout_run(StageCtx *ctx, PureErr *err) {
    int K = (int)stage_param_int(ctx, "samples");
    Prompts pr;
    if (input_read_prompts(ctx, "prompts", &pr, err)) return -1;
    int rc = 0;
    if (pr.n == 0) {
        prompts_free(&pr);
        return err_set(err, "input 'prompts': the prompts artifact is empty");
    }
    Policy p = {0}, ref = {0};
    if (policy_load_ctx(ctx, stage_input_path(ctx, "policy"), "policy", 0, 0, &p, err)) {
        prompts_free(&pr);
        return -1;
    }
    const char *ref_dir = stage_input_path(ctx, "reference");
    if (ref_dir && policy_load_ctx(ctx, ref_dir, "reference", 0, 0, &ref, err)) rc = -1;
    if (!rc && ref.m && model_config(ref.m)->vocab_size != model_config(p.m)->vocab_size)
        rc = err_set(err, "input 'reference': vocab_size %d differs from the policy's %d",
                     model_config(ref.m)->vocab_size, model_config(p.m)->vocab_size);

    int64_t np = stage_param_int(ctx, "prompts_per_iteration");
    if (np == 0 || np > pr.n) np = pr.n;
    int it = stage_iteration(ctx) < 0 ? 0 : stage_iteration(ctx);
    int64_t *chosen = xmalloc((size_t)np * sizeof(int64_t));
    pick_prompts(pr.n, np, it, (uint64_t)stage_param_int(ctx, "shuffle_seed"), chosen);

    int64_t N = np * K;
    int32_t **pids = xcalloc((size_t)np, sizeof(int32_t *));
    int *plens = xcalloc((size_t)np, sizeof(int));
    int chat = stage_param_bool(ctx, "chat_template");
    for (int64_t i = 0; i < np && !rc; i++)
        if (policy_encode_prompt(p.tok, pr.prompt[chosen[i]], chat, &pids[i], &plens[i], err))
            rc = err_prefix(err, "prompt %lld", (long long)chosen[i]);
    int maxnew = (int)stage_param_int(ctx, "max_new_tokens"), maxp = model_config(p.m)->max_position, capped = 0;
    int cap = stage_param_bool(ctx, "cap_at_context");
    for (int64_t i = 0; i < np && !rc; i++)
        if (plens[i] + maxnew > maxp) {
            if (!cap)
                rc = err_set(err, "prompt %lld has %d tokens; with max_new_tokens %d it exceeds the model's max_position "
                             "%d (cap_at_context: true generates up to max_position instead)",
                             (long long)chosen[i], plens[i], maxnew, maxp);
            else if (plens[i] >= maxp)
                rc = err_set(err, "prompt %lld has %d tokens, which leaves no room for a response within the model's "
                             "max_position %d", (long long)chosen[i], plens[i], maxp);
            capped++;
        }
    /* the engine stops a row at max_position with finish = length (model/sample.c) */
    if (!rc && cap) {
        stage_metric(ctx, "capped_prompt_fraction", (double)capped / (double)np);
        if (capped) stage_log(ctx, "rollout: %d of %lld prompts may only generate up to max_position %d", capped,
                              (long long)np, maxp);
    }

    const char *const *words = NULL;
    int nwords = stage_param_list(ctx, "stop", &words);
    Stops stops;
    stops_init(&stops, p.tok, words, nwords);
    SampleConfig sc = {0};
    sc.max_new_tokens = maxnew;
    sc.temperature = (float)stage_param_float(ctx, "temperature");
    sc.top_p = (float)stage_param_float(ctx, "top_p");
    sc.top_k = (int)stage_param_int(ctx, "top_k");
    stops_apply(&stops, &sc);
    sc.seed = stage_seed(ctx);

    /* Each rank samples its block of rows (one rank: all of them); rank 0 gathers them in row order. */
    SampleResult *res = xcalloc((size_t)N, sizeof *res);
    int64_t lo, hi;
    int bs = (int)stage_param_int(ctx, "batch_size");
    int fwd = ref.m || stage_param_bool(ctx, "recompute_logprobs");
    shard_rows(N, fwd ? shard_unit(bs, stage_param_int(ctx, "micro_batch"), N) : bs, &lo, &hi);
    const int32_t **bp = xmalloc((size_t)bs * sizeof *bp);
    int *bl = xmalloc((size_t)bs * sizeof(int));
    uint64_t *bstream = xmalloc((size_t)bs * sizeof(uint64_t));
    for (int64_t s = lo; s < hi && !rc; s += bs) {
        int c = (int)(hi - s < bs ? hi - s : bs);
        for (int i = 0; i < c; i++) {
            int64_t r = s + i, pi = r / K;
            bp[i] = pids[pi];
            bl[i] = plens[pi];
            bstream[i] = (uint64_t)chosen[pi] * (uint64_t)K + (uint64_t)(r % K);
        }
        rc = model_generate(p.m, p.tok, c, bp, bl, bstream, &sc, res + s, err);
        stage_progress(ctx, s - lo + c, hi - lo, "responses");
    }
    free(bp), free(bl), free(bstream);
    /* log-probs under a batched forward (policy) and the reference model, for the same rows */
    float *ref_lp = NULL;
    if (!rc) rc = block_logprobs(ctx, &p, &ref, pids, plens, K, res, lo, hi, &ref_lp, err);
    if (!rc) rc = gather_rows(res, N, lo, hi, ref.m ? &ref_lp : NULL, err);
    Rollouts ro = {0};
    if (rc || !shard_is_writer()) goto done; /* the other ranks are done: rank 0 writes */
    { /* the artifact's columns */
        ro.n = N;
        ro.prompt_index = xmalloc((size_t)N * sizeof(int64_t));
        ro.group = xmalloc((size_t)N * sizeof(int64_t));
        ro.length = xmalloc((size_t)N * sizeof(int32_t));
        ro.finish = xmalloc((size_t)N * sizeof(int32_t));
        ro.text = xcalloc((size_t)N, sizeof(char *));
        Ragged *rg[] = {&ro.prompt_tokens, &ro.tokens, &ro.logprobs, &ro.step_ends, &ro.step_bytes};
        for (int k = 0; k < 5; k++) rg[k]->n = N, rg[k]->off = xcalloc((size_t)N + 1, sizeof(int64_t));
        int64_t ptot = 0, ttot = 0;
        for (int64_t r = 0; r < N; r++) {
            ptot += plens[r / K];
            ttot += res[r].n;
            ro.prompt_tokens.off[r + 1] = ptot;
            ro.tokens.off[r + 1] = ro.logprobs.off[r + 1] = ttot;
        }
        ro.prompt_tokens.v = xmalloc((size_t)(ptot + 1) * sizeof(int32_t));
        ro.tokens.v = xmalloc((size_t)(ttot + 1) * sizeof(int32_t));
        ro.logprobs.v = xmalloc((size_t)(ttot + 1) * sizeof(float));
        /* at most one step per token */
        int32_t *se = xmalloc((size_t)(ttot + 1) * sizeof(int32_t)), *sb = xmalloc((size_t)(ttot + 1) * sizeof(int32_t));
        int64_t stot = 0;
        int rule = (int)stage_param_enum(ctx, "step_rule");
        double mean_len = 0, mean_steps = 0, eos_frac = 0, trunc_frac = 0;
        for (int64_t r = 0; r < N && !rc; r++) {
            int64_t pi = r / K;
            ro.prompt_index[r] = chosen[pi];
            ro.group[r] = pi;
            ro.length[r] = res[r].n;
            ro.finish[r] = res[r].finish;
            memcpy((int32_t *)ro.prompt_tokens.v + ro.prompt_tokens.off[r], pids[pi], plens[pi] * sizeof(int32_t));
            memcpy((int32_t *)ro.tokens.v + ro.tokens.off[r], res[r].tokens, res[r].n * sizeof(int32_t));
            memcpy((float *)ro.logprobs.v + ro.logprobs.off[r], res[r].logprobs, res[r].n * sizeof(float));
            int ns = 0;
            rc = fill_steps(p.tok, rule, res[r].tokens, res[r].n, &ro.text[r], se + stot, sb + stot, &ns, err);
            stot += ns;
            ro.step_ends.off[r + 1] = ro.step_bytes.off[r + 1] = stot;
            mean_len += res[r].n;
            mean_steps += ns;
            eos_frac += res[r].finish == FINISH_EOS;
            trunc_frac += res[r].finish == FINISH_LENGTH;
        }
        ro.step_ends.v = se;
        ro.step_bytes.v = sb;
        if (!rc) {
            stage_metric(ctx, "responses", (double)N);
            stage_metric(ctx, "length", mean_len / N);
            stage_metric(ctx, "steps", mean_steps / N);
            stage_metric(ctx, "eos_fraction", eos_frac / N);
            stage_metric(ctx, "truncated_fraction", trunc_frac / N);
            stage_log(ctx, "rollout: %lld prompts x %d samples, mean length %.1f, %.2f steps, %.0f%% truncated",
                      (long long)np, K, mean_len / N, mean_steps / N, 100 * trunc_frac / N);
        }
    }
    if (!rc && ref.m) {
        ro.ref_logprobs.n = N;
        ro.ref_logprobs.off = xmalloc(((size_t)N + 1) * sizeof(int64_t));
        memcpy(ro.ref_logprobs.off, ro.tokens.off, ((size_t)N + 1) * sizeof(int64_t));
        ro.ref_logprobs.v = ref_lp;
        ref_lp = NULL;
    }
    if (!rc) {
        Artifact *o = stage_output_create(ctx, "rollouts", err);
        if (!o) rc = -1;
        else {
            rc = rollouts_write(o, &ro, err) || artifact_set_attr_i64(o, "/", "samples", K, err) ||
                 artifact_set_attr_i64(o, "/", "iteration", it, err) ||
                 artifact_set_attr_i64(o, "/", "tokenizer_vocab", tokenizer_vocab_size(p.tok), err);
            if (artifact_close(o, rc ? NULL : err)) rc = -1;
        }
    }
done:
    free(ref_lp);
    rollouts_free(&ro);
    for (int64_t r = 0; r < N; r++) sample_result_free(&res[r]);
    free(res);
    for (int64_t i = 0; i < np; i++) free(pids[i]);
    free(pids), free(plens), free(chosen);
    stops_free(&stops);
    policy_free(&p);
    policy_free(&ref);
    prompts_free(&pr);
    return rc;
}

const StageKind stage_kind_rollout = {
    "rollout", 1,
    "Samples K responses per prompt from the policy for prompts chosen deterministically from the iteration; stores "
    "tokens, sampling log-probs, finish reason, text and the token ending each \"\\n\\n\" step; with a `reference` "
    "model, also its log-probs for the KL term.",
    rollout_inputs, rollout_outputs, rollout_params, rollout_run, NULL, STAGE_ALL_RANKS,
};
