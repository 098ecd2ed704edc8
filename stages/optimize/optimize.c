/* optimize.c - the `optimize` stage kind: PPO-clip updates of the policy.
 *
 * Reads the rollouts (tokens, sampling log-probs, optional reference
 * log-probs) and the per-token advantages from `credit`, then for each PPO
 * epoch walks a seeded permutation of the responses in mini-batches; each
 * mini-batch is one AdamW step over gradients accumulated from micro-batches
 * (token-mean loss, stages/optimize/ppo.h). A mini-batch whose mean
 * importance ratio leaves [1/max_ratio, max_ratio] (or whose loss is not
 * finite) is skipped with a warning instead of applied. The AdamW moments and
 * step count come in through the optional `optimizer` input (the loop state)
 * and go out with the new policy, so the optimizer survives across iterations.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/common/dp.h"
#include "stages/common/io.h"
#include "stages/common/lm.h"
#include "stages/optimize/ppo.h"
#include "stages/common/layouts.h"
#include "stages/stage.h"
#include "util/dist.h"
#include "util/fs.h"

static const PortDef opt_inputs[] = {
    {"policy", ART_DIR, 0, "the policy that sampled the rollouts"},
    {"optimizer", ART_DIR, 1, "AdamW state from the previous iteration (optimizer.safetensors + state.json)"},
    {"rollouts", ART_H5, 0, "rollout stage output", layout_rollouts},
    {"advantages", ART_H5, 0, "credit stage output: per-token advantages", layout_advantages},
    {0},
};
static const PortDef opt_outputs[] = {
    {"policy", ART_DIR, 0, "the updated policy (Hugging Face folder)"},
    {"optimizer", ART_DIR, 0, "AdamW state: optimizer.safetensors + state.json"},
    {0},
};
static const ParamDef opt_params[] = {
    COMMON_ADAMW_PARAMS("1.0e-4"),
    {"total_steps", PT_INT, "0", 0, 1e12, NULL, "optimizer steps of the whole run, for warmup/cosine schedules"},
    {"epochs", PT_INT, "1", 1, 1000, NULL, "PPO epochs over the rollouts"},
    {"minibatches", PT_INT, "1", 1, 1e6, NULL, "optimizer steps per epoch"},
    {"micro_batch", PT_INT, "8", 1, 1e6, NULL, "responses per forward/backward (gradient accumulation)"},
    {"clip_eps", PT_FLOAT, "0.2", 0, 10, NULL, "PPO clip range"},
    {"kl_coef", PT_FLOAT, "0.0", 0, 1e6, NULL, "KL penalty to the reference (needs ref_logprobs in the rollouts)"},
    {"max_ratio", PT_FLOAT, "5.0", 1, 1e12, NULL, "skip a mini-batch whose mean importance ratio leaves [1/x, x]"},
    {"measure_after", PT_BOOL, "false", 1, 0, NULL,
     "after the updates, one more forward over the rollouts: how far the update moved the policy on them "
     "(ratio_after_mean/max, outside_clip_after, kl_after); the learning-rate rule of docs/results.md reads these"},
    COMMON_DEVICE_PARAM("where the model runs"),
    COMMON_PRECISION_PARAM,
    COMMON_RECOMPUTE_PARAM,
    {0},
};

typedef struct Stats {
    double loss, kl, ratio_sum, ratio_max, clipped, tokens, grad_norm, lr, nll;
    int updates, skipped;
} Stats;

/* One unit's sums (a micro-batch): added in unit order, so the mini-batch's totals do not depend on the ranks. */
enum { U_LOSS, U_KL, U_RSUM, U_RMAX, U_CLIPPED, U_NLL, U_N };

/* Forward and backward of one micro-batch (rows idx[0..c)), gradients accumulating in the model; ntok is the
 * mini-batch's token count (the loss is a token mean over it). */
