/* test_artifact_hostile.c - files made to hurt the reader (issue 12): a
 * sparse dataset of 10^11 elements, dimensions whose product overflows, a
 * gzip bomb, 3,000 nested groups, hard-link cycles and a hard-link DAG whose
 * paths double at every level, soft-link loops, external links (to a file that
 * exists: it must not be opened), and names, strings and attributes that are
 * not UTF-8 (the --json output is parsed by Python's json module). Each must
 * give an error naming the file, the object and what was expected, with a
 * non-zero exit and nothing on stdout, or (links) be listed as what it is;
 * never an abort, a hang or an allocation beyond the file's size. */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/artifact.h"
#include "tests/check.h"
#include "tests/storage/inspect_run.h"
#include "tests/storage/tmpdir.h"
#include "util/fs.h"

static char g_dir[256];

static int has(const char *text, const char *needle) {
    if (text && strstr(text, needle)) return 1;
    fprintf(stderr, "  text lacks '%s':\n%s\n", needle, text ? text : "(null)");
    return 0;
}

/* inspect ARGS: exit 2, the message names the file and says `why`, stdout empty. */
static void inspect_refuses(const char *file, const char *dataset, const char *why) {
    const char *args[4] = {file, dataset, NULL, NULL};
    InspectRun r = inspect_run(g_dir, args);
    CHECK(r.rc == 2);
    CHECK(has(r.err, file) && has(r.err, why));
    CHECK(r.out_len == 0); /* nothing is written */
    inspect_run_free(&r);
    const char *jargs[5] = {"--json", file, dataset, NULL, NULL};
    r = inspect_run(g_dir, jargs);
    CHECK(r.rc == 2 && r.out_len == 0 && has(r.err, why));
    inspect_run_free(&r);
}

static void verify_refuses(const char *file, const char *why) {
    PureErr e = {0};
    CHECK(artifact_verify(file, &e) < 0);
    CHECK(has(e.msg, file) && has(e.msg, why));
}

static hid_t h5_create(const char *path) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    return f;
}

/* ---- sizes ---- */

