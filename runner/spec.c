/* spec.c - validation of a resolved spec tree against the stage registry.
 *
 * Passes, each reporting the first error with file:line:col:
 *   1. top-level and loop keys; every stage's name, kind, reserved keys and
 *      typed parameters (defaults filled in, PT_PATH files resolved + hashed);
 *   2. the loop state (initial values and updates) and every stage's inputs:
 *      ports exist, references resolve, artifact kinds match, `every` fits;
 *   3. cycles and a topological order per section;
 *   4. the kinds' own cross-parameter checks, on the typed parameters.
 */
#include "runner/spec_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/fs.h"
#include "util/hash.h"

/* `sweep` is read by runner/sweep.c (spec_sweep_load); a single run ignores it */
/* Frees what a parsed ParamValue owns. */
static void param_value_clear(ParamValue *p) {
    free(p->s);
    free(p->canon);
    for (int k = 0; k < p->nlist; k++) free(p->list[k]);
    free(p->list);
    p->s = p->canon = NULL, p->list = NULL, p->nlist = 0;
}

static const char *top_keys[] = {"extends", "vars", "seed",        "description", "stages",
                                 "loop",    "after", "tensorboard", "sweep",       NULL};
static const char *loop_keys[] = {"iterations", "state", "stages", "update", NULL};
static const char *reserved_keys[] = {"kind", "inputs", "every", "keep_last", NULL};
#define sec_name spec_section_names

/* ---------------------------------------------------------------- stages */

static int valid_name(const char *s) {
    if (!*s || strlen(s) > 64) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return 0;
    return 1;
}

static const char **kind_names(const Spec *s) {
    const StageKind *const *all = s->kinds;
    int n = 0;
    while (all[n]) n++;
    const char **names = xcalloc((size_t)n + 1, sizeof *names);
    for (int i = 0; i < n; i++) names[i] = all[i]->kind;
    return names;
}

static int add_stage(Spec *s, const char *name, const YMark *nmark, const YNode *node, Section sec,
                     PureErr *err) {
    char b[80], who[160];
    if (!valid_name(name))
        return yerr(err, nmark, "stage name '%s': expected letters, digits, '_' or '-' (at most 64)", name);
    int prev = spec_stage_index(s, name);
    if (prev >= 0)
        return yerr(err, nmark, "stage '%s' is already defined at %s:%d:%d", name, s->stages[prev].mark->file,
                    s->stages[prev].mark->line, s->stages[prev].mark->col);
    if (node->kind != YN_MAP)
        return yerr(err, &node->mark, "stage '%s': expected a map with kind: and parameters, got %s", name,
                    ynode_describe(node, b, sizeof b));
    SpecStage *st = &s->stages[s->nstages++];
    memset(st, 0, sizeof *st);
    st->name = xstrdup(name);
    st->sec = sec;
    st->mark = nmark;
    st->every = 1;
    const YNode *k = ynode_get(node, "kind");
    if (!k) return yerr(err, nmark, "stage '%s': missing 'kind:' (see `pure stages` for the kinds)", name);
    if (k->kind != YN_SCALAR)
        return yerr(err, &k->mark, "stage '%s': kind: expected a stage kind name, got %s", name,
                    ynode_describe(k, b, sizeof b));
    st->kind = stage_kind_find(s->kinds, k->str);
    if (!st->kind) {
        const char **names = kind_names(s);
        char hint[128];
        suggest_hint(k->str, names, hint, sizeof hint);
        free(names);
        return yerr(err, &k->mark, "stage '%s': unknown stage kind '%s'%s (see `pure stages`)", name, k->str, hint);
    }
    snprintf(who, sizeof who, "stage '%s' (kind %s)", name, st->kind->kind);

    int64_t v;
    const YNode *ev = ynode_get(node, "every"), *kl = ynode_get(node, "keep_last");
    if (sec != SEC_LOOP && (ev || kl)) {
        const YNode *bad = ev ? ev : kl;
        return yerr(err, &bad->mark, "%s: '%s' is only allowed on stages inside loop.stages", who,
                    ev ? "every" : "keep_last");
    }
    char what[200];
    if (ev) {
        snprintf(what, sizeof what, "%s: every", who);
        if (spec_get_int(ev, what, 1, 1000000, &v, err)) return -1;
        st->every = (int)v;
    }
    if (kl) {
        snprintf(what, sizeof what, "%s: keep_last", who);
        if (spec_get_int(kl, what, 0, 1000000, &v, err)) return -1;
        st->keep_last = (int)v;
    }

    /* parameters: every non-reserved key must be declared by the kind */
    const ParamDef *defs = st->kind->params;
    int np = 0;
    while (defs && defs[np].name) np++;
    st->nparams = np;
    st->params = xcalloc((size_t)np + 1, sizeof *st->params);
    const char **pnames = xcalloc((size_t)np + 5, sizeof *pnames);
    for (int i = 0; i < np; i++) {
        st->params[i].def = &defs[i];
        pnames[i] = defs[i].name;
    }
    for (int i = 0; reserved_keys[i]; i++) pnames[np + i] = reserved_keys[i];
    for (int i = 0; i < node->n; i++) {
        const char *key = node->keys[i];
        int reserved = 0;
        for (int r = 0; reserved_keys[r]; r++) reserved |= !strcmp(key, reserved_keys[r]);
        if (reserved) continue;
        int j = 0;
        while (j < np && strcmp(defs[j].name, key)) j++;
        if (j == np) {
            char hint[128];
            suggest_hint(key, pnames, hint, sizeof hint);
            free(pnames);
            return yerr(err, &node->kmarks[i], "%s: unknown parameter '%s'%s", who, key, hint);
        }
        st->params[j].set = 1;
        if (spec_parse_param(&st->params[j], node->items[i], who, err)) {
            free(pnames);
            return -1;
        }
    }
    free(pnames);
    for (int i = 0; i < np; i++) {
        ParamValue *p = &st->params[i];
        if (p->set) {
            /* a value written out equal to the default is the default (same fingerprint as leaving it out) */
            ParamValue d = {.def = p->def};
            PureErr tmp = {0};
            p->at_default = p->def->def && spec_parse_default(&d, who, &tmp) == 0 && !strcmp(d.canon, p->canon);
            param_value_clear(&d);
            continue;
        }
        if (!p->def->def)
            return yerr(err, nmark, "%s: missing required parameter '%s' (%s)", who, p->def->name,
                        p->def->doc ? p->def->doc : "");
        if (spec_parse_default(p, who, err)) return -1;
        p->at_default = 1;
    }
    /* the parameter hash: what `pure status` compares to say which parameter changed */
    Sha256 h;
    uint8_t d[32];
    sha256_init(&h);
    for (int i = 0; i < np; i++) {
        sha256_update(&h, st->params[i].def->name, strlen(st->params[i].def->name) + 1);
        sha256_update(&h, st->params[i].canon, strlen(st->params[i].canon) + 1);
    }
    sha256_final(&h, d);
    sha256_to_hex(d, st->param_hash);
    return 0;
}

