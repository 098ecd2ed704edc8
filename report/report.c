/* report.c - the HTML report (see report.h). The page is built in memory
 * and written atomically; every string that comes from a run (names, spec
 * values, prompts, responses) goes through text_html(), and a Content
 * Security Policy forbids any network access, so a hostile run cannot make
 * the page fetch or run anything. */
#include "report/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/compare.h"
#include "report/rollview.h"
#include "report/svg.h"
#include "report/text.h"
#include "storage/artifact.h"
#include "util/fs.h"

const ReportChart report_charts[] = {
    {"Greedy accuracy (eval)", "eval", "accuracy"},
    {"Sampled accuracy, pass@1 (eval)", "eval", "sampled_accuracy"},
    {"Process reward (eval)", "eval", "process_reward"},
    {"Process reward of the rollouts (prm)", "prm", "step_reward"},
    {"Verifiable reward: rollout accuracy (verify)", "verify", "accuracy"},
    {"Steps per response (eval)", "eval", "steps"},
    {"Steps per response (rollouts)", "rollout", "steps"},
    {"Response length (eval)", "eval", "length"},
    {"Response length (rollouts)", "rollout", "length"},
    {"KL to the reference (optimize)", "optimize", "kl"},
    {"Clip fraction (optimize)", "optimize", "clip_fraction"},
    {"Entropy (optimize)", "optimize", "entropy"},
    {"Repetition (eval)", "eval", "repetition"},
    {NULL, NULL, NULL},
};

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
                                      "#e377c2"};
#define NPAL (int)(sizeof palette / sizeof *palette)

static const char *css =
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1260px;color:#222;padding:0 12px}"
    "h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;"
    "vertical-align:top}th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}figure.chart{margin:0;border:1px solid #e4e4e4;padding:6px}"
    "figcaption{font-weight:600;margin-bottom:2px}.grid{stroke:#eee}.axis{stroke:#999}"
    ".tick{font-size:10px;fill:#666}.series{fill:none;stroke-width:2}.band{opacity:.18;stroke:none}"
    ".mark{stroke:#c00;stroke-dasharray:4 3;stroke-width:1.5}.legend{font-size:12px}.key{margin-right:12px;cursor:pointer}"
    ".key i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}"
    ".key i.markkey{background:#c00;height:10px;width:2px}.key.off{opacity:.35}"
    ".resp{border:1px solid #ddd;border-radius:4px;margin:8px 0;padding:6px 10px}"
    ".rh{font-weight:600}.prob{color:#444;margin:2px 0 4px;white-space:pre-wrap}"
    ".ok{color:#17803d}.bad{color:#c0282d}.flag{color:#a0229b;font-weight:600}"
    "ol.steps{margin:4px 0;padding-left:22px}ol.steps li{margin:3px 0}"
    ".score{display:inline-block;min-width:86px;font-variant-numeric:tabular-nums;border-radius:3px;padding:0 4px}"
    "li.min .score{outline:2px solid #e0a800}.minlab{color:#a07000;font-weight:600}"
    "pre{white-space:pre-wrap;word-break:break-word;margin:2px 0;background:#fafafa;padding:3px 6px}"
    "pre.spec{max-height:480px;overflow:auto}details{margin:6px 0}summary{cursor:pointer}.muted{color:#777}";

/* Legend keys toggle their series; the page marks itself rendered (the
 * Chromium test reads data-ready and data-series from the DOM). */
static const char *script =
    "(function(){var n=0;document.querySelectorAll('figure.chart').forEach(function(fig){"
    "fig.querySelectorAll('.key[data-series]').forEach(function(k){k.addEventListener('click',function(){"
    "var on=!k.classList.toggle('off');fig.querySelectorAll('[data-series]').forEach(function(e){"
    "if(e!==k&&e.getAttribute('data-series')===k.getAttribute('data-series'))e.style.display=on?'':'none';});});});"
    "n+=fig.querySelectorAll('path.series').length;});document.body.setAttribute('data-ready',String(n));})();";