static int unit_grad(StageCtx *ctx, Model *m, const Rollouts *ro, const float *adv, const int64_t *idx, int c,
                     int64_t ntok, SeqRow *rows, float *lp, float *dlp, double *u, PureErr *err) {
    double eps = stage_param_float(ctx, "clip_eps"), klc = stage_param_float(ctx, "kl_coef");
    int has_ref = ro->ref_logprobs.n > 0, k = 0;
    for (int i = 0; i < c; i++) {
        int64_t r = idx[i];
        rows[i] = (SeqRow){(const int32_t *)ro->prompt_tokens.v + ro->prompt_tokens.off[r],
                           (int)ragged_len(&ro->prompt_tokens, r), (const int32_t *)ro->tokens.v + ro->tokens.off[r],
                           ro->length[r]};
    }
    if (lm_rows_forward(m, rows, c, 1, lp, err)) return -1;
    for (int i = 0; i < c; i++) {
        int64_t r = idx[i], o = ro->tokens.off[r];
        for (int j = 0; j < ro->length[r]; j++, k++) {
            double ref = has_ref ? ((const float *)ro->ref_logprobs.v)[o + j] : 0;
            PpoToken t = ppo_token(lp[k], ((const float *)ro->logprobs.v)[o + j], adv[o + j], ref, has_ref, eps, klc);
            dlp[k] = (float)(t.dlp / (double)ntok);
            u[U_LOSS] += t.loss;
            u[U_KL] += t.kl;
            u[U_RSUM] += t.ratio;
            u[U_NLL] -= lp[k];
            u[U_RMAX] = t.ratio > u[U_RMAX] ? t.ratio : u[U_RMAX];
            u[U_CLIPPED] += t.clipped;
        }
    }
    return lm_rows_backward(m, rows, c, dlp, err);
}

/* One AdamW step over the rows idx[0..n). The micro-batches are the units of stages/common/dp.h: unit u on rank
 * u % size, summed in unit order, the optimizer state sharded across the ranks. */
static int minibatch(StageCtx *ctx, Model *m, DpState *dp, const Rollouts *ro, const float *adv, const int64_t *idx,
                     int n, const AdamWConfig *ac, Stats *st, PureErr *err) {
    int micro = (int)stage_param_int(ctx, "micro_batch");
    double maxr = stage_param_float(ctx, "max_ratio");
    int64_t ntok = 0;
    for (int i = 0; i < n; i++) ntok += ro->length[idx[i]];
    if (ntok == 0) return 0;
    int64_t units = (n + micro - 1) / micro, size = dp->size, rank = dp->rank;
    int64_t rounds = (units + size - 1) / size, maxtok = 0;
    for (int64_t u = 0; u < units; u++) {
        int64_t t = 0;
        for (int64_t i = u * micro; i < n && i < (u + 1) * micro; i++) t += ro->length[idx[i]];
        maxtok = t > maxtok ? t : maxtok;
    }
    SeqRow *rows = xmalloc((size_t)micro * sizeof *rows);
    float *lp = xmalloc((size_t)(maxtok + 1) * sizeof(float)), *dlp = xmalloc((size_t)(maxtok + 1) * sizeof(float));
    double *ust = xcalloc((size_t)(rounds * size) * U_N + 1, sizeof(double)), mine[U_N];
    int rc = 0;
    dp_begin(dp);
    for (int64_t j = 0; j < rounds && !rc; j++) {
        int64_t u = j * size + rank;
        memset(mine, 0, sizeof mine);
        if (u < units) {
            int64_t a = u * micro, c = n - a < micro ? n - a : micro;
            model_zero_grad(m);
            rc = unit_grad(ctx, m, ro, adv, idx + a, (int)c, ntok, rows, lp, dlp, mine, err);
            /* the other ranks wait in this round's all-to-all */
            if (rc && size > 1) dist_fail(PURE_EXIT_FAIL, err->msg);
        }
        if (rc) break;
        dp_round(dp, m, j * size, units);
        dist_allgather(mine, sizeof mine, ust + (size_t)(j * size) * U_N);
    }
    free(rows), free(lp), free(dlp);
    if (rc) {
        free(ust);
        return -1;
    }
    double loss = 0, kl = 0, rsum = 0, rmax = 0, clipped = 0, nll = 0;
    for (int64_t u = 0; u < units; u++) {
        const double *x = ust + (size_t)u * U_N;
        loss += x[U_LOSS], kl += x[U_KL], rsum += x[U_RSUM], clipped += x[U_CLIPPED], nll += x[U_NLL];
        rmax = x[U_RMAX] > rmax ? x[U_RMAX] : rmax;
    }
    free(ust);
    double rmean = rsum / ntok;
    if (!isfinite(loss) || !isfinite(rmean) || rmean > maxr || rmean < 1 / maxr) {
        stage_warn(ctx, "skipping an update: mean importance ratio %.3g (max %.3g, limit %g), loss %.3g", rmean, rmax,
                   maxr, loss / ntok);
        model_zero_grad(m);
        st->skipped++;
        return 0;
    }
    double gn = 0, lr = 0;
    if (dp_step(dp, m, ac, &gn, &lr, err)) return -1;
    st->loss += loss, st->kl += kl, st->ratio_sum += rsum, st->clipped += clipped, st->tokens += ntok, st->nll += nll;
    st->ratio_max = rmax > st->ratio_max ? rmax : st->ratio_max;
    st->grad_norm += gn, st->lr = lr, st->updates++;
    return 0;
}

