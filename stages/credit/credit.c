/* credit.c - the `credit` stage kind: rollouts (+ process rewards, verifiable
 * rewards, KL from log-probabilities) -> per-token returns and advantages.
 * The arithmetic is credit_compute() (credit_core.c), shared with `pure credit`;
 * this file reads the artifacts, checks that they agree, and writes the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credit.h"
#include "stages/common/layouts.h"
#include "stages/stage.h"

static const PortDef credit_inputs[] = {
    {"rollouts", ART_H5, 0,
     "responses (reads group, length, finish (2 = truncated) and step_ends; logprobs and ref_logprobs when "
     "kl_coef > 0)", layout_rollouts},
    {"rewards", ART_H5, 1, "process rewards (prm stage), one per step of the rollouts' step_ends", layout_rewards},
    {"verifiable", ART_H5, 1, "verifiable rewards (verify stage; reads reward and has_reward)", layout_verifiable},
    {0},
};

static const PortDef credit_outputs[] = {
    {"advantages", ART_H5, 0, "returns and advantages, one per response token", layout_advantages},
    {0},
};

static const ParamDef credit_params[] = {
    {"rule", PT_ENUM, "min", 1, 0, credit_rules,
     "how step rewards become returns: min is the method's (each rule: `pure credit --help`, docs/stages.md); "
     "lua runs the function credit() in `script`", sizeof *credit_rules},
    {"script", PT_PATH, "", 1, 0, NULL, "Lua rule for rule: lua (docs/lua-api.md); its bytes enter the fingerprint"},
    {"temperature", PT_FLOAT, "0.1", 1e-6, 1e6, NULL, "rule min: softmax temperature T (-> 0 approaches min-exact)"},
    {"gamma", PT_FLOAT, "1.0", 0, 1, NULL, "discount of token rewards in the returns"},
    {"baseline", PT_ENUM, "rloo-token", 1, 0, credit_baselines,
     "what advantages are measured against within a group: rloo-token is the method's (each baseline: "
     "`pure credit --help`, docs/stages.md)", sizeof *credit_baselines},
    {"max_length", PT_INT, "0", 0, 1e9, NULL,
     "rloo-token N: the maximum generation length; 0 = the longest response in the batch"},
    {"whiten", PT_BOOL, "false", 1, 0, NULL, "whiten advantages over all tokens of the batch"},
    {"prm_coef", PT_FLOAT, "1.0", -1e6, 1e6, NULL, "weight of the process (PRM) return"},
    {"vr_coef", PT_FLOAT, "1.0", -1e6, 1e6, NULL, "weight of the verifiable reward, placed on the last token"},
    {"kl_coef", PT_FLOAT, "0.0", 0, 1e6, NULL,
     "beta: KL penalty folded into token rewards (needs rollouts logprobs and ref_logprobs)"},
    {"kl_estimator", PT_ENUM, "k1", 1, 0, credit_kl_estimators,
     "k1: logp - ref; k3: exp(ref - logp) - (ref - logp) - 1, clamped to [-10, 10]", sizeof *credit_kl_estimators},
    {"lua_max_instructions", PT_INT, "50000000", 1000, 1e15, NULL, "Lua rule: instruction budget per group call"},
    {"lua_max_memory_mb", PT_INT, "64", 1, 65536, NULL, "Lua rule: memory cap of the Lua state, MB"},
    {0},
};

/* Everything read from the inputs; the CreditBatch points into it. */
typedef struct StageBatch {
    CreditBatch b;
    int64_t *group, *step_off;
    int32_t *length, *finish, *step_ends;
    uint8_t *truncated, *has_v;
    float *rewards, *v, *kl;
} StageBatch;

static void stage_batch_free(StageBatch *sb) {
    free(sb->group);
    free(sb->step_off);
    free(sb->length);
    free(sb->finish);
    free(sb->step_ends);
    free(sb->truncated);
    free(sb->has_v);
    free(sb->rewards);
    free(sb->v);
    free(sb->kl);
}

/* Reads a rank-1 dataset of n entries (n < 0: any, returned in *n). */
static void *read_vec(Artifact *a, const char *name, DType t, int64_t *n, PureErr *err) {
    int64_t dims[ARTIFACT_MAX_DIMS];
    void *p = artifact_read(a, name, t, 1, dims, err);
    if (!p) return NULL;
    if (*n >= 0 && dims[0] != *n) {
        err_set(err, "%s: '%s' has %lld entries, expected %lld (one per response)", artifact_path(a), name,
                (long long)dims[0], (long long)*n);
        free(p);
        return NULL;
    }
    *n = dims[0];
    return p;
}

