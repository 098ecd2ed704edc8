/* runview.c - a run directory's committed stage runs, the run's own set of
 * them and its metrics (see runview.h). Read-only: nothing here writes into
 * the run directory or takes its lock, so it works during a run. */
#include "report/runview.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"
#include "util/json.h"

/* ---------------------------------------------------------------- the store */

static int is_fp16(const char *s) {
    int n = 0;
    for (; s[n]; n++)
        if (!isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n])) return 0;
    return n == 16;
}

static int is_iter(const char *s) {
    if (!*s) return 0;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p)) return 0;
    return 1;
}

/* Sorted names of a directory's entries (caller frees); -1 when it cannot be listed. */
static int list_dir(const char *dir, char ***names) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0, cap = 16;
    char **v = xmalloc(sizeof *v * (size_t)cap);
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) v = xrealloc(v, sizeof *v * (size_t)(cap *= 2));
        v[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    for (int i = 1; i < n; i++) /* insertion sort: directories are small */
        for (int j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            char *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    *names = v;
    return n;
}

static void free_names(char **v, int n) {
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Adds the commit directory `dir` (FP16/) when it holds a done record. A
 * FP16/ without done.json is an interrupted commit: not part of any run. */
static int add_commit(RunView *rv, const char *dir, int *cap, PureErr *err) {
    char *path = fs_join(dir, "done.json");
    if (!fs_exists(path)) {
        free(path);
        return 0;
    }
    cJSON *d = json_parse_file(path, err);
    if (!d) {
        free(path);
        return -1;
    }
    const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "fingerprint"));
    const char *stage = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "stage"));
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(d, "iteration");
    const char *kind =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "identity"), "kind"));
    int hex = fp && strlen(fp) == 64;
    for (int i = 0; hex && i < 64; i++) hex = (fp[i] >= '0' && fp[i] <= '9') || (fp[i] >= 'a' && fp[i] <= 'f');
    if (!hex || !stage || !cJSON_IsNumber(it) || !kind) {
        err_set(err, "%s: not a done record (expected a 64-hex-digit fingerprint, stage, iteration and identity.kind)",
                path);
        cJSON_Delete(d);
        free(path);
        return -1;
    }
    free(path);
    if (rv->nstore == *cap) rv->store = xrealloc(rv->store, sizeof *rv->store * (size_t)(*cap = *cap * 2 + 16));
    RvInst *in = &rv->store[rv->nstore++];
    memset(in, 0, sizeof *in);
    in->stage = xstrdup(stage);
    in->iter = (int)it->valuedouble;
    in->kind = xstrdup(kind);
    snprintf(in->fp, sizeof in->fp, "%s", fp);
    in->dir = xstrdup(dir);
    in->done = d;
    in->pruned = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "pruned"));
    return 0;
}

static int scan_store(RunView *rv, PureErr *err) {
    char *stages = fs_join(rv->root, "stages");
    char **names;
    int n = list_dir(stages, &names), cap = 0, rc = 0;
    if (n < 0) {
        err_set(err, "%s: not a run directory (no stages/ folder)", rv->root);
        free(stages);
        return -1;
    }
    for (int i = 0; i < n && !rc; i++) {
        char *sdir = fs_join(stages, names[i]);
        char **sub;
        int m = list_dir(sdir, &sub);
        for (int j = 0; j < m && !rc; j++) {
            char *p = fs_join(sdir, sub[j]);
            if (is_fp16(sub[j])) rc = add_commit(rv, p, &cap, err);
            else if (is_iter(sub[j]) && fs_is_dir(p)) {
                char **fps;
                int k = list_dir(p, &fps);
                for (int f = 0; f < k && !rc; f++) {
                    if (!is_fp16(fps[f])) continue;
                    char *c = fs_join(p, fps[f]);
                    rc = add_commit(rv, c, &cap, err);
                    free(c);
                }
                if (k > 0) free_names(fps, k);
            }
            free(p);
        }
        if (m > 0) free_names(sub, m);
        free(sdir);
    }
    free_names(names, n);
    free(stages);
    return rc;
}

/* Fingerprint lookups go through a sorted index: a long run has tens of
 * thousands of stage runs and metrics lines. */
