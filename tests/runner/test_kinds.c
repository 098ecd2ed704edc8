/* test_kinds.c - small deterministic stage kinds for the runner's own tests.
 *
 * Linked only into the test build's `pure-test` (tests/runner/test_main.c),
 * so they never reach the shipped program, `pure stages` or the docs.
 *   test_blob: directory artifact out/values.bin (n float64) computed from the
 *              seed, its parameters, an optional file and optional inputs;
 *   test_vec:  the same as an HDF5 artifact (dense, ragged and string data).
 * Both can sleep, block until a file exists (so a test can act while a stage
 * provably runs, however loaded the machine) and fail on demand.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "stages/stage.h"
#include "util/fs.h"
#include "util/rng.h"

static const PortDef blob_inputs[] = {
    {"a", ART_DIR, 1, "optional directory artifact with values.bin (added element-wise)"},
    {"b", ART_DIR, 1, "optional second directory artifact"},
    {0},
};
static const PortDef blob_outputs[] = {{"out", ART_DIR, 0, "values.bin (n float64) and meta.txt"}, {0}};

static const char *const blob_modes[] = {"add", "mul", NULL};
enum { MODE_ADD, MODE_MUL };

static const ParamDef blob_params[] = {
    {"value", PT_FLOAT, "1", -1e9, 1e9, NULL, "scale of the deterministic ramp"},
    {"n", PT_INT, "4", 1, 1e7, NULL, "number of values"},
    {"sleep_ms", PT_INT, "0", 0, 1e6, NULL, "sleep this long in 10 steps (to be killed mid-stage)"},
    {"wait_for", PT_STRING, "", 1, 0, NULL, "block after the sleep until this path exists (a string, not a path: its creation must not change the fingerprint)"},
    {"fail", PT_BOOL, "false", 1, 0, NULL, "fail with an error message"},
    {"file", PT_PATH, "", 1, 0, NULL, "optional file whose bytes shift the values"},
    {"mode", PT_ENUM, "add", 1, 0, blob_modes, "how inputs combine"},
    {"tags", PT_LIST, "[]", 1, 0, NULL, "labels (their count shifts the values)"},
    {"note", PT_STRING, "", 1, 0, NULL, "free text written to meta.txt"},
    {0},
};

static double *read_values(const char *dir, int64_t *n, PureErr *err) {
    char *path = fs_join(dir, "values.bin");
    size_t len;
    char *data = fs_read_file(path, &len, err);
    free(path);
    if (!data) return NULL;
    *n = (int64_t)(len / sizeof(double));
    double *v = xmalloc(len + sizeof(double));
    memcpy(v, data, len);
    free(data);
    return v;
}

static void sleep_ms(int64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* sleep_ms in 10 steps with progress, then wait for wait_for. The test that
 * names the file creates it or kills the run; the 10-minute limit only keeps
 * a test that died before doing either from leaving this process behind. */
static int nap(StageCtx *ctx, int64_t ms, int64_t total_units, PureErr *err) {
    for (int step = 1; step <= 10; step++) {
        if (ms > 0) sleep_ms(ms / 10);
        stage_progress(ctx, total_units * step / 10, total_units, "values");
    }
    const char *wait_for = stage_param_str(ctx, "wait_for");
    for (int64_t waited = 0; wait_for[0] && !fs_exists(wait_for); waited += 5) {
        if (waited >= 600000) return err_set(err, "wait_for: %s did not appear within 10 minutes", wait_for);
        sleep_ms(5);
    }
    return 0;
}

