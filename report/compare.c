/* compare.c - metrics per variant across seeds (see compare.h). */
#include "report/compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const default_keys[] = {"accuracy", "sampled_accuracy", "steps", "length", "repetition",
                                           "hack_flag", NULL};

/* Is this eval stage run the final evaluation: outside the loop, with a
 * policy produced by a loop stage run? */
static int is_final_eval(const RunView *rv, const RvInst *in) {
    if (in->iter >= 0 || strcmp(in->kind, "eval")) return 0;
    const RvInst *p = runview_input(rv, in, "policy", NULL, NULL);
    return p && p->iter >= 0;
}

int compare_default_metrics(const RunSet *s, char ***out) {
    char **m = xcalloc(64, sizeof *m);
    int n = 0;
    for (int r = 0; r < s->n && n == 0; r++) {
        const RunView *rv = &s->runs[r].rv;
        const char *stage = NULL;
        for (int i = 0; i < rv->nrun && !stage; i++)
            if (is_final_eval(rv, &rv->store[rv->run[i]])) stage = rv->store[rv->run[i]].stage;
        const RvInst **ev;
        int ne = runview_of_kind(rv, "eval", &ev);
        for (int i = ne - 1; i >= 0 && !stage; i--)
            if (ev[i]->iter >= 0) stage = ev[i]->stage;
        free(ev);
        for (int k = 0; stage && default_keys[k] && n < 63; k++) {
            char name[300];
            double v;
            snprintf(name, sizeof name, "%s.%s", stage, default_keys[k]);
            int have = 0;
            for (int q = 0; q < s->n && !have; q++) have = runset_metric(&s->runs[q].rv, name, &v, NULL) == 0;
            if (have) m[n++] = xstrdup(name);
        }
    }
    *out = m;
    return n;
}

int compare_build(const RunSet *s, const char *const *metrics, int nm, const char *baseline, CmpTable *t,
                  PureErr *err) {
    memset(t, 0, sizeof *t);
    if (s->nvariants == 0) return err_set(err, "no runs to compare");
    if (!baseline) baseline = s->baseline;
    t->baseline = baseline ? runset_variant(s, baseline) : 0;
    if (t->baseline < 0) {
        char have[1024] = "";
        for (int i = 0; i < s->nvariants; i++) {
            size_t l = strlen(have);
            snprintf(have + l, sizeof have - l, "%s%s", i ? ", " : "", s->variants[i]);
        }
        return err_set(err, "baseline '%s' is not one of the variants (%s)", baseline, have);
    }
    t->nm = nm;
    t->nv = s->nvariants;
    t->variants = s->variants;
    t->metrics = xcalloc((size_t)nm + 1, sizeof *t->metrics);
    t->runs = xcalloc((size_t)t->nv + 1, sizeof *t->runs);
    t->cells = xcalloc((size_t)(t->nv * nm) + 1, sizeof *t->cells);
    for (int m = 0; m < nm; m++) t->metrics[m] = xstrdup(metrics[m]);
    for (int r = 0; r < s->n; r++) t->runs[runset_variant(s, s->runs[r].variant)]++;
    for (int m = 0; m < nm; m++) {
        int any = 0;
        for (int v = 0; v < t->nv; v++) {
            CmpCell *c = &t->cells[v * nm + m];
            c->vals = xcalloc((size_t)s->n + 1, sizeof *c->vals);
            for (int r = 0; r < s->n; r++) {
                if (runset_variant(s, s->runs[r].variant) != v) continue;
                double x;
                int rc = runset_metric(&s->runs[r].rv, metrics[m], &x, err);
                if (rc < 0) goto fail;
                if (rc == 0) c->vals[c->n++] = x;
            }
            any |= c->n > 0;
            double sum = 0, ss = 0;
            for (int k = 0; k < c->n; k++) sum += c->vals[k];
            c->mean = c->n ? sum / c->n : NAN;
            for (int k = 0; k < c->n; k++) ss += (c->vals[k] - c->mean) * (c->vals[k] - c->mean);
            c->sd = c->n > 1 ? sqrt(ss / (c->n - 1)) : 0;
        }
        if (!any) {
            err_set(err, "metric '%s': no run has it (metric names are STAGE.KEY from metrics.jsonl)", metrics[m]);
            goto fail;
        }
        const CmpCell *b = &t->cells[t->baseline * nm + m];
        for (int v = 0; v < t->nv; v++) {
            CmpCell *c = &t->cells[v * nm + m];
            c->has_delta = b->n > 0 && c->n > 0;
            c->delta = c->has_delta ? c->mean - b->mean : NAN;
        }
    }
    return 0;
fail:
    compare_free(t);
    return -1;
}

