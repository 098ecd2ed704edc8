/* test_inspect.c - `pure inspect`: the tree with dtypes, shapes, attributes
 * and statistics checked against hand-computed values, one dataset's values,
 * --json parsed back, and exit code 2 naming the file on errors. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "storage/artifact.h"
#include "tests/check.h"
#include "tests/storage/tmpdir.h"
#include "util/fs.h"
#include "util/json.h"

static char g_out[256];

/* Runs cmd_inspect with stdout and stderr sent to g_out; returns the exit
 * code and the captured text in *text (caller frees). */
static int run(char **text, const char *a1, const char *a2, const char *a3, const char *a4) {
    char *argv[6] = {"inspect", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
    int argc = 1;
    while (argc < 5 && argv[argc]) argc++;
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2), fd = open(g_out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    int rc = cmd_inspect(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    *text = fs_read_file(g_out, NULL, NULL);
    return rc;
}

static int has(const char *text, const char *needle) {
    if (text && strstr(text, needle)) return 1;
    fprintf(stderr, "  output lacks '%s':\n%s\n", needle, text ? text : "(null)");
    return 0;
}

int main(void) {
    char dir[256];
    if (tmpdir_make(dir, sizeof dir, "inspect")) return 1;
    snprintf(g_out, sizeof g_out, "%s/out.txt", dir);
    char *p = fs_join(dir, "a.h5");
    PureErr e = {0};
    Artifact *a = artifact_create(p, &e);
    /* x = [1, 2, 3, 4, NaN, inf]: finite mean 2.5, population std sqrt(1.25) */
    float x[6] = {1, 2, 3, 4, NAN, INFINITY};
    int64_t d6 = 6, d23[2] = {2, 3}, offs[4] = {0, 2, 2, 5};
    int32_t m[6] = {10, 20, 30, 40, 50, 60}, tok[5] = {7, 8, 9, 10, 11};
    const char *s[2] = {"héllo \"q\"", "two\nlines"};
    artifact_write(a, "x", DT_F32, 1, &d6, x, &e);
    artifact_write(a, "grp/m", DT_I32, 2, d23, m, &e);
    artifact_write_ragged(a, "tokens", DT_I32, 3, offs, tok, &e);
    artifact_write_strings(a, "text", 2, s, &e);
    artifact_set_attr_str(a, "/", "stage_kind", "rollout", &e);
    artifact_set_attr_i64(a, "/", "seed", 42, &e);
    artifact_set_attr_f64(a, "x", "scale", 0.5, &e);
    CHECK(artifact_close(a, &e) == 0);

    char *t = NULL;
    CHECK(run(&t, p, NULL, NULL, NULL) == 0);
    CHECK(has(t, "stage_kind=\"rollout\"") && has(t, "seed=42"));
    CHECK(has(t, "grp/\n") && has(t, "grp/m") && has(t, "i32 [2, 3]"));
    CHECK(has(t, "min 10  max 60  mean 35  std 17.0783")); /* std of 10..60 step 10 */
    CHECK(has(t, "x ") && has(t, "f32 [6]") && has(t, "min 1  max 4  mean 2.5  std 1.11803  nan 1  inf 1"));
    CHECK(has(t, "scale=0.5"));
    CHECK(has(t, "ragged i32  3 rows x lengths 0..3 (mean 1.667), 5 values"));
    CHECK(has(t, "str [2]  vlen utf-8 string"));
    CHECK(!strstr(t, "pure_sha256") && !strstr(t, "["  "7 8")); /* no values, no bookkeeping */
    free(t);

    CHECK(run(&t, p, "tokens", NULL, NULL) == 0);
    CHECK(has(t, "[0] [7 8]") && has(t, "[1] []") && has(t, "[2] [9 10 11]"));
    free(t);
    CHECK(run(&t, "--head", "1", p, "grp/m") == 0);
    CHECK(has(t, "[0] [10 20 30]") && has(t, "1 more rows"));
    free(t);
    CHECK(run(&t, p, "text", NULL, NULL) == 0);
    CHECK(has(t, "[0] \"héllo \\\"q\\\"\"") && has(t, "[1] \"two\\nlines\""));
    free(t);

    /* --json round trip */
    CHECK(run(&t, "--json", "--all", p, "grp/m") == 0);
    cJSON *j = t ? json_parse(t, strlen(t), "inspect output", &e) : NULL;
    CHECK(j != NULL);
    if (j) {
        cJSON *v = cJSON_GetObjectItem(j, "values");
        CHECK(cJSON_GetArraySize(v) == 2 && cJSON_GetArrayItem(cJSON_GetArrayItem(v, 1), 2)->valuedouble == 60);
        CHECK_STR(cJSON_GetObjectItem(j, "dtype")->valuestring, "i32");
        CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "stats"), "mean")->valuedouble == 35);
        cJSON_Delete(j);
    }
    free(t);
    CHECK(run(&t, "--json", p, NULL, NULL) == 0);
    j = t ? json_parse(t, strlen(t), "inspect output", &e) : NULL;
    CHECK(j != NULL);
    if (j) {
        CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "attrs"), "seed")->valuedouble == 42);
        cJSON *objs = cJSON_GetObjectItem(j, "objects");
        CHECK(cJSON_GetArraySize(objs) == 5); /* grp, grp/m, text, tokens, x */
        cJSON *tokens = cJSON_GetArrayItem(objs, 3);
        CHECK_STR(cJSON_GetObjectItem(tokens, "kind")->valuestring, "ragged");
        CHECK(cJSON_GetObjectItem(tokens, "rows")->valuedouble == 3);
        cJSON_Delete(j);
    }
    free(t);

    /* errors: exit 2 and the file named */
    CHECK(run(&t, p, "nope", NULL, NULL) == 2 && has(t, p) && has(t, "no dataset 'nope'"));
    free(t);
    char *missing = fs_join(dir, "missing.h5");
    CHECK(run(&t, missing, NULL, NULL, NULL) == 2 && has(t, missing));
    free(t);
    free(missing);
    CHECK(run(&t, NULL, NULL, NULL, NULL) == 2 && has(t, "usage"));
    free(t);
    CHECK(run(&t, "--bogus", p, NULL, NULL) == 2 && has(t, "unknown option '--bogus'"));
    free(t);
    CHECK(run(&t, "--help", NULL, NULL, NULL) == 0 && has(t, "--json"));
    free(t);
    /* a damaged dataset is reported, not printed */
    size_t len;
    char *bytes = fs_read_file(p, &len, NULL);
    char *hit = bytes ? memmem(bytes, len, "\x0a\x00\x00\x00\x14\x00\x00\x00\x1e\x00\x00\x00", 12) : NULL;
    CHECK(hit != NULL);
    if (hit) {
        hit[0] = 11;
        char *q = fs_join(dir, "bad.h5");
        fs_write_atomic(q, bytes, len, NULL);
        CHECK(run(&t, q, NULL, NULL, NULL) == 2 && has(t, q) && has(t, "'grp/m': checksum mismatch"));
        free(t);
        free(q);
    }
    free(bytes);
    free(p);
    int rc = check_report("test_inspect");
    if (rc == 0) fs_remove_all(dir, NULL);
    return rc;
}
