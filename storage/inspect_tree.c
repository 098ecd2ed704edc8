/* inspect_tree.c - what `pure inspect` prints: the tree of an artifact
 * (groups, datasets with dtype and shape, attributes, summary statistics,
 * ragged groups as rows x lengths, links as links) and, for one dataset, its
 * values; text for people, JSON for scripts. Reads through artifact.h, so
 * checksums are verified and a damaged file is reported, not printed: any
 * object or attribute that cannot be read stops the listing with an error
 * naming it, and nothing is written (the output is built in memory first).
 * The walk lists each object once, refuses trees deeper than H5U_MAX_DEPTH
 * and lists soft and external links without following them. */
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
    FILE *out;
    PureErr *err;
    int printed, failed;
} AttrCtx;

/* Storage bookkeeping, not shown: the per-dataset checksum and the ragged
 * layout tag (the runner's provenance attributes, pure_kind..., are shown). */
static int hidden_attr(const char *key) { return !strcmp(key, H5U_SHA_ATTR) || !strcmp(key, H5U_LAYOUT_ATTR); }

/* Adds attribute `key` of the open object loc to the line or the JSON object. */
static int attr_show(AttrCtx *c, hid_t loc, const char *key) {
    if (hidden_attr(key)) return 0;
    PureErr *e = c->err;
    hid_t at = H5Aopen(loc, key, H5P_DEFAULT);
    hid_t ft = at >= 0 ? H5Aget_type(at) : H5I_INVALID_HID;
    hid_t sp = at >= 0 ? H5Aget_space(at) : H5I_INVALID_HID;
    H5T_class_t cls = ft >= 0 ? H5Tget_class(ft) : H5T_NO_CLASS;
    hssize_t npts = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    char d[64] = "?";
    if (ft >= 0) h5u_type_desc(ft, d, sizeof d);
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    if (at >= 0) H5Aclose(at);
    if (at < 0 || ft < 0 || npts < 0) {
        return h5u_fail(e, "%s: attribute '%s' of '%s': cannot read its header (damaged file?)", c->a->path, key, c->obj);
    }
    cJSON *jv = NULL;
    char *text = NULL;
    int rc = 0;
    if (cls == H5T_STRING && npts == 1) {
        char *s = artifact_get_attr_str(c->a, c->obj, key, e);
        if (!s) rc = -1;
        else {
            if (c->json) jv = inspect_json_string(s);
            else text = inspect_quote(s);
        }
        free(s);
    } else if (cls == H5T_INTEGER && npts == 1) {
        int64_t v = 0;
        rc = artifact_get_attr_i64(c->a, c->obj, key, &v, e);
        jv = cJSON_CreateNumber((double)v);
        if (asprintf(&text, "%lld", (long long)v) < 0) text = NULL;
    } else if (cls == H5T_FLOAT && npts == 1) {
        double v = 0;
        rc = artifact_get_attr_f64(c->a, c->obj, key, &v, e);
        jv = cJSON_CreateNumber(v);
        if (asprintf(&text, "%.17g", v) < 0) text = NULL;
    } else {
        /* arrays and other types are summarized, but still read (a damaged value is an error) */
        rc = h5u_check_attr(c->a, loc, c->obj, key, e);
        char buf[128];
        snprintf(buf, sizeof buf, "<%lld x %s>", (long long)npts, d);
        jv = cJSON_CreateString(buf);
        text = xstrdup(buf);
    }
    if (rc == 0) {
        if (c->json) {
            char *k = inspect_utf8_clean(key); /* names are bytes too: keep the JSON valid UTF-8 */
            cJSON_AddItemToObject(c->json, k, jv);
            free(k);
            jv = NULL;
        } else {
            fprintf(c->out, "%s%s=%s", c->printed ? ", " : "", key, text ? text : "?");
        }
        c->printed++;
    }
    cJSON_Delete(jv);
    free(text);
    return rc;
}

/* Shown attributes of obj: "  attrs: k=v, ..." (text, when there are any or
 * `always`) or a JSON object of them in *json. 0 or -1 + err. */
static int inspect_attrs(Artifact *a, const char *obj, FILE *out, const char *indent, int always, cJSON **json,
                         PureErr *err) {
    /* text: the line is built apart, so that an object without shown attributes prints none */
    char *line = NULL;
    size_t len = 0;
    FILE *mem = json ? NULL : open_memstream(&line, &len);
    AttrCtx c = {a, obj, json ? cJSON_CreateObject() : NULL, mem, err, 0, 0};
    H5uNames l;
    if (h5u_list_attrs(a, obj, &l, err)) c.failed = 1;
    else {
        hid_t o = l.n ? H5Oopen(a->file, obj, H5P_DEFAULT) : H5I_INVALID_HID;
        if (l.n && o < 0) c.failed = h5u_fail(err, "%s: cannot open '%s' (damaged file?)", a->path, obj) != 0;
        for (int i = 0; i < l.n && !c.failed; i++) c.failed = attr_show(&c, o, l.names[i]) != 0;
        if (o >= 0) H5Oclose(o);
        h5u_names_free(&l);
    }
    H5Eclear2(H5E_DEFAULT);
    if (mem) fclose(mem);
    if (c.failed) {
        cJSON_Delete(c.json);
        free(line);
        return -1;
    }
    if (json) {
        if (c.printed || always) *json = c.json;
        else cJSON_Delete(c.json);
    } else if (c.printed || always) {
        fprintf(out, "%sattrs: %s\n", indent, c.printed ? line : "(none)");
    }
    free(line);
    return 0;
}