/* values[j] = value*(j+1) + u(seed, j) + file shift + #tags, combined with inputs */
static double *compute(StageCtx *ctx, int64_t n, const double *a, int64_t na, const double *b, int64_t nb) {
    double value = stage_param_float(ctx, "value");
    const char *file = stage_param_str(ctx, "file");
    const char *const *tags;
    int ntags = stage_param_list(ctx, "tags", &tags);
    double shift = ntags;
    if (file[0]) {
        size_t len;
        char *bytes = fs_read_file(file, &len, NULL);
        unsigned sum = 0;
        for (size_t i = 0; bytes && i < len; i++) sum += (unsigned char)bytes[i];
        free(bytes);
        shift += (sum % 97) / 100.0;
    }
    int mul = stage_param_enum(ctx, "mode") == MODE_MUL;
    double *v = xmalloc(sizeof(double) * (size_t)n);
    for (int64_t j = 0; j < n; j++) {
        double x = value * (double)(j + 1) + rng_uniform_double(stage_seed(ctx), 0, (uint64_t)j) + shift;
        double in = (j < na ? a[j] : 0) + (j < nb ? b[j] : 0);
        v[j] = mul ? x * (1 + in) : x + in;
    }
    return v;
}

static int blob_run(StageCtx *ctx, PureErr *err) {
    if (stage_param_bool(ctx, "fail")) return err_set(err, "test_blob asked to fail (fail: true)");
    int64_t n = stage_param_int(ctx, "n"), na = 0, nb = 0;
    const char *pa = stage_input_path(ctx, "a"), *pb = stage_input_path(ctx, "b");
    double *a = NULL, *b = NULL;
    if (pa && !(a = read_values(pa, &na, err))) return -1;
    if (pb && !(b = read_values(pb, &nb, err))) {
        free(a);
        return -1;
    }
    /* a marker in the scratch directory: tests check it survives a kill and goes on commit */
    char *mark = fs_join(stage_scratch_dir(ctx), "started");
    int rc0 = fs_write_atomic(mark, "1", 1, err);
    free(mark);
    if (rc0) {
        free(a);
        free(b);
        return -1;
    }
    if (nap(ctx, stage_param_int(ctx, "sleep_ms"), n, err)) {
        free(a);
        free(b);
        return -1;
    }
    double *v = compute(ctx, n, a, na, b, nb);
    char *path = fs_join(stage_output_path(ctx, "out"), "values.bin");
    int rc = fs_write_atomic(path, v, sizeof(double) * (size_t)n, err);
    free(path);
    char meta[512];
    snprintf(meta, sizeof meta, "n=%lld\nnote=%s\n", (long long)n, stage_param_str(ctx, "note"));
    path = fs_join(stage_output_path(ctx, "out"), "meta.txt");
    if (!rc) rc = fs_write_atomic(path, meta, strlen(meta), err);
    free(path);
    double mean = 0;
    for (int64_t j = 0; j < n; j++) mean += v[j] / (double)n;
    stage_metric(ctx, "mean", mean);
    stage_metric_str(ctx, "mode", stage_param_str(ctx, "mode"));
    free(a);
    free(b);
    free(v);
    return rc;
}

static int blob_check(const StageParams *p, PureErr *err) {
    if (param_enum(p, "mode") == MODE_MUL && param_float(p, "value") == 0)
        return err_set(err, "mode: mul with value: 0 gives all zeros; set value");
    return 0;
}

const StageKind test_blob = {
    "test_blob", 1, "Test-only: deterministic float64 values in a directory artifact.",
    blob_inputs, blob_outputs, blob_params, blob_run, blob_check,
};

/* ---------------------------------------------------------------- test_vec */

static const DatasetDef vec_datasets[] = {
    {"values", DS_VEC, DT_F64, "n", NULL, 0, "n deterministic values"},
    {"rows", DS_RAGGED, DT_I32, "n", NULL, 0, "row i holds i % 3 values"},
    {"names", DS_STRINGS, 0, "n", NULL, 0, "item-0, item-1, ..."},
    {"value", DS_ATTR, DT_F64, NULL, NULL, 0, "the value parameter"},
    {0},
};
static const PortDef vec_inputs[] = {
    {"a", ART_H5, 1, "optional HDF5 artifact with a 'values' dataset", vec_datasets},
    {"b", ART_DIR, 1, "optional directory artifact with values.bin"},
    {0},
};
static const PortDef vec_outputs[] = {
    {"out", ART_H5, 0, "values (n f64), rows (ragged i32), names (n strings)", vec_datasets},
    {0},
};

