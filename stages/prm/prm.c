/* prm.c - the `prm` stage kind: one process reward per step of every response.
 *
 * mode model:  a token-classification PRM (prm_train's output or a Hugging
 *              Face token classifier with 2 labels) scores the method's input
 *              format at each step marker: reward = P(correct) - P(incorrect).
 * mode oracle: the toy task's exact step checker (stages/common/toy.h), with or
 *              without the "must make progress" option.
 * mode lua:    a sandboxed user script: score(problem, steps, reference)
 *              returns one number per step.
 * Rewards align with the rollouts' step_ends. The checker and scripts see the
 * text's steps; when a token held the end of two steps the rollout merged
 * them, and the merged step gets the lowest of their rewards.
 */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/sandbox.h"
#include "stages/common/io.h"
#include "stages/common/lm.h"
#include "stages/common/prmfmt.h"
#include "stages/common/steps.h"
#include "stages/common/toy.h"
#include "stages/stage.h"

static const PortDef prm_inputs[] = {
    {"rollouts", ART_H5, 0, "responses to score (rollout stage)"},
    {"prompts", ART_H5, 0, "the prompts the rollouts were sampled from"},
    {"model", ART_DIR, 1, "mode model: the token-classification PRM (prm_train stage or a Hugging Face folder)"},
    {0},
};
static const PortDef prm_outputs[] = {
    {"rewards", ART_H5, 0, "step_rewards: ragged f32, one per step, aligned with step_ends"},
    {0},
};
static const char *const prm_mode_names[] = {"model", "oracle", "lua", NULL};
enum { PRM_MODEL, PRM_ORACLE, PRM_LUA };

static const ParamDef prm_params[] = {
    {"mode", PT_ENUM, "oracle", 1, 0, prm_mode_names, "how steps are scored"},
    {"require_progress", PT_BOOL, "true", 1, 0, NULL, "oracle: a step must advance the computation"},
    {"filler_correct", PT_BOOL, "true", 1, 0, NULL, "oracle: a filler step (v+0=v) counts as correct"},
    {"correct_reward", PT_FLOAT, "1.0", -1e9, 1e9, NULL, "oracle: reward of a correct step"},
    {"wrong_reward", PT_FLOAT, "-1.0", -1e9, 1e9, NULL, "oracle: reward of a wrong step"},
    {"script", PT_PATH, "", 1, 0, NULL, "lua: script defining score(problem, steps, reference)"},
    {"max_instructions", PT_INT, "0", 0, 1e15, NULL, "lua: instruction budget per call (0 = default)"},
    {"max_memory_mb", PT_INT, "0", 0, 1e6, NULL, "lua: memory cap of the script state (0 = default)"},
    {"max_len", PT_INT, "1024", 8, 1e7, NULL, "model: longest PRM input in tokens (longer inputs are cut)"},
    {"micro_batch", PT_INT, "16", 1, 1e6, NULL, "model: responses per forward pass"},
    COMMON_DEVICE_PARAM("model: where the PRM runs"),
    {0},
};

static int prm_check(const StageParams *p, PureErr *err) {
    if (param_enum(p, "mode") == PRM_LUA && !param_str(p, "script")[0])
        return err_set(err, "mode lua needs the parameter 'script' (a .lua file defining score(problem, steps, reference))");
    return 0;
}

/* Text steps (start, end bytes) of one response; returns the count (>= 0). */
static int text_steps(const char *text, size_t **ends, size_t **starts) {
    return steps_split(text, strlen(text), ends, starts);
}

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

typedef struct Job {
    const Rollouts *ro;
    const Prompts *pr;
    float *out; /* flat, aligned with ro->step_ends */
} Job;