/* ---------------------------------------------------------------- helpers */

static void h(SBuf *b, const char *s) { text_html_str(b, s); }

/* The stage of `kind` whose metric series a chart shows: for process rewards
 * the PRM stage the credit stage read (a pipeline may score with several),
 * else the first loop stage of that kind in the run. */
static const char *stage_for(const RunView *rv, const char *kind) {
    if (!strcmp(kind, "prm")) {
        const RvInst **c;
        int n = runview_of_kind(rv, "credit", &c);
        const RvInst *p = n ? runview_input(rv, c[n - 1], "rewards", NULL, NULL) : NULL;
        free(c);
        if (p) return p->stage;
    }
    for (int i = 0; i < rv->nrun; i++) {
        const RvInst *in = &rv->store[rv->run[i]];
        if (in->iter >= 0 && !strcmp(in->kind, kind)) return in->stage;
    }
    return NULL;
}

/* Mean, min and max across a variant's seeds at each iteration any of them has. */
typedef struct Agg {
    int n;
    double *x, *y, *lo, *hi;
    int seeds;  /* runs that contributed at least one point */
} Agg;

static void agg_free(Agg *a) {
    free(a->x);
    free(a->y);
    free(a->lo);
    free(a->hi);
    memset(a, 0, sizeof *a);
}

static int agg_slot(Agg *a, double x) {
    for (int i = 0; i < a->n; i++)
        if (a->x[i] == x) return i;
    a->x = xrealloc(a->x, sizeof *a->x * (size_t)(a->n + 1));
    a->y = xrealloc(a->y, sizeof *a->y * (size_t)(a->n + 1));
    a->lo = xrealloc(a->lo, sizeof *a->lo * (size_t)(a->n + 1));
    a->hi = xrealloc(a->hi, sizeof *a->hi * (size_t)(a->n + 1));
    int k = a->n++;
    while (k > 0 && a->x[k - 1] > x) { /* iterations ascending */
        a->x[k] = a->x[k - 1];
        a->y[k] = a->y[k - 1];
        a->lo[k] = a->lo[k - 1];
        a->hi[k] = a->hi[k - 1];
        k--;
    }
    a->x[k] = x;
    a->y[k] = 0;
    a->lo[k] = INFINITY;
    a->hi[k] = -INFINITY;
    return k;
}

static void aggregate(const RunSet *s, int variant, const char *kind, const char *key, Agg *a) {
    memset(a, 0, sizeof *a);
    int *cnt = NULL;
    for (int r = 0; r < s->n; r++) {
        if (runset_variant(s, s->runs[r].variant) != variant) continue;
        const char *stage = stage_for(&s->runs[r].rv, kind);
        if (!stage) continue;
        int *it;
        double *v;
        int n = runset_series(&s->runs[r].rv, stage, key, &it, &v);
        a->seeds += n > 0;
        for (int i = 0; i < n; i++) {
            int before = a->n, k = agg_slot(a, it[i]);
            if (a->n != before) { /* a new slot shifted the counts too */
                cnt = xrealloc(cnt, sizeof *cnt * (size_t)a->n);
                memmove(cnt + k + 1, cnt + k, sizeof *cnt * (size_t)(a->n - 1 - k));
                cnt[k] = 0;
            }
            a->y[k] += v[i];
            cnt[k]++;
            a->lo[k] = fmin(a->lo[k], v[i]);
            a->hi[k] = fmax(a->hi[k], v[i]);
        }
        free(it);
        free(v);
    }
    for (int i = 0; i < a->n; i++) a->y[i] /= cnt[i];
    free(cnt);
}