static const RunView *sort_rv;
static int cmp_fp(const void *a, const void *b) {
    return strcmp(sort_rv->store[*(const int *)a].fp, sort_rv->store[*(const int *)b].fp);
}

static void build_index(RunView *rv) {
    rv->byfp = xcalloc((size_t)rv->nstore + 1, sizeof *rv->byfp);
    for (int i = 0; i < rv->nstore; i++) rv->byfp[i] = i;
    sort_rv = rv;
    qsort(rv->byfp, (size_t)rv->nstore, sizeof *rv->byfp, cmp_fp);
    sort_rv = NULL;
}

const RvInst *runview_by_fp(const RunView *rv, const char *fp) {
    int lo = 0, hi = rv->nstore - 1;
    while (fp && lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(rv->store[rv->byfp[mid]].fp, fp);
        if (!c) return &rv->store[rv->byfp[mid]];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

static int store_index(const RunView *rv, const char *fp) {
    const RvInst *in = runview_by_fp(rv, fp);
    return in ? (int)(in - rv->store) : -1;
}

/* ---------------------------------------------------------------- the run's set */

static void run_add(RunView *rv, int idx) {
    if (idx < 0 || rv->inrun[idx]) return;
    rv->inrun[idx] = 1;
    rv->run = xrealloc(rv->run, sizeof *rv->run * (size_t)(rv->nrun + 1));
    rv->run[rv->nrun++] = idx;
}

/* Plan file: {"instances": [{"stage", "iteration", "fingerprint"}, ...]};
 * instances not committed yet are simply not part of the view. */
static int select_plan(RunView *rv, const char *path, PureErr *err) {
    rv->plan = json_parse_file(path, err);
    if (!rv->plan) return -1;
    const cJSON *insts = cJSON_GetObjectItemCaseSensitive(rv->plan, "instances");
    if (!cJSON_IsArray(insts)) return err_set(err, "%s: expected an object with an \"instances\" array", path);
    const cJSON *e;
    cJSON_ArrayForEach(e, insts) {
        const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "fingerprint"));
        if (!fp) return err_set(err, "%s: an instance without a \"fingerprint\" string", path);
        run_add(rv, store_index(rv, fp));
    }
    rv->plan_path = xstrdup(path);
    return 0;
}

/* No plan file: the newest commit of each stage and iteration. */
static void select_latest(RunView *rv) {
    for (int i = 0; i < rv->nstore; i++) {
        char *parent = fs_dirname(rv->store[i].dir), *latest = fs_join(parent, "latest.json");
        char *text = fs_read_file(latest, NULL, NULL);
        cJSON *j = text ? cJSON_Parse(text) : NULL;
        const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "fingerprint"));
        if (fp && !strcmp(fp, rv->store[i].fp)) run_add(rv, i);
        cJSON_Delete(j);
        free(text);
        free(latest);
        free(parent);
    }
}

/* metrics.jsonl lines of this run's fingerprints; a torn last line (a crash
 * while appending) is skipped, as the runner does. */
static void load_metrics(RunView *rv) {
    rv->metrics = cJSON_CreateArray();
    char *path = fs_join(rv->root, "metrics.jsonl");
    char *text = fs_read_file(path, NULL, NULL);
    free(path);
    if (!text) return;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        cJSON *j = cJSON_Parse(line);
        const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "fingerprint"));
        int idx = fp ? store_index(rv, fp) : -1;
        /* a stage run appears once, even if a repaired line was appended twice */
        if (idx >= 0 && rv->inrun[idx] == 1) {
            rv->inrun[idx] = 2;
            cJSON_AddItemToArray(rv->metrics, j);
        }
        else cJSON_Delete(j);
    }
    free(text);
}

