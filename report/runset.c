/* runset.c - runs grouped into variants and seeds, their metrics (see runset.h). */
#include "report/runset.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"
#include "util/json.h"

/* "min-seed3" -> variant "min", seed 3; also _seed3, -s3, _s3, .seed3. */
static char *split_seed(const char *name, int *seed) {
    size_t n = strlen(name), d = n;
    while (d > 0 && isdigit((unsigned char)name[d - 1])) d--;
    *seed = -1;
    if (d == n || d == 0) return xstrdup(name);
    size_t p = d;
    if (p >= 4 && !strncmp(name + p - 4, "seed", 4)) p -= 4;
    else if (p >= 1 && name[p - 1] == 's') p -= 1;
    else return xstrdup(name);
    if (p < 2 || !strchr("-_.", name[p - 1])) return xstrdup(name);
    *seed = atoi(name + d);
    char *v = xstrdup(name);
    v[p - 1] = '\0';
    return v;
}

static void add_variant(RunSet *s, const char *name) {
    if (runset_variant(s, name) >= 0) return;
    s->variants = xrealloc(s->variants, sizeof *s->variants * (size_t)(s->nvariants + 1));
    s->variants[s->nvariants++] = xstrdup(name);
}

static RsRun *new_run(RunSet *s) {
    s->runs = xrealloc(s->runs, sizeof *s->runs * (size_t)(s->n + 1));
    RsRun *r = &s->runs[s->n];
    memset(r, 0, sizeof *r);
    return r;
}

/* sweep.json: {"baseline": NAME|null, "runs": [{"variant", "seed", "plan"}, ...]},
 * plan paths relative to the sweep directory. */
static int add_sweep(RunSet *s, const char *dir, const char *path, PureErr *err) {
    cJSON *j = json_parse_file(path, err);
    if (!j) return -1;
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(j, "runs"), *e;
    int rc = 0;
    if (!cJSON_IsArray(runs) || cJSON_GetArraySize(runs) == 0)
        rc = err_set(err, "%s: expected a \"runs\" array with at least one run", path);
    const char *base = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "baseline"));
    if (!rc && base && !s->baseline) s->baseline = xstrdup(base);
    cJSON_ArrayForEach(e, runs) {
        if (rc) break;
        const char *var = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "variant"));
        const char *plan = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "plan"));
        const cJSON *seed = cJSON_GetObjectItemCaseSensitive(e, "seed");
        if (!var || !plan) {
            rc = err_set(err, "%s: a run without \"variant\" and \"plan\" strings", path);
            break;
        }
        char *pp = plan[0] == '/' ? xstrdup(plan) : fs_join(dir, plan);
        RsRun *r = new_run(s);
        if (runview_open(dir, pp, &r->rv, err)) rc = -1;
        else {
            r->variant = xstrdup(var);
            r->seed = cJSON_IsNumber(seed) ? (int)seed->valuedouble : -1;
            free(r->rv.label);
            char lb[512];
            snprintf(lb, sizeof lb, "%s seed %d", var, r->seed);
            r->rv.label = xstrdup(lb);
            add_variant(s, var);
            s->n++;
        }
        free(pp);
    }
    cJSON_Delete(j);
    return rc;
}

/* Appends item to a ", "-separated list unless it is there already. */
static void list_add(char *list, size_t cap, const char *item) {
    size_t l = strlen(list), n = strlen(item);
    for (const char *p = list; (p = strstr(p, item)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ',' || !p[n])) return;
    if (l + n + 3 < cap) snprintf(list + l, cap - l, "%s%s", l ? ", " : "", item);
}

char *runset_sweep_plan(const char *dir, const char *variant, long long seed, PureErr *err) {
    char *path = fs_join(dir, "sweep.json");
    if (!fs_exists(path)) {
        free(path);
        return NULL;
    }
    cJSON *j = json_parse_file(path, err);
    char *plan = NULL, variants[1024] = "", seeds[512] = "";
    int found_variant = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "runs")) {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "variant"));
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "plan"));
        const cJSON *sd = cJSON_GetObjectItemCaseSensitive(e, "seed");
        if (!v || !p) continue;
        list_add(variants, sizeof variants, v);
        if (!variant || strcmp(v, variant)) continue;
        found_variant = 1;
        char num[32];
        snprintf(num, sizeof num, "%.0f", cJSON_IsNumber(sd) ? sd->valuedouble : -1.0);
        list_add(seeds, sizeof seeds, num);
        if (!plan && (seed < 0 || (cJSON_IsNumber(sd) && (long long)sd->valuedouble == seed)))
            plan = p[0] == '/' ? xstrdup(p) : fs_join(dir, p);
    }
    if (!plan && j) {
        if (!variant) err_set(err, "%s is a sweep: choose a run with --variant NAME [--seed S] (variants: %s)", dir, variants);
        else if (!found_variant) err_set(err, "%s: the sweep has no variant '%s' (variants: %s)", dir, variant, variants);
        else err_set(err, "%s: variant '%s' has no seed %lld (seeds: %s)", dir, variant, seed, seeds);
    }
    cJSON_Delete(j);
    free(path);
    return plan;
}

