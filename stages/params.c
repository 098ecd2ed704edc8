/* params.c - typed parameter access (stage.h): enum choices read from the
 * kinds' own tables, the accessors of a StageParams view, kind lookup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/stage.h"

/* ---------------------------------------------------------------- enum choices */

const char *param_choice(const ParamDef *d, int i) {
    if (!d->choices || i < 0) return NULL;
    size_t stride = d->choice_stride ? d->choice_stride : sizeof(const char *);
    const char *row = (const char *)d->choices + (size_t)i * stride;
    const char *name;
    memcpy(&name, row, sizeof name); /* every row begins with its name */
    return name;
}

int param_choice_index(const ParamDef *d, const char *name) {
    const char *c;
    for (int i = 0; (c = param_choice(d, i)); i++)
        if (!strcmp(c, name)) return i;
    return -1;
}

const char *param_choices_str(const ParamDef *d, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    const char *c;
    for (int i = 0; (c = param_choice(d, i)) && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "|" : "", c);
    return buf;
}

/* ---------------------------------------------------------------- accessors */

/* A kind asking for a parameter it did not declare (or as another type) is a
 * bug in the kind: fail fast with the names involved. */
#define T(t) (1u << (t))
static const ParamValue *value(const StageParams *p, const char *name, unsigned types) {
    for (int i = 0; i < p->n; i++) {
        const ParamValue *v = &p->v[i];
        if (strcmp(v->def->name, name)) continue;
        if (types && !(types & T(v->def->type))) {
            fprintf(stderr, "pure: bug: stage kind '%s' reads parameter '%s' as the wrong type\n", p->kind->kind,
                    name);
            abort();
        }
        return v;
    }
    fprintf(stderr, "pure: bug: stage kind '%s' reads parameter '%s', which it does not declare\n", p->kind->kind,
            name);
    abort();
}

int64_t param_int(const StageParams *p, const char *name) { return value(p, name, T(PT_INT))->i; }

double param_float(const StageParams *p, const char *name) {
    const ParamValue *v = value(p, name, T(PT_FLOAT) | T(PT_INT));
    return v->def->type == PT_INT ? (double)v->i : v->f;
}

int param_bool(const StageParams *p, const char *name) { return value(p, name, T(PT_BOOL))->b; }

int param_enum(const StageParams *p, const char *name) { return (int)value(p, name, T(PT_ENUM))->i; }

const char *param_str(const StageParams *p, const char *name) {
    const ParamValue *v = value(p, name, T(PT_STRING) | T(PT_ENUM) | T(PT_PATH));
    return v->s ? v->s : "";
}

int param_list(const StageParams *p, const char *name, const char *const **items) {
    const ParamValue *v = value(p, name, T(PT_LIST));
    static const char *const empty[] = {NULL};
    *items = v->list ? (const char *const *)v->list : empty;
    return v->nlist;
}

int param_is_set(const StageParams *p, const char *name) { return value(p, name, 0)->set; }

/* ---------------------------------------------------------------- kinds and ports */

const StageKind *stage_kind_find(const StageKind *const *kinds, const char *kind) {
    for (int i = 0; kinds && kinds[i]; i++)
        if (!strcmp(kinds[i]->kind, kind)) return kinds[i];
    return NULL;
}

int stage_port_index(const PortDef *ports, const char *name) {
    for (int i = 0; ports && ports[i].name; i++)
        if (!strcmp(ports[i].name, name)) return i;
    return -1;
}

/* The one place that says how a port's artifact is named on disk. */
const char *port_file_name(const PortDef *p, char *buf, size_t cap) {
    snprintf(buf, cap, "%s%s", p->name, p->kind == ART_H5 ? ".h5" : "");
    return buf;
}
