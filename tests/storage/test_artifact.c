/* test_artifact.c - storage/artifact.h: round trips for every dtype and shape
 * kind, ragged edge cases, UTF-8 strings, attributes, dtype conversion, the
 * error messages for wrong rank / dtype class / missing objects / bad offsets,
 * and byte-identical rewrites. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "storage/artifact.h"
#include "tests/check.h"
#include "tests/storage/tmpdir.h"
#include "util/fs.h"

static char g_dir[256];

static char *tmp_path(const char *name) { return fs_join(g_dir, name); }

/* err.msg contains every one of the (NULL-terminated) fragments */
static int msg_has(const PureErr *e, const char *a, const char *b, const char *c) {
    const char *parts[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (parts[i] && !strstr(e->msg, parts[i])) {
            fprintf(stderr, "  message lacks '%s': %s\n", parts[i], e->msg);
            return 0;
        }
    return 1;
}

static void test_dense_roundtrip(void) {
    char *p = tmp_path("dense.h5");
    PureErr e = {0};
    Artifact *a = artifact_create(p, &e);
    CHECK(a != NULL);
    float f32[6] = {1.5f, -2.25f, 0.0f, 3e30f, -1e-30f, 7};
    double f64[3] = {1e300, -0.1, 42};
    int32_t i32[4] = {INT32_MIN, -1, 0, INT32_MAX};
    int64_t i64[2] = {INT64_MIN, INT64_MAX};
    uint8_t u8[5] = {0, 1, 127, 128, 255};
    int64_t d23[2] = {2, 3}, d3 = 3, d4 = 4, d2 = 2, d5[3] = {5, 1, 1}, d0 = 0, d203[3] = {2, 0, 3};
    CHECK(artifact_write(a, "f32", DT_F32, 2, d23, f32, &e) == 0);
    CHECK(artifact_write(a, "nested/deep/f64", DT_F64, 1, &d3, f64, &e) == 0);
    CHECK(artifact_write(a, "/i32", DT_I32, 1, &d4, i32, &e) == 0);
    CHECK(artifact_write(a, "i64", DT_I64, 1, &d2, i64, &e) == 0);
    CHECK(artifact_write(a, "u8", DT_U8, 3, d5, u8, &e) == 0);
    CHECK(artifact_write(a, "empty", DT_F32, 1, &d0, NULL, &e) == 0);
    CHECK(artifact_write(a, "empty3", DT_I32, 3, d203, NULL, &e) == 0);
    CHECK(artifact_write_scalar_f64(a, "loss", 0.125, &e) == 0);
    int32_t s7 = 7;
    CHECK(artifact_write(a, "scalar_i32", DT_I32, 0, NULL, &s7, &e) == 0);
    /* duplicates and clashes with datasets are refused, naming the object */
    CHECK(artifact_write(a, "f32", DT_F32, 2, d23, f32, &e) < 0 && msg_has(&e, p, "'f32' already exists", NULL));
    CHECK(artifact_write(a, "f32/x", DT_F32, 1, &d3, f32, &e) < 0 && msg_has(&e, "'f32' is a dataset", NULL, NULL));
    int64_t neg = -1;
    CHECK(artifact_write(a, "neg", DT_F32, 1, &neg, f32, &e) < 0 && msg_has(&e, "negative dimension", NULL, NULL));
    CHECK(artifact_close(a, &e) == 0);

    a = artifact_open(p, &e);
    CHECK(a != NULL);
    if (!a) return;
    CHECK_STR(artifact_path(a), p);
    int64_t dims[ARTIFACT_MAX_DIMS];
    int ndim;
    DType t;
    CHECK(artifact_shape(a, "f32", &ndim, dims, &t, &e) == 0 && ndim == 2 && dims[0] == 2 && dims[1] == 3 &&
          t == DT_F32);
    float *rf = artifact_read(a, "f32", DT_F32, 2, dims, &e);
    CHECK(rf && memcmp(rf, f32, sizeof f32) == 0);
    free(rf);
    double *rd = artifact_read(a, "nested/deep/f64", DT_F64, 1, dims, &e);
    CHECK(rd && memcmp(rd, f64, sizeof f64) == 0 && dims[0] == 3);
    free(rd);
    int32_t *ri = artifact_read(a, "i32", DT_I32, 1, NULL, &e);
    CHECK(ri && memcmp(ri, i32, sizeof i32) == 0);
    free(ri);
    int64_t *rl = artifact_read(a, "i64", DT_I64, -1, NULL, &e);
    CHECK(rl && rl[0] == INT64_MIN && rl[1] == INT64_MAX);
    free(rl);
    uint8_t *ru = artifact_read(a, "u8", DT_U8, 3, dims, &e);
    CHECK(ru && memcmp(ru, u8, sizeof u8) == 0 && dims[0] == 5 && dims[1] == 1 && dims[2] == 1);
    free(ru);
    void *re = artifact_read(a, "empty", DT_F32, 1, dims, &e);
    CHECK(re != NULL && dims[0] == 0);
    free(re);
    re = artifact_read(a, "empty3", DT_F64, 3, dims, &e);
    CHECK(re != NULL && dims[0] == 2 && dims[1] == 0 && dims[2] == 3);
    free(re);
    double v = 0;
    CHECK(artifact_read_scalar_f64(a, "loss", &v, &e) == 0 && v == 0.125);
    CHECK(artifact_read_scalar_f64(a, "scalar_i32", &v, &e) == 0 && v == 7.0);
    CHECK(artifact_shape(a, "loss", &ndim, dims, &t, &e) == 0 && ndim == 0 && t == DT_F64);
    CHECK(artifact_read_scalar_f64(a, "i32", &v, &e) < 0 && msg_has(&e, p, "'i32'", "expected a scalar, got shape [4]"));

    /* conversions done by HDF5 on read */
    double *cd = artifact_read(a, "i32", DT_F64, 1, NULL, &e);
    CHECK(cd && cd[0] == (double)INT32_MIN && cd[3] == (double)INT32_MAX);
    free(cd);
    float *cf = artifact_read(a, "nested/deep/f64", DT_F32, 1, NULL, &e);
    CHECK(cf && cf[1] == -0.1f && cf[2] == 42.0f);
    free(cf);
    int64_t *cl = artifact_read(a, "u8", DT_I64, 3, NULL, &e);
    CHECK(cl && cl[4] == 255);
    free(cl);

    CHECK(artifact_has(a, "f32") && artifact_has(a, "nested") && artifact_has(a, "/nested/deep/f64"));
    CHECK(!artifact_has(a, "nope") && !artifact_has(a, "nope/deeper") && !artifact_has(a, "f32/child"));

    /* errors name file, dataset, expected and actual */
    CHECK(artifact_read(a, "f32", DT_F32, 1, NULL, &e) == NULL &&
          msg_has(&e, p, "'f32'", "expected rank 1, got rank 2 (shape [2, 3])"));
    CHECK(artifact_read(a, "missing", DT_F32, 1, NULL, &e) == NULL && msg_has(&e, p, "no dataset 'missing'", NULL));
    CHECK(artifact_read(a, "nested", DT_F32, 1, NULL, &e) == NULL && msg_has(&e, "'nested' is a group", NULL, NULL));
    int64_t n;
    CHECK(artifact_read_strings(a, "i64", &n, &e) == NULL && msg_has(&e, p, "'i64'", "expected strings, got i64"));
    CHECK(artifact_write(a, "x", DT_F32, 1, &d3, f32, &e) < 0 && msg_has(&e, "read-only", NULL, NULL));
    CHECK(artifact_close(a, &e) == 0);
    CHECK(artifact_verify(p, &e) == 0);
    free(p);
}

static void test_ragged(void) {
    char *p = tmp_path("ragged.h5");
    PureErr e = {0};
    Artifact *a = artifact_create(p, &e);
    int32_t vals[6] = {1, 2, 3, 4, 5, 6};
    int64_t offs[5] = {0, 2, 2, 6, 6}; /* rows 1 and 3 empty */
    CHECK(artifact_write_ragged(a, "tokens", DT_I32, 4, offs, vals, &e) == 0);
    int64_t zero[1] = {0};
    CHECK(artifact_write_ragged(a, "none", DT_F32, 0, zero, NULL, &e) == 0);
    int64_t allempty[4] = {0, 0, 0, 0};
    CHECK(artifact_write_ragged(a, "grp/allempty", DT_F32, 3, allempty, NULL, &e) == 0);
    int64_t bad0[3] = {1, 2, 3}, bad1[3] = {0, 3, 2};
    CHECK(artifact_write_ragged(a, "bad0", DT_I32, 2, bad0, vals, &e) < 0 && msg_has(&e, "'bad0'", "offsets[0] = 1", NULL));
    CHECK(artifact_write_ragged(a, "bad1", DT_I32, 2, bad1, vals, &e) < 0 &&
          msg_has(&e, "'bad1'", "offsets decrease at row 1", NULL));
    /* hand-made broken ragged groups, as another tool might leave them */
    int64_t o_bad[3] = {0, 4, 9}, d3 = 3, d6 = 6, o_start[3] = {1, 2, 6}, o_dec[3] = {0, 5, 3}, d2 = 2;
    CHECK(artifact_write(a, "r_end/offsets", DT_I64, 1, &d3, o_bad, &e) == 0);
    CHECK(artifact_write(a, "r_end/values", DT_I32, 1, &d6, vals, &e) == 0);
    CHECK(artifact_write(a, "r_start/offsets", DT_I64, 1, &d3, o_start, &e) == 0);
    CHECK(artifact_write(a, "r_start/values", DT_I32, 1, &d6, vals, &e) == 0);
    CHECK(artifact_write(a, "r_dec/offsets", DT_I64, 1, &d3, o_dec, &e) == 0);
    CHECK(artifact_write(a, "r_dec/values", DT_I32, 1, &d6, vals, &e) == 0);
    CHECK(artifact_write(a, "r_novals/offsets", DT_I64, 1, &d2, allempty, &e) == 0);
    CHECK(artifact_write(a, "r_2d/offsets", DT_I64, 1, &d3, offs, &e) == 0);
    int64_t d23[2] = {2, 3};
    CHECK(artifact_write(a, "r_2d/values", DT_I32, 2, d23, vals, &e) == 0);
    CHECK(artifact_close(a, &e) == 0);

    a = artifact_open(p, &e);
    int64_t nr = -1, *o = NULL;
    void *v = NULL;
    CHECK(artifact_read_ragged(a, "tokens", DT_I32, &nr, &o, &v, &e) == 0);
    CHECK(nr == 4 && o && memcmp(o, offs, sizeof offs) == 0 && v && memcmp(v, vals, sizeof vals) == 0);
    free(o);
    free(v);
    CHECK(artifact_read_ragged(a, "tokens", DT_F64, &nr, &o, &v, &e) == 0 && ((double *)v)[5] == 6.0);
    free(o);
    free(v);
    CHECK(artifact_read_ragged(a, "none", DT_F32, &nr, &o, &v, &e) == 0 && nr == 0 && o[0] == 0);
    free(o);
    free(v);
    CHECK(artifact_read_ragged(a, "grp/allempty", DT_F32, &nr, &o, &v, &e) == 0 && nr == 3 && o[3] == 0);
    free(o);
    free(v);
    CHECK(artifact_read_ragged(a, "r_end", DT_I32, &nr, &o, &v, &e) < 0 &&
          msg_has(&e, p, "'r_end'", "offsets end at 9 but values has 6 elements"));
    CHECK(o == NULL && v == NULL);
    CHECK(artifact_read_ragged(a, "r_start", DT_I32, &nr, &o, &v, &e) < 0 && msg_has(&e, "'r_start'", "offsets[0] = 1", NULL));
    CHECK(artifact_read_ragged(a, "r_dec", DT_I32, &nr, &o, &v, &e) < 0 &&
          msg_has(&e, "'r_dec'", "offsets decrease at row 1 (5 -> 3)", NULL));
    CHECK(artifact_read_ragged(a, "r_novals", DT_I32, &nr, &o, &v, &e) < 0 && msg_has(&e, "has no 'values'", NULL, NULL));
    CHECK(artifact_read_ragged(a, "r_2d", DT_I32, &nr, &o, &v, &e) < 0 &&
          msg_has(&e, "'r_2d/values'", "expected rank 1, got rank 2", NULL));
    CHECK(artifact_read_ragged(a, "r_end/values", DT_I32, &nr, &o, &v, &e) < 0 &&
          msg_has(&e, "is a dense dataset, expected a ragged group", NULL, NULL));
    CHECK(artifact_read_ragged(a, "absent", DT_I32, &nr, &o, &v, &e) < 0 && msg_has(&e, "no ragged group 'absent'", NULL, NULL));
    CHECK(artifact_read(a, "tokens", DT_I32, 1, NULL, &e) == NULL &&
          msg_has(&e, "'tokens' is a ragged group (values + offsets)", NULL, NULL));
    char *lay = artifact_get_attr_str(a, "tokens", "pure_layout", &e);
    CHECK_STR(lay, "ragged");
    free(lay);
    artifact_close(a, &e);
    /* whole-file verification stops at the first broken group, in name order */
    CHECK(artifact_verify(p, &e) < 0 && msg_has(&e, p, "'r_2d/values'", "expected rank 1, got rank 2"));
    free(p);
}

static void test_strings_attrs(void) {
    char *p = tmp_path("strings.h5");
    PureErr e = {0};
    Artifact *a = artifact_create(p, &e);
    const char *s[6] = {"plain", "", "Grüße, 数学 ∑ 🙂", NULL, "line1\nline2\t\"q\"", "x"};
    CHECK(artifact_write_strings(a, "text", 6, s, &e) == 0);
    CHECK(artifact_write_strings(a, "none", 0, NULL, &e) == 0);
    CHECK(artifact_set_attr_str(a, "/", "stage_kind", "rollout", &e) == 0);
    CHECK(artifact_set_attr_str(a, "/", "unicode", "π ≈ 3.14", &e) == 0);
    CHECK(artifact_set_attr_i64(a, "/", "seed", -1234567890123LL, &e) == 0);
    CHECK(artifact_set_attr_f64(a, "/", "wall_time", 12.5, &e) == 0);
    CHECK(artifact_set_attr_i64(a, "text", "count", 6, &e) == 0);
    CHECK(artifact_set_attr_i64(a, "/", "seed", 99, &e) == 0); /* overwrite */
    CHECK(artifact_set_attr_str(a, "nothere", "k", "v", &e) < 0 && msg_has(&e, p, "no object 'nothere'", NULL));
    CHECK(artifact_close(a, &e) == 0);

    a = artifact_open(p, &e);
    int64_t n = -1;
    char **r = artifact_read_strings(a, "text", &n, &e);
    CHECK(r && n == 6);
    if (r) {
        CHECK_STR(r[0], "plain");
        CHECK_STR(r[1], "");
        CHECK_STR(r[2], "Grüße, 数学 ∑ 🙂");
        CHECK_STR(r[3], "");
        CHECK_STR(r[4], "line1\nline2\t\"q\"");
        CHECK_STR(r[5], "x");
    }
    artifact_strings_free(r, n);
    r = artifact_read_strings(a, "none", &n, &e);
    CHECK(r != NULL && n == 0);
    artifact_strings_free(r, n);
    CHECK(artifact_read(a, "text", DT_F32, 1, NULL, &e) == NULL &&
          msg_has(&e, p, "'text'", "expected numeric data (read as f32), got vlen utf-8 string"));
    int64_t dims[ARTIFACT_MAX_DIMS];
    int ndim;
    DType t;
    CHECK(artifact_shape(a, "text", &ndim, dims, &t, &e) < 0 && msg_has(&e, "expected numeric data", NULL, NULL));
    char *k = artifact_get_attr_str(a, "/", "stage_kind", &e);
    CHECK_STR(k, "rollout");
    free(k);
    k = artifact_get_attr_str(a, "/", "unicode", &e);
    CHECK_STR(k, "π ≈ 3.14");
    free(k);
    int64_t iv = 0;
    double dv = 0;
    CHECK(artifact_get_attr_i64(a, "/", "seed", &iv, &e) == 0 && iv == 99);
    CHECK(artifact_get_attr_f64(a, "/", "wall_time", &dv, &e) == 0 && dv == 12.5);
    CHECK(artifact_get_attr_f64(a, "/", "seed", &dv, &e) == 0 && dv == 99.0); /* numeric conversion */
    CHECK(artifact_get_attr_i64(a, "text", "count", &iv, &e) == 0 && iv == 6);
    CHECK(artifact_get_attr_i64(a, "/", "stage_kind", &iv, &e) < 0 &&
          msg_has(&e, p, "attribute 'stage_kind'", "expected a number, got fixed 7-byte utf-8 string"));
    CHECK(artifact_get_attr_str(a, "/", "seed", &e) == NULL && msg_has(&e, "expected a string, got i64", NULL, NULL));
    CHECK(artifact_get_attr_str(a, "/", "absent", &e) == NULL && msg_has(&e, p, "'/' has no attribute 'absent'", NULL));
    CHECK(artifact_get_attr_str(a, "ghost", "k", &e) == NULL && msg_has(&e, "no object 'ghost'", NULL, NULL));
    artifact_close(a, &e);
    free(p);
}

/* Many strings and a long one spread over several global-heap collections:
 * the heap check before each read walks all of them. */
static void test_many_strings(void) {
    char *p = tmp_path("many.h5");
    PureErr e = {0};
    enum { N = 5000 };
    char **s = malloc(N * sizeof *s);
    for (int i = 0; i < N; i++) {
        size_t len = i == 17 ? 100000 : (size_t)(i % 50);
        s[i] = malloc(len + 1);
        for (size_t k = 0; k < len; k++) s[i][k] = (char)('a' + (i + k) % 26);
        s[i][len] = '\0';
    }
    Artifact *a = artifact_create(p, &e);
    CHECK(artifact_write_strings(a, "s", N, (const char *const *)s, &e) == 0);
    CHECK(artifact_close(a, &e) == 0);
    a = artifact_open(p, &e);
    int64_t n = 0;
    char **r = artifact_read_strings(a, "s", &n, &e);
    CHECK(r && n == N);
    int bad = 0;
    for (int i = 0; r && i < N; i++) bad += strcmp(r[i], s[i]) != 0;
    CHECK(bad == 0);
    artifact_strings_free(r, n);
    artifact_close(a, &e);
    for (int i = 0; i < N; i++) free(s[i]);
    free(s);
    free(p);
}

/* The same content written twice (with the heap scribbled in between) gives
 * the same bytes: no timestamps, no uninitialized padding. */
static void write_fixed(const char *path) {
    PureErr e = {0};
    Artifact *a = artifact_create(path, &e);
    float f[100];
    for (int i = 0; i < 100; i++) f[i] = (float)i * 0.5f;
    int64_t d = 100, offs[4] = {0, 10, 10, 100};
    const char *s[3] = {"a", "béta", ""};
    artifact_write(a, "x/f", DT_F32, 1, &d, f, &e);
    artifact_write_ragged(a, "r", DT_F32, 3, offs, f, &e);
    artifact_write_strings(a, "s", 3, s, &e);
    artifact_set_attr_str(a, "/", "kind", "test", &e);
    artifact_set_attr_f64(a, "x", "g", 1.0, &e);
    CHECK(artifact_close(a, &e) == 0);
}

static void test_reproducible(void) {
    char *p1 = tmp_path("rep1.h5"), *p2 = tmp_path("rep2.h5");
    write_fixed(p1);
    for (int i = 0; i < 20; i++) {
        size_t n = (size_t)(1000 + i * 4096);
        char *junk = malloc(n);
        memset(junk, 0xA5 + i, n);
        free(junk);
    }
    sleep(1); /* a timestamp would differ across a second */
    write_fixed(p2);
    size_t n1 = 0, n2 = 0;
    char *b1 = fs_read_file(p1, &n1, NULL), *b2 = fs_read_file(p2, &n2, NULL);
    CHECK(b1 && b2 && n1 == n2 && n1 > 0 && memcmp(b1, b2, n1) == 0);
    free(b1);
    free(b2);
    free(p1);
    free(p2);
}

static void test_open_errors(void) {
    PureErr e = {0};
    char *p = tmp_path("nothing.h5");
    CHECK(artifact_open(p, &e) == NULL && msg_has(&e, p, "no such artifact file", NULL));
    free(p);
    p = tmp_path("text.h5");
    fs_write_atomic(p, "hello, not hdf5\n", 16, &e);
    CHECK(artifact_open(p, &e) == NULL && msg_has(&e, p, "not an HDF5 file", NULL));
    free(p);
    CHECK(artifact_create("/nonexistent-dir/x.h5", &e) == NULL && msg_has(&e, "/nonexistent-dir/x.h5", "cannot create", NULL));
    CHECK(artifact_close(NULL, &e) == 0);
}

/* HDF5's error printing is per thread in its thread-safe build: failures on
 * a fresh thread must also stay silent and come back as PureErr. */
static void *thread_errors(void *arg) {
    PureErr *e = arg;
    char *p = tmp_path("thread.h5");
    Artifact *a = artifact_create("/nonexistent-dir/t.h5", &e[0]);
    CHECK(a == NULL);
    a = artifact_create(p, &e[1]);
    int64_t d = 2;
    float f[2] = {1, 2};
    CHECK(a && artifact_write(a, "x", DT_F32, 1, &d, f, &e[1]) == 0);
    CHECK(a && artifact_read(a, "missing", DT_F32, 1, NULL, &e[2]) == NULL);
    float *r = a ? artifact_read(a, "x", DT_F32, 1, NULL, &e[2]) : NULL; /* reading back before close works */
    CHECK(r && r[1] == 2);
    free(r);
    artifact_close(a, NULL);
    free(p);
    return NULL;
}

static void test_threads(void) {
    PureErr e[3] = {{0}, {0}, {0}};
    char *cap = tmp_path("stderr.txt");
    fflush(stderr);
    int saved = dup(2), fd = open(cap, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    close(fd);
    pthread_t th;
    pthread_create(&th, NULL, thread_errors, e);
    pthread_join(th, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t n = 0;
    char *text = fs_read_file(cap, &n, NULL);
    CHECK(text && n == 0); /* nothing printed by HDF5 */
    if (text && n) fprintf(stderr, "stderr from the thread:\n%s\n", text);
    free(text);
    free(cap);
    CHECK(msg_has(&e[0], "/nonexistent-dir/t.h5", "cannot create", NULL));
}

int main(void) {
    if (tmpdir_make(g_dir, sizeof g_dir, "artifact")) return 1;
    test_dense_roundtrip();
    test_ragged();
    test_strings_attrs();
    test_many_strings();
    test_reproducible();
    test_open_errors();
    test_threads();
    int rc = check_report("test_artifact");
    if (rc == 0) fs_remove_all(g_dir, NULL);
    return rc;
}
