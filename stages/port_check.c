/* port_check.c - checks an artifact against its port's declared datasets
 * (stage.h, DatasetDef): presence, form, dtype, rank, and the shape symbols
 * shared by all the ports of one stage run ("N" rows agree everywhere;
 * ragged rows with the same inner symbol have identical lengths). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/stage.h"
#include "util/fs.h"

#define MAX_SYMS 32

typedef struct Sym {
    char name[64];      /* "N", or "N/steps" for row lengths */
    int64_t rows;
    int64_t *off;       /* row-length symbols: offsets (rows + 1) */
    char who[192];      /* where it was bound: "input 'rollouts' dataset 'group'" */
} Sym;

struct StageSymbols {
    Sym s[MAX_SYMS];
    int n;
};

StageSymbols *stage_symbols_new(void) { return xcalloc(1, sizeof(StageSymbols)); }

void stage_symbols_free(StageSymbols *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->s[i].off);
    free(s);
}

static Sym *sym_find(StageSymbols *t, const char *name) {
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->s[i].name, name)) return &t->s[i];
    return NULL;
}

static Sym *sym_add(StageSymbols *t, const char *name, const char *who) {
    if (t->n == MAX_SYMS) return NULL; /* more symbols than any port declares: stop binding, keep checking forms */
    Sym *s = &t->s[t->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->who, sizeof s->who, "%s", who);
    return s;
}

static const char *form_name(DatasetForm f) {
    switch (f) {
    case DS_VEC: return "a rank-1 dataset";
    case DS_RAGGED: return "a ragged group (values + offsets)";
    case DS_STRINGS: return "a string dataset";
    case DS_ATTR: return "a numeric root attribute";
    case DS_ATTR_STR: return "a string root attribute";
    }
    return "?";
}

static const char *kind_name(ArtObjectKind k) {
    switch (k) {
    case AO_DENSE: return "a dense dataset";
    case AO_RAGGED: return "a ragged group";
    case AO_STRINGS: return "a string dataset";
    case AO_GROUP: return "a group";
    default: return "something else";
    }
}

/* Binds or checks the row count of symbol `sym`. */
static int check_rows(StageSymbols *t, const char *sym, int64_t rows, const char *who, const char *path,
                      PureErr *err) {
    Sym *s = sym_find(t, sym);
    if (!s) {
        if ((s = sym_add(t, sym, who))) s->rows = rows;
        return 0;
    }
    if (s->rows == rows) return 0;
    return err_set(err, "%s (%s): %lld rows, but %s has %lld (both are %s)", who, path, (long long)rows, s->who,
                   (long long)s->rows, sym);
}

/* Binds or checks the row lengths of a ragged dataset with an inner symbol. */
static int check_lengths(Artifact *a, const DatasetDef *d, StageSymbols *t, const char *who, PureErr *err) {
    char key[64], sub[256];
    snprintf(key, sizeof key, "%s/%s", d->rows, d->inner);
    snprintf(sub, sizeof sub, "%s/offsets", d->name);
    int64_t dims[ARTIFACT_MAX_DIMS];
    int64_t *off = artifact_read(a, sub, DT_I64, 1, dims, err);
    if (!off) return -1;
    Sym *s = sym_find(t, key);
    if (!s) {
        if ((s = sym_add(t, key, who))) {
            s->rows = dims[0] - 1;
            s->off = off;
        } else free(off);
        return 0;
    }
    int rc = 0;
    for (int64_t i = 0; i + 1 < dims[0] && i < s->rows && !rc; i++)
        if (off[i + 1] - off[i] != s->off[i + 1] - s->off[i])
            rc = err_set(err, "%s (%s): row %lld has %lld values, but %s has %lld there (both are one per %s)", who,
                         artifact_path(a), (long long)i, (long long)(off[i + 1] - off[i]), s->who,
                         (long long)(s->off[i + 1] - s->off[i]), d->inner);
    free(off);
    return rc;
}

static int check_one(Artifact *a, const DatasetDef *d, const char *port, StageSymbols *t, PureErr *err) {
    char who[192];
    snprintf(who, sizeof who, "%s dataset '%s'", port, d->name);
    const char *path = artifact_path(a);
    if (d->form == DS_ATTR || d->form == DS_ATTR_STR) {
        double v;
        PureErr e = {0};
        char *str = NULL;
        int ok = d->form == DS_ATTR ? artifact_get_attr_f64(a, "/", d->name, &v, &e) == 0
                                    : (str = artifact_get_attr_str(a, "/", d->name, &e)) != NULL;
        free(str);
        if (ok || d->optional) return 0;
        return err_set(err, "%s: %s: missing or unreadable root attribute '%s', expected %s (%s)", port, path, d->name,
                       form_name(d->form), d->doc ? d->doc : "");
    }
    ArtObject o;
    if (artifact_describe(a, d->name, &o, err)) return err_prefix(err, "%s", port);
    if (o.kind == AO_ABSENT) {
        if (d->optional) return 0;
        /* most often the wrong artifact was wired in: say whose it is */
        PureErr e = {0};
        char *kind = artifact_get_attr_str(a, "/", "pure_kind", &e), *stage = artifact_get_attr_str(a, "/", "pure_stage", &e);
        char from[256] = "";
        if (kind && stage) snprintf(from, sizeof from, " (written by stage '%s', kind %s)", stage, kind);
        free(kind);
        free(stage);
        return err_set(err, "%s: %s%s: missing dataset '%s', expected %s%s%s (%s)", port, path, from, d->name,
                       form_name(d->form), d->form == DS_STRINGS ? "" : " of ", d->form == DS_STRINGS ? ""
                       : dtype_name(d->dtype), d->doc ? d->doc : "");
    }
    int want = d->form == DS_VEC ? AO_DENSE : d->form == DS_RAGGED ? AO_RAGGED : AO_STRINGS;
    if ((int)o.kind != want)
        return err_set(err, "%s (%s): expected %s, found %s", who, path, form_name(d->form), kind_name(o.kind));
    if (d->form != DS_STRINGS && (!o.numeric || o.dtype != d->dtype))
        return err_set(err, "%s (%s): expected dtype %s, found %s", who, path, dtype_name(d->dtype), o.type_desc);
    if (o.ndim != 1)
        return err_set(err, "%s (%s): expected rank 1, found rank %d", who, path, o.ndim);
    int64_t rows = d->form == DS_RAGGED ? o.rows : o.dims[0];
    if (d->rows && check_rows(t, d->rows, rows, who, path, err)) return -1;
    if (d->form == DS_RAGGED && d->rows && d->inner && check_lengths(a, d, t, who, err)) return -1;
    return 0;
}

int port_check(Artifact *a, const DatasetDef *defs, const char *who, int strict, StageSymbols *syms, PureErr *err) {
    for (const DatasetDef *d = defs; d && d->name; d++)
        if (check_one(a, d, who, syms, err)) return -1;
    if (!strict) return 0;
    /* outputs: everything at the root must be declared, so the docs generated
       from the declarations describe the files completely */
    char **names;
    int n;
    if (artifact_list_root(a, &names, &n, err)) return -1;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        int known = 0;
        size_t len = strlen(names[i]);
        for (const DatasetDef *d = defs; d && d->name && !known; d++)
            known = d->form != DS_ATTR && d->form != DS_ATTR_STR &&
                    (!strcmp(d->name, names[i]) || (!strncmp(d->name, names[i], len) && d->name[len] == '/'));
        if (!known && !rc)
            rc = err_set(err, "%s (%s): holds '%s', which the port does not declare", who, artifact_path(a), names[i]);
        free(names[i]);
    }
    free(names);
    return rc;
}