/* Monitor warnings: eval stage runs whose hack_flag is 1, with the checks that fired. */
static int collect_marks(const RunSet *s, SvgMark **out, char ***labels) {
    int n = 0;
    SvgMark *m = NULL;
    char **lb = NULL;
    for (int r = 0; r < s->n; r++) {
        const cJSON *line;
        cJSON_ArrayForEach(line, s->runs[r].rv.metrics) {
            const cJSON *flag = cJSON_GetObjectItemCaseSensitive(line, "hack_flag");
            const cJSON *it = cJSON_GetObjectItemCaseSensitive(line, "iteration");
            if (!cJSON_IsNumber(flag) || flag->valuedouble < 1 || !cJSON_IsNumber(it)) continue;
            SBuf t = {0};
            sbuf_printf(&t, "%s: %s[%d] monitor warning:", s->runs[r].rv.label,
                        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "stage")), (int)it->valuedouble);
            const cJSON *e;
            cJSON_ArrayForEach(e, line) {
                if (strncmp(e->string, "hack_", 5) || !strcmp(e->string, "hack_flag")) continue;
                if (cJSON_IsNumber(e) && e->valuedouble >= 1) sbuf_printf(&t, " %s", e->string + 5);
            }
            m = xrealloc(m, sizeof *m * (size_t)(n + 1));
            lb = xrealloc(lb, sizeof *lb * (size_t)(n + 1));
            lb[n] = sbuf_take(&t);
            m[n].x = it->valuedouble;
            m[n].label = lb[n];
            n++;
        }
    }
    *out = m;
    *labels = lb;
    return n;
}

/* ---------------------------------------------------------------- sections */

static void section_runs(SBuf *b, const RunSet *s) {
    sbuf_add(b, "<h2 id=\"runs\">Runs</h2><table><tr><th>variant</th><th>seed</th><th>run directory</th>"
                "<th>stage runs</th><th>last iteration</th><th>chosen by</th></tr>");
    for (int r = 0; r < s->n; r++) {
        const RsRun *x = &s->runs[r];
        sbuf_add(b, "<tr><td>");
        h(b, x->variant);
        if (x->seed >= 0) sbuf_printf(b, "</td><td class=\"num\">%d", x->seed);
        else sbuf_add(b, "</td><td>-");
        sbuf_add(b, "</td><td>");
        h(b, x->rv.root);
        sbuf_printf(b, "</td><td class=\"num\">%d</td><td class=\"num\">%d</td><td>", x->rv.nrun,
                    runview_last_iteration(&x->rv));
        if (x->rv.plan_path) h(b, x->rv.plan_path);
        else sbuf_add(b, "latest.json");
        sbuf_add(b, "</td></tr>");
    }
    sbuf_add(b, "</table>\n");
}

static void section_summary(SBuf *b, const RunSet *s) {
    char **m;
    int nm = compare_default_metrics(s, &m);
    CmpTable t;
    PureErr err;
    err_clear(&err);
    if (nm > 0 && compare_build(s, (const char *const *)m, nm, NULL, &t, &err) == 0) {
        sbuf_add(b, "<h2 id=\"summary\">Final evaluation</h2><table><tr><th>variant</th><th>seeds</th>");
        for (int k = 0; k < nm; k++) {
            sbuf_add(b, "<th>");
            h(b, m[k]);
            sbuf_add(b, "</th>");
        }
        sbuf_add(b, "</tr>");
        for (int v = 0; v < t.nv; v++) {
            sbuf_add(b, "<tr><td>");
            h(b, t.variants[v]);
            sbuf_printf(b, "</td><td class=\"num\">%d</td>", t.runs[v]);
            for (int k = 0; k < nm; k++) {
                const CmpCell *c = &t.cells[v * nm + k];
                sbuf_add(b, "<td class=\"num\">");
                if (c->n == 0) sbuf_add(b, "-");
                else if (c->n == 1) sbuf_printf(b, "%.4g", c->mean);
                else sbuf_printf(b, "%.4g &plusmn; %.3g", c->mean, c->sd);
                if (v != t.baseline && c->has_delta) sbuf_printf(b, " <span class=\"muted\">(%+.3g)</span>", c->delta);
                sbuf_add(b, "</td>");
            }
            sbuf_add(b, "</tr>");
        }
        sbuf_add(b, "</table><p class=\"muted\">mean &plusmn; sample sd across seeds; in brackets the difference to ");
        h(b, t.variants[t.baseline]);
        sbuf_add(b, " (<code>pure compare</code> prints the same table)</p>\n");
        compare_free(&t);
    }
    for (int k = 0; k < nm; k++) free(m[k]);
    free(m);
}

