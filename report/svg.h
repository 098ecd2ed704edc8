/* svg.h - line charts as inline SVG for the HTML report: series over
 * iterations, each with an optional band (the spread across seeds), and
 * vertical marks where the reward-hacking monitor fired. No script needed to
 * read them; every string is HTML-escaped. */
#ifndef PURE_REPORT_SVG_H
#define PURE_REPORT_SVG_H

#include "util/sbuf.h"

typedef struct SvgSeries {
    const char *name;       /* legend text (escaped when written) */
    const char *color;      /* a CSS colour from the report's palette (trusted) */
    int n;
    const double *x, *y;    /* (n) iterations and values; a NaN y breaks the line */
    const double *lo, *hi;  /* (n) band around y, NULL for none */
} SvgSeries;

typedef struct SvgMark {
    double x;
    const char *label;      /* tooltip (escaped) */
} SvgMark;

/* Appends <figure> with the chart, its axes and its legend. Each series'
 * line is a <path class="series" data-series="NAME" data-points="N">, each
 * band a <path class="band">, each mark a <line class="mark">: the report's
 * tests look for them. Up to 120 points per series also get a dot with the
 * value as a tooltip. */
void svg_chart(SBuf *b, const char *title, const SvgSeries *s, int ns, const SvgMark *m, int nm);

/* "Nice" axis ticks covering [lo, hi]: returns the count (<= 8) in t. */
int svg_ticks(double lo, double hi, double t[8]);

#endif
