/* verify.c - the `verify` stage kind: grades every rollout against its prompt's reference answer with the
 * verifier (verify.h) and writes the verifiable reward. */
#include <stdlib.h>
#include <string.h>
#include "stages/stage.h"
#include "verifier/verify.h"

static const PortDef inputs[] = {
    {"rollouts", ART_H5, 0, "responses: prompt_index i64 (N), text str (N)"},
    {"prompts", ART_H5, 0, "the prompts the rollouts answer: reference str (P), has_reference u8 (P)"},
    {0}};
static const PortDef outputs[] = {
    {"verifiable", ART_H5, 0,
     "reward f32 (N), has_reward u8 (N: the prompt keeps its reference), correct u8 (N), extracted str (N)"},
    {0}};
static const ParamDef params[] = {
    {"correct_reward", PT_FLOAT, "1", -1e6, 1e6, NULL, "reward of a correct final answer"},
    {"wrong_reward", PT_FLOAT, "0", -1e6, 1e6, NULL, "reward of a wrong or missing final answer"},
    {0}};

typedef struct {
    int64_t n, p, n_text;
    int64_t *prompt_index;  /* (N) */
    char **text;            /* (N) */
    char **reference;       /* (P) */
    uint8_t *has_reference; /* (P) */
} VerifyInputs;

static void inputs_free(VerifyInputs *in) {
    free(in->prompt_index);
    artifact_strings_free(in->text, in->n_text);
    artifact_strings_free(in->reference, in->p);
    free(in->has_reference);
}

static int read_inputs(StageCtx *ctx, VerifyInputs *in, PureErr *err) {
    memset(in, 0, sizeof *in);
    Artifact *r = stage_input_open(ctx, "rollouts", err);
    if (!r) return -1;
    int64_t dims[ARTIFACT_MAX_DIMS];
    in->prompt_index = artifact_read(r, "prompt_index", DT_I64, 1, dims, err);
    if (in->prompt_index) {
        in->n = dims[0];
        in->text = artifact_read_strings(r, "text", &in->n_text, err);
    }
    int ok = in->prompt_index && in->text;
    int64_t n_text = in->n_text;
    if (ok && n_text != in->n) {
        err_set(err, "%s: dataset 'text' has %lld rows, expected %lld (one per prompt_index)", artifact_path(r),
                (long long)n_text, (long long)in->n);
        ok = 0;
    }
    artifact_close(r, NULL);
    if (!ok) return -1;
    Artifact *p = stage_input_open(ctx, "prompts", err);
    if (!p) return -1;
    in->reference = artifact_read_strings(p, "reference", &in->p, err);
    in->has_reference = in->reference ? artifact_read(p, "has_reference", DT_U8, 1, dims, err) : NULL;
    ok = in->reference && in->has_reference;
    if (ok && dims[0] != in->p) {
        err_set(err, "%s: dataset 'has_reference' has %lld rows, expected %lld (one per reference)", artifact_path(p),
                (long long)dims[0], (long long)in->p);
        ok = 0;
    }
    for (int64_t i = 0; ok && i < in->n; i++) {
        if (in->prompt_index[i] < 0 || in->prompt_index[i] >= in->p) {
            err_set(err, "rollouts 'prompt_index'[%lld] = %lld is not a row of %s (%lld prompts)", (long long)i,
                    (long long)in->prompt_index[i], artifact_path(p), (long long)in->p);
            ok = 0;
        }
    }
    artifact_close(p, NULL);
    return ok ? 0 : -1;
}

static int run_verify(StageCtx *ctx, PureErr *err) {
    VerifyInputs in;
    if (read_inputs(ctx, &in, err) < 0) {
        inputs_free(&in);
        return -1;
    }
    float good = (float)stage_param_float(ctx, "correct_reward"), bad = (float)stage_param_float(ctx, "wrong_reward");
    int64_t n = in.n;
    size_t m = (size_t)(n ? n : 1);
    float *reward = xcalloc(m, sizeof *reward);
    uint8_t *has = xcalloc(m, 1), *correct = xcalloc(m, 1);
    char **extracted = xcalloc(m, sizeof *extracted);
    int64_t graded = 0, n_correct = 0, rewarded = 0, rewarded_correct = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t p = in.prompt_index[i];
        const char *ref = in.reference[p];
        correct[i] = (uint8_t)verify_grade(in.text[i], ref, &extracted[i]);
        has[i] = in.has_reference[p] && ref[0];
        /* prompts without a usable reference get reward 0 and has_reward 0: credit rules skip them */
        reward[i] = has[i] ? (correct[i] ? good : bad) : 0.0f;
        if (ref[0]) graded++, n_correct += correct[i];
        if (has[i]) rewarded++, rewarded_correct += correct[i];
        if ((i & 255) == 255) stage_progress(ctx, i + 1, n, "responses");
    }
    Artifact *a = stage_output_create(ctx, "verifiable", err);
    int rc = a ? 0 : -1;
    if (rc == 0) rc = artifact_write(a, "reward", DT_F32, 1, &n, reward, err);
    if (rc == 0) rc = artifact_write(a, "has_reward", DT_U8, 1, &n, has, err);
    if (rc == 0) rc = artifact_write(a, "correct", DT_U8, 1, &n, correct, err);
    if (rc == 0) rc = artifact_write_strings(a, "extracted", n, (const char *const *)extracted, err);
    if (a && artifact_close(a, rc ? NULL : err) < 0) rc = -1;
    if (rc == 0) {
        double acc = graded ? (double)n_correct / (double)graded : 0.0;
        stage_metric(ctx, "accuracy", acc);
        stage_metric(ctx, "graded", (double)graded);
        stage_metric(ctx, "rewarded", (double)rewarded);
        if (rewarded) stage_metric(ctx, "accuracy_rewarded", (double)rewarded_correct / (double)rewarded);
        stage_log(ctx, "accuracy %.4f over %lld graded responses (%lld carry a verifiable reward)", acc,
                  (long long)graded, (long long)rewarded);
    }
    for (int64_t i = 0; i < n; i++) free(extracted[i]);
    free(extracted);
    free(reward);
    free(has);
    free(correct);
    inputs_free(&in);
    return rc;
}

const StageKind stage_kind_verify = {
    "verify", 1,
    "Grades each rollout's final answer (the last \\boxed{}) against its prompt's reference with the verifier of "
    "docs/verifier.md: fractions, decimals, percentages, LaTeX clean-up, units, tuples, intervals, sets and "
    "expressions compared numerically. reward is correct_reward/wrong_reward where the prompt keeps its reference "
    "(has_reward), else 0; correct is computed for every row with a non-empty reference.",
    inputs, outputs, params, run_verify, NULL};