/* Splits response i into text steps and scores them with the oracle or the script. */
static int score_text(StageCtx *ctx, Job *j, int64_t i, Sandbox *sb, PureErr *err) {
    const Rollouts *ro = j->ro;
    const char *text = ro->text[i], *problem = j->pr->problem[ro->prompt_index[i]];
    size_t *ends = NULL, *starts = NULL;
    int nt = text_steps(text, &ends, &starts);
    float *tr = xmalloc(((size_t)nt + 1) * sizeof(float));
    float wrong = (float)stage_param_float(ctx, "wrong_reward");
    int rc = 0;
    if (!sb) {
        ToyCheckOptions o;
        toy_check_options_default(&o);
        o.require_progress = stage_param_bool(ctx, "require_progress");
        o.filler_correct = stage_param_bool(ctx, "filler_correct");
        o.correct_reward = (float)stage_param_float(ctx, "correct_reward");
        o.wrong_reward = wrong;
        int n = toy_check_steps(problem, text, &o, tr, nt);
        if (n < 0)
            rc = err_set(err, "prompt row %lld: '%.60s' is not a toy problem (mode oracle checks the toy task only)",
                         (long long)ro->prompt_index[i], problem);
        else if (n != nt)
            rc = err_set(err, "response %lld: the checker found %d steps, steps_split %d", (long long)i, n, nt);
    } else {
        lua_State *L = sandbox_state(sb);
        lua_pushstring(L, problem);
        lua_createtable(L, nt, 0);
        for (int s = 0; s < nt; s++) {
            lua_pushlstring(L, text + starts[s], ends[s] - starts[s]);
            lua_rawseti(L, -2, s + 1);
        }
        lua_pushstring(L, j->pr->reference[ro->prompt_index[i]]);
        char context[64];
        snprintf(context, sizeof context, "response %lld", (long long)i);
        double *v = xmalloc(((size_t)nt + 1) * sizeof(double));
        if (sandbox_call(sb, "score", 3, 1, context, err)) rc = -1;
        else {
            char what[64];
            snprintf(what, sizeof what, "score() result for response %lld", (long long)i);
            rc = sandbox_read_numbers(L, -1, v, nt, what, err);
            lua_pop(L, 1);
            for (int s = 0; s < nt; s++) tr[s] = (float)v[s];
        }
        free(v);
    }
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

static int score_model(StageCtx *ctx, Job *j, PureErr *err) {
    Policy p;
    if (policy_load(stage_input_path(ctx, "model"), "model", 2, stage_param_str(ctx, "device"), &p, err)) return -1;
    const Rollouts *ro = j->ro;
    int micro = (int)stage_param_int(ctx, "micro_batch"), max_len = (int)stage_param_int(ctx, "max_len");
    if (max_len > model_config(p.m)->max_position) max_len = model_config(p.m)->max_position;
    PrmInput *in = xcalloc((size_t)micro, sizeof *in);
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
        if (!rc) rc = prm_score(p.m, in, c, j->out + ro->step_ends.off[s], err);
        for (int k = 0; k < c; k++) prm_input_free(&in[k]);
        stage_progress(ctx, s + c, ro->n, "responses");
    }
    free(in);
    policy_free(&p);
    return rc;
}

static int prm_run(StageCtx *ctx, PureErr *err) {
    const char *mode = stage_param_str(ctx, "mode");
    if (!strcmp(mode, "model") && !stage_input_path(ctx, "model"))
        return err_set(err, "mode model needs the input 'model' (a token-classification PRM folder)");
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
    Job j = {&ro, &pr, xcalloc((size_t)ro.step_ends.off[ro.n] + 1, sizeof(float))};
    if (!rc && !strcmp(mode, "model")) {
        rc = score_model(ctx, &j, err);
    } else if (!rc) {
        Sandbox *sb = NULL;
        if (!strcmp(mode, "lua")) {
            SandboxLimits lim = {stage_param_int(ctx, "max_instructions"),
                                 (size_t)stage_param_int(ctx, "max_memory_mb") << 20};
            sb = sandbox_open(stage_param_str(ctx, "script"), &lim, err);
            if (!sb) rc = -1;
            else if (!sandbox_has_function(sb, "score"))
                rc = err_set(err, "%s: defines no function score(problem, steps, reference)", sandbox_name(sb));
        }
        for (int64_t i = 0; i < ro.n && !rc; i++) rc = score_text(ctx, &j, i, sb, err);
        sandbox_close(sb);
    }
    if (!rc) {
        int64_t ns = ro.step_ends.off[ro.n];
        double sum = 0, mn = 0;
        for (int64_t i = 0; i < ro.n; i++) {
            int64_t o = ro.step_ends.off[i], k = ragged_len(&ro.step_ends, i);
            float m = 0;
            for (int64_t t = 0; t < k; t++) m = (t == 0 || j.out[o + t] < m) ? j.out[o + t] : m;
            mn += m;
        }
        for (int64_t t = 0; t < ns; t++) sum += j.out[t];
        stage_metric(ctx, "step_reward", ns ? sum / ns : 0);
        stage_metric(ctx, "min_step_reward", ro.n ? mn / ro.n : 0);
        stage_metric(ctx, "sum_step_reward", ro.n ? sum / ro.n : 0);
        Artifact *o = stage_output_create(ctx, "rewards", err);
        if (!o) rc = -1;
        else {
            rc = artifact_write_ragged(o, "step_rewards", DT_F32, ro.n, ro.step_ends.off, j.out, err) ||
                 artifact_set_attr_str(o, "/", "mode", mode, err);
            if (artifact_close(o, rc ? NULL : err)) rc = -1;
        }
    }
    free(j.out);
    rollouts_free(&ro);
    prompts_free(&pr);
    return rc;
}

const StageKind stage_kind_prm = {
    "prm", 1,
    "Per-step process rewards aligned with the rollouts' step_ends: a token-classification PRM (reward = "
    "P(correct) - P(incorrect) at each step marker), the toy task's exact step checker, or a sandboxed Lua script.",
    prm_inputs, prm_outputs, prm_params, prm_run, prm_check,
};
