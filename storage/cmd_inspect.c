/* cmd_inspect.c - `pure inspect FILE.h5 [DATASET]`: the tree of an artifact
 * (groups, datasets with dtype and shape, attributes, summary statistics,
 * ragged groups as rows x lengths) and, for one dataset, its values; text
 * for people, --json for scripts. Reads through artifact.h, so checksums are
 * verified and a damaged file is reported, not printed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/commands.h"
#include "storage/h5util.h"
#include "storage/inspect.h"

static const char *USAGE =
    "usage: pure inspect [--json] [--all] [--head N] FILE.h5 [DATASET]\n"
    "\n"
    "Without DATASET: every group and dataset with dtype, shape, attributes and\n"
    "statistics (min, max, mean, std, NaN and Inf counts; ragged groups as rows x\n"
    "lengths). With DATASET (a dataset, a ragged group or a string dataset): also\n"
    "its values, the first N (--head, default 10) or all of them (--all).\n"
    "  --json   one JSON object on stdout instead of text\n"
    "Exit codes: 0 ok, 2 bad usage, missing or damaged file or dataset.\n";

/* ---- attributes ---- */

typedef struct {
    Artifact *a;
    const char *obj;
    cJSON *json;  /* object to fill, or NULL for text */
    int printed;
} AttrCtx;

static herr_t attr_cb(hid_t loc, const char *key, const H5A_info_t *info, void *data) {
    AttrCtx *c = data;
    (void)loc;
    (void)info;
    /* the per-dataset checksum and the ragged layout tag are storage bookkeeping;
       the runner's provenance attributes (pure_kind, pure_fingerprint, ...) are shown */
    if (!strcmp(key, H5U_SHA_ATTR) || !strcmp(key, H5U_LAYOUT_ATTR)) return 0;
    PureErr e = {0};
    char buf[512];
    hid_t at = H5Aopen_by_name(c->a->file, c->obj, key, H5P_DEFAULT, H5P_DEFAULT);
    hid_t ft = at >= 0 ? H5Aget_type(at) : H5I_INVALID_HID;
    hid_t sp = at >= 0 ? H5Aget_space(at) : H5I_INVALID_HID;
    H5T_class_t cls = ft >= 0 ? H5Tget_class(ft) : H5T_NO_CLASS;
    hssize_t npts = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : 0;
    cJSON *jv = NULL;
    if (cls == H5T_STRING && npts == 1) {
        char *s = artifact_get_attr_str(c->a, c->obj, key, &e);
        snprintf(buf, sizeof buf, "\"%s\"", s ? s : "?");
        if (s) jv = cJSON_CreateString(s);
        free(s);
    } else if (cls == H5T_INTEGER && npts == 1) {
        int64_t v = 0;
        artifact_get_attr_i64(c->a, c->obj, key, &v, &e);
        snprintf(buf, sizeof buf, "%lld", (long long)v);
        jv = cJSON_CreateNumber((double)v);
    } else if (cls == H5T_FLOAT && npts == 1) {
        double v = 0;
        artifact_get_attr_f64(c->a, c->obj, key, &v, &e);
        snprintf(buf, sizeof buf, "%.17g", v);
        jv = cJSON_CreateNumber(v);
    } else {
        char d[64] = "?";
        if (ft >= 0) h5u_type_desc(ft, d, sizeof d);
        snprintf(buf, sizeof buf, "<%lld x %s>", (long long)npts, d);
        jv = cJSON_CreateString(buf);
    }
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    if (at >= 0) H5Aclose(at);
    if (c->json) cJSON_AddItemToObject(c->json, key, jv);
    else {
        cJSON_Delete(jv);
        printf("%s%s=%s", c->printed ? ", " : "", key, buf);
    }
    c->printed++;
    return 0;
}

