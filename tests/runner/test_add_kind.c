/* test_add_kind.c - a stage kind added in a test binary with one table
 * entry, run through the real runner (spec, plan, execution, commit), and
 * the port checks the interface makes around it: outputs against their
 * declared datasets (a bug in a kind is caught before it commits), inputs
 * against theirs with shape symbols shared across ports, typed check() at
 * validate time, enum parameters handed over as indices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "runner/exec.h"
#include "tests/check.h"
#include "util/fs.h"

/* ---------------------------------------------------------------- the new kinds */

static const DatasetDef squares_ds[] = {
    {"x", DS_VEC, DT_I64, "n", NULL, 0, "0, 1, ..., n-1"},
    {"sq", DS_VEC, DT_F64, "n", NULL, 0, "x squared"},
    {"names", DS_STRINGS, 0, "n", NULL, 0, "\"x=<x>\""},
    {0},
};

/* the bug a test asks the kind to have, as an enum parameter */
static const char *const bugs[] = {"none", "extra", "dtype", "short", "missing", NULL};
enum { BUG_NONE, BUG_EXTRA, BUG_DTYPE, BUG_SHORT, BUG_MISSING };

static const ParamDef squares_params[] = {
    {"n", PT_INT, "4", 1, 1000, NULL, "rows"},
    {"bug", PT_ENUM, "none", 1, 0, bugs, "write a wrong file on purpose"},
    {0},
};
static const PortDef no_ports[] = {{0}};
static const PortDef squares_out[] = {{"out", ART_H5, 0, "squares", squares_ds}, {0}};

static int squares_check(const StageParams *p, PureErr *err) {
    if (param_enum(p, "bug") == BUG_SHORT && param_int(p, "n") < 2) return err_set(err, "bug: short needs n >= 2");
    return 0;
}

static int squares_run(StageCtx *ctx, PureErr *err) {
    int64_t n = stage_param_int(ctx, "n"), x[1000];
    double sq[1000];
    char *names[1000];
    int bug = stage_param_enum(ctx, "bug");
    for (int64_t i = 0; i < n; i++) {
        x[i] = i;
        sq[i] = (double)(i * i);
        names[i] = xmalloc(32);
        snprintf(names[i], 32, "x=%lld", (long long)i);
    }
    Artifact *a = stage_output_create(ctx, "out", err);
    int64_t nsq = bug == BUG_SHORT ? n - 1 : n;
    int rc = !a || artifact_write(a, "x", DT_I64, 1, &n, x, err) ||
             (bug != BUG_MISSING && artifact_write(a, "sq", bug == BUG_DTYPE ? DT_F32 : DT_F64, 1, &nsq,
                                                   bug == BUG_DTYPE ? (void *)x : (void *)sq, err)) ||
             artifact_write_strings(a, "names", n, (const char *const *)names, err) ||
             (bug == BUG_EXTRA && artifact_write(a, "extra", DT_I64, 1, &n, x, err));
    if (artifact_close(a, rc ? NULL : err)) rc = -1;
    for (int64_t i = 0; i < n; i++) free(names[i]);
    stage_metric(ctx, "bug", bug);
    return rc ? -1 : 0;
}

static const StageKind kind_squares = {
    "t_squares", 1, "test: x and x^2", no_ports, squares_out, squares_params, squares_run, squares_check,
};

/* reads two square tables: their row counts are the same symbol n */
static const PortDef pair_in[] = {
    {"a", ART_H5, 0, "squares", squares_ds},
    {"b", ART_H5, 1, "more squares", squares_ds},
    {0},
};

static int pair_run(StageCtx *ctx, PureErr *err) {
    Artifact *a = stage_input_open(ctx, "a", err);
    if (!a) return -1;
    int64_t dims[ARTIFACT_MAX_DIMS];
    double *sq = artifact_read(a, "sq", DT_F64, 1, dims, err);
    artifact_close(a, NULL);
    if (!sq) return -1;
    double s = 0;
    for (int64_t i = 0; i < dims[0]; i++) s += sq[i];
    free(sq);
    stage_metric(ctx, "sum", s);
    return 0;
}

static const StageKind kind_pair = {"t_pair", 1, "test: sums a's squares", pair_in, no_ports, NULL, pair_run, NULL};

