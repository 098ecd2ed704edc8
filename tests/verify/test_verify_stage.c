/* test_verify_stage.c - the `verify` stage kind's run function on hand-made artifacts, through a minimal
 * stand-in for the runner's stage API (only what verify.c calls): rewards, has_reward, correct, extracted and
 * the accuracy metric checked against hand-worked values; malformed inputs refused with clear messages. */
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include "stages/stage.h"
#include "tests/check.h"
#include "util/fs.h"

extern const StageKind stage_kind_verify;

struct StageCtx {
    const char *rollouts, *prompts, *out;
    double correct_reward, wrong_reward;
    double accuracy;
    int has_accuracy;
};

Artifact *stage_input_open(StageCtx *ctx, const char *port, PureErr *err) {
    return artifact_open(!strcmp(port, "rollouts") ? ctx->rollouts : ctx->prompts, err);
}
Artifact *stage_output_create(StageCtx *ctx, const char *port, PureErr *err) {
    CHECK_STR(port, "verifiable");
    return artifact_create(ctx->out, err);
}
double stage_param_float(StageCtx *ctx, const char *name) {
    return !strcmp(name, "correct_reward") ? ctx->correct_reward : ctx->wrong_reward;
}
void stage_progress(StageCtx *ctx, int64_t done, int64_t total, const char *unit) { (void)ctx, (void)done, (void)total, (void)unit; }
void stage_metric(StageCtx *ctx, const char *key, double value) {
    if (!strcmp(key, "accuracy")) ctx->accuracy = value, ctx->has_accuracy = 1;
}
void stage_log(StageCtx *ctx, const char *fmt, ...) { (void)ctx, (void)fmt; }

static char dir[] = "/tmp/pure_test_verify_stage_XXXXXX";

static char *write_prompts(const char *name, int64_t p, const char *const *refs, const uint8_t *has) {
    PureErr err = {0};
    char *path = fs_join(dir, name);
    Artifact *a = artifact_create(path, &err);
    CHECK(a && artifact_write_strings(a, "reference", p, refs, &err) == 0);
    if (has) CHECK(artifact_write(a, "has_reference", DT_U8, 1, &p, has, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    return path;
}

static char *write_rollouts(const char *name, int64_t n, const int64_t *idx, int64_t n_text, const char *const *text) {
    PureErr err = {0};
    char *path = fs_join(dir, name);
    Artifact *a = artifact_create(path, &err);
    CHECK(a && artifact_write(a, "prompt_index", DT_I64, 1, &n, idx, &err) == 0);
    CHECK(artifact_write_strings(a, "text", n_text, text, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    return path;
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    static const char *const refs[] = {"56", "\\frac12", "", "7"};
    static const uint8_t has[] = {1, 0, 1, 1};
    static const int64_t idx[] = {0, 0, 1, 2, 3, 3};
    static const char *const text[] = {"23+45=68\n\n68-12=56\n\nThe answer is \\boxed{56}.", "\\boxed{55}",
                                       "so \\boxed{0.5}", "\\boxed{1}", "no box", "\\boxed{7}"};
    char *prompts = write_prompts("prompts.h5", 4, refs, has);
    char *rollouts = write_rollouts("rollouts.h5", 6, idx, 6, text);
    char *out = fs_join(dir, "verifiable.h5");
    StageCtx ctx = {rollouts, prompts, out, 1.0, -0.5, 0, 0};
    PureErr err = {0};
    int rc = stage_kind_verify.run(&ctx, &err);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    /* graded rows: those with a non-empty reference (0, 1, 2, 4, 5): 3 correct of 5 */
    CHECK(ctx.has_accuracy && fabs(ctx.accuracy - 0.6) < 1e-12);
    Artifact *a = artifact_open(out, &err);
    CHECK(a != NULL);
    if (a) {
        int64_t dims[ARTIFACT_MAX_DIMS], n = 0;
        float *reward = artifact_read(a, "reward", DT_F32, 1, dims, &err);
        uint8_t *hr = artifact_read(a, "has_reward", DT_U8, 1, dims, &err);
        uint8_t *correct = artifact_read(a, "correct", DT_U8, 1, dims, &err);
        char **ex = artifact_read_strings(a, "extracted", &n, &err);
        static const float want_reward[] = {1, -0.5f, 0, 0, -0.5f, 1};
        static const uint8_t want_has[] = {1, 1, 0, 0, 1, 1}, want_correct[] = {1, 0, 1, 0, 0, 1};
        static const char *const want_ex[] = {"56", "55", "0.5", "1", "", "7"};
        CHECK(reward && hr && correct && ex && n == 6);
        for (int i = 0; reward && hr && correct && ex && i < 6; i++) {
            CHECK(reward[i] == want_reward[i]);
            CHECK(hr[i] == want_has[i]);
            CHECK(correct[i] == want_correct[i]);
            CHECK_STR(ex[i], want_ex[i]);
        }
        free(reward), free(hr), free(correct);
        artifact_strings_free(ex, n);
        artifact_close(a, NULL);
    }

    /* malformed inputs: each refused with the file, the dataset and what was expected */
    static const int64_t bad_idx[] = {0, 9};
    char *r_bad = write_rollouts("bad_index.h5", 2, bad_idx, 2, text);
    ctx.rollouts = r_bad;
    err = (PureErr){0};
    CHECK(stage_kind_verify.run(&ctx, &err) < 0);
    CHECK(strstr(err.msg, "prompt_index'[1] = 9") && strstr(err.msg, "4 prompts"));
    char *r_short = write_rollouts("short_text.h5", 2, idx, 1, text);
    ctx.rollouts = r_short;
    err = (PureErr){0};
    CHECK(stage_kind_verify.run(&ctx, &err) < 0);
    CHECK(strstr(err.msg, "short_text.h5") && strstr(err.msg, "'text' has 1 rows, expected 2"));
    char *p_nohas = write_prompts("no_has.h5", 4, refs, NULL);
    ctx.rollouts = rollouts;
    ctx.prompts = p_nohas;
    err = (PureErr){0};
    CHECK(stage_kind_verify.run(&ctx, &err) < 0);
    CHECK(strstr(err.msg, "has_reference") != NULL);
    printf("refused: %s\n", err.msg);
    free(prompts), free(rollouts), free(out), free(r_bad), free(r_short), free(p_nohas);
    fs_remove_all(dir, &err);
    return check_report("test_verify_stage");
}
