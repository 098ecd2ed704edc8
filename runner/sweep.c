/* sweep.c - the `sweep:` block: parsing, expansion into runs, and the
 * files a sweep adds to its run directory (see sweep.h). */
#include "runner/sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/spec_internal.h"
#include "util/fs.h"

#define SWEEP_MAX_RUNS 10000

static const char *const sweep_keys[] = {"seeds", "grid", "variants", "baseline", NULL};

/* A dotted key: non-empty segments, and not inside the sweep block itself. */
static int check_key(const char *key, const YMark *m, PureErr *err) {
    size_t n = strlen(key);
    if (!n || key[0] == '.' || key[n - 1] == '.' || strstr(key, ".."))
        return yerr(err, m, "sweep: '%s' is not a dotted key (e.g. loop.stages.credit.rule)", key);
    if (!strcmp(key, "sweep") || !strncmp(key, "sweep.", 6))
        return yerr(err, m, "sweep: '%s': a sweep cannot change its own block", key);
    return 0;
}

static void add_variant(Sweep *sw, const char *name) {
    sw->variants = xrealloc(sw->variants, sizeof *sw->variants * (size_t)(sw->nvariants + 1));
    sw->variants[sw->nvariants++] = xstrdup(name);
}

static int has_variant(const Sweep *sw, const char *name) {
    for (int i = 0; i < sw->nvariants; i++)
        if (!strcmp(sw->variants[i], name)) return 1;
    return 0;
}