void compare_free(CmpTable *t) {
    for (int m = 0; m < t->nm; m++) free(t->metrics[m]);
    for (int i = 0; t->cells && i < t->nv * t->nm; i++) free(t->cells[i].vals);
    free(t->metrics);
    free(t->runs);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* ---------------------------------------------------------------- output */

static void fmt_cell(const CmpCell *c, char *buf, size_t cap) {
    if (c->n == 0) snprintf(buf, cap, "-");
    else if (c->n == 1) snprintf(buf, cap, "%.4g", c->mean);
    else snprintf(buf, cap, "%.4g \xc2\xb1 %.3g", c->mean, c->sd);
}

/* Display width of a UTF-8 string (code points; the table has no wide characters). */
static int width(const char *s) {
    int w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void pad(FILE *f, const char *s, int w) {
    fputs(s, f);
    for (int k = width(s); k < w; k++) fputc(' ', f);
}

void compare_print(FILE *f, const CmpTable *t) {
    int vw = (int)strlen("variant");
    for (int v = 0; v < t->nv; v++)
        if (width(t->variants[v]) > vw) vw = width(t->variants[v]);
    int *cw = xcalloc((size_t)t->nm + 1, sizeof *cw), *dw = xcalloc((size_t)t->nm + 1, sizeof *dw);
    char buf[128];
    for (int m = 0; m < t->nm; m++) {
        cw[m] = width(t->metrics[m]);
        dw[m] = (int)strlen("(base)");
        for (int v = 0; v < t->nv; v++) {
            const CmpCell *c = &t->cells[v * t->nm + m];
            fmt_cell(c, buf, sizeof buf);
            if (width(buf) > cw[m]) cw[m] = width(buf);
            snprintf(buf, sizeof buf, "%+.4g", c->delta);
            if (c->has_delta && width(buf) > dw[m]) dw[m] = width(buf);
        }
    }
    pad(f, "variant", vw + 2);
    fputs("seeds  ", f);
    for (int m = 0; m < t->nm; m++) {
        pad(f, t->metrics[m], cw[m] + 2);
        pad(f, "delta", dw[m] + 3);
    }
    fputc('\n', f);
    for (int v = 0; v < t->nv; v++) {
        pad(f, t->variants[v], vw + 2);
        fprintf(f, "%-5d  ", t->runs[v]);
        for (int m = 0; m < t->nm; m++) {
            const CmpCell *c = &t->cells[v * t->nm + m];
            fmt_cell(c, buf, sizeof buf);
            pad(f, buf, cw[m] + 2);
            if (v == t->baseline) snprintf(buf, sizeof buf, "(base)");
            else if (c->has_delta) snprintf(buf, sizeof buf, "%+.4g", c->delta);
            else snprintf(buf, sizeof buf, "-");
            pad(f, buf, dw[m] + 3);
        }
        fputc('\n', f);
    }
    fprintf(f, "\nmean \xc2\xb1 sample sd across seeds; delta = mean - mean of '%s'\n", t->variants[t->baseline]);
    free(cw);
    free(dw);
}

static cJSON *num_or_null(double x) { return isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull(); }

char *compare_json(const CmpTable *t) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "baseline", t->variants[t->baseline]);
    cJSON *ms = cJSON_AddArrayToObject(j, "metrics");
    for (int m = 0; m < t->nm; m++) cJSON_AddItemToArray(ms, cJSON_CreateString(t->metrics[m]));
    cJSON *vs = cJSON_AddArrayToObject(j, "variants");
    for (int v = 0; v < t->nv; v++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", t->variants[v]);
        cJSON_AddNumberToObject(o, "runs", t->runs[v]);
        cJSON *mo = cJSON_AddObjectToObject(o, "metrics");
        for (int m = 0; m < t->nm; m++) {
            const CmpCell *c = &t->cells[v * t->nm + m];
            cJSON *co = cJSON_CreateObject();
            cJSON_AddNumberToObject(co, "n", c->n);
            cJSON_AddItemToObject(co, "mean", num_or_null(c->mean));
            cJSON_AddItemToObject(co, "sd", c->n > 1 ? num_or_null(c->sd) : cJSON_CreateNull());
            cJSON_AddItemToObject(co, "delta", c->has_delta ? num_or_null(c->delta) : cJSON_CreateNull());
            cJSON *vals = cJSON_AddArrayToObject(co, "values");
            for (int k = 0; k < c->n; k++) cJSON_AddItemToArray(vals, num_or_null(c->vals[k]));
            cJSON_AddItemToObject(mo, t->metrics[m], co);
        }
        cJSON_AddItemToArray(vs, o);
    }
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    return s;
}

/* RFC 4180 field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, double x, int valid) {
    if (valid && isfinite(x)) fprintf(f, "%.17g", x);
}

void compare_csv(FILE *f, const CmpTable *t) {
    fputs("variant,runs,metric,n,mean,sd,delta\n", f);
    for (int v = 0; v < t->nv; v++)
        for (int m = 0; m < t->nm; m++) {
            const CmpCell *c = &t->cells[v * t->nm + m];
            csv_field(f, t->variants[v]);
            fprintf(f, ",%d,", t->runs[v]);
            csv_field(f, t->metrics[m]);
            fprintf(f, ",%d,", c->n);
            csv_num(f, c->mean, c->n > 0);
            fputc(',', f);
            csv_num(f, c->sd, c->n > 1);
            fputc(',', f);
            csv_num(f, c->delta, c->has_delta);
            fputc('\n', f);
        }
}
