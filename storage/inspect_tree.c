/* inspect_tree.c - what `pure inspect` prints: the tree of an artifact
 * (groups, datasets with dtype and shape, attributes, summary statistics,
 * ragged groups as rows x lengths) and, for one dataset, its values; text
 * for people, JSON for scripts. Reads through artifact.h, so checksums are
 * verified and a damaged file is reported, not printed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/h5util.h"
#include "storage/inspect.h"


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
int inspect_object(Artifact *a, const char *name, const InspectOpts *o, int values, cJSON *jarr,
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

int inspect_file(Artifact *a, const InspectOpts *o, PureErr *err) {
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

