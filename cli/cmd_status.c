/* cmd_status.c - `pure status`: per stage and iteration, done / stale (and
 * why) / pending / interrupted / damaged, without running anything.
 *
 * Fast by design: one small done.json read and a stat() per output file per
 * stage run; committed files are checked by size and mtime only (--verify
 * hashes every byte, as `pure run` does before a stage reads an artifact). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "runner/rundir.h"
#include "runner/sweep.h"
#include "util/fs.h"
#include "util/json.h"

static const char *help =
    "usage: pure status PIPELINE.yaml [--run-dir DIR] [--set key.path=value]... [--verify]\n"
    "       pure status --run-dir DIR    (the spec of the directory's last run)\n"
    "A spec with a sweep: block shows the grid: per variant and seed, how many of the run's\n"
    "stage runs are done (and whether one is running, interrupted or damaged).\n"
    "\n"
    "For every stage (and loop iteration): done, stale (an older result exists; says\n"
    "which parameter, input, file or version changed), pending, interrupted or damaged.\n"
    "Consecutive iterations in the same state are shown as one range (FIRST-LAST/K:\n"
    "every K iterations, and the last).\n"
    "Files are checked by size and modification time; --verify hashes them (slower).\n"
    "Exit codes: 0, or 2 on a bad spec.\n";

enum { ST_DONE, ST_PRUNED, ST_STALE, ST_PENDING, ST_INTERRUPTED, ST_RUNNING, ST_DAMAGED, ST_N };
static const char *st_names[] = {"done", "done (pruned)", "stale", "pending", "interrupted", "running", "damaged"};

typedef struct Row {
    int state;
    char why[256];
} Row;

/* A canonical parameter value for display: "3:min" -> "min". */
static const char *show(const char *canon) {
    const char *c = strchr(canon, ':');
    if (c && c != canon && strspn(canon, "0123456789") == (size_t)(c - canon)) return c + 1;
    return canon;
}

static void why_stale(const Plan *p, const Row *rows, int i, const cJSON *old, char *why, size_t cap) {
    const cJSON *cur = p->insts[i].identity, *oid = cJSON_GetObjectItemCaseSensitive(old, "identity");
    const char *ok = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(oid, "kind"));
    const char *nk = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cur, "kind"));
    if (!ok || strcmp(ok, nk)) {
        snprintf(why, cap, "kind changed: %s -> %s", ok ? ok : "?", nk);
        return;
    }
    double ov = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(oid, "version"));
    double nv = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cur, "version"));
    if (ov != nv) {
        snprintf(why, cap, "kind %s version %.0f -> %.0f", nk, ov, nv);
        return;
    }
    /* every changed parameter, in declaration order. A parameter at its default is left out of an identity
     * (runner/plan.c): absent from the old one means it was at its default then */
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(oid, "params");
    const SpecStage *sst = &p->spec->stages[p->insts[i].stage];
    size_t len = 0;
    for (int k = 0; k < sst->nparams; k++) {
        const ParamValue *pv = &sst->params[k];
        const char *name = pv->def->name, *o = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, name));
        if (o ? !strcmp(o, pv->canon) : pv->at_default) continue;
        if (len + 8 >= cap) break;
        const char *sep = len ? ", " : "";
        if (o && !strncmp(pv->canon, "sha256:", 7) && !strncmp(o, "sha256:", 7))
            len += (size_t)snprintf(why + len, cap - len, "%sfile of parameter %s changed", sep, name);
        else
            len += (size_t)snprintf(why + len, cap - len, "%sparameter %s: %.40s%s -> %.40s%s", sep, name,
                                    o ? show(o) : pv->def->def ? pv->def->def : "", o ? "" : " (default)",
                                    show(pv->canon), pv->at_default ? " (default)" : "");
    }
    if (len) return;
    const cJSON *v;
    const cJSON *ni = cJSON_GetObjectItemCaseSensitive(cur, "inputs"), *oi = cJSON_GetObjectItemCaseSensitive(oid, "inputs");
    const SpecStage *st = &p->spec->stages[p->insts[i].stage];
    int k = 0;
    cJSON_ArrayForEach(v, ni) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(oi, v->string);
        int same = (cJSON_IsNull(v) && cJSON_IsNull(o)) ||
                   (cJSON_IsString(v) && cJSON_IsString(o) && !strcmp(v->valuestring, o->valuestring));
        if (!same) {
            int src = p->insts[i].in[k];
            if (src < 0) snprintf(why, cap, "input %s is no longer connected", v->string);
            else
                snprintf(why, cap, "input %s changed (%s is %s)", v->string, p->spec->stages[p->insts[src].stage].name,
                         st_names[rows[src].state]);
            return;
        }
        k++;
    }
    (void)st;
    const char *os = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(oid, "seed"));
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cur, "seed"));
    if (!os || strcmp(os, ns)) snprintf(why, cap, "seed changed");
    else snprintf(why, cap, "fingerprint changed");
}

