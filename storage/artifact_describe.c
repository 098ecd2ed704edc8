/* artifact_describe.c - what an object in an artifact is (dense, ragged,
 * strings), with its stored dtype and shape, and the names of the root's
 * objects: what the stage interface checks a port's declaration against. */
#include <stdlib.h>
#include <string.h>

#include "storage/h5util.h"
#include "util/fs.h"

/* Rank, dims and element type of dataset `path`; 0 or -1 + err. */
static int dataset_info(Artifact *a, const char *path, ArtObject *o, int *is_str, PureErr *err) {
    hid_t ds = H5Dopen2(a->file, path, H5P_DEFAULT);
    if (ds < 0) return h5u_fail(err, "%s: cannot open dataset '%s'", a->path, path);
    hid_t sp = H5Dget_space(ds), ft = H5Dget_type(ds);
    int rc = 0;
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (nd < 0 || nd > ARTIFACT_MAX_DIMS) rc = h5u_fail(err, "%s: dataset '%s': unreadable dataspace", a->path, path);
    else {
        hsize_t d[ARTIFACT_MAX_DIMS];
        H5Sget_simple_extent_dims(sp, d, NULL);
        o->ndim = nd;
        for (int i = 0; i < nd; i++) o->dims[i] = (int64_t)d[i];
    }
    *is_str = ft >= 0 && H5Tget_class(ft) == H5T_STRING;
    o->numeric = ft >= 0 && h5u_dtype_of(ft, &o->dtype) == 0;
    if (ft >= 0) h5u_type_desc(ft, o->type_desc, sizeof o->type_desc);
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(ds);
    return rc;
}

int artifact_describe(Artifact *a, const char *name, ArtObject *o, PureErr *err) {
    memset(o, 0, sizeof *o);
    char path[1024];
    if (h5u_norm_name(name, path, sizeof path) < 0) return err_set(err, "%s: invalid name '%s'", a->path, name);
    int k = h5u_kind(a->file, path), is_str = 0;
    if (k == H5O_TYPE_UNKNOWN) return o->kind = AO_ABSENT, 0;
    if (k < H5O_TYPE_UNKNOWN) return h5u_kind_fail(a, path, k, err); /* damaged, too deep, an external link */
    if (k == H5O_TYPE_DATASET) {
        if (dataset_info(a, path, o, &is_str, err)) return -1;
        o->kind = is_str ? AO_STRINGS : AO_DENSE;
        return 0;
    }
    if (!h5u_is_ragged(a->file, path)) return o->kind = k == H5O_TYPE_GROUP ? AO_GROUP : AO_OTHER, 0;
    /* ragged: the values' dtype, and the row count from the offsets' length */
    char sub[1100];
    ArtObject off;
    memset(&off, 0, sizeof off);
    snprintf(sub, sizeof sub, "%s/offsets", path);
    if (dataset_info(a, sub, &off, &is_str, err)) return -1;
    snprintf(sub, sizeof sub, "%s/values", path);
    if (dataset_info(a, sub, o, &is_str, err)) return -1;
    o->kind = AO_RAGGED;
    if (off.ndim != 1 || off.dims[0] < 1)
        return err_set(err, "%s: ragged '%s': offsets must be rank 1 with n_rows + 1 >= 1 entries", a->path, path);
    o->rows = off.dims[0] - 1;
    return 0;
}

int artifact_list_root(Artifact *a, char ***names, int *n, PureErr *err) {
    H5uNames l;
    h5u_quiet();
    if (h5u_list_links(a, "/", &l, err)) return -1;
    free(l.types);
    *names = l.names;
    *n = l.n;
    return 0;
}
