/* test_inspect_damaged.c - `pure inspect` on damaged files (issue 12): a
 * file shaped like a real artifact (a dozen provenance attributes on the root,
 * so HDF5 keeps them in dense storage; a group with more links than fit
 * compact; ragged, string and nested datasets with attributes) gets one byte
 * flipped at a time (every other byte near content, text and JSON by turns).
 * Whatever the flip, inspect either prints exactly what it prints for the
 * intact file (the byte was padding) or exits 2 with a message naming the
 * file and prints nothing on stdout: never exit 0 with attributes or datasets
 * missing. artifact_verify must fail exactly when inspect does.
 * Under the sanitizers (PURE_SANITIZE) the flips in the dense group's heap
 * are also the regression for HDF5 1.10 freeing pointers it never set when it
 * sorts a damaged dense group by name (storage lists in native order). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/artifact.h"
#include "tests/check.h"
#include "tests/storage/inspect_run.h"
#include "tests/storage/tmpdir.h"
#include "util/fs.h"

static void make_file(const char *path) {
    PureErr e = {0};
    Artifact *a = artifact_create(path, &e);
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)i * 0.25f;
    int64_t d16 = 16, d3 = 3, offs[4] = {0, 2, 2, 5};
    int32_t tok[5] = {7, 8, 9, 10, 11};
    const char *text[3] = {"alpha", "", "ünïcödé ∑"};
    CHECK(artifact_write(a, "x", DT_F32, 1, &d16, x, &e) == 0);
    CHECK(artifact_set_attr_f64(a, "x", "scale", 0.5, &e) == 0);
    CHECK(artifact_write_ragged(a, "tokens", DT_I32, 3, offs, tok, &e) == 0);
    CHECK(artifact_write_strings(a, "text", 3, text, &e) == 0);
    for (int i = 0; i < 10; i++) { /* more links than a compact group holds */
        char name[32];
        int64_t v[3] = {i, i * 10, i * 100};
        snprintf(name, sizeof name, "metrics/m%02d", i);
        CHECK(artifact_write(a, name, DT_I64, 1, &d3, v, &e) == 0);
    }
    CHECK(artifact_set_attr_str(a, "metrics", "unit", "tokens", &e) == 0);
    for (int i = 0; i < 12; i++) { /* more attributes than an object header holds compact */
        char key[32], val[32];
        snprintf(key, sizeof key, "prov_%02d", i);
        snprintf(val, sizeof val, "value-%d", i * 7);
        if (i % 3 == 0) CHECK(artifact_set_attr_str(a, "/", key, val, &e) == 0);
        else if (i % 3 == 1) CHECK(artifact_set_attr_i64(a, "/", key, 1000 + i, &e) == 0);
        else CHECK(artifact_set_attr_f64(a, "/", key, 0.125 * i, &e) == 0);
    }
    CHECK(artifact_close(a, &e) == 0);
}

static int near_content(const char *b, size_t len, size_t i) {
    for (size_t k = i > 16 ? i - 16 : 0; k < len && k <= i + 16; k++)
        if (b[k]) return 1;
    return 0;
}

static void write_plain(const char *path, const char *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

int main(void) {
    alarm(600); /* a hang inside HDF5 on a damaged file is a failure too */
    char dir[256];
    if (tmpdir_make(dir, sizeof dir, "inspect-damaged")) return 1;
    char *orig = fs_join(dir, "orig.h5"), *dam = fs_join(dir, "damaged.h5");
    make_file(orig);
    /* the intact file's output, text and JSON, under the damaged file's name */
    size_t len = 0;
    char *bytes = fs_read_file(orig, &len, NULL);
    CHECK(bytes && len > 1024);
    if (!bytes) return check_report("test_inspect_damaged");
    write_plain(dam, bytes, len);
    const char *targs[2] = {dam, NULL}, *jargs[3] = {"--json", dam, NULL};
    InspectRun base_t = inspect_run(dir, targs), base_j = inspect_run(dir, jargs);
    CHECK(base_t.rc == 0 && base_j.rc == 0);
    CHECK(strstr(base_t.out, "prov_11=1.375") && strstr(base_t.out, "metrics/m09") && strstr(base_t.out, "unit=\"tokens\""));
    PureErr e0 = {0};
    CHECK(artifact_verify(dam, &e0) == 0);

    int detected = 0, harmless = 0, silent = 0, unnamed = 0, partial = 0, disagree = 0, n = 0;
    char *copy = malloc(len);
    /* every other byte near content (fields are wider than two bytes), zero runs every 16 */
    for (size_t i = 0; i < len; i += near_content(bytes, len, i) ? 2 : 16) {
        memcpy(copy, bytes, len);
        copy[i] ^= 0x5A;
        write_plain(dam, copy, len);
        n++;
        int json = n % 2; /* text and JSON modes by turns */
        InspectRun r = inspect_run(dir, json ? jargs : targs);
        const InspectRun *base = json ? &base_j : &base_t;
        PureErr ve = {0};
        int v = artifact_verify(dam, &ve);
        if (r.rc == 0) {
            if (r.out_len == base->out_len && memcmp(r.out, base->out, r.out_len) == 0) harmless++;
            else {
                silent++;
                if (silent <= 5) fprintf(stderr, "flip at byte %zu: exit 0 but the output differs:\n%s\n", i, r.out);
            }
        } else {
            detected++;
            if (!strstr(r.err, dam)) {
                unnamed++;
                fprintf(stderr, "flip at byte %zu: message without the file name: %s\n", i, r.err);
            }
            if (r.out_len) {
                partial++;
                if (partial <= 5) fprintf(stderr, "flip at byte %zu: exit %d but stdout has %zu bytes\n", i, r.rc, r.out_len);
            }
        }
        if ((v < 0) != (r.rc != 0)) {
            disagree++;
            if (disagree <= 5)
                fprintf(stderr, "flip at byte %zu: inspect exit %d, artifact_verify %d (%s)\n%s", i, r.rc, v, ve.msg, r.err);
        }
        inspect_run_free(&r);
    }
    printf("file %zu bytes, %d flips: %d detected, %d harmless, %d silent (exit 0, output differs), %d partial, "
           "%d verify disagreements\n", len, n, detected, harmless, silent, partial, disagree);
    CHECK(silent == 0);
    CHECK(unnamed == 0 && partial == 0);
    CHECK(disagree == 0);
    CHECK(detected > harmless); /* most flips near content are caught */
    free(copy);
    free(bytes);
    inspect_run_free(&base_t);
    inspect_run_free(&base_j);
    int rc = check_report("test_inspect_damaged");
    if (rc == 0) fs_remove_all(dir, NULL);
    free(orig);
    free(dam);
    return rc;
}