static int add_section(Spec *s, const YNode *map, Section sec, PureErr *err) {
    char b[80];
    if (!map || map->kind == YN_NULL) return 0;
    if (map->kind != YN_MAP)
        return yerr(err, &map->mark, "%s: expected a map of stage name -> stage, got %s", sec_name[sec],
                    ynode_describe(map, b, sizeof b));
    for (int i = 0; i < map->n; i++)
        if (add_stage(s, map->keys[i], &map->kmarks[i], map->items[i], sec, err)) return -1;
    return 0;
}

/* ---------------------------------------------------------------- entry */

int spec_stage_index(const Spec *s, const char *name) {
    for (int i = 0; i < s->nstages; i++)
        if (!strcmp(s->stages[i].name, name)) return i;
    return -1;
}

const ParamValue *spec_param(const SpecStage *st, const char *name) {
    for (int i = 0; i < st->nparams; i++)
        if (!strcmp(st->params[i].def->name, name)) return &st->params[i];
    return NULL;
}

StageParams spec_stage_params(const SpecStage *st) {
    StageParams v = {st->name, st->kind, st->params, st->nparams};
    return v;
}

static int count_stages(const YNode *m) { return m && m->kind == YN_MAP ? m->n : 0; }

static int build(Spec *s, PureErr *err) {
    YNode *t = s->tree;
    char b[80];
    if (spec_check_keys(t, top_keys, "top level", err)) return -1;
    const YNode *seed = ynode_get(t, "seed");
    if (seed) {
        int64_t v;
        if (spec_get_int(seed, "seed", 0, INT64_MAX, &v, err)) return -1;
        s->seed = (uint64_t)v;
    }
    const YNode *tb = ynode_get(t, "tensorboard");
    if (tb && spec_get_bool(tb, "tensorboard", &s->tensorboard, err)) return -1;
    const YNode *pre = ynode_get(t, "stages"), *loop = ynode_get(t, "loop"), *after = ynode_get(t, "after");
    const YNode *lstages = NULL;
    if (loop && loop->kind != YN_NULL) {
        if (loop->kind != YN_MAP)
            return yerr(err, &loop->mark, "loop: expected a map with iterations, state, stages, update; got %s",
                        ynode_describe(loop, b, sizeof b));
        if (spec_check_keys(loop, loop_keys, "loop", err)) return -1;
        const YNode *it = ynode_get(loop, "iterations");
        if (!it) return yerr(err, &loop->mark, "loop: missing 'iterations:' (how many times to run loop.stages)");
        int64_t v;
        if (spec_get_int(it, "loop.iterations", 0, 1000000, &v, err)) return -1;
        s->iterations = (int)v;
        s->has_loop = 1;
        lstages = ynode_get(loop, "stages");
    }
    int total = count_stages(pre) + count_stages(lstages) + count_stages(after);
    s->stages = xcalloc((size_t)total + 1, sizeof *s->stages);
    if (add_section(s, pre, SEC_PRE, err) || add_section(s, lstages, SEC_LOOP, err) ||
        add_section(s, after, SEC_AFTER, err))
        return -1;
    if (s->nstages == 0) return yerr(err, &t->mark, "no stages: expected 'stages:' with at least one stage");
    if (s->has_loop && spec_parse_states(s, loop, err)) return -1;
    if (!s->has_loop) s->states = xcalloc(1, sizeof *s->states);
    for (int i = 0; i < s->nstages; i++) {
        const YNode *sec = s->stages[i].sec == SEC_PRE ? pre : s->stages[i].sec == SEC_LOOP ? lstages : after;
        if (spec_parse_inputs(s, i, ynode_get(sec, s->stages[i].name), err)) return -1;
    }
    if (spec_order_stages(s, err)) return -1;
    for (int i = 0; i < s->nstages; i++) {
        SpecStage *st = &s->stages[i];
        StageParams view = spec_stage_params(st);
        if (st->kind->check && st->kind->check(&view, err))
            return err_prefix(err, "%s:%d:%d: stage '%s' (kind %s)", st->mark->file, st->mark->line, st->mark->col,
                              st->name, st->kind->kind);
    }
    return 0;
}