/* The one table entry: this binary's registry is the shipped one plus these. */
static const StageKind *const *kinds(void) {
    static const StageKind *const extra[] = {&kind_squares, &kind_pair, NULL};
    static const StageKind *all[64];
    if (!all[0]) {
        int n = 0;
        for (int i = 0; registry_kinds[i]; i++) all[n++] = registry_kinds[i];
        for (int i = 0; extra[i]; i++) all[n++] = extra[i];
    }
    return all;
}

/* ---------------------------------------------------------------- driving the runner */

static char dir[256];

/* Loads spec text with --set overrides and runs it into a fresh run directory.
 * Returns the run's rc; *msg gets a copy of the error (or of the load error). */
static int run_spec(const char *text, const char *set, const char *set2, char *msg, size_t cap, int *loaded) {
    static int k;
    char path[300], root[300];
    snprintf(path, sizeof path, "%s/p%d.yaml", dir, k);
    snprintf(root, sizeof root, "%s/run%d", dir, k++);
    PureErr err;
    err_clear(&err);
    fs_write_atomic(path, text, strlen(text), &err);
    const char *sets[2] = {set, set2};
    Spec *s = spec_load(path, sets, set2 ? 2 : set ? 1 : 0, kinds(), &err);
    Plan *p = s ? plan_build(s, &err) : NULL;
    *loaded = p != NULL;
    int rc = -1;
    if (p) {
        ExecTargets t;
        if (exec_targets(p, NULL, NULL, 0, &t, &err) == 0) {
            RunOpts o = {root, 1, &t, 0, NULL};
            rc = exec_run(p, &o, &err);
            exec_targets_free(&t);
        }
    }
    snprintf(msg, cap, "%s", err.set ? err.msg : "");
    plan_free(p);
    spec_free(s);
    return rc;
}

static const char *spec_text = "stages:\n"
                               "  sq: {kind: t_squares, n: 5}\n"
                               "  more: {kind: t_squares, n: 5}\n"
                               "  sum: {kind: t_pair, inputs: {a: sq.out, b: more.out}}\n";

static void expect_fail(const char *set, const char *set2, const char *want, int at_load) {
    char msg[2048];
    int loaded;
    int rc = run_spec(spec_text, set, set2, msg, sizeof msg, &loaded);
    CHECK(rc != 0);
    CHECK(loaded == !at_load);
    if (!strstr(msg, want)) {
        check_failures++;
        fprintf(stderr, "--set %s:\n  got:      %s\n  expected: %s\n", set, msg, want);
    }
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/pure_add_kind.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);

    /* the new kinds run, commit and feed each other */
    char msg[2048];
    int loaded;
    CHECK(run_spec(spec_text, NULL, NULL, msg, sizeof msg, &loaded) == 0);
    if (msg[0]) fprintf(stderr, "unexpected: %s\n", msg);
    char mpath[400];
    snprintf(mpath, sizeof mpath, "%s/run0/metrics.jsonl", dir);
    char *metrics = fs_read_file(mpath, NULL, NULL);
    CHECK(metrics && strstr(metrics, "\"sum\":30")); /* 0 + 1 + 4 + 9 + 16 */
    free(metrics);

    /* enum parameters: the choices come from the kind's table, the error lists them */
    expect_fail("stages.sq.bug=extr", NULL, "expected one of none|extra|dtype|short|missing, got 'extr' (did you mean 'extra'?)", 1);
    /* typed check() at validate time, before anything runs */
    expect_fail("stages.sq.n=1", "stages.sq.bug=short", "bug: short needs n >= 2", 1);
    /* bugs in a kind's output are caught before commit, naming the dataset */
    expect_fail("stages.sq.bug=extra", NULL, "holds 'extra', which the port does not declare", 0);
    expect_fail("stages.sq.bug=dtype", NULL, "dataset 'sq' (", 0);
    expect_fail("stages.sq.bug=dtype", NULL, "expected dtype f64, found f32", 0);
    expect_fail("stages.sq.bug=short", NULL, "4 rows, but stage kind 't_squares' output 'out' dataset 'x' has 5 (both are n)", 0);
    expect_fail("stages.sq.bug=missing", NULL, "missing dataset 'sq', expected a rank-1 dataset of f64", 0);
    /* inputs: the same symbol across two ports must agree */
    expect_fail("stages.more.n=3", NULL, "input 'b' dataset 'x' (", 0);
    expect_fail("stages.more.n=3", NULL, "3 rows, but input 'a' dataset 'x' has 5 (both are n)", 0);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_report("test_add_kind");
}