/* A ragged f32 dataset whose rows must match `want_off` (row i has want_off[i+1] - want_off[i] values). */
static float *read_aligned(Artifact *a, const char *name, int64_t n, const int64_t *want_off, const char *unit,
                           PureErr *err) {
    int64_t rows, *off;
    void *flat;
    if (artifact_read_ragged(a, name, DT_F32, &rows, &off, &flat, err) < 0) return NULL;
    int rc = 0;
    if (rows != n)
        rc = err_set(err, "%s: '%s' has %lld rows, expected %lld (one per response)", artifact_path(a), name,
                     (long long)rows, (long long)n);
    for (int64_t i = 0; i < n && rc == 0; i++)
        if (off[i + 1] - off[i] != want_off[i + 1] - want_off[i])
            rc = err_set(err, "%s: '%s' row %lld (response %lld) has %lld values, expected %lld (one per %s)",
                         artifact_path(a), name, (long long)i, (long long)i, (long long)(off[i + 1] - off[i]),
                         (long long)(want_off[i + 1] - want_off[i]), unit);
    free(off);
    if (rc < 0) {
        free(flat);
        return NULL;
    }
    return flat;
}

static int read_rollouts(StageCtx *ctx, StageBatch *sb, int want_kl, const CreditKlEstimator *est, PureErr *err) {
    Artifact *a = stage_input_open(ctx, "rollouts", err);
    if (!a) return -1;
    int64_t n = -1, rows, m;
    int rc = -1;
    if (!(sb->group = read_vec(a, "group", DT_I64, &n, err))) goto done;
    if (!(sb->length = read_vec(a, "length", DT_I32, &n, err))) goto done;
    if (!(sb->finish = read_vec(a, "finish", DT_I32, &n, err))) goto done;
    if (artifact_read_ragged(a, "step_ends", DT_I32, &rows, &sb->step_off, (void **)&sb->step_ends, err) < 0) goto done;
    if (rows != n) {
        err_set(err, "%s: 'step_ends' has %lld rows, expected %lld (one per response)", artifact_path(a),
                (long long)rows, (long long)n);
        goto done;
    }
    sb->truncated = xmalloc((size_t)n + 1);
    int64_t *tok_off = xmalloc((size_t)(n + 1) * sizeof *tok_off);
    tok_off[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        sb->truncated[i] = sb->finish[i] == 2;
        tok_off[i + 1] = tok_off[i] + (sb->length[i] > 0 ? sb->length[i] : 0);
    }
    if (want_kl) {
        float *lp = read_aligned(a, "logprobs", n, tok_off, "token", err), *ref = NULL;
        if (lp) ref = read_aligned(a, "ref_logprobs", n, tok_off, "token", err);
        if (ref) {
            m = tok_off[n];
            sb->kl = xmalloc((size_t)(m + 1) * sizeof *sb->kl);
            credit_kl_estimate(est, lp, ref, m, sb->kl);
        }
        free(lp);
        free(ref);
        if (!sb->kl) {
            free(tok_off);
            err_prefix(err, "kl_coef > 0 needs per-token logprobs and ref_logprobs (a rollout with a reference model)");
            goto done;
        }
    }
    free(tok_off);
    sb->b.n = n;
    rc = 0;
done:
    artifact_close(a, NULL);
    return rc;
}

static int read_rewards(StageCtx *ctx, StageBatch *sb, PureErr *err) {
    if (!stage_input_path(ctx, "rewards")) return 0;
    Artifact *a = stage_input_open(ctx, "rewards", err);
    if (!a) return -1;
    sb->rewards = read_aligned(a, "step_rewards", sb->b.n, sb->step_off, "step of rollouts step_ends", err);
    artifact_close(a, NULL);
    return sb->rewards ? 0 : -1;
}

static int read_verifiable(StageCtx *ctx, StageBatch *sb, PureErr *err) {
    if (!stage_input_path(ctx, "verifiable")) return 0;
    Artifact *a = stage_input_open(ctx, "verifiable", err);
    if (!a) return -1;
    int64_t n = sb->b.n;
    int rc = -1;
    if ((sb->v = read_vec(a, "reward", DT_F32, &n, err)) && (sb->has_v = read_vec(a, "has_reward", DT_U8, &n, err)))
        rc = 0;
    artifact_close(a, NULL);
    return rc;
}

/* Parameters -> config (the runner has validated types, ranges and choices:
 * an enum's index is a row of its table). */
