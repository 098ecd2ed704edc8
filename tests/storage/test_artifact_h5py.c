/* test_artifact_h5py.c - interoperability with h5py, the independent reader:
 * h5py reads a pure-written file (tests/storage/h5py_check.py asserts every
 * value), and pure reads an h5py-written file with h5py's own layouts
 * (int16, uint32, float16, fixed and vlen strings, gzip-chunked data). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "storage/artifact.h"
#include "tests/check.h"
#include "tests/storage/tmpdir.h"
#include "util/fs.h"

static int run_py(const char *mode, const char *path) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s/tests/storage/h5py_check.py %s '%s'", PURE_PYTHON, PURE_SOURCE_DIR, mode, path);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_for_h5py(const char *p) {
    PureErr e = {0};
    Artifact *a = artifact_create(p, &e);
    float x[6];
    for (int i = 0; i < 6; i++) x[i] = (float)i * 0.5f;
    int64_t d23[2] = {2, 3}, d3 = 3, offs[4] = {0, 2, 2, 5}, ids[3] = {-5, 0, 1LL << 40};
    uint8_t mask[3] = {1, 0, 1};
    int32_t tok[5] = {1, 2, 3, 4, 5};
    const char *text[3] = {"héllo ∑", "", "two\nlines"};
    CHECK(artifact_write(a, "x", DT_F32, 2, d23, x, &e) == 0);
    CHECK(artifact_write(a, "ids", DT_I64, 1, &d3, ids, &e) == 0);
    CHECK(artifact_write(a, "mask", DT_U8, 1, &d3, mask, &e) == 0);
    CHECK(artifact_write_scalar_f64(a, "loss", 0.25, &e) == 0);
    CHECK(artifact_write_ragged(a, "tokens", DT_I32, 3, offs, tok, &e) == 0);
    CHECK(artifact_write_strings(a, "text", 3, text, &e) == 0);
    CHECK(artifact_set_attr_str(a, "/", "stage_kind", "rollout", &e) == 0);
    CHECK(artifact_set_attr_str(a, "/", "note", "π≈3.14", &e) == 0);
    CHECK(artifact_set_attr_i64(a, "/", "seed", 1234, &e) == 0);
    CHECK(artifact_set_attr_f64(a, "/", "wall_time", 1.5, &e) == 0);
    CHECK(artifact_close(a, &e) == 0);
}

static void read_from_h5py(const char *p) {
    PureErr e = {0};
    Artifact *a = artifact_open(p, &e);
    CHECK(a != NULL);
    if (!a) {
        fprintf(stderr, "%s\n", e.msg);
        return;
    }
    int64_t dims[ARTIFACT_MAX_DIMS];
    int ndim;
    DType t;
    CHECK(artifact_shape(a, "i16", &ndim, dims, &t, &e) == 0 && t == DT_I32 && dims[0] == 3);
    int32_t *i16 = artifact_read(a, "i16", DT_I32, 1, NULL, &e);
    CHECK(i16 && i16[0] == -3 && i16[2] == 300);
    free(i16);
    CHECK(artifact_shape(a, "u32", &ndim, dims, &t, &e) == 0 && t == DT_I64);
    int64_t *u32 = artifact_read(a, "u32", DT_I64, 1, NULL, &e);
    CHECK(u32 && u32[1] == 4000000000LL);
    free(u32);
    float *f16 = artifact_read(a, "f16", DT_F32, 1, NULL, &e);
    CHECK(f16 && f16[0] == 0.5f && f16[1] == -2.0f);
    free(f16);
    float *f64 = artifact_read(a, "f64", DT_F32, 2, dims, &e);
    CHECK(f64 && dims[0] == 1 && dims[1] == 2 && f64[1] == 2.0f);
    free(f64);
    int64_t n = 0;
    char **s = artifact_read_strings(a, "fixed", &n, &e);
    CHECK(s && n == 3);
    if (s) {
        CHECK_STR(s[0], "ab");
        CHECK_STR(s[1], "");
        CHECK_STR(s[2], "xyz");
    }
    artifact_strings_free(s, n);
    s = artifact_read_strings(a, "vlen", &n, &e);
    CHECK(s && n == 2);
    if (s) CHECK_STR(s[1], "twö");
    artifact_strings_free(s, n);
    int64_t nr, *o;
    void *v;
    CHECK(artifact_read_ragged(a, "rag", DT_F64, &nr, &o, &v, &e) == 0 && nr == 2 && ((double *)v)[2] == 3.5);
    if (nr == 2) {
        free(o);
        free(v);
    }
    int32_t *ch = artifact_read(a, "chunked", DT_I32, 1, dims, &e);
    CHECK(ch && dims[0] == 10 && ch[9] == 9);
    free(ch);
    char *name = artifact_get_attr_str(a, "/", "name", &e);
    CHECK_STR(name, "h5py-made");
    free(name);
    name = artifact_get_attr_str(a, "/", "bytes_attr", &e);
    CHECK_STR(name, "fixed");
    free(name);
    int64_t c = 0;
    CHECK(artifact_get_attr_i64(a, "/", "count", &c, &e) == 0 && c == 3);
    artifact_close(a, &e);
}

int main(void) {
    char dir[256];
    if (tmpdir_make(dir, sizeof dir, "h5py")) return 1;
    char *p1 = fs_join(dir, "pure.h5"), *p2 = fs_join(dir, "h5py.h5");
    write_for_h5py(p1);
    int rc = run_py("read", p1);
    if (rc == 77) {
        printf("test_artifact_h5py: h5py not available, skipped\n");
        return 77;
    }
    CHECK(rc == 0);
    CHECK(run_py("write", p2) == 0);
    read_from_h5py(p2);
    rc = check_report("test_artifact_h5py");
    if (rc == 0) fs_remove_all(dir, NULL);
    free(p1);
    free(p2);
    return rc;
}
