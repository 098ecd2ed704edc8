/* test_artifact_corrupt.c - damaged artifact files: truncation at many
 * lengths and a flipped byte at every offset. Each damaged file must either
 * give a clean PureErr naming the file or read back exactly the original
 * content (the byte was padding); never a crash, never silently wrong data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/artifact.h"
#include "tests/check.h"
#include "tests/storage/tmpdir.h"
#include "util/fs.h"

enum { N_F = 64, N_ROWS = 3 };
static const int64_t ROW_OFFS[N_ROWS + 1] = {0, 5, 5, 12};
static const char *STRS[3] = {"alpha", "", "ünïcödé ∑"};

static void make_file(const char *path) {
    PureErr e = {0};
    Artifact *a = artifact_create(path, &e);
    float f[N_F];
    for (int i = 0; i < N_F; i++) f[i] = (float)i - 10.5f;
    int32_t r[12];
    for (int i = 0; i < 12; i++) r[i] = i * 3;
    int64_t d = N_F;
    CHECK(artifact_write(a, "data/f", DT_F32, 1, &d, f, &e) == 0);
    CHECK(artifact_write_ragged(a, "tokens", DT_I32, N_ROWS, ROW_OFFS, r, &e) == 0);
    CHECK(artifact_write_strings(a, "text", 3, STRS, &e) == 0);
    CHECK(artifact_set_attr_str(a, "/", "stage_kind", "test", &e) == 0);
    CHECK(artifact_set_attr_i64(a, "/", "seed", 1234, &e) == 0);
    CHECK(artifact_close(a, &e) == 0);
}

/* 0: everything read back equal; 1: a clean error naming the file; 2: bad. */
static int read_all(const char *path) {
    PureErr e = {0};
    int bad = 0;
    Artifact *a = artifact_open(path, &e);
    if (!a) goto err;
    float *f = artifact_read(a, "data/f", DT_F32, 1, NULL, &e);
    if (!f) goto err;
    for (int i = 0; i < N_F; i++) bad |= f[i] != (float)i - 10.5f;
    free(f);
    int64_t nr, *o;
    void *v;
    if (artifact_read_ragged(a, "tokens", DT_I32, &nr, &o, &v, &e)) goto err;
    bad |= nr != N_ROWS || memcmp(o, ROW_OFFS, sizeof ROW_OFFS) != 0;
    for (int i = 0; !bad && i < 12; i++) bad |= ((int32_t *)v)[i] != i * 3;
    free(o);
    free(v);
    int64_t n;
    char **s = artifact_read_strings(a, "text", &n, &e);
    if (!s) goto err;
    bad |= n != 3;
    for (int i = 0; !bad && i < 3; i++) bad |= strcmp(s[i], STRS[i]) != 0;
    artifact_strings_free(s, n);
    int64_t seed;
    if (artifact_get_attr_i64(a, "/", "seed", &seed, &e)) goto err;
    bad |= seed != 1234;
    char *k = artifact_get_attr_str(a, "/", "stage_kind", &e);
    if (!k) goto err;
    /* attribute strings live in HDF5's global heap, which has no checksum:
     * a flip there can change the text (runners hash whole files for that) */
    free(k);
    if (artifact_close(a, &e)) goto err;
    return bad ? 2 : 0;
err:
    artifact_close(a, NULL);
    if (!strstr(e.msg, path)) {
        fprintf(stderr, "error without the file name: %s\n", e.msg);
        return 2;
    }
    return 1;
}

static int near_content(const char *b, size_t len, size_t i) {
    for (size_t k = i > 16 ? i - 16 : 0; k < len && k <= i + 16; k++)
        if (b[k]) return 1;
    return 0;
}

/* plain write: fs_write_atomic's fsync per file would make thousands of writes slow */
static void write_plain(const char *path, const char *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

int main(void) {
    alarm(300); /* a hang inside HDF5 on a damaged file is a failure too */
    char dir[256];
    if (tmpdir_make(dir, sizeof dir, "corrupt")) return 1;
    char *orig = fs_join(dir, "orig.h5"), *dam = fs_join(dir, "damaged.h5");
    make_file(orig);
    CHECK(read_all(orig) == 0);
    PureErr e0 = {0};
    CHECK(artifact_verify(orig, &e0) == 0);
    size_t len = 0;
    char *bytes = fs_read_file(orig, &len, NULL);
    CHECK(bytes && len > 512);
    if (!bytes) return check_report("test_artifact_corrupt");

    /* truncation: every length below the full size is an error */
    int trunc_bad = 0, trunc_n = 0;
    for (size_t cut = 0; cut < len; cut += (cut < 64 ? 7 : 97)) {
        write_plain(dam, bytes, cut);
        trunc_n++;
        if (read_all(dam) != 1) {
            trunc_bad++;
            fprintf(stderr, "truncated at %zu of %zu: not detected\n", cut, len);
        }
        CHECK(artifact_verify(dam, NULL) < 0);
    }
    CHECK(trunc_bad == 0);

    /* one flipped byte at every offset near content; long zero runs (the
     * heap collection's free space) are sampled every 16 bytes */
    int detected = 0, harmless = 0, silent = 0, verify_disagree = 0, verify_unnamed = 0;
    char *copy = malloc(len);
    for (size_t i = 0; i < len; i += near_content(bytes, len, i) ? 1 : 16) {
        memcpy(copy, bytes, len);
        copy[i] ^= 0x5A;
        write_plain(dam, copy, len);
        int r = read_all(dam);
        PureErr ve = {0};
        int v = artifact_verify(dam, &ve);
        if (v < 0 && !strstr(ve.msg, dam)) verify_unnamed++;
        if ((v < 0) != (r == 1)) {
            verify_disagree++;
            fprintf(stderr, "flip at byte %zu: read_all %d, artifact_verify %d (%s)\n", i, r, v, ve.msg);
        }
        if (r == 1) detected++;
        else if (r == 0) harmless++;
        else {
            silent++;
            fprintf(stderr, "flip at byte %zu: wrong data read back silently\n", i);
        }
    }
    printf("file %zu bytes: %d truncations detected; flipped bytes: %d detected, %d harmless, %d silent\n", len,
           trunc_n - trunc_bad, detected, harmless, silent);
    CHECK(silent == 0);
    CHECK(verify_disagree == 0 && verify_unnamed == 0); /* artifact_verify finds exactly what reading finds */
    CHECK(detected > 2 * harmless); /* most flips near content are caught */
    free(copy);
    free(bytes);
    int rc = check_report("test_artifact_corrupt");
    if (rc == 0) fs_remove_all(dir, NULL);
    free(orig);
    free(dam);
    return rc;
}
