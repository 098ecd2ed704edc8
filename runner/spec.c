/* spec.c - validation of a resolved spec tree against the stage registry.
 *
 * Passes, each reporting the first error with file:line:col:
 *   1. top-level and loop keys; every stage's name, kind, reserved keys and
 *      typed parameters (defaults filled in, PT_PATH files resolved + hashed);
 *   2. the loop state (initial values and updates) and every stage's inputs:
 *      ports exist, references resolve, artifact kinds match, `every` fits;
 *   3. cycles and a topological order per section;
 *   4. the kinds' own cross-parameter checks.
 */
#include "runner/spec.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "runner/stage_ctx.h"
#include "util/fs.h"
#include "util/hash.h"

static const char *top_keys[] = {"extends", "vars", "seed", "description", "stages", "loop", "after", NULL};
static const char *loop_keys[] = {"iterations", "state", "stages", "update", NULL};
static const char *reserved_keys[] = {"kind", "inputs", "every", "keep_last", NULL};

static const char *sec_name[] = {"stages", "loop.stages", "after"};

/* ---------------------------------------------------------------- scalars */

static int parse_i64(const YNode *n, int64_t *out) {
    if (!n || n->kind != YN_SCALAR || !n->str[0]) return -1;
    errno = 0;
    char *end;
    long long v = strtoll(n->str, &end, 10);
    if (*end || errno) return -1;
    *out = v;
    return 0;
}

