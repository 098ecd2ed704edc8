/* spec_param.c - typed parameter values: int, float, bool, string, enum,
 * path (resolved and hashed), list; ranges, choices, canonical text for the
 * fingerprint, registry defaults. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runner/spec_internal.h"
#include "util/fs.h"

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

int spec_get_bool(const YNode *n, const char *what, int *out, PureErr *err) {
    char b[80];
    if (parse_bool(n, out))
        return yerr(err, &n->mark, "%s: expected true or false, got %s", what, ynode_describe(n, b, sizeof b));
    return 0;
}

/* Integer-valued key with a range, e.g. loop.iterations. */
int spec_get_int(const YNode *n, const char *what, int64_t lo, int64_t hi, int64_t *out, PureErr *err) {
    char b[80];
    if (parse_i64(n, out))
        return yerr(err, &n->mark, "%s: expected an integer, got %s", what, ynode_describe(n, b, sizeof b));
    if (*out < lo || *out > hi)
        return yerr(err, &n->mark, "%s: expected an integer in [%lld, %lld], got %lld", what, (long long)lo,
                    (long long)hi, (long long)*out);
    return 0;
}

int spec_check_keys(const YNode *map, const char *const *allowed, const char *where, PureErr *err) {
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
    char choices[512];
    if (d->type == PT_ENUM)
        return yerr(err, &v->mark, "%s: parameter '%s': expected one of %s, got %s", who, d->name,
                    param_choices_str(d, choices, sizeof choices), ynode_describe(v, b, sizeof b));
    return yerr(err, &v->mark, "%s: parameter '%s': expected %s, got %s", who, d->name, names[d->type],
                ynode_describe(v, b, sizeof b));
}

static int range_ok(const ParamDef *d, double v) { return d->min > d->max || (v >= d->min && v <= d->max); }

int spec_parse_param(ParamValue *p, const YNode *v, const char *who, PureErr *err) {
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
        int idx = param_choice_index(d, v->str);
        if (idx < 0) {
            const char *list[65];
            int n = 0;
            for (const char *c; n < 64 && (c = param_choice(d, n)); n++) list[n] = c;
            list[n] = NULL;
            char hint[128], choices[512];
            suggest_hint(v->str, list, hint, sizeof hint);
            return yerr(err, &v->mark, "%s: parameter '%s': expected one of %s, got '%s'%s", who, d->name,
                        param_choices_str(d, choices, sizeof choices), v->str, hint);
        }
        p->i = idx;
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

int spec_parse_default(ParamValue *p, const char *who, PureErr *err) {
    YMark m = {"<default>", 1, 1};
    YNode *v = ydoc_load_string(p->def->def, "<default>", 1, 1, err);
    if (!v) return err_prefix(err, "%s: registry default of '%s'", who, p->def->name);
    if (v->kind == YN_MAP && v->n == 0) { /* "" parses as an empty document */
        ynode_free(v);
        v = ynode_scalar("", &m);
    }
    int rc = spec_parse_param(p, v, who, err);
    ynode_free(v);
    return rc;
}