static void section_charts(SBuf *b, const RunSet *s) {
    SvgMark *marks;
    char **labels;
    int nmarks = collect_marks(s, &marks, &labels);
    sbuf_add(b, "<h2 id=\"curves\">Curves over iterations</h2>"
                "<p class=\"muted\">One line per variant: the mean over its seeds; the shaded band spans the seeds "
                "(lowest to highest). Dashed red lines: the reward-hacking monitor fired (hover for which check).</p>"
                "<div class=\"charts\">\n");
    Agg *agg = xcalloc((size_t)s->nvariants + 1, sizeof *agg);
    SvgSeries *ser = xcalloc((size_t)s->nvariants + 1, sizeof *ser);
    int drawn = 0;
    for (const ReportChart *c = report_charts; c->title; c++) {
        int ns = 0;
        for (int v = 0; v < s->nvariants; v++) {
            aggregate(s, v, c->kind, c->key, &agg[v]);
            if (agg[v].n == 0) continue;
            SvgSeries *x = &ser[ns++];
            x->name = s->variants[v];
            x->color = palette[v % NPAL];
            x->n = agg[v].n;
            x->x = agg[v].x;
            x->y = agg[v].y;
            x->lo = agg[v].seeds > 1 ? agg[v].lo : NULL;
            x->hi = agg[v].seeds > 1 ? agg[v].hi : NULL;
        }
        if (ns) {
            char title[256];
            snprintf(title, sizeof title, "%s: %s", c->title, c->key);
            svg_chart(b, title, ser, ns, marks, nmarks);
            drawn++;
        }
        for (int v = 0; v < s->nvariants; v++) agg_free(&agg[v]);
    }
    if (!drawn) sbuf_add(b, "<p>No loop metrics yet (metrics.jsonl has no lines of loop stages).</p>");
    sbuf_add(b, "</div>\n");
    if (nmarks) {
        sbuf_add(b, "<h3>Monitor warnings</h3><ul>");
        for (int i = 0; i < nmarks; i++) {
            sbuf_add(b, "<li>");
            h(b, labels[i]);
            sbuf_add(b, "</li>");
        }
        sbuf_add(b, "</ul>\n");
    }
    for (int i = 0; i < nmarks; i++) free(labels[i]);
    free(labels);
    free(marks);
    free(agg);
    free(ser);
}

/* A step's score as a background: red (low) to green (high) over [-1, 1]. */
static void score_style(SBuf *b, double r) {
    double t = isfinite(r) ? fmax(-1, fmin(1, r)) : 0;
    sbuf_printf(b, " style=\"background:hsl(%d,70%%,86%%)\"", (int)lround(60 + 60 * t));
}