static void test_sparse(void) {
    char *p = fs_join(g_dir, "sparse.h5");
    hid_t f = h5_create(p);
    /* contiguous, allocated late and never written: 800 GB of fill in a 2 KB file */
    hsize_t big = 100000000000ULL, small = 1000, chunk = 1 << 20;
    hid_t sp = H5Screate_simple(1, &big, NULL);
    hid_t ds = H5Dcreate2(f, "big", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(ds);
    /* the same, chunked without a single chunk written */
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    ds = H5Dcreate2(f, "grp_chunked", H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Dclose(ds);
    H5Sclose(sp);
    /* dimensions whose product overflows 64 bits (chunked: HDF5 accepts the shape) */
    hsize_t huge[3] = {1ULL << 30, 1ULL << 30, 1ULL << 30}, hchunk[3] = {1, 1, 1024};
    hid_t dcpl3 = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl3, 3, hchunk);
    sp = H5Screate_simple(3, huge, NULL);
    ds = H5Dcreate2(f, "overflow", H5T_STD_U8LE, sp, H5P_DEFAULT, dcpl3, H5P_DEFAULT);
    int have_overflow = ds >= 0;
    if (ds >= 0) H5Dclose(ds);
    H5Eclear2(H5E_DEFAULT);
    H5Sclose(sp);
    H5Pclose(dcpl3);
    /* a small sparse dataset is fine: read as its fill value */
    sp = H5Screate_simple(1, &small, NULL);
    ds = H5Dcreate2(f, "small", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Pclose(dcpl);
    H5Fclose(f);

    PureErr e = {0};
    Artifact *a = artifact_open(p, &e);
    CHECK(a != NULL);
    if (!a) return;
    void *v = artifact_read(a, "big", DT_F64, -1, NULL, &e);
    CHECK(v == NULL);
    free(v);
    CHECK(has(e.msg, p) && has(e.msg, "dataset 'big'") && has(e.msg, "800000000000 bytes") &&
          has(e.msg, "sparse or damaged dataset, not read"));
    err_clear(&e);
    v = artifact_read(a, "grp_chunked", DT_F32, 1, NULL, &e);
    CHECK(v == NULL && has(e.msg, "dataset 'grp_chunked'") && has(e.msg, "need 800000000000 bytes"));
    free(v);
    CHECK(have_overflow); /* else HDF5 refused the shape itself */
    if (have_overflow) {
        err_clear(&e);
        v = artifact_read(a, "overflow", DT_U8, -1, NULL, &e);
        CHECK(v == NULL && has(e.msg, "dataset 'overflow'") && has(e.msg, "more than 2^63 elements"));
        free(v);
    }
    int64_t dims[ARTIFACT_MAX_DIMS];
    double *sm = artifact_read(a, "small", DT_F64, 1, dims, &e);
    CHECK(sm && dims[0] == 1000 && sm[999] == 0);
    free(sm);
    ArtObject o;
    CHECK(artifact_describe(a, "big", &o, &e) == 0 && o.kind == AO_DENSE && o.dims[0] == 100000000000LL);
    artifact_close(a, NULL);
    inspect_refuses(p, NULL, "dataset 'big': 100000000000 elements of 8 bytes need 800000000000 bytes");
    inspect_refuses(p, "big", "sparse or damaged dataset");
    inspect_refuses(p, "small_absent", "no dataset 'small_absent'");
    verify_refuses(p, "dataset 'big'");
    free(p);
}

static void test_gzip_bomb(void) {
    char *p = fs_join(g_dir, "bomb.h5");
    hid_t f = h5_create(p);
    /* 1 GiB of zeros in 256 deflated chunks of 4 MiB: about 1 MB on disk */
    enum { CHUNK = 1 << 20, NCHUNK = 256 };
    hsize_t n = (hsize_t)CHUNK * NCHUNK, c = CHUNK;
    hid_t sp = H5Screate_simple(1, &n, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &c);
    H5Pset_deflate(dcpl, 9);
    hid_t ds = H5Dcreate2(f, "zeros", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    float *zero = calloc(CHUNK, sizeof *zero);
    hsize_t start = 0;
    hid_t ms = H5Screate_simple(1, &c, NULL), fs = H5Dget_space(ds);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &c, NULL);
    CHECK(H5Dwrite(ds, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, zero) >= 0);
    H5Sclose(fs);
    H5Sclose(ms);
    H5Dflush(ds);
    /* the first chunk's deflated bytes, written raw as every other chunk */
    hsize_t off = 0, csize = 0;
    uint32_t filters = 0;
    CHECK(H5Dget_chunk_storage_size(ds, &off, &csize) >= 0 && csize > 0 && csize < 65536);
    void *raw = malloc(csize);
    CHECK(H5Dread_chunk(ds, H5P_DEFAULT, &off, &filters, raw) >= 0);
    for (hsize_t i = 1; i < NCHUNK; i++) {
        off = i * CHUNK;
        CHECK(H5Dwrite_chunk(ds, H5P_DEFAULT, filters, &off, csize, raw) >= 0);
    }
    free(raw);
    free(zero);
    H5Dclose(ds);
    /* a small compressed dataset still reads */
    hsize_t ten = 10, four = 4;
    int32_t vals[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    H5Pset_chunk(dcpl, 1, &four);
    H5Sclose(sp);
    sp = H5Screate_simple(1, &ten, NULL);
    ds = H5Dcreate2(f, "ok", H5T_STD_I32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, vals);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Pclose(dcpl);
    H5Fclose(f);

    size_t len = 0;
    free(fs_read_file(p, &len, NULL));
    CHECK(len < (8u << 20)); /* the bomb: a small file */
    PureErr e = {0};
    Artifact *a = artifact_open(p, &e);
    CHECK(a != NULL);
    if (!a) return;
    int32_t *okv = artifact_read(a, "ok", DT_I32, 1, NULL, &e);
    CHECK(okv && okv[9] == 9);
    free(okv);
    void *v = artifact_read(a, "zeros", DT_F32, 1, NULL, &e);
    CHECK(v == NULL);
    free(v);
    CHECK(has(e.msg, p) && has(e.msg, "dataset 'zeros'") && has(e.msg, "decompress to 1073741824 bytes") &&
          has(e.msg, "decompression bomb"));
    artifact_close(a, NULL);
    inspect_refuses(p, NULL, "dataset 'zeros'");
    inspect_refuses(p, "zeros", "decompression bomb");
    verify_refuses(p, "decompression bomb");
    free(p);
}

/* ---- structure ---- */

static void test_nesting(void) {
    char *p = fs_join(g_dir, "nested.h5");
    hid_t f = h5_create(p), g = f;
    for (int i = 0; i < 3000; i++) {
        hid_t c = H5Gcreate2(g, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g != f) H5Gclose(g);
        g = c;
    }
    H5Gclose(g);
    H5Fclose(f);
    inspect_refuses(p, NULL, "nested more than 32 levels deep");
    verify_refuses(p, "nested more than 32 levels deep");
    /* a name through the chain: refused before HDF5 walks 3,000 levels */
    char deep[1024] = "";
    for (int i = 0; i < 40; i++) strcat(deep, i ? "/g" : "g");
    PureErr e = {0};
    Artifact *a = artifact_open(p, &e);
    CHECK(a && artifact_read(a, deep, DT_F32, -1, NULL, &e) == NULL && has(e.msg, "nested more than 32"));
    artifact_close(a, NULL);
    free(p);

    /* 32 levels is the limit for writing and reading alike */
    p = fs_join(g_dir, "deep_ok.h5");
    char name[256] = "";
    for (int i = 0; i < 31; i++) strcat(name, "d/");
    strcat(name, "x");
    float x = 1;
    e = (PureErr){0};
    a = artifact_create(p, &e);
    CHECK(artifact_write(a, name, DT_F32, 0, NULL, &x, &e) == 0);
    char deeper[300];
    snprintf(deeper, sizeof deeper, "d/%s", name);
    CHECK(artifact_write(a, deeper, DT_F32, 0, NULL, &x, &e) < 0 && has(e.msg, "nested more than 32"));
    CHECK(artifact_close(a, &e) == 0);
    CHECK(artifact_verify(p, &e) == 0);
    const char *args[2] = {p, NULL};
    InspectRun r = inspect_run(g_dir, args);
    CHECK(r.rc == 0 && has(r.out, name));
    inspect_run_free(&r);
    free(p);
}

static void test_link_graphs(void) {
    char *p = fs_join(g_dir, "graphs.h5");
    hid_t f = h5_create(p);
    /* a group that contains itself, and a soft link loop */
    hid_t g = H5Gcreate2(f, "cyc", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Lcreate_hard(g, ".", g, "self", H5P_DEFAULT, H5P_DEFAULT);
    H5Lcreate_hard(f, "/", g, "root", H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    H5Lcreate_soft("/loop", f, "loop", H5P_DEFAULT, H5P_DEFAULT);
    H5Lcreate_soft("/nowhere", f, "dangling", H5P_DEFAULT, H5P_DEFAULT);
    /* 30 levels where each group links twice to the next: 2^30 paths */
    char name[16];
    hid_t prev = H5Gcreate2(f, "dag", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof name, "l%d", i);
        hid_t next = H5Gcreate2(prev, "a", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Lcreate_hard(prev, "a", prev, "b", H5P_DEFAULT, H5P_DEFAULT);
        H5Gclose(prev);
        prev = next;
    }
    hsize_t one = 1;
    hid_t sp = H5Screate_simple(1, &one, NULL);
    hid_t ds = H5Dcreate2(prev, "leaf", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int32_t v = 7;
    H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Gclose(prev);
    H5Fclose(f);

    alarm(120); /* a walk that follows every path does not end */
    const char *args[2] = {p, NULL};
    InspectRun r = inspect_run(g_dir, args);
    CHECK(r.rc == 0);
    CHECK(has(r.out, "cyc/self") && has(r.out, "hard link to 'cyc' (listed once)"));
    CHECK(has(r.out, "cyc/root") && has(r.out, "hard link to '/'"));
    CHECK(has(r.out, "loop                             soft link to '/loop' (not followed)"));
    CHECK(has(r.out, "dangling                         soft link to '/nowhere' (not followed)"));
    CHECK(has(r.out, "dag/b ") && has(r.out, "hard link to 'dag/a'"));
    CHECK(has(r.out, "/leaf") && has(r.out, "i32 [1]"));
    inspect_run_free(&r);
    PureErr e = {0};
    CHECK(artifact_verify(p, &e) == 0);
    if (e.set) fprintf(stderr, "%s\n", e.msg);
    Artifact *a = artifact_open(p, &e);
    CHECK(a && artifact_read(a, "loop", DT_F32, -1, NULL, &e) == NULL);
    CHECK(has(e.msg, "graphs.h5: 'loop' is a soft link to '/loop', which does not resolve"));
    CHECK(artifact_read(a, "dangling", DT_F32, -1, NULL, &e) == NULL && has(e.msg, "soft link to '/nowhere'"));
    artifact_close(a, NULL);
    alarm(0);
    free(p);
}

static void test_external_link(void) {
    /* the target exists and holds data: following the link would read it */
    char *other = fs_join(g_dir, "other.h5"), *p = fs_join(g_dir, "ext.h5");
    PureErr e = {0};
    Artifact *a = artifact_create(other, &e);
    float secret[2] = {42, 43};
    int64_t two = 2;
    CHECK(artifact_write(a, "data", DT_F32, 1, &two, secret, &e) == 0);
    CHECK(artifact_write(a, "grp/data", DT_F32, 1, &two, secret, &e) == 0);
    CHECK(artifact_close(a, &e) == 0);
    a = artifact_create(p, &e);
    float x[2] = {1, 2};
    CHECK(artifact_write(a, "x", DT_F32, 1, &two, x, &e) == 0);
    CHECK(artifact_close(a, &e) == 0);
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    CHECK(H5Lcreate_external(other, "/data", f, "ext", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    CHECK(H5Lcreate_external(other, "/grp", f, "extgrp", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    CHECK(H5Lcreate_soft("/extgrp/data", f, "via_soft", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    H5Fclose(f);

    char want[1024];
    snprintf(want, sizeof want, "external link to '%s:/data' (not followed)", other);
    const char *args[2] = {p, NULL};
    InspectRun r = inspect_run(g_dir, args);
    CHECK(r.rc == 0 && has(r.out, want) && !strstr(r.out, "42") && !strstr(r.err, "damaged"));
    CHECK(has(r.out, "soft link to '/extgrp/data' (not followed)"));
    inspect_run_free(&r);
    const char *jargs[3] = {"--json", p, NULL};
    r = inspect_run(g_dir, jargs);
    CHECK(r.rc == 0 && has(r.out, "\"kind\":\t\"external link\"") && has(r.out, "\"target\":\t\"/data\""));
    inspect_run_free(&r);
    const char *dargs[3] = {p, "ext", NULL};
    r = inspect_run(g_dir, dargs);
    CHECK(r.rc == 2 && r.out_len == 0 && has(r.err, "'ext' is an external link to") && has(r.err, "not followed") &&
          !strstr(r.err, "damaged"));
    inspect_run_free(&r);

    a = artifact_open(p, &e);
    CHECK(a != NULL);
    if (a) {
        err_clear(&e);
        CHECK(artifact_read(a, "ext", DT_F32, 1, NULL, &e) == NULL);
        CHECK(has(e.msg, p) && has(e.msg, "'ext' is an external link to") && has(e.msg, ":/data', not followed"));
        err_clear(&e);
        CHECK(artifact_read(a, "extgrp/data", DT_F32, 1, NULL, &e) == NULL);
        CHECK(has(e.msg, "'extgrp/data' (through 'extgrp') is an external link"));
        err_clear(&e);
        CHECK(artifact_read(a, "via_soft", DT_F32, 1, NULL, &e) == NULL && has(e.msg, "'via_soft'"));
        ArtObject o;
        CHECK(artifact_describe(a, "ext", &o, &e) < 0 && has(e.msg, "external link"));
        CHECK(artifact_has(a, "ext"));
        artifact_close(a, NULL);
    }
    verify_refuses(p, "'ext' is an external link to");
    CHECK(!strstr(e.msg, "damaged"));
    free(other);
    free(p);
}

/* ---- bytes that are not UTF-8 ---- */

static int py_json_ok(const char *path, const char *needle) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s/tests/storage/json_utf8_check.py '%s' %s", PURE_PYTHON, PURE_SOURCE_DIR, path,
             needle ? needle : "");
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_utf8(void) {
    char *p = fs_join(g_dir, "utf8.h5");
    PureErr e = {0};
    Artifact *a = artifact_create(p, &e);
    /* truncated, lone continuation, overlong, surrogate, above U+10FFFF, 0xFF; and valid ones */
    const char *s[7] = {"ok é ∑", "\xc3", "\x80x", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff\xfe"};
    int64_t one = 1;
    float x = 1;
    CHECK(artifact_write_strings(a, "text", 7, s, &e) == 0);
    CHECK(artifact_write(a, "name_\xff\xfe", DT_F32, 1, &one, &x, &e) == 0);
    CHECK(artifact_write(a, "grp_\xe2\x82/y", DT_F32, 1, &one, &x, &e) == 0);
    CHECK(artifact_set_attr_str(a, "/", "note", "bad \xff value", &e) == 0);
    CHECK(artifact_set_attr_i64(a, "/", "key_\xc3", 3, &e) == 0);
    CHECK(artifact_close(a, &e) == 0);
    char out[512];
    snprintf(out, sizeof out, "%s/utf8.json", g_dir);

    const char *args[4] = {"--json", p, NULL, NULL};
    InspectRun r = inspect_run(g_dir, args);
    CHECK(r.rc == 0);
    fs_write_atomic(out, r.out, r.out_len, NULL);
    CHECK(py_json_ok(out, "'name_\xef\xbf\xbd\xef\xbf\xbd' 'bad \xef\xbf\xbd value' 'key_\xef\xbf\xbd'") == 0);
    inspect_run_free(&r);
    const char *args2[5] = {"--json", "--all", p, "text", NULL};
    r = inspect_run(g_dir, args2);
    CHECK(r.rc == 0);
    fs_write_atomic(out, r.out, r.out_len, NULL);
    /* valid text is kept; each invalid byte becomes U+FFFD */
    CHECK(py_json_ok(out, "'ok é ∑' '\xef\xbf\xbdx' '\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd'") == 0);
    inspect_run_free(&r);
    /* text output shows the bytes */
    const char *args3[4] = {"--all", p, "text", NULL};
    r = inspect_run(g_dir, args3);
    CHECK(r.rc == 0 && has(r.out, "[1] \"\\xc3\"") && has(r.out, "[6] \"\\xff\\xfe\"") && has(r.out, "\"ok é ∑\""));
    inspect_run_free(&r);
    free(p);
}

/* test_artifact_hostile [PART...]: all parts, or only those named */
int main(int argc, char **argv) {
    static const struct {
        const char *name;
        void (*fn)(void);
    } parts[] = {{"sparse", test_sparse},       {"gzip_bomb", test_gzip_bomb},         {"nesting", test_nesting},
                 {"link_graphs", test_link_graphs}, {"external_link", test_external_link}, {"utf8", test_utf8}};
    alarm(300);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* the HDF5 calls below that fail on purpose stay quiet */
    if (tmpdir_make(g_dir, sizeof g_dir, "hostile")) return 1;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        int run = argc == 1;
        for (int k = 1; k < argc; k++) run |= !strcmp(argv[k], parts[i].name);
        if (run) parts[i].fn();
    }
    int rc = check_report("test_artifact_hostile");
    if (rc == 0) fs_remove_all(g_dir, NULL);
    return rc;
}