Spec *spec_load(const char *path, const char *const *sets, int nsets, const StageKind *const *kinds, PureErr *err) {
    return spec_load_ex(path, sets, nsets, NULL, 0, kinds, err);
}

Spec *spec_load_ex(const char *path, const char *const *sets, int nsets, const SpecOverride *ov, int nov,
                   const StageKind *const *kinds, PureErr *err) {
    YNode *tree = spec_tree_load_ex(path, sets, nsets, ov, nov, err);
    if (!tree) return NULL;
    Spec *s = xcalloc(1, sizeof *s);
    s->sweep_run = ov != NULL;
    s->kinds = kinds;
    s->path = xstrdup(path);
    s->tree = tree;
    if (build(s, err)) {
        spec_free(s);
        return NULL;
    }
    return s;
}

void spec_free(Spec *s) {
    if (!s) return;
    for (int i = 0; i < s->nstages; i++) {
        SpecStage *st = &s->stages[i];
        for (int j = 0; j < st->nparams; j++) param_value_clear(&st->params[j]);
        free(st->params);
        free(st->inputs);
        free(st->name);
    }
    for (int i = 0; i < s->nstates; i++) free(s->states[i].name);
    free(s->states);
    free(s->stages);
    free(s->order);
    free(s->path);
    ynode_free(s->tree);
    free(s);
}

const char *spec_ref_str(const Spec *s, const SpecRef *r, char *buf, size_t cap) {
    switch (r->kind) {
    case REF_STAGE:
        snprintf(buf, cap, "%s.%s", s->stages[r->stage].name, s->stages[r->stage].kind->outputs[r->output].name);
        break;
    case REF_STATE: snprintf(buf, cap, "state.%s", s->states[r->state].name); break;
    case REF_LOOP: snprintf(buf, cap, "loop.%s", s->states[r->state].name); break;
    default: snprintf(buf, cap, "null");
    }
    return buf;
}

/* The resolved spec: the tree without extends/vars, with PT_PATH values made
 * absolute so the file re-loads from the run directory (pure gc uses it). */
int spec_write_resolved(const Spec *s, const char *path, PureErr *err) {
    YNode *t = ynode_clone(s->tree);
    ynode_map_remove(t, "vars");
    ynode_map_remove(t, "extends");
    if (s->sweep_run) ynode_map_remove(t, "sweep"); /* the run is one point of it */
    for (int i = 0; i < s->nstages; i++) {
        const SpecStage *st = &s->stages[i];
        YNode *sec = st->sec == SEC_PRE ? ynode_get(t, "stages")
                     : st->sec == SEC_LOOP ? ynode_get(ynode_get(t, "loop"), "stages")
                                           : ynode_get(t, "after");
        YNode *node = ynode_get(sec, st->name);
        for (int j = 0; j < st->nparams && node; j++) {
            const ParamValue *p = &st->params[j];
            YNode *v = ynode_get(node, p->def->name);
            if (p->def->type == PT_PATH && v && p->s[0]) {
                free(v->str);
                v->str = xstrdup(p->s);
                v->kind = YN_SCALAR;
            }
        }
    }
    char *tmp = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&tmp, &len);
    fprintf(f, "# resolved from %s by pure (extends, vars and --set applied)\n", s->path);
    ydoc_emit(f, t);
    fclose(f);
    ynode_free(t);
    int rc = fs_write_atomic(path, tmp, len, err);
    free(tmp);
    return rc;
}