static void response_html(SBuf *b, const RollView *v, int64_t i, const char *why) {
    const Rollouts *ro = &v->ro;
    int64_t p = ro->prompt_index[i];
    sbuf_add(b, "<div class=\"resp\"><div class=\"rh\">");
    if (why) {
        h(b, why);
        sbuf_add(b, ": ");
    }
    sbuf_printf(b, "iteration %d, response #%lld, prompt %lld (group %lld) &middot; advantage %+.4f &middot; "
                   "return %+.4f &middot; %d tokens (%s)",
                v->iteration, (long long)i, (long long)p, (long long)ro->group[i], v->score[i], v->total[i],
                ro->length[i], ro->finish[i] == 0 ? "eos" : ro->finish[i] == 2 ? "length limit" : "stop");
    if (v->has_verify) {
        if (!v->has_reward[i]) sbuf_add(b, " &middot; <span class=\"muted\">no reference</span>");
        else if (v->correct[i]) sbuf_add(b, " &middot; <span class=\"ok\">correct</span>");
        else sbuf_add(b, " &middot; <span class=\"bad\">wrong</span>");
    }
    if (v->flags[i] & RV_FLAG_WRONG_REINFORCED) sbuf_add(b, " <span class=\"flag\">[wrong but reinforced]</span>");
    if (v->flags[i] & RV_FLAG_REPEATED_STEP) sbuf_add(b, " <span class=\"flag\">[repeats a step]</span>");
    sbuf_add(b, "</div><div class=\"prob\">");
    h(b, v->pr.problem[p]);
    if (v->has_verify) {
        sbuf_add(b, "<br><span class=\"muted\">answer</span> &ldquo;");
        h(b, v->extracted[i]);
        sbuf_add(b, "&rdquo; <span class=\"muted\">reference</span> &ldquo;");
        h(b, v->pr.reference[p]);
        sbuf_add(b, "&rdquo;");
    }
    sbuf_add(b, "</div><ol class=\"steps\">");
    const float *r = (const float *)v->rewards.v + v->rewards.off[i];
    const float *ret = (const float *)v->returns.v + v->returns.off[i];
    const float *adv = (const float *)v->adv.v + v->adv.off[i];
    int ns = (int)ragged_len(&v->rewards, i), len = (int)ragged_len(&v->adv, i);
    for (int st = 0; st < ns; st++) {
        int t = rollview_step_start(v, i, st), mn = st == v->min_step[i];
        sbuf_printf(b, "<li%s><span class=\"score\"", mn ? " class=\"min\"" : "");
        score_style(b, r[st]);
        sbuf_printf(b, ">prm %+.4f</span>", r[st]);
        if (t >= 0 && t < len) sbuf_printf(b, " <span class=\"muted\">return %+.4f, advantage %+.4f</span>", ret[t], adv[t]);
        if (mn) sbuf_add(b, " <span class=\"minlab\">&larr; min</span>");
        size_t tl;
        const char *txt = rollview_step_text(v, i, st, &tl);
        if (txt) {
            sbuf_add(b, "<pre>");
            text_html(b, txt, tl);
            sbuf_add(b, "</pre>");
        }
        sbuf_add(b, "</li>");
    }
    sbuf_add(b, "</ol>");
    if (ro->step_bytes.n != ro->n) {
        sbuf_add(b, "<pre>");
        h(b, ro->text[i]);
        sbuf_add(b, "</pre>");
    }
    sbuf_add(b, "</div>\n");
}

static int64_t argbest(const RollView *v, int sign) {
    int64_t best = 0;
    for (int64_t i = 1; i < v->ro.n; i++)
        if (sign * v->score[i] > sign * v->score[best]) best = i;
    return best;
}

static void rollouts_of_run(SBuf *b, const RunView *rv, int max_iters, int *flagged_left, SBuf *flagged) {
    const RvInst **c;
    int n = runview_of_kind(rv, "credit", &c);
    if (n == 0) {
        sbuf_add(b, "<p>No committed credit stage run.</p>");
        free(c);
        return;
    }
    /* the credit stage the view follows: the one of the last iteration */
    const char *stage = c[n - 1]->stage;
    int *its = xcalloc((size_t)n + 1, sizeof *its), m = 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(c[i]->stage, stage)) its[m++] = c[i]->iter;
    int show = m < max_iters ? m : max_iters;
    if (show < m)
        sbuf_printf(b, "<p class=\"muted\">%d of %d iterations shown, evenly spaced, the last included.</p>", show, m);
    for (int k = 0; k < show; k++) {
        int it = show == 1 ? its[m - 1] : its[(int)((double)k * (m - 1) / (show - 1) + 0.5)];
        RollView v;
        PureErr err;
        err_clear(&err);
        sbuf_printf(b, "<details%s><summary>iteration %d</summary>", k == show - 1 ? " open" : "", it);
        if (rollview_load(rv, it, stage, &v, &err)) {
            sbuf_add(b, "<p class=\"muted\">");
            h(b, err.msg);
            sbuf_add(b, "</p></details>\n");
            continue;
        }
        if (v.ro.n > 0) {
            int64_t hi = argbest(&v, 1), lo = argbest(&v, -1);
            response_html(b, &v, 0, hi == 0 ? "sample (first stored), best advantage" : "sample (first stored)");
            if (hi != 0) response_html(b, &v, hi, "best advantage");
            if (lo != hi && lo != 0) response_html(b, &v, lo, "worst advantage");
        } else sbuf_add(b, "<p>No responses.</p>");
        for (int64_t i = 0; i < v.ro.n && *flagged_left > 0; i++)
            if (v.flags[i]) {
                response_html(flagged, &v, i, NULL);
                (*flagged_left)--;
            }
        sbuf_add(b, "</details>\n");
        rollview_free(&v);
    }
    free(its);
    free(c);
}

