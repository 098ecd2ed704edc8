/* prm.c - the `prm` stage kind: one process reward per step of every response.
 *
 * How steps are scored is the `mode`, a row of the table prm_modes
 * (prm_modes.c; each mode in its own file prm_NAME.c): a token-classification
 * model, the toy task's exact checker, or a sandboxed Lua script. This file
 * checks what the row needs, reads the inputs, calls the row's function,
 * and writes the rewards with their summary metrics.
 *
 * Mode model may also read an `lm` (its tokens' log-probs are recorded per
 * step beside the head's score) and a `calibration` fitted on those two
 * features by prm_calibrate, which then gives the reward (stages/common/calib.h).
 *
 * Rewards align with the rollouts' step_ends. The checker and scripts see the
 * text's steps (prm_score_text below); when a token held the end of two steps
 * the rollout merged them, and the merged step gets the lowest of their rewards.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prm.h"
#include "lua/sandbox.h"
#include "stages/common/calib.h"
#include "stages/common/layouts.h"
#include "stages/common/lm.h"
#include "stages/common/prmfmt.h"
#include "stages/common/shard.h"
#include "stages/common/steps.h"

static const PortDef prm_inputs[] = {
    {"rollouts", ART_H5, 0, "responses to score (rollout stage)", layout_rollouts},
    {"prompts", ART_H5, 0, "the prompts the rollouts were sampled from", layout_prompts},
    {"model", ART_DIR, 1, "mode model: the token-classification PRM (prm_train stage or a Hugging Face folder)"},
    {"lm", ART_DIR, 1, "mode model: a causal LM on the policy's tokenizer (e.g. the prm_base policy the PRM was built "
     "on): each step's lowest token log-prob under it is recorded beside the PRM's score (step_lm_min_logprob)"},
    {"calibration", ART_H5, 1, "mode model with lm: a prm_calibrate fit; the reward is then 2 sigmoid(bias + w_head "
     "* score + w_lm * logprob) - 1", layout_prm_calibration},
    {0},
};
static const PortDef prm_outputs[] = {
    {"rewards", ART_H5, 0, "step_rewards: ragged f32, one per step, aligned with step_ends", layout_rewards},
    {0},
};

static const ParamDef prm_params[] = {
    {"mode", PT_ENUM, "oracle", 1, 0, prm_modes, "how steps are scored", sizeof *prm_modes},
    {"require_progress", PT_BOOL, "true", 1, 0, NULL, "oracle, controlled: a step must advance the computation"},
    {"filler_correct", PT_BOOL, "true", 1, 0, NULL, "oracle, controlled: a filler step (v+0=v) counts as correct"},
    {"correct_reward", PT_FLOAT, "1.0", -1e9, 1e9, NULL, "oracle, controlled: reward of a correct step"},
    {"wrong_reward", PT_FLOAT, "-1.0", -1e9, 1e9, NULL, "oracle, controlled: reward of a wrong step"},
    {"false_accept_slip", PT_FLOAT, "0", 0, 1, NULL,
     "controlled: probability a slip within slip_margin of the true result is scored correct"},
    {"slip_margin", PT_INT, "2", 0, 1e9, NULL, "controlled: largest |written - true| that counts as a small slip"},
    {"false_accept", PT_FLOAT, "0", 0, 1, NULL, "controlled: probability any other wrong step is scored correct"},
    {"false_reject", PT_FLOAT, "0", 0, 1, NULL, "controlled: probability a correct step is scored wrong"},
    {"noise_seed", PT_INT, "0", 0, 1e18, NULL, "controlled: seed of the verdicts (fixed across iterations)"},
    {"script", PT_PATH, "", 1, 0, NULL, "lua: script defining score(problem, steps, reference)"},
    {"max_instructions", PT_INT, "0", 0, 1e15, NULL, "lua: instruction budget per call (0 = default)"},
    {"max_memory_mb", PT_INT, "0", 0, 1e6, NULL, "lua: memory cap of the script state (0 = default)"},
    {"max_seconds", PT_FLOAT, "0", 0, 1e6, NULL, "lua: wall-clock limit per call, seconds (0 = default)"},
    {"max_len", PT_INT, "1024", 8, 1e7, NULL, "model: longest PRM input in tokens (longer inputs are cut)"},
    {"unscored_reward", PT_FLOAT, "-1.0", -1e9, 1e9, NULL,
     "model: reward of a step past the cut, which the PRM never saw (a penalty: under min-form a repeated "
     "earlier score would let everything after the cut go unjudged)"},
    {"micro_batch", PT_INT, "16", 1, 1e6, NULL, "model: responses per forward pass"},
    {"input_format", PT_ENUM, "text", 1, 0, prm_input_formats,
     "model: text = problem and stripped steps re-tokenized with \"\\n\" markers (prm_train's toy format); tokens = "
     "the official code's: the rollout's prompt ids, each step's own ids minus its end token, then the \"\\n\" id "
     "(needs the policy's tokenizer)"},
    COMMON_DEVICE_PARAM("model: where the PRM runs"),
    COMMON_PRECISION_PARAM,
    {0},
};

/* What the chosen row needs, at validate time (parameters) and run time (inputs). */
static int prm_check(const StageParams *p, PureErr *err) {
    const PrmMode *m = &prm_modes[param_enum(p, "mode")];
    int needs = (m->needs & PRM_NEEDS_SCRIPT) != 0, has = param_str(p, "script")[0] != 0;
    if (needs && !has)
        return err_set(err, "mode %s needs the parameter 'script' (a .lua file defining " PRM_LUA_FUNCTION
                            "(problem, steps, reference))", m->name);
    if (!needs && has) return err_set(err, "script is set but mode is %s; set mode: lua to use it", m->name);
    if (needs) {
        struct Sandbox *sb = prm_lua_open(p, err);
        if (!sb) return -1;
        sandbox_close(sb);
    }
    return 0;
}