static int vec_run(StageCtx *ctx, PureErr *err) {
    if (stage_param_bool(ctx, "fail")) return err_set(err, "test_vec asked to fail (fail: true)");
    int64_t n = stage_param_int(ctx, "n"), na = 0, nb = 0;
    double *a = NULL, *b = NULL;
    if (stage_input_path(ctx, "a")) {
        Artifact *in = stage_input_open(ctx, "a", err);
        if (!in) return -1;
        int64_t dims[ARTIFACT_MAX_DIMS];
        a = artifact_read(in, "values", DT_F64, 1, dims, err);
        artifact_close(in, NULL);
        if (!a) return -1;
        na = dims[0];
    }
    if (stage_input_path(ctx, "b") && !(b = read_values(stage_input_path(ctx, "b"), &nb, err))) {
        free(a);
        return -1;
    }
    if (nap(ctx, stage_param_int(ctx, "sleep_ms"), n, err)) {
        free(a);
        free(b);
        return -1;
    }
    double *v = compute(ctx, n, a, na, b, nb);
    int64_t *off = xmalloc(sizeof(int64_t) * (size_t)(n + 1));
    off[0] = 0;
    for (int64_t i = 0; i < n; i++) off[i + 1] = off[i] + i % 3;
    int32_t *flat = xmalloc(sizeof(int32_t) * (size_t)(off[n] + 1));
    for (int64_t k = 0; k < off[n]; k++) flat[k] = (int32_t)(k * 7 % 11);
    char **names = xmalloc(sizeof(char *) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        names[i] = xmalloc(32);
        snprintf(names[i], 32, "item-%lld", (long long)i);
    }
    int rc = -1;
    Artifact *out = stage_output_create(ctx, "out", err);
    if (out && !artifact_write(out, "values", DT_F64, 1, &n, v, err) &&
        !artifact_write_ragged(out, "rows", DT_I32, n, off, flat, err) &&
        !artifact_write_strings(out, "names", n, (const char *const *)names, err) &&
        !artifact_set_attr_f64(out, "/", "value", stage_param_float(ctx, "value"), err))
        rc = artifact_close(out, err);
    else
        artifact_close(out, NULL);
    stage_metric(ctx, "first", v[0]);
    for (int64_t i = 0; i < n; i++) free(names[i]);
    free(names);
    free(flat);
    free(off);
    free(v);
    free(a);
    free(b);
    return rc;
}

const StageKind test_vec = {
    "test_vec", 1, "Test-only: deterministic values in an HDF5 artifact (dense, ragged, strings).",
    vec_inputs, vec_outputs, blob_params, vec_run, NULL,
};

/* ---------------------------------------------------------------- test_sink */

static const PortDef sink_inputs[] = {{"in", ART_DIR, 0, "directory artifact with values.bin"}, {0}};
static const PortDef no_ports[] = {{0}};
static const ParamDef sink_params[] = {{"label", PT_STRING, NULL, 1, 0, NULL, "required: a name for the metric"}, {0}};

/* A stage with a required input, a required parameter and no outputs (metrics only). */
static int sink_run(StageCtx *ctx, PureErr *err) {
    int64_t n;
    double *v = read_values(stage_input_path(ctx, "in"), &n, err);
    if (!v) return -1;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += v[i];
    free(v);
    stage_metric(ctx, stage_param_str(ctx, "label"), sum);
    return 0;
}

const StageKind test_sink = {
    "test_sink", 1, "Test-only: sums its input into a metric; no outputs.", sink_inputs, no_ports, sink_params,
    sink_run, NULL,
};

/* ---------------------------------------------------------------- the test registry */

/* The shipped kinds (cli/registry.c) followed by the test-only ones: adding a
 * test-only kind is one row in `extra`. */
const StageKind *const *test_kinds_all(void) {
    static const StageKind *const extra[] = {&test_sink, &test_blob, &test_vec, NULL};
    static const StageKind *kinds[64];
    if (!kinds[0]) {
        int n = 0;
        for (int i = 0; registry_kinds[i] && n < 60; i++) kinds[n++] = registry_kinds[i];
        for (int i = 0; extra[i] && n < 63; i++) kinds[n++] = extra[i];
        kinds[n] = NULL;
    }
    return kinds;
}