static void section_rollouts(SBuf *b, const RunSet *s, int max_iters) {
    sbuf_add(b, "<h2 id=\"rollouts\">Rollouts</h2><p class=\"muted\">Per variant, its first run: for each iteration "
                "shown, the first stored response, the one with the highest and the one with the lowest "
                "advantage; each step with its process reward (&larr; min marks the lowest) and the return and "
                "advantage at its first token, as stored (<code>pure show rollouts</code> shows any iteration in "
                "full).</p>\n");
    SBuf flagged = {0};
    int left = 40;
    for (int v = 0; v < s->nvariants; v++) {
        for (int r = 0; r < s->n; r++) {
            if (runset_variant(s, s->runs[r].variant) != v) continue;
            sbuf_add(b, "<h3>");
            h(b, s->runs[r].rv.label);
            sbuf_add(b, "</h3>");
            rollouts_of_run(b, &s->runs[r].rv, max_iters, &left, &flagged);
            break;
        }
    }
    sbuf_add(b, "<h3 id=\"flagged\">Flagged responses</h3>");
    if (flagged.n) {
        sbuf_add(b, "<p class=\"muted\">Wrong but reinforced (graded wrong, positive advantage) or repeating a step "
                    "verbatim, in the iterations shown above (at most 40).</p>");
        sbuf_add(b, flagged.s);
    } else sbuf_add(b, "<p>None in the iterations shown.</p>");
    free(flagged.s);
}

/* The spec a run was made from: beside its plan file (a sweep's plans/N.yaml), else RUN/spec.yaml. */
static char *spec_text(const RunView *rv) {
    char *path = NULL;
    if (rv->plan_path) {
        size_t n = strlen(rv->plan_path);
        if (n > 5 && !strcmp(rv->plan_path + n - 5, ".json")) {
            path = xmalloc(n + 1);
            snprintf(path, n + 1, "%.*s.yaml", (int)(n - 5), rv->plan_path);
            if (!fs_exists(path)) {
                free(path);
                path = NULL;
            }
        }
    }
    if (!path) path = fs_join(rv->root, "spec.yaml");
    char *t = fs_read_file(path, NULL, NULL);
    free(path);
    return t;
}