static int check_inputs(StageCtx *ctx, const PrmMode *m, PureErr *err) {
    int model = (m->needs & PRM_NEEDS_MODEL) != 0;
    if (model && !stage_input_path(ctx, "model"))
        return err_set(err, "mode %s needs the input 'model' (a token-classification PRM folder)", m->name);
    if (!model && (stage_input_path(ctx, "lm") || stage_input_path(ctx, "calibration")))
        return err_set(err, "the inputs 'lm' and 'calibration' are for mode model (a learned PRM), not mode %s",
                       m->name);
    if (stage_input_path(ctx, "calibration") && !stage_input_path(ctx, "lm"))
        return err_set(err, "the input 'calibration' weighs the PRM's score and the LM's log-probs: it needs the "
                       "input 'lm' too (the LM the calibration was fitted with)");
    return 0;
}

/* With an lm: out[] holds the head's scores (NaN past max_len). Records them as step_head, then turns them into
 * the rewards: the calibrated ones with a calibration, else the scores; a step either feature misses (NaN) gets
 * unscored_reward. */
static int finish_features(StageCtx *ctx, PrmJob *j, float *head, PureErr *err) {
    int64_t S = j->ro->step_ends.off[j->ro->n];
    double w[CALIB_NW];
    int cal = stage_input_path(ctx, "calibration") != NULL;
    if (cal) {
        Artifact *a = stage_input_open(ctx, "calibration", err);
        if (!a) return -1;
        int rc = calib_read(a, w, err);
        artifact_close(a, NULL);
        if (rc) return err_prefix(err, "input 'calibration'");
    }
    float unscored = (float)stage_param_float(ctx, "unscored_reward");
    int64_t missing = 0;
    for (int64_t t = 0; t < S; t++) {
        head[t] = j->out[t];
        float r = cal ? calib_reward(w, head[t], j->lm_min[t]) : head[t];
        if (isnan(r) && !isnan(head[t])) missing++; /* scored by the head but cut from the LM's context */
        j->out[t] = isnan(r) ? unscored : r;
    }
    if (cal) stage_metric(ctx, "lm_unscored_step_fraction", S ? (double)missing / (double)S : 0);
    if (cal && missing)
        stage_warn(ctx, "%lld of %lld steps lie past the LM's context and got unscored_reward %g", (long long)missing,
                   (long long)S, unscored);
    return 0;
}

/* ---------------------------------------------------------------- text steps (oracle, lua) */

/* Folds per-text-step rewards onto the stored steps (bytes = stored byte ends):
 * a stored step takes the minimum over the text steps ending inside it. */
