/* runset.h - the runs a comparison or a report is about, grouped into
 * variants (each with one run per seed).
 *
 * Arguments name run directories: `DIR` (the variant is the directory's name
 * with a trailing seed suffix such as `-seed3` or `_s3` dropped, so
 * runs/min-seed1 and runs/min-seed2 are two seeds of `min`), `NAME=DIR` (an
 * explicit variant name), or a sweep directory (one holding sweep.json,
 * written by `pure run` on a spec with a `sweep:` block), which expands into
 * every variant and seed it ran, each viewed through its own plan file.
 */
#ifndef PURE_REPORT_RUNSET_H
#define PURE_REPORT_RUNSET_H

#include "report/runview.h"

typedef struct RsRun {
    char *variant;
    int seed;           /* from the sweep, or the directory name; -1 when unknown */
    RunView rv;
} RsRun;

typedef struct RunSet {
    RsRun *runs;
    int n;
    char **variants;    /* distinct variant names in first-seen order */
    int nvariants;
    char *baseline;     /* a sweep's declared baseline variant, else NULL */
} RunSet;

/* Adds one argument (DIR, NAME=DIR or a sweep directory); errors name the
 * directory or the sweep file and what is wrong. */
int runset_add(RunSet *s, const char *arg, PureErr *err);
void runset_free(RunSet *s);
/* Index of a variant by name, -1 when absent. */
int runset_variant(const RunSet *s, const char *name);

/* In a sweep directory (DIR/sweep.json), the plan file of one run: a
 * variant and a seed (seed < 0: the variant's only or first seed). NULL +
 * err listing the variants (or seeds) when there is no such run; NULL
 * without err (err->set stays 0) when dir is not a sweep directory. */
char *runset_sweep_plan(const char *dir, const char *variant, long long seed, PureErr *err);

/* One metric of one run: "STAGE.KEY" is the value in that stage's
 * metrics.jsonl line (for a loop stage, its last iteration; "STAGE.KEY@N":
 * iteration N). Returns 0 and *v, 1 when the run has no such value, -1 +
 * err for a malformed name. */
int runset_metric(const RunView *rv, const char *metric, double *v, PureErr *err);
/* The series of a loop stage's metric over iterations: n points, *it and *v
 * malloc'd (caller frees). */
int runset_series(const RunView *rv, const char *stage, const char *key, int **it, double **v);

#endif
