/* compare.h - a table of metrics per variant: mean and standard deviation
 * across seeds, and the difference of the means against a baseline variant
 * (`pure compare`). Values come from the runs' metrics.jsonl lines
 * (report/runset.h, runset_metric), which for an eval stage are the numbers
 * its results artifact carries. */
#ifndef PURE_REPORT_COMPARE_H
#define PURE_REPORT_COMPARE_H

#include <stdio.h>
#include "report/runset.h"

typedef struct CmpCell {
    int n;            /* seeds with a value */
    double mean, sd;  /* sd: sample standard deviation (n - 1), 0 when n < 2 */
    double delta;     /* mean - the baseline's mean; valid when has_delta */
    int has_delta;
    double *vals;     /* (n) one value per seed, in run order */
} CmpCell;

typedef struct CmpTable {
    char **metrics;   /* (nm) */
    int nm;
    char **variants;  /* (nv), borrowed from the run set */
    int nv;
    int *runs;        /* (nv) runs (seeds) per variant */
    int baseline;     /* variant index */
    CmpCell *cells;   /* (nv * nm), row-major by variant */
} CmpTable;

/* The metrics shown when none are asked for: the final evaluation's
 * accuracy, sampled accuracy, steps, length, repetition and monitor flag
 * (those the runs have). The final evaluation is the eval stage outside the
 * loop whose policy came from the loop; without one, the loop's eval stage
 * (its last iteration). Caller frees the names and the array. */
int compare_default_metrics(const RunSet *s, char ***metrics);
/* baseline: a variant name (NULL: the sweep's declared one, else the first
 * variant). Error for an unknown baseline (listing the variants) or a
 * malformed metric name; a metric no run has is an error too, naming it. */
int compare_build(const RunSet *s, const char *const *metrics, int nm, const char *baseline, CmpTable *t,
                  PureErr *err);
void compare_free(CmpTable *t);

void compare_print(FILE *f, const CmpTable *t);
/* {"baseline", "metrics": [...], "variants": [{"name", "runs", "metrics": {M: {"n", "mean", "sd", "delta", "values"}}}]} */
char *compare_json(const CmpTable *t);
/* Long format, one row per variant and metric: variant,runs,metric,n,mean,sd,delta */
void compare_csv(FILE *f, const CmpTable *t);

#endif