/* A variant's file-safe name: letters, digits and -_.=, others become '_'. */
static char *safe_name(const char *s) {
    char *o = xstrdup(s);
    for (char *p = o; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.=,", *p)))
            *p = '_';
    return o;
}

/* Adds every seed of one variant with overrides ov (copied). */
static int add_runs(Sweep *sw, const char *variant, const SpecOverride *ov, int nov, const YNode *seeds,
                    PureErr *err) {
    for (int s = 0; s < sw->nseeds; s++) {
        if (sw->n >= SWEEP_MAX_RUNS)
            return yerr(err, &seeds->mark, "sweep: more than %d runs (variants x seeds)", SWEEP_MAX_RUNS);
        sw->runs = xrealloc(sw->runs, sizeof *sw->runs * (size_t)(sw->n + 1));
        SweepRun *r = &sw->runs[sw->n++];
        memset(r, 0, sizeof *r);
        r->variant = xstrdup(variant);
        r->seed = sw->seeds ? sw->seeds[s] : -1;
        r->nov = nov + (sw->seeds != NULL);
        r->ov = xcalloc((size_t)r->nov + 1, sizeof *r->ov);
        memcpy(r->ov, ov, sizeof *ov * (size_t)nov);
        if (sw->seeds) {
            r->ov[nov].key = "seed";
            r->ov[nov].val = seeds->items[s];
        }
        char lb[600], *safe = safe_name(variant);
        if (sw->seeds) snprintf(lb, sizeof lb, "%s seed %lld", variant, (long long)r->seed);
        else snprintf(lb, sizeof lb, "%s", variant);
        r->label = xstrdup(lb);
        if (sw->seeds) snprintf(lb, sizeof lb, "%s-seed%lld", safe, (long long)r->seed);
        else snprintf(lb, sizeof lb, "%s", safe);
        r->name = xstrdup(lb);
        free(safe);
    }
    return 0;
}

static int parse_seeds(Sweep *sw, const YNode *seeds, PureErr *err) {
    char b[80];
    if (!seeds || seeds->kind == YN_NULL) {
        sw->nseeds = 1;
        return 0;
    }
    if (seeds->kind != YN_SEQ || seeds->n == 0)
        return yerr(err, &seeds->mark, "sweep.seeds: expected a list of seeds, e.g. [1, 2, 3]; got %s",
                    ynode_describe(seeds, b, sizeof b));
    sw->seeds = xcalloc((size_t)seeds->n, sizeof *sw->seeds);
    for (int i = 0; i < seeds->n; i++) {
        int64_t v;
        if (spec_get_int(seeds->items[i], "sweep.seeds", 0, INT64_MAX, &v, err)) return -1;
        for (int j = 0; j < i; j++)
            if (sw->seeds[j] == v) return yerr(err, &seeds->items[i]->mark, "sweep.seeds: seed %lld twice", (long long)v);
        sw->seeds[i] = v;
    }
    sw->nseeds = seeds->n;
    return 0;
}

/* Every point of the grid, as a variant "k=v,k2=v2" (k: the key's last
 * segment, or the whole key when two grid keys end alike). */
static int expand_grid(Sweep *sw, const YNode *grid, const YNode *seeds, PureErr *err) {
    char b[80];
    if (!grid || grid->kind == YN_NULL) return 0;
    if (grid->kind != YN_MAP || grid->n == 0)
        return yerr(err, &grid->mark, "sweep.grid: expected a map of dotted key -> list of values; got %s",
                    ynode_describe(grid, b, sizeof b));
    long long points = 1;
    for (int i = 0; i < grid->n; i++) {
        if (check_key(grid->keys[i], &grid->kmarks[i], err)) return -1;
        const YNode *vals = grid->items[i];
        if (vals->kind != YN_SEQ || vals->n == 0)
            return yerr(err, &vals->mark, "sweep.grid.%s: expected a non-empty list of values, got %s", grid->keys[i],
                        ynode_describe(vals, b, sizeof b));
        points *= vals->n;
        if (points * sw->nseeds > SWEEP_MAX_RUNS)
            return yerr(err, &grid->mark, "sweep.grid: more than %d runs (grid points x seeds)", SWEEP_MAX_RUNS);
    }
    int nk = grid->n, *at = xcalloc((size_t)nk, sizeof *at), rc = 0;
    SpecOverride *ov = xcalloc((size_t)nk, sizeof *ov);
    for (long long p = 0; p < points && !rc; p++) {
        char name[1024] = "";
        size_t len = 0;
        for (int i = 0; i < nk; i++) {
            const YNode *v = grid->items[i]->items[at[i]];
            ov[i].key = grid->keys[i];
            ov[i].val = v;
            const char *dot = strrchr(grid->keys[i], '.'), *shortk = dot ? dot + 1 : grid->keys[i];
            for (int j = 0; j < nk; j++) {
                const char *d2 = strrchr(grid->keys[j], '.');
                if (j != i && !strcmp(d2 ? d2 + 1 : grid->keys[j], shortk)) shortk = grid->keys[i];
            }
            char vs[64];
            if (v->kind == YN_SCALAR) snprintf(vs, sizeof vs, "%s", v->str);
            else snprintf(vs, sizeof vs, "#%d", at[i] + 1); /* a list or map value: its position */
            len += (size_t)snprintf(name + len, sizeof name - len, "%s%s=%s", i ? "," : "", shortk, vs);
            if (len >= sizeof name) len = sizeof name - 1;
        }
        if (has_variant(sw, name)) {
            rc = yerr(err, &grid->mark, "sweep.grid: two points are both named '%s' (repeated values?)", name);
            break;
        }
        add_variant(sw, name);
        rc = add_runs(sw, name, ov, nk, seeds, err);
        for (int i = nk - 1; i >= 0; i--) { /* odometer: the last key changes fastest */
            if (++at[i] < grid->items[i]->n) break;
            at[i] = 0;
        }
    }
    free(at);
    free(ov);
    return rc;
}

static int expand_named(Sweep *sw, const YNode *vars, const YNode *seeds, PureErr *err) {
    char b[80];
    if (!vars || vars->kind == YN_NULL) return 0;
    if (vars->kind != YN_MAP || vars->n == 0)
        return yerr(err, &vars->mark, "sweep.variants: expected a map of name -> {dotted key: value}; got %s",
                    ynode_describe(vars, b, sizeof b));
    for (int i = 0; i < vars->n; i++) {
        const char *name = vars->keys[i];
        const YNode *v = vars->items[i];
        if (!name[0]) return yerr(err, &vars->kmarks[i], "sweep.variants: a variant needs a name");
        if (has_variant(sw, name))
            return yerr(err, &vars->kmarks[i], "sweep.variants: '%s' is also a grid point's name", name);
        if (v->kind != YN_MAP && v->kind != YN_NULL)
            return yerr(err, &v->mark, "sweep.variants.%s: expected a map of dotted key -> value ({} for the spec as "
                        "it is), got %s", name, ynode_describe(v, b, sizeof b));
        int n = v->kind == YN_MAP ? v->n : 0;
        SpecOverride *ov = xcalloc((size_t)n + 1, sizeof *ov);
        for (int k = 0; k < n; k++) {
            if (check_key(v->keys[k], &v->kmarks[k], err)) {
                free(ov);
                return -1;
            }
            ov[k].key = v->keys[k];
            ov[k].val = v->items[k];
        }
        add_variant(sw, name);
        int rc = add_runs(sw, name, ov, n, seeds, err);
        free(ov);
        if (rc) return -1;
    }
    return 0;
}

int sweep_load(const char *path, const char *const *sets, int nsets, Sweep **out, PureErr *err) {
    *out = NULL;
    YNode *tree = spec_tree_load(path, sets, nsets, err);
    if (!tree) return -1;
    const YNode *blk = ynode_get(tree, "sweep");
    if (!blk || blk->kind == YN_NULL) {
        ynode_free(tree);
        return 0;
    }
    char b[80];
    Sweep *sw = xcalloc(1, sizeof *sw);
    sw->path = xstrdup(path);
    sw->tree = tree;
    int rc = 0;
    if (blk->kind != YN_MAP)
        rc = yerr(err, &blk->mark, "sweep: expected a map with seeds, grid, variants, baseline; got %s",
                  ynode_describe(blk, b, sizeof b));
    if (!rc) rc = spec_check_keys(blk, sweep_keys, "sweep", err);
    const YNode *seeds = rc ? NULL : ynode_get(blk, "seeds");
    if (!rc) rc = parse_seeds(sw, seeds, err);
    if (!rc) rc = expand_grid(sw, ynode_get(blk, "grid"), seeds, err);
    if (!rc) rc = expand_named(sw, ynode_get(blk, "variants"), seeds, err);
    if (!rc && sw->nvariants == 0) {
        add_variant(sw, "base");
        rc = add_runs(sw, "base", NULL, 0, seeds, err);
    }
    const YNode *base = rc ? NULL : ynode_get(blk, "baseline");
    if (base && base->kind != YN_NULL) {
        if (base->kind != YN_SCALAR) rc = yerr(err, &base->mark, "sweep.baseline: expected a variant's name");
        else if (!has_variant(sw, base->str)) {
            char hint[160];
            const char **names = xcalloc((size_t)sw->nvariants + 1, sizeof *names);
            for (int i = 0; i < sw->nvariants; i++) names[i] = sw->variants[i];
            suggest_hint(base->str, names, hint, sizeof hint);
            free(names);
            rc = yerr(err, &base->mark, "sweep.baseline: no variant named '%s'%s (variants: %s%s)", base->str, hint,
                      sw->variants[0], sw->nvariants > 1 ? ", ..." : "");
        } else sw->baseline = xstrdup(base->str);
    }
    if (rc) {
        sweep_free(sw);
        return -1;
    }
    *out = sw;
    return 0;
}

void sweep_free(Sweep *sw) {
    if (!sw) return;
    for (int i = 0; i < sw->n; i++) {
        free(sw->runs[i].variant);
        free(sw->runs[i].ov);
        free(sw->runs[i].label);
        free(sw->runs[i].name);
    }
    for (int i = 0; i < sw->nvariants; i++) free(sw->variants[i]);
    free(sw->runs);
    free(sw->variants);
    free(sw->seeds);
    free(sw->baseline);
    free(sw->path);
    ynode_free(sw->tree);
    free(sw);
}

Spec *sweep_spec(const Sweep *sw, int k, const char *const *sets, int nsets, const StageKind *const *kinds,
                 PureErr *err) {
    const SweepRun *r = &sw->runs[k];
    /* a variant without overrides still loads as a sweep run (its saved spec drops the block) */
    static const SpecOverride none;
    Spec *s = spec_load_ex(sw->path, sets, nsets, r->nov ? r->ov : &none, r->nov, kinds, err);
    if (!s) err_prefix(err, "sweep run '%s'", r->label);
    return s;
}

/* ---------------------------------------------------------------- counting */

void fpset_add_plan(FpSet *s, const Plan *p) {
    if (s->n + p->n > s->cap) {
        s->cap = (s->n + p->n) * 2;
        s->fp = xrealloc(s->fp, sizeof *s->fp * (size_t)s->cap);
    }
    for (int i = 0; i < p->n; i++) memcpy(s->fp[s->n++], p->insts[i].fp, 65);
}

static int cmp_fp(const void *a, const void *b) { return memcmp(a, b, 64); }

int fpset_distinct(FpSet *s) {
    if (s->n == 0) return 0;
    qsort(s->fp, (size_t)s->n, sizeof *s->fp, cmp_fp);
    int d = 1;
    for (int i = 1; i < s->n; i++) d += memcmp(s->fp[i - 1], s->fp[i], 64) != 0;
    return d;
}

void fpset_free(FpSet *s) {
    free(s->fp);
    memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------------- files */

static int write_json(const char *path, cJSON *j, PureErr *err) {
    char *text = cJSON_Print(j);
    int rc = fs_write_atomic(path, text, strlen(text), err);
    cJSON_free(text);
    cJSON_Delete(j);
    return rc;
}

int plan_write_json(const Plan *p, const char *path, PureErr *err) {
    cJSON *j = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(j, "instances");
    cJSON_AddStringToObject(j, "spec", p->spec->path);
    for (int i = 0; i < p->n; i++) {
        const Inst *in = &p->insts[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "stage", p->spec->stages[in->stage].name);
        cJSON_AddNumberToObject(e, "iteration", in->iter);
        cJSON_AddStringToObject(e, "kind", p->spec->stages[in->stage].kind->kind);
        cJSON_AddStringToObject(e, "fingerprint", in->fp);
        cJSON_AddItemToArray(a, e);
    }
    return write_json(path, j, err);
}

int sweep_write_plan(const Sweep *sw, int k, const char *root, const Plan *p, PureErr *err) {
    char rel[64];
    snprintf(rel, sizeof rel, "plans/%d.json", k);
    char *dir = fs_join(root, "plans"), *json = fs_join(root, rel);
    snprintf(rel, sizeof rel, "plans/%d.yaml", k);
    char *yaml = fs_join(root, rel);
    int rc = fs_mkdir_p(dir, err) || plan_write_json(p, json, err) || spec_write_resolved(p->spec, yaml, err);
    free(dir);
    free(json);
    free(yaml);
    (void)sw;
    return rc;
}

int sweep_write_index(const Sweep *sw, const char *root, PureErr *err) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "spec", sw->path);
    if (sw->baseline) cJSON_AddStringToObject(j, "baseline", sw->baseline);
    else cJSON_AddNullToObject(j, "baseline");
    cJSON *vs = cJSON_AddArrayToObject(j, "variants");
    for (int i = 0; i < sw->nvariants; i++) cJSON_AddItemToArray(vs, cJSON_CreateString(sw->variants[i]));
    cJSON *runs = cJSON_AddArrayToObject(j, "runs");
    for (int k = 0; k < sw->n; k++) {
        const SweepRun *r = &sw->runs[k];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "variant", r->variant);
        if (r->seed >= 0) cJSON_AddNumberToObject(e, "seed", (double)r->seed);
        else cJSON_AddNullToObject(e, "seed");
        char rel[64];
        snprintf(rel, sizeof rel, "plans/%d.json", k);
        cJSON_AddStringToObject(e, "plan", rel);
        cJSON_AddStringToObject(e, "name", r->name);
        cJSON *ov = cJSON_AddObjectToObject(e, "overrides");
        for (int i = 0; i < r->nov; i++) {
            const YNode *v = r->ov[i].val;
            if (v->kind == YN_SCALAR) cJSON_AddStringToObject(ov, r->ov[i].key, v->str);
            else cJSON_AddStringToObject(ov, r->ov[i].key, v->kind == YN_SEQ ? "(a list)" : "(a map)");
        }
        cJSON_AddItemToArray(runs, e);
    }
    char *path = fs_join(root, "sweep.json");
    int rc = write_json(path, j, err);
    free(path);
    return rc;
}