static void fold(const size_t *tends, const float *tr, int nt, const int32_t *bytes, int ns, float empty, float *out) {
    int k = 0;
    for (int s = 0; s < ns; s++) {
        int any = 0;
        float m = 0;
        while (k < nt && (tends[k] <= (size_t)bytes[s] || s == ns - 1)) {
            m = any ? (tr[k] < m ? tr[k] : m) : tr[k];
            any = 1;
            k++;
        }
        out[s] = any ? m : empty;
    }
}

/* Splits response i into text steps, scores them with fn and stores them on its steps. */
static int score_text(PrmJob *j, int64_t i, PrmTextScoreFn *fn, void *state, float wrong, PureErr *err) {
    const Rollouts *ro = j->ro;
    const char *text = ro->text[i];
    size_t *ends = NULL, *starts = NULL;
    int nt = steps_split(text, strlen(text), &ends, &starts);
    float *tr = xmalloc(((size_t)nt + 1) * sizeof(float));
    int64_t row = ro->prompt_index[i];
    PrmText t = {i, row, text, j->pr->problem[row], j->pr->reference[row], starts, ends, nt};
    int rc = fn(state, &t, tr, err);
    if (!rc) {
        int64_t o = ro->step_ends.off[i];
        int ns = (int)ragged_len(&ro->step_ends, i);
        if (ro->step_bytes.n) {
            fold(ends, tr, nt, (const int32_t *)ro->step_bytes.v + o, ns, wrong, j->out + o);
        } else if (ns == nt) {
            memcpy(j->out + o, tr, (size_t)nt * sizeof(float));
        } else {
            rc = err_set(err, "response %lld: %d text steps but %d step_ends and no step_bytes to align them",
                         (long long)i, nt, ns);
        }
    }
    free(tr), free(ends), free(starts);
    return rc;
}

int prm_score_text(StageCtx *ctx, PrmJob *j, PrmTextScoreFn *fn, void *state, PureErr *err) {
    float wrong = (float)stage_param_float(ctx, "wrong_reward");
    int rc = 0;
    for (int64_t i = j->lo; i < j->hi && !rc; i++) rc = score_text(j, i, fn, state, wrong, err);
    return rc;
}

/* ---------------------------------------------------------------- the run */

static int write_rewards(StageCtx *ctx, const PrmMode *m, const Rollouts *ro, const float *out, const float *head,
                         const float *lm_min, PureErr *err) {
    int64_t ns = ro->step_ends.off[ro->n];
    double sum = 0, mn = 0;
    for (int64_t i = 0; i < ro->n; i++) {
        int64_t o = ro->step_ends.off[i], k = ragged_len(&ro->step_ends, i);
        float v = 0;
        for (int64_t t = 0; t < k; t++) v = (t == 0 || out[o + t] < v) ? out[o + t] : v;
        mn += v;
    }
    for (int64_t t = 0; t < ns; t++) sum += out[t];
    stage_metric(ctx, "step_reward", ns ? sum / ns : 0);
    stage_metric(ctx, "min_step_reward", ro->n ? mn / ro->n : 0);
    stage_metric(ctx, "sum_step_reward", ro->n ? sum / ro->n : 0);
    Artifact *a = stage_output_create(ctx, "rewards", err);
    if (!a) return -1;
    int rc = artifact_write_ragged(a, "step_rewards", DT_F32, ro->n, ro->step_ends.off, out, err) ||
             artifact_set_attr_str(a, "/", "mode", m->name, err);
    if (!rc && head)
        rc = artifact_write_ragged(a, "step_head", DT_F32, ro->n, ro->step_ends.off, head, err) ||
             artifact_write_ragged(a, "step_lm_min_logprob", DT_F32, ro->n, ro->step_ends.off, lm_min, err);
    if (artifact_close(a, rc ? NULL : err)) rc = -1;
    return rc;
}

