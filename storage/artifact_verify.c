/* artifact_verify.c - reads every object of an artifact once, so that a
 * damaged file is found before anything trusts it: dataset checksums,
 * ragged offsets and the string heaps are all checked on the way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/h5util.h"

typedef struct {
    Artifact *a;
    const char *parent;
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

static herr_t verify_link(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    VerifyCtx *c = data;
    (void)g;
    (void)info;
    char path[1024];
    snprintf(path, sizeof path, "%s%s%s", strcmp(c->parent, "/") ? c->parent : "", strcmp(c->parent, "/") ? "/" : "", name);
    int k = h5u_kind(c->a->file, path), rc = 0;
    if (k == H5O_TYPE_GROUP && h5u_is_ragged(c->a->file, path)) {
        int64_t n, *o;
        void *v;
        rc = artifact_read_ragged(c->a, path, DT_F64, &n, &o, &v, c->err);
        if (rc == 0) {
            free(o);
            free(v);
        }
    } else if (k == H5O_TYPE_GROUP) {
        VerifyCtx sub = *c;
        rc = verify_group(&sub, path);
    } else if (k == H5O_TYPE_DATASET) {
        rc = verify_dataset(c->a, path, c->err);
    } else {
        rc = err_set(c->err, "%s: cannot read object '%s' (damaged file?)", c->a->path, path);
    }
    if (rc) c->failed = 1;
    return rc ? 1 : 0;
}

static int verify_group(VerifyCtx *c, const char *group) {
    hsize_t idx = 0;
    c->parent = group;
    herr_t rc = H5Literate_by_name(c->a->file, group, H5_INDEX_NAME, H5_ITER_INC, &idx, verify_link, c, H5P_DEFAULT);
    if (rc < 0 && !c->failed) {
        h5u_fail(c->err, "%s: cannot list group '%s' (damaged file?)", c->a->path, group);
        c->failed = 1;
    }
    return c->failed ? -1 : 0;
}

int artifact_verify(const char *path, PureErr *err) {
    Artifact *a = artifact_open(path, err);
    if (!a) return -1;
    VerifyCtx c = {a, "/", err, 0};
    int rc = verify_group(&c, "/");
    if (artifact_close(a, rc ? NULL : err)) rc = -1;
    return rc;
}