/* How far the update moved the policy: ratios new/sampler on every rollout token. */
static int measure_after(StageCtx *ctx, Model *m, const Rollouts *ro, PureErr *err) {
    int64_t T = ro->tokens.off[ro->n];
    if (T == 0) return 0;
    SeqRow *rows = xmalloc(((size_t)ro->n + 1) * sizeof *rows);
    for (int64_t r = 0; r < ro->n; r++)
        rows[r] = (SeqRow){(const int32_t *)ro->prompt_tokens.v + ro->prompt_tokens.off[r],
                           (int)ragged_len(&ro->prompt_tokens, r), (const int32_t *)ro->tokens.v + ro->tokens.off[r],
                           ro->length[r]};
    float *lp = xmalloc((size_t)T * sizeof(float));
    int rc = lm_rows_logprobs(m, rows, (int)ro->n, (int)stage_param_int(ctx, "micro_batch"), lp, err);
    if (!rc) {
        double eps = stage_param_float(ctx, "clip_eps"), sum = 0, mx = 0, out = 0, kl = 0;
        for (int64_t t = 0; t < T; t++) {
            double d = (double)lp[t] - ((const float *)ro->logprobs.v)[t], r = exp(d);
            sum += r, mx = r > mx ? r : mx, out += fabs(r - 1) > eps;
            kl += r - 1 - d; /* k3 of sampler -> new, >= 0 */
        }
        stage_metric(ctx, "ratio_after_mean", sum / (double)T);
        stage_metric(ctx, "ratio_after_max", mx);
        stage_metric(ctx, "outside_clip_after", out / (double)T);
        stage_metric(ctx, "kl_after", kl / (double)T);
    }
    free(rows), free(lp);
    return rc;
}

