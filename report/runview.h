/* runview.h - reading a run directory after the fact: which stage runs
 * belong to a run, where their artifacts are, and its metrics.
 *
 * A run directory is a content-addressed store (docs/pipeline-spec.md, "Run
 * directory"): RUN/stages/NAME[/ITER]/FP16/done.json per committed stage run.
 * Several variants may share one directory, so "the run" is a set of
 * fingerprints: the ones listed in a plan file (RUN/plan.json, written by
 * `pure run`; a sweep writes one per variant and seed), or, for directories
 * without one, the newest commit of each stage and iteration (latest.json).
 * The graph between stage runs comes from the done records (identity.inputs:
 * port -> "FINGERPRINT:OUTPUT"), so readers follow exactly the artifacts a
 * stage read: nothing is recomputed or guessed from names.
 */
#ifndef PURE_REPORT_RUNVIEW_H
#define PURE_REPORT_RUNVIEW_H

#include <cjson/cJSON.h>
#include "util/err.h"

typedef struct RvInst {
    char *stage;        /* the stage's name in the spec */
    int iter;           /* loop iteration, -1 outside the loop */
    char *kind;         /* the stage kind (identity.kind) */
    char fp[65];        /* fingerprint */
    char *dir;          /* RUN/stages/NAME[/ITER]/FP16 */
    cJSON *done;        /* its done.json (owned) */
    int pruned;         /* outputs deleted by keep_last */
} RvInst;

typedef struct RunView {
    char *root;         /* the run directory */
    char *label;        /* display name: the directory's name, or the variant's */
    char *plan_path;    /* the plan file used, NULL when taken from latest.json */
    RvInst *store;      /* every committed stage run in the directory */
    int nstore;
    int *run;           /* indices into store: this run's stage runs, in plan (or directory) order */
    int nrun;
    cJSON *metrics;     /* array: this run's metrics.jsonl lines, in file order */
    cJSON *plan;        /* the plan file's JSON (owned), NULL without one */
    int *byfp;          /* store indices sorted by fingerprint (private) */
    char *inrun;        /* per store entry: 1 in this run, 2 and its metrics line seen (private) */
} RunView;

/* Opens RUN. plan: a plan file (NULL: RUN/plan.json when it exists, else
 * each stage's latest.json). Error when RUN is not a run directory, names
 * the file for an unreadable done record or plan. */
int runview_open(const char *root, const char *plan, RunView *rv, PureErr *err);
void runview_free(RunView *rv);

/* This run's stage run of `stage` in iteration `iter` (-1 outside the loop), or NULL. */
const RvInst *runview_get(const RunView *rv, const char *stage, int iter);
/* Any committed stage run with this fingerprint (full 64 hex digits), or NULL. */
const RvInst *runview_by_fp(const RunView *rv, const char *fp);
/* The file of HDF5 output `port` of a stage run (caller frees); NULL + err
 * when the stage has no such output, it was pruned, or the file is gone. */
char *runview_output(const RvInst *in, const char *port, PureErr *err);
/* The stage run that fed input `port` of `in`, and its output's file
 * (caller frees *path; path may be NULL). NULL + err when unconnected or not
 * in the directory. */
const RvInst *runview_input(const RunView *rv, const RvInst *in, const char *port, char **path, PureErr *err);
/* The stage runs of this run whose kind is `kind`, sorted by iteration;
 * returns the count, *out malloc'd (caller frees). */
int runview_of_kind(const RunView *rv, const char *kind, const RvInst ***out);
/* Last loop iteration among this run's stage runs, -1 when none. */
int runview_last_iteration(const RunView *rv);

#endif