static void section_provenance(SBuf *b, const RunSet *s) {
    sbuf_add(b, "<h2 id=\"provenance\">Specs and provenance</h2>");
    for (int r = 0; r < s->n; r++) {
        const RunView *rv = &s->runs[r].rv;
        sbuf_add(b, "<details><summary>");
        h(b, rv->label);
        sbuf_add(b, " &mdash; ");
        h(b, rv->root);
        sbuf_add(b, "</summary>");
        /* pure version and start time from the first HDF5 artifact's provenance attributes */
        for (int i = 0; i < rv->nrun; i++) {
            const RvInst *in = &rv->store[rv->run[i]];
            const cJSON *outs = cJSON_GetObjectItemCaseSensitive(in->done, "outputs"), *o;
            char *path = NULL;
            cJSON_ArrayForEach(o, outs) {
                if (!path) path = runview_output(in, o->string, NULL);
            }
            Artifact *a = path ? artifact_open(path, NULL) : NULL;
            free(path);
            if (!a) continue;
            char *ver = artifact_get_attr_str(a, "/", "pure_version", NULL);
            artifact_close(a, NULL);
            if (!ver) continue;
            sbuf_add(b, "<p>written by pure ");
            h(b, ver);
            sbuf_add(b, "</p>");
            free(ver);
            break;
        }
        sbuf_add(b, "<table><tr><th>stage</th><th>kind (version)</th><th>iterations</th><th>started</th>"
                    "<th>wall s</th><th>fingerprint (last)</th></tr>");
        /* one row per stage name, in the run's order */
        for (int i = 0; i < rv->nrun; i++) {
            const RvInst *in = &rv->store[rv->run[i]];
            int first = 1;
            for (int j = 0; j < i && first; j++) first = strcmp(rv->store[rv->run[j]].stage, in->stage) != 0;
            if (!first) continue;
            int lo = in->iter, hi = in->iter, cnt = 0;
            double wall = 0;
            const RvInst *last = in;
            for (int j = i; j < rv->nrun; j++) {
                const RvInst *o = &rv->store[rv->run[j]];
                if (strcmp(o->stage, in->stage)) continue;
                cnt++;
                lo = o->iter < lo ? o->iter : lo;
                if (o->iter >= hi) {
                    hi = o->iter;
                    last = o;
                }
                const cJSON *w = cJSON_GetObjectItemCaseSensitive(o->done, "wall_s");
                if (cJSON_IsNumber(w)) wall += w->valuedouble;
            }
            const cJSON *ver = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(in->done, "identity"), "version");
            sbuf_add(b, "<tr><td>");
            h(b, in->stage);
            sbuf_add(b, "</td><td>");
            h(b, in->kind);
            if (cJSON_IsNumber(ver)) sbuf_printf(b, " (%d)", (int)ver->valuedouble);
            sbuf_add(b, "</td><td>");
            if (lo < 0) sbuf_add(b, "-");
            else sbuf_printf(b, "%d-%d (%d runs)", lo, hi, cnt);
            sbuf_add(b, "</td><td>");
            h(b, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in->done, "started")));
            sbuf_printf(b, "</td><td class=\"num\">%.2f</td><td><code>%.16s</code></td></tr>", wall, last->fp);
        }
        sbuf_add(b, "</table><p>The resolved spec:</p><pre class=\"spec\">");
        char *spec = spec_text(rv);
        if (spec) h(b, spec);
        else sbuf_add(b, "(no spec.yaml in the run directory)");
        free(spec);
        sbuf_add(b, "</pre></details>\n");
    }
}

/* ---------------------------------------------------------------- the page */

char *report_html(const RunSet *s, const ReportOpts *o, PureErr *err) {
    if (s->n == 0) {
        err_set(err, "no runs to report on");
        return NULL;
    }
    const char *title = o && o->title ? o->title : "pure report";
    int iters = o && o->rollout_iterations > 0 ? o->rollout_iterations : 12;
    SBuf b = {0};
    sbuf_add(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                 "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
    h(&b, title);
    sbuf_printf(&b, "</title><style>%s</style></head><body>\n<h1>", css);
    h(&b, title);
    sbuf_printf(&b, "</h1><p class=\"muted\">%d run(s), %d variant(s). Sections: <a href=\"#runs\">runs</a>, "
                    "<a href=\"#summary\">final evaluation</a>, <a href=\"#curves\">curves</a>, "
                    "<a href=\"#rollouts\">rollouts</a>, <a href=\"#flagged\">flagged</a>, "
                    "<a href=\"#provenance\">specs and provenance</a>.</p>\n",
                s->n, s->nvariants);
    section_runs(&b, s);
    section_summary(&b, s);
    section_charts(&b, s);
    section_rollouts(&b, s, iters);
    section_provenance(&b, s);
    sbuf_printf(&b, "<script>%s</script>\n</body></html>\n", script);
    return sbuf_take(&b);
}

int report_write(const RunSet *s, const ReportOpts *o, const char *path, PureErr *err) {
    char *page = report_html(s, o, err);
    if (!page) return -1;
    int rc = fs_write_atomic(path, page, strlen(page), err);
    free(page);
    return rc;
}