static int parse_f64(const YNode *n, double *out) {
    if (!n || n->kind != YN_SCALAR || !n->str[0]) return -1;
    char *end;
    double v = strtod(n->str, &end);
    if (*end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int parse_bool(const YNode *n, int *out) {
    if (!n || n->kind != YN_SCALAR) return -1;
    const char *t[] = {"true", "yes", "on"}, *f[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (!strcasecmp(n->str, t[i])) return *out = 1, 0;
        if (!strcasecmp(n->str, f[i])) return *out = 0, 0;
    }
    return -1;
}

/* Integer-valued key with a range, e.g. loop.iterations. */
static int get_int(const YNode *n, const char *what, int64_t lo, int64_t hi, int64_t *out, PureErr *err) {
    char b[80];
    if (parse_i64(n, out))
        return yerr(err, &n->mark, "%s: expected an integer, got %s", what, ynode_describe(n, b, sizeof b));
    if (*out < lo || *out > hi)
        return yerr(err, &n->mark, "%s: expected an integer in [%lld, %lld], got %lld", what, (long long)lo,
                    (long long)hi, (long long)*out);
    return 0;
}

static int check_keys(const YNode *map, const char *const *allowed, const char *where, PureErr *err) {
    for (int i = 0; i < map->n; i++) {
        int ok = 0;
        for (int k = 0; allowed[k]; k++) ok |= !strcmp(map->keys[i], allowed[k]);
        if (!ok) {
            char hint[128];
            suggest_hint(map->keys[i], allowed, hint, sizeof hint);
            return yerr(err, &map->kmarks[i], "%s: unknown key '%s'%s", where, map->keys[i], hint);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- parameters */

static char *canon_str(const char *s) {
    size_t n = strlen(s);
    char *c = xmalloc(n + 24);
    snprintf(c, n + 24, "%zu:%s", n, s);
    return c;
}

static int type_error(const YNode *v, const char *who, const ParamDef *d, PureErr *err) {
    static const char *names[] = {"an integer", "a number", "a boolean (true/false)", "a string",
                                  "one of", "a file path", "a list of values"};
    char b[80];
    if (d->type == PT_ENUM)
        return yerr(err, &v->mark, "%s: parameter '%s': expected one of %s, got %s", who, d->name, d->choices,
                    ynode_describe(v, b, sizeof b));
    return yerr(err, &v->mark, "%s: parameter '%s': expected %s, got %s", who, d->name, names[d->type],
                ynode_describe(v, b, sizeof b));
}

static int range_ok(const ParamDef *d, double v) { return d->min > d->max || (v >= d->min && v <= d->max); }

static int parse_param(SpecParam *p, const YNode *v, const char *who, PureErr *err) {
    const ParamDef *d = p->def;
    char b[80];
    switch (d->type) {
    case PT_INT:
        if (parse_i64(v, &p->i)) return type_error(v, who, d, err);
        if (!range_ok(d, (double)p->i))
            return yerr(err, &v->mark, "%s: parameter '%s': expected an integer in [%.15g, %.15g], got %lld", who,
                        d->name, d->min, d->max, (long long)p->i);
        p->canon = xmalloc(32);
        snprintf(p->canon, 32, "%lld", (long long)p->i);
        return 0;
    case PT_FLOAT:
        if (parse_f64(v, &p->f)) return type_error(v, who, d, err);
        if (!range_ok(d, p->f))
            return yerr(err, &v->mark, "%s: parameter '%s': expected a number in [%.15g, %.15g], got %s", who,
                        d->name, d->min, d->max, v->str);
        /* the shortest text that reads back as the same double: 0.7, not 0.69999999999999996 */
        p->canon = xmalloc(40);
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(p->canon, 40, "%.*g", prec, p->f);
            if (strtod(p->canon, NULL) == p->f) break;
        }
        return 0;
    case PT_BOOL:
        if (parse_bool(v, &p->b)) return type_error(v, who, d, err);
        p->canon = xstrdup(p->b ? "true" : "false");
        return 0;
    case PT_STRING:
        if (v->kind == YN_NULL && d->def && !d->def[0]) v = NULL;
        else if (v->kind != YN_SCALAR) return type_error(v, who, d, err);
        p->s = xstrdup(v ? v->str : "");
        p->canon = canon_str(p->s);
        return 0;
    case PT_ENUM: {
        if (v->kind != YN_SCALAR) return type_error(v, who, d, err);
        char *choices = xstrdup(d->choices ? d->choices : "");
        const char *list[64];
        int n = 0, found = 0;
        char *save = NULL;
        for (char *t = strtok_r(choices, "|", &save); t && n < 63; t = strtok_r(NULL, "|", &save)) {
            list[n++] = t;
            found |= !strcmp(t, v->str);
        }
        list[n] = NULL;
        if (!found) {
            char hint[128];
            suggest_hint(v->str, list, hint, sizeof hint);
            yerr(err, &v->mark, "%s: parameter '%s': expected one of %s, got '%s'%s", who, d->name, d->choices,
                 v->str, hint);
            free(choices);
            return -1;
        }
        free(choices);
        p->s = xstrdup(v->str);
        p->canon = canon_str(p->s);
        return 0;
    }
    case PT_PATH: {
        if (v->kind == YN_NULL || (v->kind == YN_SCALAR && !v->str[0])) {
            p->s = xstrdup("");
            p->canon = xstrdup("unset");
            return 0;
        }
        if (v->kind != YN_SCALAR) return type_error(v, who, d, err);
        /* relative to the file that wrote the value (a base file of extends: its own folder) */
        char *dir = strcmp(v->mark.file, "--set") && strcmp(v->mark.file, "<default>") ? fs_dirname(v->mark.file)
                                                                                       : xstrdup(".");
        char *full = v->str[0] == '/' || !strcmp(dir, ".") ? xstrdup(v->str) : fs_join(dir, v->str);
        free(dir);
        char real[PATH_MAX];
        if (!realpath(full, real)) {
            yerr(err, &v->mark, "%s: parameter '%s': file '%s' not found (looked for %s)", who, d->name, v->str,
                 full);
            free(full);
            return -1;
        }
        free(full);
        char hex[65];
        if (spec_hash_path(real, hex, err)) return err_prefix(err, "%s:%d:%d: %s: parameter '%s'", v->mark.file,
                                                              v->mark.line, v->mark.col, who, d->name);
        p->s = xstrdup(real);
        p->canon = xmalloc(80);
        snprintf(p->canon, 80, "sha256:%s", hex);
        return 0;
    }
    case PT_LIST: {
        if (v->kind == YN_NULL) return p->canon = xstrdup("0"), 0;
        if (v->kind != YN_SEQ) return type_error(v, who, d, err);
        size_t cap = 16;
        p->canon = xmalloc(cap);
        snprintf(p->canon, cap, "%d", v->n);
        p->list = xcalloc((size_t)v->n + 1, sizeof *p->list);
        for (int i = 0; i < v->n; i++) {
            const YNode *it = v->items[i];
            if (it->kind != YN_SCALAR)
                return yerr(err, &it->mark, "%s: parameter '%s': list items must be plain values, got %s", who,
                            d->name, ynode_describe(it, b, sizeof b));
            p->list[p->nlist++] = xstrdup(it->str);
            char *c = canon_str(it->str);
            cap = strlen(p->canon) + strlen(c) + 2;
            p->canon = xrealloc(p->canon, cap);
            strcat(p->canon, ",");
            strcat(p->canon, c);
            free(c);
        }
        return 0;
    }
    }
    return err_set(err, "%s: parameter '%s': unknown parameter type %d", who, d->name, (int)d->type);
}

static int parse_default(SpecParam *p, const char *who, PureErr *err) {
    YMark m = {"<default>", 1, 1};
    YNode *v = ydoc_load_string(p->def->def, "<default>", 1, 1, err);
    if (!v) return err_prefix(err, "%s: registry default of '%s'", who, p->def->name);
    if (v->kind == YN_MAP && v->n == 0) { /* "" parses as an empty document */
        ynode_free(v);
        v = ynode_scalar("", &m);
    }
    int rc = parse_param(p, v, who, err);
    ynode_free(v);
    return rc;
}

/* ---------------------------------------------------------------- stages */

static int valid_name(const char *s) {
    if (!*s || strlen(s) > 64) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return 0;
    return 1;
}

static const char **kind_names(void) {
    const StageKind *const *all = stage_kind_all();
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
    st->kind = stage_kind_find(k->str);
    if (!st->kind) {
        const char **names = kind_names();
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
        if (get_int(ev, what, 1, 1000000, &v, err)) return -1;
        st->every = (int)v;
    }
    if (kl) {
        snprintf(what, sizeof what, "%s: keep_last", who);
        if (get_int(kl, what, 0, 1000000, &v, err)) return -1;
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
        if (parse_param(&st->params[j], node->items[i], who, err)) {
            free(pnames);
            return -1;
        }
    }
    free(pnames);
    for (int i = 0; i < np; i++) {
        SpecParam *p = &st->params[i];
        if (p->set) continue;
        if (!p->def->def)
            return yerr(err, nmark, "%s: missing required parameter '%s' (%s)", who, p->def->name,
                        p->def->doc ? p->def->doc : "");
        if (parse_default(p, who, err)) return -1;
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

/* ---------------------------------------------------------------- references */

static const char **stage_names(const Spec *s) {
    const char **names = xcalloc((size_t)s->nstages + 1, sizeof *names);
    for (int i = 0; i < s->nstages; i++) names[i] = s->stages[i].name;
    return names;
}

static const char **port_names(const PortDef *ports) {
    int n = 0;
    while (ports && ports[n].name) n++;
    const char **names = xcalloc((size_t)n + 1, sizeof *names);
    for (int i = 0; i < n; i++) names[i] = ports[i].name;
    return names;
}

static int find_port(const PortDef *ports, const char *name) {
    for (int i = 0; ports && ports[i].name; i++)
        if (!strcmp(ports[i].name, name)) return i;
    return -1;
}

static const char *art_name(ArtKind k) { return k == ART_DIR ? "a directory artifact" : "an HDF5 artifact"; }

/* Parses "stage.output" (or state.X / loop.X) as seen from section `from`. */
static int parse_ref(Spec *s, const YNode *v, Section from, const char *who, SpecRef *r, PureErr *err) {
    char b[80], hint[128];
    memset(r, 0, sizeof *r);
    r->mark = &v->mark;
    if (v->kind == YN_NULL) return r->kind = REF_NONE, 0;
    const char *dot = v->kind == YN_SCALAR ? strchr(v->str, '.') : NULL;
    if (!dot || dot == v->str || !dot[1])
        return yerr(err, &v->mark, "%s: expected a reference 'stage.output'%s, got %s", who,
                    from == SEC_LOOP ? " or 'state.NAME'" : from == SEC_AFTER ? " or 'loop.NAME'" : "",
                    ynode_describe(v, b, sizeof b));
    char head[128];
    snprintf(head, sizeof head, "%.*s", (int)(dot - v->str) < 127 ? (int)(dot - v->str) : 127, v->str);
    const char *tail = dot + 1;
    if (!strcmp(head, "state") || !strcmp(head, "loop")) {
        int is_state = head[0] == 's';
        if (is_state && from != SEC_LOOP)
            return yerr(err, &v->mark, "%s: 'state.%s' can only be used inside loop.stages%s", who, tail,
                        from == SEC_AFTER ? " (after the loop, use 'loop.NAME' for the final value)" : "");
        if (!is_state && from != SEC_AFTER)
            return yerr(err, &v->mark, "%s: 'loop.%s' (the final loop value) can only be used in after:", who, tail);
        const char **names = xcalloc((size_t)s->nstates + 1, sizeof *names);
        for (int i = 0; i < s->nstates; i++) names[i] = s->states[i].name;
        int idx = -1;
        for (int i = 0; i < s->nstates; i++)
            if (!strcmp(s->states[i].name, tail)) idx = i;
        suggest_hint(tail, names, hint, sizeof hint);
        free(names);
        if (idx < 0)
            return yerr(err, &v->mark, "%s: '%s' is not a loop state value%s (declare it under loop.state)", who,
                        v->str, hint);
        r->kind = is_state ? REF_STATE : REF_LOOP;
        r->state = idx;
        return 0;
    }
    int si = spec_stage_index(s, head);
    if (si < 0) {
        const char **names = stage_names(s);
        suggest_hint(head, names, hint, sizeof hint);
        free(names);
        return yerr(err, &v->mark, "%s: input '%s' refers to no stage named '%s'%s", who, v->str, head, hint);
    }
    const SpecStage *src = &s->stages[si];
    if (src->sec > from || (from == SEC_PRE && src->sec != SEC_PRE))
        return yerr(err, &v->mark, "%s: '%s' reads stage '%s' of %s, which runs later (after this one)", who, v->str,
                    head, sec_name[src->sec]);
    int oi = find_port(src->kind->outputs, tail);
    if (oi < 0) {
        const char **names = port_names(src->kind->outputs);
        suggest_hint(tail, names, hint, sizeof hint);
        char list[512] = "";
        for (int i = 0; names[i]; i++) {
            if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
            strncat(list, names[i], sizeof list - strlen(list) - 1);
        }
        free(names);
        return yerr(err, &v->mark, "%s: stage '%s' (kind %s) has no output '%s'%s; its outputs: %s", who, head,
                    src->kind->kind, tail, hint, list[0] ? list : "none");
    }
    r->kind = REF_STAGE;
    r->stage = si;
    r->output = oi;
    return 0;
}

/* The artifact kind a reference yields (-1 for null). */
static int ref_art(const Spec *s, const SpecRef *r) {
    switch (r->kind) {
    case REF_STAGE: return (int)s->stages[r->stage].kind->outputs[r->output].kind;
    case REF_STATE:
    case REF_LOOP: return ref_art(s, &s->states[r->state].update);
    default: return -1;
    }
}

static int parse_states(Spec *s, const YNode *loop, PureErr *err) {
    char b[80];
    const YNode *state = ynode_get(loop, "state"), *update = ynode_get(loop, "update");
    if (state && state->kind != YN_MAP && state->kind != YN_NULL)
        return yerr(err, &state->mark, "loop.state: expected a map of name -> initial value, got %s",
                    ynode_describe(state, b, sizeof b));
    if (update && update->kind != YN_MAP && update->kind != YN_NULL)
        return yerr(err, &update->mark, "loop.update: expected a map of name -> stage.output, got %s",
                    ynode_describe(update, b, sizeof b));
    int n = state && state->kind == YN_MAP ? state->n : 0;
    s->states = xcalloc((size_t)n + 1, sizeof *s->states);
    for (int i = 0; i < n; i++) {
        s->states[i].name = xstrdup(state->keys[i]);
        s->states[i].mark = &state->kmarks[i];
    }
    s->nstates = n;
    for (int i = 0; i < n; i++) {
        char who[160];
        snprintf(who, sizeof who, "loop.state.%s", state->keys[i]);
        if (parse_ref(s, state->items[i], SEC_PRE, who, &s->states[i].init, err)) return -1;
    }
    if (update && update->kind == YN_MAP) {
        for (int i = 0; i < update->n; i++) {
            int idx = -1;
            for (int k = 0; k < n; k++)
                if (!strcmp(s->states[k].name, update->keys[i])) idx = k;
            if (idx < 0) {
                const char **names = xcalloc((size_t)n + 1, sizeof *names);
                for (int k = 0; k < n; k++) names[k] = s->states[k].name;
                char hint[128];
                suggest_hint(update->keys[i], names, hint, sizeof hint);
                free(names);
                return yerr(err, &update->kmarks[i], "loop.update: '%s' is not declared under loop.state%s",
                            update->keys[i], hint);
            }
            char who[160];
            snprintf(who, sizeof who, "loop.update.%s", update->keys[i]);
            SpecRef *u = &s->states[idx].update;
            if (parse_ref(s, update->items[i], SEC_LOOP, who, u, err)) return -1;
            if (u->kind != REF_STAGE || s->stages[u->stage].sec != SEC_LOOP)
                return yerr(err, &update->items[i]->mark, "%s: expected the output of a stage in loop.stages", who);
            if (s->stages[u->stage].every != 1)
                return yerr(err, &update->items[i]->mark,
                            "%s: stage '%s' runs only every %d iterations; a state update must run every iteration",
                            who, s->stages[u->stage].name, s->stages[u->stage].every);
        }
    }
    for (int i = 0; i < n; i++) {
        SpecState *st = &s->states[i];
        if (st->update.kind == REF_NONE)
            return yerr(err, st->mark, "loop.state.%s: no update; add '%s: stage.output' under loop.update", st->name,
                        st->name);
        int ka = ref_art(s, &st->init), kb = ref_art(s, &st->update);
        if (ka >= 0 && ka != kb)
            return yerr(err, st->init.mark, "loop.state.%s: initial value is %s but the update is %s", st->name,
                        art_name((ArtKind)ka), art_name((ArtKind)kb));
    }
    return 0;
}

static int parse_inputs(Spec *s, int si, const YNode *node, PureErr *err) {
    SpecStage *st = &s->stages[si];
    char who[200], b[80];
    snprintf(who, sizeof who, "stage '%s' (kind %s)", st->name, st->kind->kind);
    const PortDef *ports = st->kind->inputs;
    int np = 0;
    while (ports && ports[np].name) np++;
    st->ninputs = np;
    st->inputs = xcalloc((size_t)np + 1, sizeof *st->inputs);
    const YNode *in = ynode_get(node, "inputs");
    if (in && in->kind != YN_MAP && in->kind != YN_NULL)
        return yerr(err, &in->mark, "%s: inputs: expected a map of port -> stage.output, got %s", who,
                    ynode_describe(in, b, sizeof b));
    for (int i = 0; in && in->kind == YN_MAP && i < in->n; i++) {
        int pi = find_port(ports, in->keys[i]);
        if (pi < 0) {
            const char **names = port_names(ports);
            char hint[128], list[512] = "";
            suggest_hint(in->keys[i], names, hint, sizeof hint);
            for (int k = 0; names[k]; k++) {
                if (k) strncat(list, ", ", sizeof list - strlen(list) - 1);
                strncat(list, names[k], sizeof list - strlen(list) - 1);
            }
            free(names);
            return yerr(err, &in->kmarks[i], "%s: unknown input port '%s'%s; its inputs: %s", who, in->keys[i], hint,
                        list[0] ? list : "none");
        }
        char pwho[260];
        snprintf(pwho, sizeof pwho, "%s input '%s'", who, ports[pi].name);
        SpecRef *r = &st->inputs[pi];
        if (parse_ref(s, in->items[i], st->sec, pwho, r, err)) return -1;
        if (r->kind == REF_STAGE && r->stage == si)
            return yerr(err, r->mark, "%s: cycle: the stage reads its own output", pwho);
        int ak = ref_art(s, r);
        if (ak >= 0 && ak != (int)ports[pi].kind)
            return yerr(err, r->mark, "%s: expects %s, but '%s' is %s", pwho, art_name(ports[pi].kind),
                        in->items[i]->str, art_name((ArtKind)ak));
        if (r->kind == REF_STATE && s->states[r->state].init.kind == REF_NONE && !ports[pi].optional)
            return yerr(err, r->mark, "%s: 'state.%s' starts as null (no value in iteration 0) but this port is required",
                        pwho, s->states[r->state].name);
        /* a loop stage reading an `every` stage must run only when that one does */
        if (r->kind == REF_STAGE && st->sec == SEC_LOOP && s->stages[r->stage].sec == SEC_LOOP) {
            int pe = s->stages[r->stage].every;
            if (st->every % pe != 0)
                return yerr(err, r->mark, "%s: runs every %d iteration(s) but reads '%s', which runs only every %d",
                            pwho, st->every, s->stages[r->stage].name, pe);
        }
    }
    for (int i = 0; i < np; i++)
        if (st->inputs[i].kind == REF_NONE && !ports[i].optional)
            return yerr(err, st->mark, "%s: required input '%s' is not connected (%s); add inputs: {%s: stage.output}",
                        who, ports[i].name, ports[i].doc ? ports[i].doc : "", ports[i].name);
    return 0;
}

/* ---------------------------------------------------------------- order */

/* DFS topological sort within each section; reports a cycle with its path. */
static int visit(Spec *s, int si, int *color, int *stack, int depth, int *out, int *nout, PureErr *err) {
    if (color[si] == 2) return 0;
    stack[depth] = si;
    if (color[si] == 1) {
        int start = 0;
        while (stack[start] != si) start++;
        char path[1024] = "";
        for (int i = start; i <= depth; i++) {
            if (i > start) strncat(path, " -> ", sizeof path - strlen(path) - 1);
            strncat(path, s->stages[stack[i]].name, sizeof path - strlen(path) - 1);
        }
        return yerr(err, s->stages[si].mark, "cycle between stages: %s (each reads the next one's output)", path);
    }
    color[si] = 1;
    SpecStage *st = &s->stages[si];
    for (int i = 0; i < st->ninputs; i++) {
        SpecRef *r = &st->inputs[i];
        if (r->kind == REF_STAGE && s->stages[r->stage].sec == st->sec)
            if (visit(s, r->stage, color, stack, depth + 1, out, nout, err)) return -1;
    }
    color[si] = 2;
    out[(*nout)++] = si;
    return 0;
}

static int order_stages(Spec *s, PureErr *err) {
    int *color = xcalloc((size_t)s->nstages + 1, sizeof *color);
    int *stack = xcalloc((size_t)s->nstages + 1, sizeof *stack);
    s->order = xcalloc((size_t)s->nstages + 1, sizeof *s->order);
    int nout = 0, rc = 0;
    for (int sec = SEC_PRE; sec <= SEC_AFTER && !rc; sec++)
        for (int i = 0; i < s->nstages && !rc; i++)
            if ((int)s->stages[i].sec == sec) rc = visit(s, i, color, stack, 0, s->order, &nout, err);
    free(color);
    free(stack);
    return rc;
}

/* ---------------------------------------------------------------- entry */

int spec_stage_index(const Spec *s, const char *name) {
    for (int i = 0; i < s->nstages; i++)
        if (!strcmp(s->stages[i].name, name)) return i;
    return -1;
}

const SpecParam *spec_param(const SpecStage *st, const char *name) {
    for (int i = 0; i < st->nparams; i++)
        if (!strcmp(st->params[i].def->name, name)) return &st->params[i];
    return NULL;
}

static int count_stages(const YNode *m) { return m && m->kind == YN_MAP ? m->n : 0; }

static int build(Spec *s, PureErr *err) {
    YNode *t = s->tree;
    char b[80];
    if (check_keys(t, top_keys, "top level", err)) return -1;
    const YNode *seed = ynode_get(t, "seed");
    if (seed) {
        int64_t v;
        if (get_int(seed, "seed", 0, INT64_MAX, &v, err)) return -1;
        s->seed = (uint64_t)v;
    }
    const YNode *pre = ynode_get(t, "stages"), *loop = ynode_get(t, "loop"), *after = ynode_get(t, "after");
    const YNode *lstages = NULL;
    if (loop && loop->kind != YN_NULL) {
        if (loop->kind != YN_MAP)
            return yerr(err, &loop->mark, "loop: expected a map with iterations, state, stages, update; got %s",
                        ynode_describe(loop, b, sizeof b));
        if (check_keys(loop, loop_keys, "loop", err)) return -1;
        const YNode *it = ynode_get(loop, "iterations");
        if (!it) return yerr(err, &loop->mark, "loop: missing 'iterations:' (how many times to run loop.stages)");
        int64_t v;
        if (get_int(it, "loop.iterations", 0, 1000000, &v, err)) return -1;
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
    if (s->has_loop && parse_states(s, loop, err)) return -1;
    if (!s->has_loop) s->states = xcalloc(1, sizeof *s->states);
    for (int i = 0; i < s->nstages; i++) {
        const YNode *sec = s->stages[i].sec == SEC_PRE ? pre : s->stages[i].sec == SEC_LOOP ? lstages : after;
        if (parse_inputs(s, i, ynode_get(sec, s->stages[i].name), err)) return -1;
    }
    if (order_stages(s, err)) return -1;
    for (int i = 0; i < s->nstages; i++) {
        SpecStage *st = &s->stages[i];
        if (st->kind->check && stage_ctx_check(s, i, err))
            return err_prefix(err, "%s:%d:%d: stage '%s' (kind %s)", st->mark->file, st->mark->line, st->mark->col,
                              st->name, st->kind->kind);
    }
    return 0;
}

Spec *spec_load(const char *path, const char *const *sets, int nsets, PureErr *err) {
    YNode *tree = spec_tree_load(path, sets, nsets, err);
    if (!tree) return NULL;
    Spec *s = xcalloc(1, sizeof *s);
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
        for (int j = 0; j < st->nparams; j++) {
            SpecParam *p = &st->params[j];
            free(p->s);
            free(p->canon);
            for (int k = 0; k < p->nlist; k++) free(p->list[k]);
            free(p->list);
        }
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
    for (int i = 0; i < s->nstages; i++) {
        const SpecStage *st = &s->stages[i];
        YNode *sec = st->sec == SEC_PRE ? ynode_get(t, "stages")
                     : st->sec == SEC_LOOP ? ynode_get(ynode_get(t, "loop"), "stages")
                                           : ynode_get(t, "after");
        YNode *node = ynode_get(sec, st->name);
        for (int j = 0; j < st->nparams && node; j++) {
            const SpecParam *p = &st->params[j];
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
