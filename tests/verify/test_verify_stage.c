/* test_verify_stage.c - the `verify` stage kind run as the runner runs it
 * (tests/stage_test_host.h: real parameters, port checks): rewards,
 * has_reward, correct, extracted and the accuracy metric checked against
 * hand-worked values; malformed inputs refused with clear messages. */
#include <stdlib.h>
#include <unistd.h>
#include "stages/common/io.h"
#include "stages/stage.h"
#include "tests/check.h"
#include "tests/stage_test_host.h"
#include "util/fs.h"

extern const StageKind stage_kind_verify;

static char dir[] = "/tmp/pure_test_verify_stage_XXXXXX";

static char *write_prompts(const char *name, int64_t p, const char *const *refs, const uint8_t *has) {
    PureErr err = {0};
    char *path = fs_join(dir, name);
    Artifact *a = artifact_create(path, &err);
    int64_t ids[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    CHECK(a && artifact_write(a, "id", DT_I64, 1, &p, ids, &err) == 0);
    const char *cols[] = {"benchmark", "problem", "prompt", "solution"};
    for (int c = 0; c < 4; c++) CHECK(artifact_write_strings(a, cols[c], p, refs, &err) == 0);
    CHECK(artifact_write_strings(a, "reference", p, refs, &err) == 0);
    if (has) CHECK(artifact_write(a, "has_reference", DT_U8, 1, &p, has, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    return path;
}

/* A complete rollouts artifact (every dataset of the layout) with one token
 * and one step per response; n_text < n writes a short `text` on purpose. */
static char *write_rollouts(const char *name, int64_t n, const int64_t *idx, int64_t n_text, const char *const *text) {
    PureErr err = {0};
    char *path = fs_join(dir, name);
    Artifact *a = artifact_create(path, &err);
    int64_t grp[8] = {0}, off[9];
    int32_t one[8] = {1, 1, 1, 1, 1, 1, 1, 1}, zero[8] = {0};
    float lp[8] = {0};
    for (int i = 0; i <= n; i++) off[i] = i;
    CHECK(a && artifact_write(a, "prompt_index", DT_I64, 1, &n, idx, &err) == 0);
    CHECK(artifact_write(a, "group", DT_I64, 1, &n, grp, &err) == 0);
    CHECK(artifact_write_ragged(a, "prompt_tokens", DT_I32, n, off, one, &err) == 0);
    CHECK(artifact_write_ragged(a, "tokens", DT_I32, n, off, one, &err) == 0);
    CHECK(artifact_write_ragged(a, "logprobs", DT_F32, n, off, lp, &err) == 0);
    CHECK(artifact_write(a, "length", DT_I32, 1, &n, one, &err) == 0);
    CHECK(artifact_write(a, "finish", DT_I32, 1, &n, zero, &err) == 0);
    CHECK(artifact_write_strings(a, "text", n_text, text, &err) == 0);
    CHECK(artifact_write_ragged(a, "step_ends", DT_I32, n, off, zero, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    return path;
}

/* Runs verify with correct_reward 1, wrong_reward -0.5; the accuracy metric into *acc. */
static int run(const char *rollouts, const char *prompts, const char *out, double *acc, PureErr *err) {
    static const char *const params[] = {"correct_reward=1.0", "wrong_reward=-0.5", NULL};
    char r[512], p[512];
    snprintf(r, sizeof r, "rollouts=%s", rollouts);
    snprintf(p, sizeof p, "prompts=%s", prompts);
    const char *inputs[] = {r, p, NULL};
    cJSON *m = NULL;
    int rc = test_stage_run(&stage_kind_verify, params, inputs, out, &m, err);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "accuracy");
    *acc = cJSON_IsNumber(a) ? a->valuedouble : -1;
    cJSON_Delete(m);
    return rc;
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
    PureErr err = {0};
    double acc;
    int rc = run(rollouts, prompts, dir, &acc, &err);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    /* graded rows: those with a non-empty reference (0, 1, 2, 4, 5): 3 correct of 5 */
    CHECK(fabs(acc - 0.6) < 1e-12);
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
    err = (PureErr){0};
    CHECK(run(r_bad, prompts, dir, &acc, &err) < 0);
    CHECK(strstr(err.msg, "prompt_index[1] = 9") && strstr(err.msg, "(4 rows)"));
    printf("refused: %s\n", err.msg);
    /* the port check: text has 1 row where the other per-response datasets have 2 */
    char *r_short = write_rollouts("short_text.h5", 2, idx, 1, text);
    err = (PureErr){0};
    CHECK(run(r_short, prompts, dir, &acc, &err) < 0);
    CHECK(strstr(err.msg, "short_text.h5") && strstr(err.msg, "dataset 'text'") && strstr(err.msg, "1 rows, but"));
    printf("refused: %s\n", err.msg);
    char *p_nohas = write_prompts("no_has.h5", 4, refs, NULL);
    err = (PureErr){0};
    CHECK(run(rollouts, p_nohas, dir, &acc, &err) < 0);
    CHECK(strstr(err.msg, "input 'prompts'") && strstr(err.msg, "missing dataset 'has_reference'"));
    printf("refused: %s\n", err.msg);
    free(prompts), free(rollouts), free(out), free(r_bad), free(r_short), free(p_nohas);
    fs_remove_all(dir, &err);
    return check_report("test_verify_stage");
}