static void config_from_params(StageCtx *ctx, CreditConfig *cfg, const CreditKlEstimator **est) {
    credit_config_init(cfg);
    cfg->rule = &credit_rules[stage_param_enum(ctx, "rule")];
    cfg->baseline = &credit_baselines[stage_param_enum(ctx, "baseline")];
    *est = &credit_kl_estimators[stage_param_enum(ctx, "kl_estimator")];
    cfg->temperature = stage_param_float(ctx, "temperature");
    cfg->gamma = stage_param_float(ctx, "gamma");
    cfg->max_length = stage_param_int(ctx, "max_length");
    cfg->whiten = stage_param_bool(ctx, "whiten");
    cfg->prm_coef = stage_param_float(ctx, "prm_coef");
    cfg->vr_coef = stage_param_float(ctx, "vr_coef");
    cfg->kl_coef = stage_param_float(ctx, "kl_coef");
}

static Sandbox *open_script(const StageParams *p, PureErr *err) {
    SandboxLimits lim = {param_int(p, "lua_max_instructions"), (size_t)param_int(p, "lua_max_memory_mb") << 20};
    Sandbox *sb = sandbox_open(param_str(p, "script"), &lim, err);
    if (sb && !sandbox_has_function(sb, CREDIT_LUA_FUNCTION)) {
        err_set(err, "%s: the script defines no function '" CREDIT_LUA_FUNCTION "' (docs/lua-api.md)",
                param_str(p, "script"));
        sandbox_close(sb);
        return NULL;
    }
    return sb;
}

/* Validate time: rule and script agree, and the script loads and defines credit(). */
static int credit_check(const StageParams *p, PureErr *err) {
    const CreditRule *rule = &credit_rules[param_enum(p, "rule")];
    const char *script = param_str(p, "script");
    int needs_script = (rule->needs & CREDIT_NEEDS_SCRIPT) != 0;
    if (needs_script && !*script)
        return err_set(err, "rule: %s needs a script (script: rules/my_rule.lua)", rule->name);
    if (!needs_script && *script)
        return err_set(err, "script is set but rule is %s; set rule: %s to use it", rule->name,
                       credit_script_rule() ? credit_script_rule()->name : "lua");
    if (needs_script) {
        Sandbox *sb = open_script(p, err);
        if (!sb) return -1;
        sandbox_close(sb);
    }
    return 0;
}

static int write_output(StageCtx *ctx, const CreditResult *res, PureErr *err) {
    Artifact *out = stage_output_create(ctx, "advantages", err);
    if (!out) return -1;
    int rc = artifact_write_ragged(out, "returns", DT_F32, res->n, res->tok_off, res->returns, err);
    if (rc == 0) rc = artifact_write_ragged(out, "advantages", DT_F32, res->n, res->tok_off, res->advantages, err);
    if (artifact_close(out, rc == 0 ? err : NULL) < 0) rc = -1;
    return rc;
}

static int credit_run(StageCtx *ctx, PureErr *err) {
    CreditConfig cfg;
    const CreditKlEstimator *est;
    config_from_params(ctx, &cfg, &est);
    StageBatch sb = {0};
    int rc = -1;
    CreditResult res = {0};
    if (read_rollouts(ctx, &sb, cfg.kl_coef != 0, est, err) < 0 || read_rewards(ctx, &sb, err) < 0 ||
        read_verifiable(ctx, &sb, err) < 0)
        goto done;
    if (!sb.rewards && (cfg.rule->needs & CREDIT_NEEDS_STEP_REWARDS))
        stage_warn(ctx, "no rewards input: process returns are 0 (only verifiable rewards and KL count)");
    sb.b = (CreditBatch){.n = sb.b.n, .group = sb.group, .length = sb.length, .truncated = sb.truncated,
                         .step_off = sb.step_off, .step_ends = sb.step_ends, .step_rewards = sb.rewards,
                         .verifiable = sb.v, .has_verifiable = sb.has_v, .kl = sb.kl};
    if ((cfg.rule->needs & CREDIT_NEEDS_SCRIPT) && !(cfg.lua = open_script(stage_params(ctx), err))) goto done;
    if (credit_compute(&sb.b, &cfg, &res, err) < 0) goto done;
    stage_progress(ctx, res.n, res.n, "responses");
    if (write_output(ctx, &res, err) < 0) goto done;
    for (int k = 0; k < res.n_metrics; k++) stage_metric(ctx, res.metrics[k].name, res.metrics[k].value);
    rc = 0;
done:
    credit_result_free(&res);
    sandbox_close(cfg.lua);
    stage_batch_free(&sb);
    return rc;
}

const StageKind stage_kind_credit = {
    "credit",
    1,
    "Credit assignment: turns step-level process rewards (rewards), verifiable rewards (verifiable) and an "
    "optional KL penalty into per-token returns and advantages, with the min-form rule of the method, min-exact, "
    "the canonical sum, or a user rule in Lua (a sandboxed script; docs/lua-api.md).",
    credit_inputs,
    credit_outputs,
    credit_params,
    credit_run,
    credit_check,
};