/* ---- one object ---- */

/* Describes and (when values != 0) prints one dataset or ragged group, into
 * jarr (JSON mode, when given) or out. -1 with err set when it cannot be read. */
static int object_print(Artifact *a, const char *name, const InspectOpts *o, int values, cJSON *jarr, FILE *out,
                        PureErr *err) {
    InspectInfo info;
    if (inspect_load(a, name, &info, err)) return -1;
    int rc = 0;
    if (o->json) {
        cJSON *j = inspect_info_json(&info, values ? o->head : 0), *attrs = NULL;
        rc = inspect_attrs(a, name, NULL, "", 0, &attrs, err);
        if (attrs) cJSON_AddItemToObject(j, "attrs", attrs);
        if (rc) cJSON_Delete(j);
        else if (jarr) cJSON_AddItemToArray(jarr, j);
        else {
            char *s = cJSON_Print(j);
            fprintf(out, "%s\n", s);
            free(s);
            cJSON_Delete(j);
        }
    } else {
        inspect_info_print(out, &info, values ? o->head : 0);
        rc = inspect_attrs(a, name, out, "    ", 0, NULL, err);
    }
    inspect_info_free(&info);
    return rc;
}

/* Output goes to a memory buffer, copied to out only when everything was read. */
typedef struct {
    char *buf;
    size_t len;
    FILE *f;
} MemOut;

static FILE *mem_open(MemOut *m) {
    m->buf = NULL;
    m->len = 0;
    m->f = open_memstream(&m->buf, &m->len);
    return m->f;
}

static int mem_close(MemOut *m, int rc, FILE *out) {
    fclose(m->f);
    if (rc == 0 && m->len) fwrite(m->buf, 1, m->len, out);
    free(m->buf);
    return rc;
}

int inspect_object(Artifact *a, const char *name, const InspectOpts *o, FILE *out, PureErr *err) {
    MemOut m;
    if (!mem_open(&m)) return err_set(err, "%s: out of memory", a->path);
    return mem_close(&m, object_print(a, name, o, 1, NULL, m.f, err), out);
}

/* ---- the tree ---- */

typedef struct {
    Artifact *a;
    const InspectOpts *o;
    cJSON *jarr;
    FILE *out;
    const char *parent;
    int depth;  /* of parent: "/" is 0 */
    H5uSeen *seen;
    PureErr *err;
    int failed;
} TreeCtx;

static int visit_group(TreeCtx *t, const char *group);

/* A link that is not followed: listed as what it is. */
static void print_link(TreeCtx *t, const char *path, H5L_type_t type) {
    char file[512], obj[512];
    const char *kind = type == H5L_TYPE_SOFT ? "soft link" : type == H5L_TYPE_EXTERNAL ? "external link" : "user-defined link";
    h5u_link_target(t->a->file, path, type, file, sizeof file, obj, sizeof obj);
    if (t->o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToObject(j, "name", inspect_json_string(path));
        cJSON_AddStringToObject(j, "kind", kind);
        if (type == H5L_TYPE_EXTERNAL) cJSON_AddItemToObject(j, "file", inspect_json_string(file));
        if (type == H5L_TYPE_SOFT || type == H5L_TYPE_EXTERNAL) cJSON_AddItemToObject(j, "target", inspect_json_string(obj));
        else cJSON_AddNumberToObject(j, "link_type", (double)type);
        cJSON_AddBoolToObject(j, "followed", 0);
        cJSON_AddItemToArray(t->jarr, j);
    } else if (type == H5L_TYPE_SOFT) {
        fprintf(t->out, "%-32s soft link to '%s' (not followed)\n", path, obj);
    } else if (type == H5L_TYPE_EXTERNAL) {
        fprintf(t->out, "%-32s external link to '%s:%s' (not followed)\n", path, file, obj);
    } else {
        fprintf(t->out, "%-32s user-defined link (type %d, not followed)\n", path, (int)type);
    }
}

