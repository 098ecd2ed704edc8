/* credit.c - the `credit` stage kind: rollouts (+ process rewards, verifiable
 * rewards, KL from log-probabilities) -> per-token returns and advantages.
 * The arithmetic is credit_compute() (credit_core.c), shared with `pure credit`;
 * this file reads the artifacts (with stages/common/io.h's readers, which check
 * that they agree), and writes the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credit.h"
#include "stages/common/io.h"
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
    {"lua_max_seconds", PT_FLOAT, "10", 0.001, 1e6, NULL, "Lua rule: wall-clock limit per group call, seconds"},
    {0},
};

/* Everything read from the inputs (stages/common/io.h's readers); the
 * CreditBatch points into it. */
typedef struct StageBatch {
    CreditBatch b;
    Rollouts ro;
    Ragged rewards;    /* n = 0: no rewards input */
    Verifiable v;      /* n = 0: no verifiable input */
    uint8_t *truncated;
    float *kl;
} StageBatch;

static void stage_batch_free(StageBatch *sb) {
    rollouts_free(&sb->ro);
    ragged_free(&sb->rewards);
    verifiable_free(&sb->v);
    free(sb->truncated);
    free(sb->kl);
}

/* Reads rollouts (their lengths agree with the stored tokens, their step_ends
 * lie within them), rewards aligned with the step_ends and verifiable rewards
 * with one row per response, and derives truncation and the KL estimate. */
static int read_inputs(StageCtx *ctx, StageBatch *sb, int want_kl, const CreditKlEstimator *est, PureErr *err) {
    if (input_read_rollouts(ctx, "rollouts", &sb->ro, err)) return -1;
    const Rollouts *ro = &sb->ro;
    int64_t n = ro->n;
    sb->truncated = xmalloc((size_t)n + 1);
    for (int64_t i = 0; i < n; i++) sb->truncated[i] = ro->finish[i] == 2;
    if (want_kl && !ro->ref_logprobs.n)
        return err_set(err, "kl_coef > 0 needs per-token logprobs and ref_logprobs (a rollout with a reference "
                            "model): input 'rollouts' has no 'ref_logprobs'");
    /* with a reference the estimate is always computed: at kl_coef 0 it is still logged (kl_* metrics) */
    if (ro->ref_logprobs.n) {
        int64_t m = ro->tokens.off[n];
        sb->kl = xmalloc((size_t)(m + 1) * sizeof *sb->kl);
        credit_kl_estimate(est, ro->logprobs.v, ro->ref_logprobs.v, m, sb->kl);
    }
    if (stage_input_path(ctx, "rewards") && input_read_rewards(ctx, "rewards", &ro->step_ends, &sb->rewards, err))
        return -1;
    if (stage_input_path(ctx, "verifiable") && input_read_verifiable(ctx, "verifiable", n, &sb->v, err)) return -1;
    sb->b = (CreditBatch){.n = n, .group = ro->group, .length = ro->length, .truncated = sb->truncated,
                          .step_off = ro->step_ends.off, .step_ends = ro->step_ends.v, .step_rewards = sb->rewards.v,
                          .verifiable = sb->v.reward, .has_verifiable = sb->v.has_reward, .kl = sb->kl};
    return 0;
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
    SandboxLimits lim = {param_int(p, "lua_max_instructions"), (size_t)param_int(p, "lua_max_memory_mb") << 20,
                         param_float(p, "lua_max_seconds"), 0};
    return sandbox_open_defining(param_str(p, "script"), &lim, CREDIT_LUA_FUNCTION,
                                 "the script defines no function '" CREDIT_LUA_FUNCTION "' (docs/lua-api.md)", err);
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
    if (read_inputs(ctx, &sb, cfg.kl_coef != 0, est, err) < 0) goto done;
    /* a rule that reads step rewards with none connected: deliberate beside a verifiable input (the
       verifiable-only variant, said once in the log), suspicious without one (only KL would count) */
    if (!sb.b.step_rewards && (cfg.rule->needs & CREDIT_NEEDS_STEP_REWARDS)) {
        if (!sb.v.reward) stage_warn(ctx, "no rewards or verifiable input: every return is 0 but the KL penalty");
        else if (stage_iteration(ctx) <= 0)
            stage_log(ctx, "no rewards input: the returns are the verifiable rewards (and the KL penalty)");
    }
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
