/* artifact_verify.c - reads every object of an artifact once, so that a
 * damaged file is found before anything trusts it: dataset checksums,
 * ragged offsets, the string heaps and every attribute are all checked on
 * the way. The walk visits each object once (hard links may name one twice or
 * form cycles), refuses trees deeper than H5U_MAX_DEPTH and never follows
 * soft or external links; an external link fails the check (an artifact must
 * be self-contained), a soft link is checked where its target lives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/h5util.h"

typedef struct {
    Artifact *a;
    const char *parent;
    int depth;        /* of parent: "/" is 0 */
    H5uSeen *seen;
    PureErr *err;
    int failed;
} VerifyCtx;

static int verify_group(VerifyCtx *c, const char *group);

/* Reads one dataset in a type matching its stored class (exact for integers). */
static int verify_dataset(Artifact *a, const char *path, PureErr *err) {
    hid_t ds = H5Dopen2(a->file, path, H5P_DEFAULT);
    if (ds < 0) return h5u_fail(err, "%s: cannot open dataset '%s'", a->path, path);
    hid_t t = H5Dget_type(ds);
    H5T_class_t cls = H5Tget_class(t);
    H5Tclose(t);
    H5Dclose(ds);
    if (cls == H5T_STRING) {
        int64_t n;
        char **s = artifact_read_strings(a, path, &n, err);
        artifact_strings_free(s, s ? n : 0);
        return s ? 0 : -1;
    }
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) return 0; /* not a layout pure writes */
    void *p = artifact_read(a, path, cls == H5T_INTEGER ? DT_I64 : DT_F64, -1, NULL, err);
    free(p);
    return p ? 0 : -1;
}

static int verify_link(VerifyCtx *c, const char *name, H5L_type_t type) {
    char path[1024];
    int rc = 0;
    if (h5u_join(c->parent, name, path, sizeof path) < 0) {
        rc = err_set(c->err, "%s: group '%s': a link name of %zu bytes makes a path longer than %zu bytes", c->a->path,
                     c->parent, strlen(name), sizeof path - 1);
        goto out;
    }
    if (type == H5L_TYPE_SOFT) return 0; /* its target is checked under its own (hard) name */
    if (type != H5L_TYPE_HARD) {
        char what[1200];
        h5u_link_desc(c->a->file, path, type, what, sizeof what);
        rc = err_set(c->err, "%s: '%s' is %s %s, not followed (an artifact must be self-contained)", c->a->path, path,
                     type == H5L_TYPE_EXTERNAL ? "an" : "a", what);
        goto out;
    }
    H5O_info_t oi;
    if (H5Oget_info_by_name2(c->a->file, path, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        rc = h5u_fail(c->err, "%s: cannot read object '%s' (damaged file?)", c->a->path, path);
        goto out;
    }
    if (h5u_seen_add(c->seen, oi.addr, path)) return 0; /* another name of an object already checked */
    if (c->depth + 1 > H5U_MAX_DEPTH) {
        rc = err_set(c->err, "%s: '%.300s...': nested more than %d levels deep (damaged or hostile file): not read",
                     c->a->path, path, H5U_MAX_DEPTH);
        goto out;
    }
    rc = h5u_check_attrs(c->a, path, c->err);
    if (rc) goto out;
    if (oi.type == H5O_TYPE_GROUP && h5u_is_ragged(c->a->file, path)) {
        int64_t n, *o;
        void *v;
        rc = artifact_read_ragged(c->a, path, DT_F64, &n, &o, &v, c->err);
        if (rc == 0) {
            free(o);
            free(v);
        }
        /* the pair was read: only its attributes are left; anything else in the group is walked as usual */
        static const char *const pair[2] = {"values", "offsets"};
        for (int i = 0; rc == 0 && i < 2; i++) {
            char sub[1100];
            snprintf(sub, sizeof sub, "%s/%s", path, pair[i]);
            H5O_info_t si;
            if (H5Oget_info_by_name2(c->a->file, sub, &si, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
                rc = h5u_fail(c->err, "%s: cannot read object '%s' (damaged file?)", c->a->path, sub);
            else if (!h5u_seen_add(c->seen, si.addr, sub)) rc = h5u_check_attrs(c->a, sub, c->err);
        }
        if (rc == 0) {
            VerifyCtx sub = *c;
            sub.depth = c->depth + 1;
            rc = verify_group(&sub, path);
        }
    } else if (oi.type == H5O_TYPE_GROUP) {
        VerifyCtx sub = *c;
        sub.depth = c->depth + 1;
        rc = verify_group(&sub, path);
    } else if (oi.type == H5O_TYPE_DATASET) {
        rc = verify_dataset(c->a, path, c->err);
    } /* named datatypes: their attributes were read */
out:
    if (rc) c->failed = 1;
    return rc;
}

static int verify_group(VerifyCtx *c, const char *group) {
    H5uNames l;
    c->parent = group;
    if (h5u_list_links(c->a, group, &l, c->err)) return c->failed = 1, -1;
    for (int i = 0; i < l.n && !c->failed; i++) verify_link(c, l.names[i], l.types[i]);
    h5u_names_free(&l);
    return c->failed ? -1 : 0;
}

int artifact_verify(const char *path, PureErr *err) {
    Artifact *a = artifact_open(path, err);
    if (!a) return -1;
    H5uSeen seen = {0};
    VerifyCtx c = {a, "/", 0, &seen, err, 0};
    H5O_info_t oi;
    int rc = 0;
    if (H5Oget_info_by_name2(a->file, "/", &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
        rc = h5u_fail(err, "%s: cannot read the root group (damaged file?)", path);
    else {
        h5u_seen_add(&seen, oi.addr, "/");
        rc = h5u_check_attrs(a, "/", err);
    }
    if (rc == 0) rc = verify_group(&c, "/");
    h5u_seen_free(&seen);
    if (artifact_close(a, rc ? NULL : err)) rc = -1;
    return rc;
}