int runview_open(const char *root, const char *plan, RunView *rv, PureErr *err) {
    memset(rv, 0, sizeof *rv);
    if (!fs_is_dir(root)) return err_set(err, "%s: no such run directory", root);
    rv->root = xstrdup(root);
    char *trimmed = xstrdup(root);
    for (size_t n = strlen(trimmed); n > 1 && trimmed[n - 1] == '/'; n--) trimmed[n - 1] = '\0';
    const char *slash = strrchr(trimmed, '/');
    rv->label = xstrdup(slash && slash[1] ? slash + 1 : trimmed);
    free(trimmed);
    if (scan_store(rv, err)) goto fail;
    build_index(rv);
    rv->inrun = xcalloc((size_t)rv->nstore + 1, 1);
    char *def = fs_join(root, "plan.json");
    int rc = 0;
    if (plan) rc = select_plan(rv, plan, err);
    else if (fs_exists(def)) rc = select_plan(rv, def, err);
    else select_latest(rv);
    free(def);
    if (rc) goto fail;
    load_metrics(rv);
    return 0;
fail:
    runview_free(rv);
    return -1;
}

void runview_free(RunView *rv) {
    for (int i = 0; i < rv->nstore; i++) {
        free(rv->store[i].stage);
        free(rv->store[i].kind);
        free(rv->store[i].dir);
        cJSON_Delete(rv->store[i].done);
    }
    free(rv->store);
    free(rv->run);
    free(rv->byfp);
    free(rv->inrun);
    free(rv->root);
    free(rv->label);
    free(rv->plan_path);
    cJSON_Delete(rv->metrics);
    cJSON_Delete(rv->plan);
    memset(rv, 0, sizeof *rv);
}

/* ---------------------------------------------------------------- queries */

const RvInst *runview_get(const RunView *rv, const char *stage, int iter) {
    for (int i = 0; i < rv->nrun; i++) {
        const RvInst *in = &rv->store[rv->run[i]];
        if (in->iter == iter && !strcmp(in->stage, stage)) return in;
    }
    return NULL;
}

char *runview_output(const RvInst *in, const char *port, PureErr *err) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(in->done, "outputs"), port);
    const cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "files"), 0);
    const char *rel = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "path"));
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "kind"));
    char lb[160];
    if (in->iter >= 0) snprintf(lb, sizeof lb, "%s[%d]", in->stage, in->iter);
    else snprintf(lb, sizeof lb, "%s", in->stage);
    if (!o || !rel || !kind || strcmp(kind, "h5")) {
        err_set(err, "%s (%s): no HDF5 output '%s' in %s/done.json", lb, in->kind, port, in->dir);
        return NULL;
    }
    if (in->pruned) {
        err_set(err, "%s: its outputs were deleted by keep_last (run `pure run` again to recompute them)", lb);
        return NULL;
    }
    char *path = fs_join(in->dir, rel);
    if (!fs_exists(path)) {
        err_set(err, "%s: %s is missing (the run directory was changed by hand?)", lb, path);
        free(path);
        return NULL;
    }
    return path;
}

const RvInst *runview_input(const RunView *rv, const RvInst *in, const char *port, char **path, PureErr *err) {
    if (path) *path = NULL;
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(in->done, "identity"), "inputs");
    const char *ref = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ins, port));
    if (!ref) {
        err_set(err, "%s: input '%s' is not connected", in->stage, port);
        return NULL;
    }
    const char *colon = strchr(ref, ':');
    char fp[65];
    snprintf(fp, sizeof fp, "%.*s", colon ? (int)(colon - ref) : (int)strlen(ref), ref);
    const RvInst *prod = runview_by_fp(rv, fp);
    if (!prod) {
        err_set(err, "%s: input '%s' comes from %.16s, which is not committed in %s", in->stage, port, fp, rv->root);
        return NULL;
    }
    if (path && colon) {
        *path = runview_output(prod, colon + 1, err);
        if (!*path) return NULL;
    }
    return prod;
}

int runview_of_kind(const RunView *rv, const char *kind, const RvInst ***out) {
    const RvInst **v = xcalloc((size_t)rv->nrun + 1, sizeof *v);
    int n = 0;
    for (int i = 0; i < rv->nrun; i++)
        if (!strcmp(rv->store[rv->run[i]].kind, kind)) v[n++] = &rv->store[rv->run[i]];
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1]->iter > v[j]->iter; j--) {
            const RvInst *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    *out = v;
    return n;
}

int runview_last_iteration(const RunView *rv) {
    int last = -1;
    for (int i = 0; i < rv->nrun; i++)
        if (rv->store[rv->run[i]].iter > last) last = rv->store[rv->run[i]].iter;
    return last;
}