static void classify(const Plan *p, const char *root, int verify, long holder, Row *rows, int i) {
    const Inst *in = &p->insts[i];
    Row *r = &rows[i];
    r->why[0] = '\0';
    cJSON *done = rundir_read_done(root, in);
    if (done) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(done, "pruned"))) {
            r->state = ST_PRUNED;
        } else {
            char *dir = rundir_inst_path(root, in, NULL);
            r->state = rundir_check(dir, done, !verify, NULL, r->why, sizeof r->why) ? ST_DAMAGED : ST_DONE;
            free(dir);
        }
        cJSON_Delete(done);
        return;
    }
    char *tmp = rundir_inst_path(root, in, ".tmp");
    int has_tmp = fs_exists(tmp);
    free(tmp);
    if (has_tmp) {
        r->state = holder ? ST_RUNNING : ST_INTERRUPTED;
        if (holder) snprintf(r->why, sizeof r->why, "by pid %ld", holder);
        else snprintf(r->why, sizeof r->why, "will be redone");
        return;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/latest.json", root, in->dir);
    cJSON *old = fs_exists(path) ? json_parse_file(path, NULL) : NULL;
    if (old) {
        r->state = ST_STALE;
        why_stale(p, rows, i, old, r->why, sizeof r->why);
        cJSON_Delete(old);
    } else {
        r->state = ST_PENDING;
    }
}

/* The sweep's grid: one row per variant, one column per seed. */
static int status_sweep(const CliOpts *o, const Sweep *sw) {
    PureErr err;
    err_clear(&err);
    char *root = cli_run_dir(o);
    long holder = rundir_lock_holder(root);
    printf("run directory %s%s\n", root, fs_is_dir(root) ? "" : " (not created yet)");
    if (holder) printf("a `pure run` is running on it (pid %ld)\n", holder);
    printf("sweep: %d variant(s) x %d seed(s)%s%s\n", sw->nvariants, sw->nseeds, sw->baseline ? ", baseline " : "",
           sw->baseline ? sw->baseline : "");
    char **cells = xcalloc((size_t)sw->n + 1, sizeof *cells);
    FpSet all = {0}, done_set = {0}; /* distinct fingerprints: shared stage runs count once */
    int rc = PURE_EXIT_OK, w = 8;
    for (int k = 0; k < sw->n && rc == PURE_EXIT_OK; k++) {
        Spec *s = sweep_spec(sw, k, o->sets, o->nsets, cli_config()->kinds, &err);
        Plan *p = s ? plan_build(s, &err) : NULL;
        if (!p) {
            fprintf(stderr, "pure: %s\n", err.msg);
            spec_free(s);
            rc = PURE_EXIT_USAGE;
            break;
        }
        Row *rows = xcalloc((size_t)p->n + 1, sizeof *rows);
        int counts[ST_N] = {0};
        for (int i = 0; i < p->n; i++) {
            classify(p, root, o->verify, holder, rows, i);
            counts[rows[i].state]++;
            if (rows[i].state == ST_DONE || rows[i].state == ST_PRUNED) {
                if (done_set.n == done_set.cap)
                    done_set.fp = xrealloc(done_set.fp, sizeof *done_set.fp * (size_t)(done_set.cap = done_set.cap * 2 + 64));
                memcpy(done_set.fp[done_set.n++], p->insts[i].fp, 65);
            }
        }
        fpset_add_plan(&all, p);
        int done = counts[ST_DONE] + counts[ST_PRUNED];
        char cell[128];
        if (done == p->n) snprintf(cell, sizeof cell, "done (%d)", p->n);
        else if (done == 0 && !counts[ST_RUNNING] && !counts[ST_INTERRUPTED] && !counts[ST_STALE])
            snprintf(cell, sizeof cell, "pending");
        else snprintf(cell, sizeof cell, "%d/%d done", done, p->n);
        size_t l = strlen(cell);
        if (counts[ST_STALE]) snprintf(cell + l, sizeof cell - l, ", %d stale", counts[ST_STALE]);
        l = strlen(cell);
        if (counts[ST_RUNNING]) snprintf(cell + l, sizeof cell - l, ", running");
        else if (counts[ST_INTERRUPTED]) snprintf(cell + l, sizeof cell - l, ", interrupted");
        l = strlen(cell);
        if (counts[ST_DAMAGED]) snprintf(cell + l, sizeof cell - l, ", %d damaged", counts[ST_DAMAGED]);
        cells[k] = xstrdup(cell);
        if ((int)strlen(cell) > w) w = (int)strlen(cell);
        free(rows);
        plan_free(p);
        spec_free(s);
    }
    if (rc == PURE_EXIT_OK) {
        int vw = 7;
        for (int v = 0; v < sw->nvariants; v++)
            if ((int)strlen(sw->variants[v]) > vw) vw = (int)strlen(sw->variants[v]);
        printf("%-*s", vw + 2, "variant");
        for (int si = 0; si < sw->nseeds; si++) {
            char h[48];
            if (sw->seeds) snprintf(h, sizeof h, "seed %lld", (long long)sw->seeds[si]);
            else snprintf(h, sizeof h, "the spec's seed");
            printf("%-*s", w + 2, h);
        }
        printf("\n");
        for (int v = 0; v < sw->nvariants; v++) {
            printf("%-*s", vw + 2, sw->variants[v]);
            for (int si = 0; si < sw->nseeds; si++) printf("%-*s", w + 2, cells[v * sw->nseeds + si]);
            printf("\n");
        }
        printf("%d distinct stage runs (shared ones count once), %d done\n", fpset_distinct(&all),
               fpset_distinct(&done_set));
    }
    for (int k = 0; k < sw->n; k++) free(cells[k]);
    free(cells);
    fpset_free(&all);
    fpset_free(&done_set);
    free(root);
    return rc;
}