/* Collective: every rank's rewards (the steps of its responses) and unscored count to rank 0, in row order. */
static int gather_rewards(PrmJob *j, PureErr *err) {
    const int64_t *off = j->ro->step_ends.off;
    if (shard_ranks() == 1) return 0;
    ShardBuf mine = {0}, all = {0};
    shard_put(&mine, &j->unscored, sizeof j->unscored);
    int64_t n = off[j->hi] - off[j->lo];
    shard_put(&mine, &n, sizeof n);
    shard_put(&mine, j->out + off[j->lo], (size_t)n * sizeof(float));
    if (j->lm_min) shard_put(&mine, j->lm_min + off[j->lo], (size_t)n * sizeof(float));
    int rc = shard_gather(&mine, &all, err);
    shard_free(&mine);
    if (!rc && shard_is_writer()) {
        int64_t at = 0, total = off[j->ro->n];
        j->unscored = 0;
        while (!rc && all.pos < all.n) {
            int64_t u = 0, k = 0;
            rc = shard_get(&all, &u, sizeof u, err) || shard_get(&all, &k, sizeof k, err);
            if (!rc && (k < 0 || at + k > total)) rc = err_set(err, "prm: gathered %lld rewards past %lld steps",
                                                               (long long)(at + k), (long long)total);
            if (!rc) rc = shard_get(&all, j->out + at, (size_t)k * sizeof(float), err);
            if (!rc && j->lm_min) rc = shard_get(&all, j->lm_min + at, (size_t)k * sizeof(float), err);
            at += k, j->unscored += u;
        }
        if (!rc && at != total) rc = err_set(err, "prm: gathered %lld of %lld step rewards", (long long)at, (long long)total);
    }
    shard_free(&all);
    return rc;
}

static int prm_run(StageCtx *ctx, PureErr *err) {
    const PrmMode *m = &prm_modes[stage_param_enum(ctx, "mode")];
    if (check_inputs(ctx, m, err)) return -1;
    Rollouts ro;
    Prompts pr;
    if (input_read_rollouts(ctx, "rollouts", &ro, err)) return -1;
    if (input_read_prompts(ctx, "prompts", &pr, err)) {
        rollouts_free(&ro);
        return -1;
    }
    int rc = 0;
    for (int64_t i = 0; i < ro.n && !rc; i++)
        if (ro.prompt_index[i] < 0 || ro.prompt_index[i] >= pr.n)
            rc = err_set(err, "response %lld: prompt_index %lld is outside the prompts artifact (%lld rows); were the "
                         "rollouts sampled from these prompts?", (long long)i, (long long)ro.prompt_index[i],
                         (long long)pr.n);
    size_t S1 = (size_t)ro.step_ends.off[ro.n] + 1;
    PrmJob j = {&ro, &pr, xcalloc(S1, sizeof(float)), 0, 0, 0, NULL};
    float *head = NULL;
    if (!rc && stage_input_path(ctx, "lm")) {
        j.lm_min = xmalloc(S1 * sizeof(float));
        head = xmalloc(S1 * sizeof(float));
        for (size_t t = 0; t < S1; t++) j.lm_min[t] = NAN, j.out[t] = NAN;
    }
    /* each rank scores whole micro-batches of responses; rank 0 gathers their rewards and writes */
    shard_rows(ro.n, stage_param_int(ctx, "micro_batch"), &j.lo, &j.hi);
    if (!rc) rc = m->score(ctx, &j, err);
    if (!rc) rc = gather_rewards(&j, err);
    if (!rc && shard_is_writer()) {
        int64_t total = ro.step_ends.off[ro.n];
        if (m->needs & PRM_NEEDS_MODEL)
            stage_metric(ctx, "unscored_step_fraction", total ? (double)j.unscored / (double)total : 0);
        if (j.unscored)
            stage_warn(ctx, "%lld of %lld steps lie past max_len %lld tokens of PRM input and got unscored_reward %g",
                       (long long)j.unscored, (long long)total, (long long)stage_param_int(ctx, "max_len"),
                       stage_param_float(ctx, "unscored_reward"));
        if (head) rc = finish_features(ctx, &j, head, err);
        if (!rc) rc = write_rewards(ctx, m, &ro, j.out, head, j.lm_min, err);
    }
    free(j.out), free(j.lm_min), free(head);
    rollouts_free(&ro);
    prompts_free(&pr);
    return rc;
}

const StageKind stage_kind_prm = {
    "prm", 1,
    "Per-step process rewards aligned with the rollouts' step_ends: a token-classification PRM (reward = "
    "P(correct) - P(incorrect) at each step marker), the toy task's exact step checker, or a sandboxed Lua script.",
    prm_inputs, prm_outputs, prm_params, prm_run, prm_check, STAGE_ALL_RANKS,
};