/* Lists one link of the group t->parent; -1 (err set) stops the listing. */
static int show_link(TreeCtx *t, const char *lname, H5L_type_t type) {
    char path[1024];
    if (h5u_join(t->parent, lname, path, sizeof path) < 0) {
        err_set(t->err, "%s: group '%s': a link name of %zu bytes makes a path longer than %zu bytes", t->a->path,
                t->parent, strlen(lname), sizeof path - 1);
        goto fail;
    }
    if (type != H5L_TYPE_HARD) {
        print_link(t, path, type);
        return 0;
    }
    H5O_info_t oi;
    if (H5Oget_info_by_name2(t->a->file, path, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        h5u_fail(t->err, "%s: cannot read object '%s' (damaged file?)", t->a->path, path);
        goto fail;
    }
    const char *first = h5u_seen_add(t->seen, oi.addr, path);
    if (first) { /* a second name of one object (or a cycle): listed, not walked again */
        if (t->o->json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddItemToObject(j, "name", inspect_json_string(path));
            cJSON_AddStringToObject(j, "kind", "hard link");
            cJSON_AddItemToObject(j, "target", inspect_json_string(first));
            cJSON_AddItemToArray(t->jarr, j);
        } else fprintf(t->out, "%-32s hard link to '%s' (listed once)\n", path, first);
        return 0;
    }
    if (t->depth + 1 > H5U_MAX_DEPTH) {
        err_set(t->err, "%s: '%.300s...': nested more than %d levels deep (damaged or hostile file): not read",
                t->a->path, path, H5U_MAX_DEPTH);
        goto fail;
    }
    if (oi.type == H5O_TYPE_DATASET || (oi.type == H5O_TYPE_GROUP && h5u_is_ragged(t->a->file, path))) {
        if (object_print(t->a, path, t->o, 0, t->jarr, t->out, t->err)) goto fail;
        return 0;
    }
    const char *kind = oi.type == H5O_TYPE_GROUP ? "group" : oi.type == H5O_TYPE_NAMED_DATATYPE ? "named datatype"
                                                                                               : "object";
    if (t->o->json) {
        cJSON *j = cJSON_CreateObject(), *attrs = NULL;
        cJSON_AddItemToObject(j, "name", inspect_json_string(path));
        cJSON_AddStringToObject(j, "kind", kind);
        cJSON_AddItemToArray(t->jarr, j);
        if (inspect_attrs(t->a, path, NULL, "", 0, &attrs, t->err)) goto fail;
        if (attrs) cJSON_AddItemToObject(j, "attrs", attrs);
    } else {
        if (oi.type == H5O_TYPE_GROUP) fprintf(t->out, "%s/\n", path);
        else fprintf(t->out, "%-32s %s\n", path, kind);
        if (inspect_attrs(t->a, path, t->out, "    ", 0, NULL, t->err)) goto fail;
    }
    if (oi.type == H5O_TYPE_GROUP) {
        TreeCtx sub = *t;
        sub.depth = t->depth + 1;
        if (visit_group(&sub, path)) goto fail;
    }
    return 0;
fail:
    t->failed = 1;
    return -1; /* stop: the message names the object */
}

static int visit_group(TreeCtx *t, const char *group) {
    H5uNames l;
    t->parent = group;
    if (h5u_list_links(t->a, group, &l, t->err)) return t->failed = 1, -1;
    for (int i = 0; i < l.n && !t->failed; i++) show_link(t, l.names[i], l.types[i]);
    h5u_names_free(&l);
    return t->failed ? -1 : 0;
}

int inspect_file(Artifact *a, const InspectOpts *o, FILE *out, PureErr *err) {
    MemOut m;
    if (!mem_open(&m)) return err_set(err, "%s: out of memory", a->path);
    H5uSeen seen = {0};
    TreeCtx t = {a, o, NULL, m.f, "/", 0, &seen, err, 0};
    cJSON *root = NULL;
    int rc = 0;
    H5O_info_t oi;
    if (H5Oget_info_by_name2(a->file, "/", &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
        rc = h5u_fail(err, "%s: cannot read the root group (damaged file?)", a->path);
    else h5u_seen_add(&seen, oi.addr, "/");
    if (rc == 0 && o->json) {
        root = cJSON_CreateObject();
        cJSON_AddItemToObject(root, "file", inspect_json_string(a->path));
        cJSON *attrs = NULL;
        rc = inspect_attrs(a, "/", NULL, "", 1, &attrs, err);
        if (attrs) cJSON_AddItemToObject(root, "attrs", attrs);
        t.jarr = cJSON_AddArrayToObject(root, "objects");
    } else if (rc == 0) {
        fprintf(m.f, "%s\n", a->path);
        rc = inspect_attrs(a, "/", m.f, "  ", 1, NULL, err);
    }
    if (rc == 0) rc = visit_group(&t, "/");
    if (root) {
        if (rc == 0) {
            char *s = cJSON_Print(root);
            fprintf(m.f, "%s\n", s);
            free(s);
        }
        cJSON_Delete(root);
    }
    h5u_seen_free(&seen);
    return mem_close(&m, rc, out);
}