int cmd_status(int argc, char **argv) {
    CliOpts o;
    int rc = cli_parse(argc, argv, "run-dir set verify", 0, help, &o);
    if (rc) return rc > 0 ? PURE_EXIT_OK : PURE_EXIT_USAGE;
    char *saved;
    if (cli_spec_or_saved(&o, "status", help, &saved)) return PURE_EXIT_USAGE;
    Sweep *sw;
    if (cli_sweep(&o, &sw) || sw) {
        rc = sw ? status_sweep(&o, sw) : PURE_EXIT_USAGE;
        sweep_free(sw);
        free(saved);
        return rc;
    }
    Spec *s;
    Plan *p = cli_load(&o, &s);
    if (!p) {
        free(saved);
        return PURE_EXIT_USAGE;
    }
    char *root = cli_run_dir(&o);
    long holder = rundir_lock_holder(root);
    Row *rows = xcalloc((size_t)p->n + 1, sizeof *rows);
    int counts[ST_N] = {0};
    for (int i = 0; i < p->n; i++) {
        classify(p, root, o.verify, holder, rows, i);
        counts[rows[i].state]++;
    }
    printf("run directory %s%s\n", root, fs_is_dir(root) ? "" : " (not created yet)");
    if (holder) printf("a `pure run` is running on it (pid %ld)\n", holder);
    printf("%-18s %-12s %-14s %s\n", "stage", "iterations", "state", "why");
    /* one line per stage and run of consecutive iterations with the same state and reason */
    int *idx = xcalloc((size_t)p->n + 1, sizeof *idx);
    for (int k = 0; k < s->nstages; k++) {
        int si = s->order[k], n = 0;
        for (int i = 0; i < p->n; i++)
            if (p->insts[i].stage == si) idx[n++] = i;
        for (int a = 0; a < n;) {
            int b = a;
            while (b + 1 < n && rows[idx[b + 1]].state == rows[idx[a]].state && !strcmp(rows[idx[b + 1]].why, rows[idx[a]].why))
                b++;
            char its[48];
            int ia = p->insts[idx[a]].iter, ib = p->insts[idx[b]].iter;
            if (ia < 0) snprintf(its, sizeof its, "-");
            else if (a == b) snprintf(its, sizeof its, "%d", ia);
            else if (s->stages[si].every > 1) snprintf(its, sizeof its, "%d-%d/%d", ia, ib, s->stages[si].every);
            else snprintf(its, sizeof its, "%d-%d", ia, ib);
            printf("%-18s %-12s %-14s %s\n", s->stages[si].name, its, st_names[rows[idx[a]].state], rows[idx[a]].why);
            a = b + 1;
        }
    }
    free(idx);
    printf("%d stage runs:", p->n);
    const char *sep = " ";
    for (int st = 0; st < ST_N; st++)
        if (counts[st]) {
            printf("%s%d %s", sep, counts[st], st_names[st]);
            sep = ", ";
        }
    printf(" (files checked by %s)\n", o.verify ? "SHA-256" : "size and modification time");
    free(rows);
    free(root);
    free(saved);
    cli_unload(p, s);
    return PURE_EXIT_OK;
}
