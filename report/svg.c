/* svg.c - inline SVG line charts (see svg.h). */
#include "report/svg.h"

#include <math.h>

#include "report/text.h"

enum { W = 600, H = 260, ML = 56, MR = 14, MT = 10, MB = 34 };
#define SVG_MAX_POINTS 120 /* series with more points are drawn as a line only */

int svg_ticks(double lo, double hi, double t[8]) {
    if (!(hi > lo)) {
        t[0] = lo;
        return 1;
    }
    double span = hi - lo, raw = span / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
    double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
    int n = 0;
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9 && n < 8; v += step)
        t[n++] = fabs(v) < step * 1e-9 ? 0 : v;
    return n;
}

static void fmt_num(char *buf, size_t cap, double v) { snprintf(buf, cap, "%.4g", v); }

void svg_chart(SBuf *b, const char *title, const SvgSeries *s, int ns, const SvgMark *m, int nm) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].y[i])) continue;
            x0 = fmin(x0, s[k].x[i]);
            x1 = fmax(x1, s[k].x[i]);
            double lo = s[k].lo ? fmin(s[k].lo[i], s[k].y[i]) : s[k].y[i];
            double hi = s[k].hi ? fmax(s[k].hi[i], s[k].y[i]) : s[k].y[i];
            y0 = fmin(y0, lo);
            y1 = fmax(y1, hi);
        }
    if (!isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    if (x1 <= x0) x0 -= 0.5, x1 += 0.5;
    if (y1 <= y0) {
        double pad = fabs(y0) > 0 ? fabs(y0) * 0.1 : 0.5;
        y0 -= pad;
        y1 += pad;
    } else {
        double pad = (y1 - y0) * 0.05;
        y0 -= pad;
        y1 += pad;
    }
#define PX(v) (ML + ((v) - x0) / (x1 - x0) * (W - ML - MR))
#define PY(v) (MT + (y1 - (v)) / (y1 - y0) * (H - MT - MB))
    sbuf_add(b, "<figure class=\"chart\"><figcaption>");
    text_html_str(b, title);
    sbuf_printf(b, "</figcaption><svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"", W, H,
                W, H);
    text_html_str(b, title);
    sbuf_add(b, "\">");
    /* grid and axes */
    double t[8];
    char num[32];
    int nt = svg_ticks(y0, y1, t);
    for (int i = 0; i < nt; i++) {
        fmt_num(num, sizeof num, t[i]);
        sbuf_printf(b, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>", ML, W - MR, PY(t[i]),
                    PY(t[i]));
        sbuf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", ML - 4, PY(t[i]) + 4, num);
    }
    nt = svg_ticks(x0, x1, t);
    for (int i = 0; i < nt; i++) {
        if (fabs(t[i] - round(t[i])) > 1e-9) continue; /* iterations are whole numbers */
        fmt_num(num, sizeof num, t[i]);
        sbuf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", PX(t[i]), H - MB + 16,
                    num);
    }
    sbuf_printf(b, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", ML, W - MR, H - MB, H - MB);
    sbuf_printf(b, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", ML, ML, MT, H - MB);
    sbuf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">iteration</text>", (ML + W - MR) / 2,
                H - 4);
    /* bands under the lines, then the lines, then the marks on top */
    for (int k = 0; k < ns; k++) {
        if (!s[k].lo || !s[k].hi) continue;
        sbuf_printf(b, "<path class=\"band\" fill=\"%s\" data-series=\"", s[k].color);
        text_html_str(b, s[k].name);
        sbuf_add(b, "\" d=\"");
        int started = 0;
        for (int i = 0; i < s[k].n; i++)
            if (isfinite(s[k].hi[i])) {
                sbuf_printf(b, "%c%.1f %.1f", started ? 'L' : 'M', PX(s[k].x[i]), PY(s[k].hi[i]));
                started = 1;
            }
        for (int i = s[k].n - 1; i >= 0; i--)
            if (isfinite(s[k].lo[i])) sbuf_printf(b, "L%.1f %.1f", PX(s[k].x[i]), PY(s[k].lo[i]));
        sbuf_add(b, started ? "Z\"/>" : "\"/>");
    }
    for (int k = 0; k < ns; k++) {
        int pts = 0;
        for (int i = 0; i < s[k].n; i++) pts += isfinite(s[k].y[i]) != 0;
        sbuf_printf(b, "<path class=\"series\" stroke=\"%s\" data-points=\"%d\" data-series=\"", s[k].color, pts);
        text_html_str(b, s[k].name);
        sbuf_add(b, "\" d=\"");
        int pen = 0;
        for (int i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].y[i])) {
                pen = 0;
                continue;
            }
            sbuf_printf(b, "%c%.1f %.1f", pen ? 'L' : 'M', PX(s[k].x[i]), PY(s[k].y[i]));
            pen = 1;
        }
        sbuf_add(b, "\"/>");
        /* points, with their values as tooltips; on a long run they would only thicken the line */
        for (int i = 0; i < s[k].n && pts <= SVG_MAX_POINTS; i++) {
            if (!isfinite(s[k].y[i])) continue;
            sbuf_printf(b, "<circle class=\"pt\" fill=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"><title>", s[k].color,
                        PX(s[k].x[i]), PY(s[k].y[i]));
            text_html_str(b, s[k].name);
            sbuf_printf(b, ", iteration %g: %.6g</title></circle>", s[k].x[i], s[k].y[i]);
        }
    }
    for (int i = 0; i < nm; i++) {
        if (m[i].x < x0 || m[i].x > x1) continue;
        sbuf_printf(b, "<line class=\"mark\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"><title>", PX(m[i].x),
                    PX(m[i].x), MT, H - MB);
        text_html_str(b, m[i].label);
        sbuf_add(b, "</title></line>");
    }
    sbuf_add(b, "</svg><div class=\"legend\">");
    for (int k = 0; k < ns; k++) {
        sbuf_printf(b, "<span class=\"key\" data-series=\"");
        text_html_str(b, s[k].name);
        sbuf_printf(b, "\"><i style=\"background:%s\"></i>", s[k].color);
        text_html_str(b, s[k].name);
        sbuf_add(b, "</span>");
    }
    if (nm) sbuf_add(b, "<span class=\"key\"><i class=\"markkey\"></i>monitor warning</span>");
    sbuf_add(b, "</div></figure>\n");
#undef PX
#undef PY
}
