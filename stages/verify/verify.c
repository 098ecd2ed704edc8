/* verify.c - the `verify` stage kind: grades every rollout against its prompt's reference answer with the
 * verifier (verify.h) and writes the verifiable reward. */
#include <stdlib.h>
#include <string.h>
#include "stages/common/io.h"
#include "stages/common/layouts.h"
#include "stages/common/shard.h"
#include "stages/stage.h"
#include "util/rng.h"
#include "verifier/verify.h"

static const PortDef inputs[] = {
    {"rollouts", ART_H5, 0, "responses (reads prompt_index and text)", layout_rollouts},
    {"prompts", ART_H5, 0, "the prompts the rollouts answer (reads reference and has_reference)", layout_prompts},
    {0}};
static const PortDef outputs[] = {
    {"verifiable", ART_H5, 0, "answer-correctness rewards, one per response", layout_verifiable},
    {0}};
static const ParamDef params[] = {
    {"correct_reward", PT_FLOAT, "1", -1e6, 1e6, NULL, "reward of a correct final answer"},
    {"wrong_reward", PT_FLOAT, "0", -1e6, 1e6, NULL, "reward of a wrong or missing final answer"},
    {"reference_fraction", PT_FLOAT, "1", 0, 1, NULL,
     "share of prompts whose reference may be used as a reward (the method's 10% setting: 0.1); a fixed set of "
     "prompt rows drawn from reference_seed, the same every iteration. Applied here, not in data, so variants "
     "share their data, SFT and PRM; `correct` is still computed for every row"},
    {"reference_seed", PT_INT, "0", 0, 1e18, NULL, "seed of the prompt rows that keep their reference"},
    {0}};

/* The inputs through the shared readers of stages/common/io.c. */
typedef struct {
    Rollouts r;
    Prompts p;
} VerifyInputs;

static void inputs_free(VerifyInputs *in) {
    rollouts_free(&in->r);
    prompts_free(&in->p);
}

static int read_inputs(StageCtx *ctx, VerifyInputs *in, PureErr *err) {
    memset(in, 0, sizeof *in);
    if (input_read_rollouts(ctx, "rollouts", &in->r, err) || input_read_prompts(ctx, "prompts", &in->p, err))
        return -1;
    for (int64_t i = 0; i < in->r.n; i++)
        if (in->r.prompt_index[i] < 0 || in->r.prompt_index[i] >= in->p.n)
            return err_set(err, "input 'rollouts': prompt_index[%lld] = %lld is not a row of input 'prompts' (%lld rows)",
                           (long long)i, (long long)in->r.prompt_index[i], (long long)in->p.n);
    return 0;
}

/* Collective: rows [lo, hi) of every rank (grade and extracted answer) to rank 0, which then holds all n. */
static int gather_grades(uint8_t *correct, char **extracted, int64_t n, int64_t lo, int64_t hi, PureErr *err) {
    if (shard_ranks() == 1) return 0;
    ShardBuf mine = {0}, all = {0};
    shard_put(&mine, &lo, sizeof lo);
    shard_put(&mine, &hi, sizeof hi);
    for (int64_t i = lo; i < hi; i++) {
        int32_t len = extracted[i] ? (int32_t)strlen(extracted[i]) : -1;
        shard_put(&mine, &correct[i], 1);
        shard_put_i32(&mine, len);
        if (len > 0) shard_put(&mine, extracted[i], (size_t)len);
    }
    int rc = shard_gather(&mine, &all, err);
    shard_free(&mine);
    for (int k = 0; !rc && shard_is_writer() && k < shard_ranks(); k++) {
        int64_t a = 0, b = 0;
        rc = shard_get(&all, &a, sizeof a, err) || shard_get(&all, &b, sizeof b, err);
        if (!rc && (a < 0 || b < a || b > n)) rc = err_set(err, "verify: gathered rows [%lld, %lld) of %lld",
                                                       (long long)a, (long long)b, (long long)n);
        for (int64_t i = a; i < b && !rc; i++) {
            int32_t len = 0;
            rc = shard_get(&all, &correct[i], 1, err) || shard_get_i32(&all, &len, err);
            if (rc) break;
            if (len < -1 || (size_t)(len > 0 ? len : 0) > all.n - all.pos) {
                rc = err_set(err, "verify: a gathered answer of %d bytes", len);
                break;
            }
            if (k == 0) all.pos += (size_t)(len > 0 ? len : 0); /* rank 0's own answers are in place */
            else if (len >= 0) {
                extracted[i] = xmalloc((size_t)len + 1);
                extracted[i][len] = 0;
                rc = shard_get(&all, extracted[i], (size_t)len, err);
            }
        }
    }
    shard_free(&all);
    return rc;
}

static int run_verify(StageCtx *ctx, PureErr *err) {
    VerifyInputs in;
    if (read_inputs(ctx, &in, err) < 0) {
        inputs_free(&in);
        return -1;
    }
    float good = (float)stage_param_float(ctx, "correct_reward"), bad = (float)stage_param_float(ctx, "wrong_reward");
    double frac = stage_param_float(ctx, "reference_fraction");
    uint64_t rseed = rng_derive((uint64_t)stage_param_int(ctx, "reference_seed"), "verify/reference");
    int64_t n = in.r.n;
    size_t m = (size_t)(n ? n : 1);
    float *reward = xcalloc(m, sizeof *reward);
    uint8_t *has = xcalloc(m, 1), *correct = xcalloc(m, 1);
    char **extracted = xcalloc(m, sizeof *extracted);
    int64_t graded = 0, n_correct = 0, rewarded = 0, rewarded_correct = 0, lo, hi;
    /* each rank grades a block of rows (grading is per row: any cut gives the same grades); rank 0 gathers */
    shard_rows(n, 1, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        correct[i] = (uint8_t)verify_grade(in.r.text[i], in.p.reference[in.r.prompt_index[i]], &extracted[i]);
        if (((i - lo) & 255) == 255) stage_progress(ctx, i - lo + 1, hi - lo, "responses");
    }
    int rc = gather_grades(correct, extracted, n, lo, hi, err);
    if (rc || !shard_is_writer()) {
        for (int64_t i = 0; i < n; i++) free(extracted[i]);
        free(extracted), free(reward), free(has), free(correct);
        inputs_free(&in);
        return rc;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t p = in.r.prompt_index[i];
        const char *ref = in.p.reference[p];
        /* the draw is keyed on the prompt row alone: a prompt keeps or loses its reference for the whole run */
        has[i] = in.p.has_reference[p] && ref[0] && (frac >= 1 || rng_uniform_double(rseed, (uint64_t)p, 0) < frac);
        /* prompts without a usable reference get reward 0 and has_reward 0: credit rules skip them */
        reward[i] = has[i] ? (correct[i] ? good : bad) : 0.0f;
        if (ref[0]) graded++, n_correct += correct[i];
        if (has[i]) rewarded++, rewarded_correct += correct[i];
    }
    Artifact *a = stage_output_create(ctx, "verifiable", err);
    rc = a ? 0 : -1;
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
    inputs, outputs, params, run_verify, NULL, STAGE_ALL_RANKS};
