/* report.h - `pure report`: one self-contained HTML file about a set of runs
 * (report/runset.h): curves over iterations with variants overlaid and seed
 * bands, monitor warnings, each run's resolved spec and provenance, and the
 * rollout view (report/rollview.h) of sampled, best, worst and flagged
 * responses. Inline CSS, SVG and a few lines of script; no network, no
 * external file. docs/reports.md describes the page. */
#ifndef PURE_REPORT_REPORT_H
#define PURE_REPORT_REPORT_H

#include "report/runset.h"

typedef struct ReportOpts {
    const char *title;        /* NULL: "pure report" */
    int rollout_iterations;   /* iterations shown in the rollout view per variant (<= 0: 12) */
} ReportOpts;

/* The page, malloc'd; NULL + err when the set is empty. */
char *report_html(const RunSet *s, const ReportOpts *o, PureErr *err);
/* Writes the page to path atomically. */
int report_write(const RunSet *s, const ReportOpts *o, const char *path, PureErr *err);

/* The charts the report draws, in order: a title and the (stage kind,
 * metric) whose series it plots. A chart none of the runs has is left out. */
typedef struct ReportChart {
    const char *title, *kind, *key;
} ReportChart;
extern const ReportChart report_charts[];

#endif