static int optimize_run(StageCtx *ctx, PureErr *err) {
    Rollouts ro;
    Ragged adv = {0};
    if (input_read_rollouts(ctx, "rollouts", &ro, err)) return -1;
    int rc = 0;
    Artifact *a;
    if (!(a = stage_input_open(ctx, "advantages", err))) {
        rollouts_free(&ro);
        return -1;
    }
    if (!artifact_has(a, "advantages"))
        rc = err_set(err, "input 'advantages': %s has no dataset 'advantages' (expected the output of a credit stage)",
                     artifact_path(a));
    else if (ragged_read_aligned(a, "advantages", &ro.tokens, "tokens (rollouts)", &adv, err))
        rc = err_prefix(err, "input 'advantages'");
    artifact_close(a, NULL);
    if (!rc && stage_param_float(ctx, "kl_coef") > 0 && ro.ref_logprobs.n == 0)
        rc = err_set(err, "kl_coef %g needs ref_logprobs in the rollouts: connect a `reference` model to the rollout "
                      "stage", stage_param_float(ctx, "kl_coef"));
    Policy p = {0};
    const char *pol_dir = stage_input_path(ctx, "policy"), *opt_dir = stage_input_path(ctx, "optimizer");
    if (!rc) rc = policy_load_ctx(ctx, pol_dir, "policy", 0, 1, &p, err);
    /* training goes through dp.h on any number of ranks, one included, so every world size adds the same way */
    DpState dps, *dp = NULL;
    if (!rc) {
        if (dp_init(&dps, p.m, err)) rc = -1;
        else dp = &dps;
    }
    if (!rc && opt_dir) {
        char *f = fs_join(opt_dir, "optimizer.safetensors");
        if (dp_load_optimizer(dp, p.m, f, err))
            rc = err_prefix(err, "input 'optimizer'");
        free(f);
    }
    Stats st = {0};
    if (!rc) {
        AdamWConfig ac;
        common_adamw_config(ctx, (int)stage_param_int(ctx, "total_steps"), &ac);
        int epochs = (int)stage_param_int(ctx, "epochs"), nmb = (int)stage_param_int(ctx, "minibatches");
        int64_t *perm = xmalloc(((size_t)ro.n + 1) * sizeof(int64_t));
        for (int e = 0; e < epochs && !rc; e++) {
            common_permutation(perm, ro.n, stage_seed(ctx), (uint64_t)e);
            for (int b = 0; b < nmb && !rc; b++) {
                int64_t lo = ro.n * b / nmb, hi = ro.n * (b + 1) / nmb;
                rc = minibatch(ctx, p.m, dp, &ro, adv.v, perm + lo, (int)(hi - lo), &ac, &st, err);
                stage_progress(ctx, (int64_t)e * nmb + b + 1, (int64_t)epochs * nmb, "updates");
            }
        }
        free(perm);
    }
    int writer = dist_rank() == 0;
    if (!rc && writer && stage_param_bool(ctx, "measure_after")) rc = measure_after(ctx, p.m, &ro, err);
    if (!rc && !writer) { /* each rank writes its range of the moments into rank 0's file */
        char *f = fs_join(stage_output_path_shared(ctx, "optimizer"), "optimizer.safetensors");
        rc = dp_save_optimizer(dp, p.m, f, err);
        free(f);
    }
    if (!rc && writer) {
        double t = st.tokens > 0 ? st.tokens : 1, u = st.updates > 0 ? st.updates : 1, asum = 0;
        for (int64_t i = 0; i < ro.tokens.off[ro.n]; i++) asum += ((float *)adv.v)[i];
        stage_metric(ctx, "loss", st.loss / t);
        stage_metric(ctx, "kl", st.kl / t);
        stage_metric(ctx, "ratio_mean", st.ratio_sum / t);
        stage_metric(ctx, "ratio_max", st.ratio_max);
        stage_metric(ctx, "clip_fraction", st.clipped / t);
        /* -log p of the sampled tokens under the policy being updated: with on-policy samples, a one-sample
         * estimate of the per-token entropy (the engine does not return whole distributions here) */
        stage_metric(ctx, "entropy", st.nll / t);
        stage_metric(ctx, "grad_norm", st.grad_norm / u);
        stage_metric(ctx, "lr", st.lr);
        stage_metric(ctx, "updates", st.updates);
        stage_metric(ctx, "skipped_updates", st.skipped);
        stage_metric(ctx, "advantage_mean", ro.tokens.off[ro.n] ? asum / ro.tokens.off[ro.n] : 0);
        stage_log(ctx, "optimize: %d updates (%d skipped), loss %.4f, clip %.3f, grad %.3f, optimizer step %lld",
                  st.updates, st.skipped, st.loss / t, st.clipped / t, st.grad_norm / u,
                  (long long)model_optimizer_step_count(p.m));
        if (dp->size > 1)
            stage_log(ctx, "optimize: data-parallel over %d ranks, %.3f s in communication", dp->size, dp->comm_s);
        const char *od = stage_output_path(ctx, "optimizer");
        char *f = fs_join(od, "optimizer.safetensors"), *sj = fs_join(od, "state.json"), json[256];
        int len = snprintf(json, sizeof json, "{\"format\": 1, \"step\": %lld, \"skipped_updates\": %d}\n",
                           (long long)model_optimizer_step_count(p.m), st.skipped);
        rc = dp_save_optimizer(dp, p.m, f, err) ||
             policy_save(&p, pol_dir, stage_output_path(ctx, "policy"), err) ||
             fs_write_atomic(sj, json, (size_t)len, err);
        free(f), free(sj);
    }
    if (dp) dp_free(dp);
    policy_free(&p);
    ragged_free(&adv);
    rollouts_free(&ro);
    return rc;
}

const StageKind stage_kind_optimize = {
    "optimize", 2,
    "PPO-clip updates from the rollouts' sampling log-probs and the credit stage's per-token advantages: "
    "mini-batches with gradient accumulation, AdamW with clipping and a schedule, an optional KL penalty, and "
    "skipped updates when the importance ratio explodes. Writes the new policy and the optimizer state.",
    opt_inputs, opt_outputs, opt_params, optimize_run, NULL, STAGE_ALL_RANKS,
};