int runset_add(RunSet *s, const char *arg, PureErr *err) {
    const char *eq = strchr(arg, '=');
    char *name = NULL, *dir;
    /* NAME=DIR, unless the whole argument is an existing directory */
    if (eq && eq != arg && !fs_is_dir(arg)) {
        name = xstrdup(arg);
        name[eq - arg] = '\0';
        dir = xstrdup(eq + 1);
    } else dir = xstrdup(arg);
    char *sweep = fs_join(dir, "sweep.json");
    int rc;
    if (!name && fs_exists(sweep)) rc = add_sweep(s, dir, sweep, err);
    else {
        RsRun *r = new_run(s);
        rc = runview_open(dir, NULL, &r->rv, err);
        if (!rc) {
            int seed;
            char *v = split_seed(r->rv.label, &seed);
            r->variant = name ? xstrdup(name) : v;
            if (name) free(v);
            r->seed = seed;
            add_variant(s, r->variant);
            s->n++;
        }
    }
    free(sweep);
    free(name);
    free(dir);
    return rc;
}

void runset_free(RunSet *s) {
    for (int i = 0; i < s->n; i++) {
        free(s->runs[i].variant);
        runview_free(&s->runs[i].rv);
    }
    for (int i = 0; i < s->nvariants; i++) free(s->variants[i]);
    free(s->runs);
    free(s->variants);
    free(s->baseline);
    memset(s, 0, sizeof *s);
}

int runset_variant(const RunSet *s, const char *name) {
    for (int i = 0; i < s->nvariants; i++)
        if (!strcmp(s->variants[i], name)) return i;
    return -1;
}

/* ---------------------------------------------------------------- metrics */

static int line_iter(const cJSON *line) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(line, "iteration");
    return cJSON_IsNumber(it) ? (int)it->valuedouble : -1;
}

int runset_metric(const RunView *rv, const char *metric, double *v, PureErr *err) {
    const char *dot = strchr(metric, '.'), *at = strchr(metric, '@');
    if (!dot || dot == metric || !dot[1] || (at && at < dot))
        return err_set(err, "metric '%s': expected STAGE.KEY or STAGE.KEY@ITERATION (e.g. final_eval.accuracy)",
                       metric);
    int want = -2;
    if (at) {
        char *end;
        long w = strtol(at + 1, &end, 10);
        if (*end || end == at + 1 || w < 0)
            return err_set(err, "metric '%s': expected an iteration number after '@'", metric);
        want = (int)w;
    }
    char stage[256], key[256];
    snprintf(stage, sizeof stage, "%.*s", (int)(dot - metric), metric);
    snprintf(key, sizeof key, "%.*s", at ? (int)(at - dot - 1) : (int)strlen(dot + 1), dot + 1);
    const cJSON *line, *best = NULL;
    int best_it = -2;
    cJSON_ArrayForEach(line, rv->metrics) {
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "stage"));
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(line, key);
        if (!st || strcmp(st, stage) || !cJSON_IsNumber(val)) continue;
        int it = line_iter(line);
        if (want != -2 ? it == want : it > best_it) {
            best = val;
            best_it = it;
        }
    }
    if (!best) return 1;
    *v = best->valuedouble;
    return 0;
}

int runset_series(const RunView *rv, const char *stage, const char *key, int **its, double **vals) {
    int n = 0, cap = 0;
    int *it = NULL;
    double *v = NULL;
    const cJSON *line;
    cJSON_ArrayForEach(line, rv->metrics) {
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "stage"));
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(line, key);
        int i = line_iter(line);
        if (!st || strcmp(st, stage) || !cJSON_IsNumber(val) || i < 0) continue;
        if (n == cap) {
            cap = cap * 2 + 16;
            it = xrealloc(it, sizeof *it * (size_t)cap);
            v = xrealloc(v, sizeof *v * (size_t)cap);
        }
        /* keep iterations ascending (metrics.jsonl is in commit order) */
        int k = n++;
        while (k > 0 && it[k - 1] > i) {
            it[k] = it[k - 1];
            v[k] = v[k - 1];
            k--;
        }
        it[k] = i;
        v[k] = val->valuedouble;
    }
    *its = it;
    *vals = v;
    return n;
}
