/* fuzz_artifact.c - libFuzzer target for the HDF5 artifact reader and
 * `pure inspect`'s loading (scripts/fuzz.sh builds and runs it; seeds in
 * tests/fuzz/corpus/artifact/, small artifacts written by the artifact API,
 * and regress_dense_group_heap_flip.h5: a damaged dense group, on which HDF5
 * 1.10's name-ordered iteration frees pointers it never set).
 * The input is written to a temporary file, then: artifact_verify; open; walk
 * every group (each object once, as deep as the reader allows), describing
 * and reading every object with the typed readers and inspect_load, reading
 * every attribute; then inspect_file. Which dtype dense data is read as and
 * whether output is text or JSON is picked from the input (one each per run:
 * HDF5 is the slow part). Every failure must be
 * a PureErr naming the file: a crash, a hang, an unbounded allocation or an
 * error message without the file's name is a finding. HDF5 itself is not
 * instrumented (a system library), so coverage comes from storage/; HDF5 1.10
 * leaks on its own error paths for damaged files, suppressed below. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/artifact.h"
#include "storage/h5util.h"
#include "storage/inspect.h"

/* the same suppressions as tests/storage/lsan_hdf5.supp */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libhdf5_serial.so\nleak:libhdf5.so\n"; }
/* Nearly every damaged input makes HDF5 leak (an object header that fails its
 * checksum), so libFuzzer runs a leak check after most inputs until it gives up
 * on per-input checks (after a few thousand, "disabled leak detection after
 * every mutation"; LeakSanitizer still checks at exit, and -rss_limit_mb bounds
 * growth): its cost grows with the heap, mostly ASan's quarantine (256 MB by
 * default). 16 MB halves the time per input; ASAN_OPTIONS still overrides it. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=16"; }

static char g_path[256];
static FILE *g_null;
static unsigned g_pick; /* from the input: which dtype and output mode this run uses */

/* A PureErr that does not name the file is a finding too. */
static void check_named(int failed, const PureErr *e) {
    if (failed && !strstr(e->msg, g_path)) {
        fprintf(stderr, "error without the file name: %s\n", e->msg);
        abort();
    }
}

static void read_attrs(Artifact *a, const char *obj) {
    H5uNames l;
    PureErr e = {0};
    if (h5u_list_attrs(a, obj, &l, &e)) return check_named(1, &e);
    for (int i = 0; i < l.n; i++) {
        int64_t iv;
        double dv;
        err_clear(&e);
        char *s = artifact_get_attr_str(a, obj, l.names[i], &e);
        check_named(!s, &e);
        free(s);
        err_clear(&e);
        check_named(artifact_get_attr_i64(a, obj, l.names[i], &iv, &e) != 0, &e);
        err_clear(&e);
        check_named(artifact_get_attr_f64(a, obj, l.names[i], &dv, &e) != 0, &e);
    }
    h5u_names_free(&l);
}

static void read_object(Artifact *a, const char *name) {
    PureErr e = {0};
    ArtObject o;
    int rc = artifact_describe(a, name, &o, &e);
    check_named(rc != 0, &e);
    /* one failure per object: loading a damaged object header again only
     * makes HDF5 leak it again (the leaks would end in the RSS limit) */
    if (rc != 0) return;
    read_attrs(a, name);
    int64_t dims[ARTIFACT_MAX_DIMS], n = 0;
    err_clear(&e);
    if (rc == 0 && o.kind == AO_DENSE) {
        int ndim;
        DType t;
        check_named(artifact_shape(a, name, &ndim, dims, &t, &e) != 0, &e);
        err_clear(&e);
        void *v = artifact_read(a, name, (DType)(g_pick % 5), -1, dims, &e); /* inspect_load reads f64 or i64 */
        check_named(!v, &e);
        free(v);
        double d;
        err_clear(&e);
        if (o.ndim == 0) check_named(artifact_read_scalar_f64(a, name, &d, &e) != 0, &e);
    } else if (rc == 0 && o.kind == AO_STRINGS) {
        char **s = artifact_read_strings(a, name, &n, &e);
        check_named(!s, &e);
        artifact_strings_free(s, s ? n : 0);
    } else if (rc == 0 && o.kind == AO_RAGGED) {
        int64_t *off;
        void *flat;
        check_named(artifact_read_ragged(a, name, DT_I32, &n, &off, &flat, &e) != 0, &e);
        if (off) free(off), free(flat);
    }
    if (rc == 0 && (o.kind == AO_DENSE || o.kind == AO_STRINGS || o.kind == AO_RAGGED)) {
        InspectInfo info;
        err_clear(&e);
        rc = inspect_load(a, name, &info, &e);
        check_named(rc != 0, &e);
        if (rc == 0) {
            if (g_pick & 8) cJSON_Delete(inspect_info_json(&info, -1));
            else inspect_info_print(g_null, &info, -1);
            inspect_info_free(&info);
        }
    }
}

static void walk(Artifact *a, const char *group, int depth, H5uSeen *seen) {
    H5uNames l;
    PureErr e = {0};
    if (h5u_list_links(a, group, &l, &e)) return check_named(1, &e);
    for (int i = 0; i < l.n; i++) {
        char path[1024];
        if (h5u_join(group, l.names[i], path, sizeof path) < 0) continue;
        H5O_info_t oi;
        /* whatever the link, the readers must refuse what they do not follow */
        if (l.types[i] != H5L_TYPE_HARD || depth >= H5U_MAX_DEPTH ||
            H5Oget_info_by_name2(a->file, path, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
            H5Eclear2(H5E_DEFAULT);
            read_object(a, path);
            continue;
        }
        if (h5u_seen_add(seen, oi.addr, path)) continue;
        read_object(a, path);
        if (oi.type == H5O_TYPE_GROUP) walk(a, path, depth + 1, seen);
    }
    h5u_names_free(&l);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_path, sizeof g_path, "%s/pure_fuzz_artifact_%d.h5", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    g_null = fopen("/dev/null", "w");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FILE *f = fopen(g_path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    g_pick = size ? data[size / 2] ^ (unsigned)size : 0;
    PureErr e = {0};
    check_named(artifact_verify(g_path, &e) != 0, &e);
    err_clear(&e);
    Artifact *a = artifact_open(g_path, &e);
    check_named(!a, &e);
    if (!a) return 0;
    char **names = NULL;
    int n = 0;
    err_clear(&e);
    if (artifact_list_root(a, &names, &n, &e) == 0) {
        for (int i = 0; i < n; i++) free(names[i]);
        free(names);
    } else check_named(1, &e);
    read_attrs(a, "/");
    H5uSeen seen = {0};
    walk(a, "/", 0, &seen);
    h5u_seen_free(&seen);
    InspectOpts text = {0, 10}, json = {1, -1};
    err_clear(&e);
    check_named(inspect_file(a, g_pick & 16 ? &json : &text, g_null, &e) != 0, &e);
    err_clear(&e);
    check_named(artifact_close(a, &e) != 0, &e);
    return 0;
}