/* Prints "  attrs: k=v, ..." (text) or returns a JSON object of them. */
static cJSON *inspect_attrs(Artifact *a, const char *obj, int json, const char *indent) {
    AttrCtx c = {a, obj, json ? cJSON_CreateObject() : NULL, 0};
    hsize_t idx = 0;
    if (!json) printf("%sattrs: ", indent);
    H5Aiterate_by_name(a->file, obj, H5_INDEX_NAME, H5_ITER_INC, &idx, attr_cb, &c, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    if (!json) printf("%s\n", c.printed ? "" : "(none)");
    return c.json;
}

static int has_attrs(Artifact *a, const char *obj) {
    H5O_info_t info;
    if (H5Oget_info_by_name2(a->file, obj, &info, H5O_INFO_NUM_ATTRS, H5P_DEFAULT) < 0) return 0;
    int n = (int)info.num_attrs;
    /* pure_* attributes are bookkeeping, not shown */
    if (H5Aexists_by_name(a->file, obj, H5U_SHA_ATTR, H5P_DEFAULT) > 0) n--;
    if (H5Aexists_by_name(a->file, obj, H5U_LAYOUT_ATTR, H5P_DEFAULT) > 0) n--;
    H5Eclear2(H5E_DEFAULT);
    return n > 0;
}

/* ---- one object ---- */

/* Describes and (when values != 0) prints one dataset or ragged group.
 * Returns -1 with err set when it cannot be read. */
static int inspect_object(Artifact *a, const char *name, const InspectOpts *o, int values, cJSON *jarr,
                          PureErr *err) {
    InspectInfo info;
    if (inspect_load(a, name, &info, err)) return -1;
    if (o->json) {
        cJSON *j = inspect_info_json(&info, values ? o->head : 0);
        if (has_attrs(a, name)) cJSON_AddItemToObject(j, "attrs", inspect_attrs(a, name, 1, ""));
        if (jarr) cJSON_AddItemToArray(jarr, j);
        else {
            char *s = cJSON_Print(j);
            printf("%s\n", s);
            free(s);
            cJSON_Delete(j);
        }
    } else {
        inspect_info_print(&info, values ? o->head : 0);
        if (has_attrs(a, name)) inspect_attrs(a, name, 0, "    ");
    }
    inspect_info_free(&info);
    return 0;
}

/* ---- the tree ---- */

typedef struct {
    Artifact *a;
    const InspectOpts *o;
    cJSON *jarr;
    const char *parent;
    PureErr *err;
    int failed;
} TreeCtx;

static int visit_group(TreeCtx *t, const char *group);

static herr_t link_cb(hid_t g, const char *lname, const H5L_info_t *info, void *data) {
    TreeCtx *t = data;
    (void)g;
    (void)info;
    char path[1024];
    if (!strcmp(t->parent, "/")) snprintf(path, sizeof path, "%s", lname);
    else snprintf(path, sizeof path, "%s/%s", t->parent, lname);
    int k = h5u_kind(t->a->file, path);
    if (k == H5O_TYPE_GROUP && !h5u_is_ragged(t->a->file, path)) {
        if (t->o->json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "name", path);
            cJSON_AddStringToObject(j, "kind", "group");
            if (has_attrs(t->a, path)) cJSON_AddItemToObject(j, "attrs", inspect_attrs(t->a, path, 1, ""));
            cJSON_AddItemToArray(t->jarr, j);
        } else {
            printf("%s/\n", path);
            if (has_attrs(t->a, path)) inspect_attrs(t->a, path, 0, "    ");
        }
        TreeCtx sub = *t;
        if (visit_group(&sub, path)) t->failed = 1;
        return 0;
    }
    if (k == H5O_TYPE_GROUP || k == H5O_TYPE_DATASET) {
        if (inspect_object(t->a, path, t->o, 0, t->jarr, t->err)) {
            t->failed = 1;
            return 1; /* stop: the message names the damaged dataset */
        }
    }
    return 0;
}

static int visit_group(TreeCtx *t, const char *group) {
    hsize_t idx = 0;
    t->parent = group;
    herr_t rc = H5Literate_by_name(t->a->file, group, H5_INDEX_NAME, H5_ITER_INC, &idx, link_cb, t, H5P_DEFAULT);
    if (rc < 0 && !t->failed) {
        h5u_fail(t->err, "%s: cannot list group '%s'", t->a->path, group);
        t->failed = 1;
    }
    return t->failed ? -1 : 0;
}

static int inspect_file(Artifact *a, const InspectOpts *o, PureErr *err) {
    TreeCtx t = {a, o, NULL, "/", err, 0};
    cJSON *root = NULL;
    if (o->json) {
        root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "file", a->path);
        cJSON_AddItemToObject(root, "attrs", inspect_attrs(a, "/", 1, ""));
        t.jarr = cJSON_AddArrayToObject(root, "objects");
    } else {
        printf("%s\n", a->path);
        inspect_attrs(a, "/", 0, "  ");
    }
    int rc = visit_group(&t, "/");
    if (root) {
        if (rc == 0) {
            char *s = cJSON_Print(root);
            printf("%s\n", s);
            free(s);
        }
        cJSON_Delete(root);
    }
    return rc;
}

int cmd_inspect(int argc, char **argv) {
    InspectOpts o = {0, 10};
    const char *file = NULL, *dataset = NULL;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(USAGE, stdout);
            return PURE_EXIT_OK;
        } else if (!strcmp(s, "--json")) o.json = 1;
        else if (!strcmp(s, "--all")) o.head = -1;
        else if (!strcmp(s, "--head") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 0) {
                fprintf(stderr, "pure inspect: --head wants a count >= 0, got '%s'\n", argv[i]);
                return PURE_EXIT_USAGE;
            }
            o.head = v;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "pure inspect: unknown option '%s'\n%s", s, USAGE);
            return PURE_EXIT_USAGE;
        } else if (!file) file = s;
        else if (!dataset) dataset = s;
        else {
            fprintf(stderr, "pure inspect: unexpected argument '%s'\n%s", s, USAGE);
            return PURE_EXIT_USAGE;
        }
    }
    if (!file) {
        fprintf(stderr, "pure inspect: no file given\n%s", USAGE);
        return PURE_EXIT_USAGE;
    }
    PureErr err = {0};
    Artifact *a = artifact_open(file, &err);
    if (!a) {
        fprintf(stderr, "pure inspect: %s\n", err.msg);
        return PURE_EXIT_USAGE;
    }
    int rc;
    if (dataset) {
        if (!artifact_has(a, dataset)) rc = err_set(&err, "%s: no dataset '%s'", file, dataset);
        else rc = inspect_object(a, dataset, &o, 1, NULL, &err);
    } else rc = inspect_file(a, &o, &err);
    fflush(stdout);
    artifact_close(a, NULL);
    if (rc) {
        fprintf(stderr, "pure inspect: %s\n", err.msg);
        return PURE_EXIT_USAGE;
    }
    return PURE_EXIT_OK;
}
