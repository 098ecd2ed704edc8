/* artifact_write.c - creating artifact files: dense, ragged and string
 * datasets, attributes, close.
 *
 * Reproducibility: every group and dataset is created with object time
 * tracking off and the file uses fixed format bounds (1.8 object headers,
 * which carry checksums on all metadata), so writing the same data twice
 * gives byte-identical files and the runner can compare artifacts by hash. */
#include <stdlib.h>
#include <string.h>

#include "storage/h5util.h"

const char *dtype_name(DType t) {
    switch (t) {
    case DT_F32: return "f32";
    case DT_F64: return "f64";
    case DT_I32: return "i32";
    case DT_I64: return "i64";
    case DT_U8: return "u8";
    }
    return "?";
}

size_t dtype_size(DType t) {
    switch (t) {
    case DT_F32: return 4;
    case DT_F64: return 8;
    case DT_I32: return 4;
    case DT_I64: return 8;
    case DT_U8: return 1;
    }
    return 0;
}

static int dtype_valid(DType t) { return t >= DT_F32 && t <= DT_U8; }

Artifact *artifact_create(const char *path, PureErr *err) {
    h5u_quiet();
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0); /* the root group */
    H5Pset_file_space_strategy(fcpl, H5F_FSPACE_STRATEGY_FSM_AGGR, 0, 1);
    hid_t fapl = h5u_fapl(1);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    /* report before any other HDF5 call: each API call clears the error stack */
    if (f < 0) h5u_fail(err, "%s: cannot create artifact", path);
    H5Pclose(fcpl);
    H5Pclose(fapl);
    if (f < 0) return NULL;
    Artifact *a = xcalloc(1, sizeof *a);
    a->file = f;
    a->path = xstrdup(path);
    a->writable = 1;
    return a;
}

const char *artifact_path(const Artifact *a) { return a->path; }

int artifact_close(Artifact *a, PureErr *err) {
    if (!a) return 0;
    int rc = 0;
    if (a->writable && H5Fflush(a->file, H5F_SCOPE_GLOBAL) < 0) rc = h5u_fail(err, "%s: flush failed", a->path);
    if (H5Fclose(a->file) < 0 && rc == 0) rc = h5u_fail(err, "%s: close failed", a->path);
    free(a->path);
    free(a);
    return rc;
}

static hid_t gcpl_untimed(void) {
    hid_t g = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(g, 0);
    return g;
}

/* Checks the file is writable and `name` is new, and creates the intermediate
 * groups of `name` (untimed, unlike HDF5's own intermediate-group creation).
 * On success `path` holds the normalized name. */
static int prepare_name(Artifact *a, const char *name, char *path, size_t n, PureErr *err) {
    if (!a->writable) return err_set(err, "%s: opened read-only, cannot write '%s'", a->path, name);
    if (!name || h5u_norm_name(name, path, n) < 0 || !strcmp(path, "/"))
        return err_set(err, "%s: invalid object name '%s'", a->path, name ? name : "(null)");
    int depth = 1;
    for (const char *s = path; *s; s++) depth += *s == '/';
    if (depth > H5U_MAX_DEPTH) /* readers refuse such names: never write one */
        return err_set(err, "%s: cannot write '%s': nested more than %d levels deep", a->path, path, H5U_MAX_DEPTH);
    if (h5u_kind(a->file, path) != H5O_TYPE_UNKNOWN)
        return err_set(err, "%s: '%s' already exists", a->path, path);
    for (char *s = path; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        int k = h5u_kind(a->file, path);
        int rc = 0;
        if (k == H5O_TYPE_UNKNOWN) {
            hid_t gcpl = gcpl_untimed();
            hid_t g = H5Gcreate2(a->file, path, H5P_DEFAULT, gcpl, H5P_DEFAULT);
            if (g < 0) rc = h5u_fail(err, "%s: cannot create group '%s'", a->path, path);
            else H5Gclose(g);
            H5Pclose(gcpl);
        } else if (k != H5O_TYPE_GROUP) {
            rc = err_set(err, "%s: cannot create '%s': '%s' is a dataset, not a group", a->path, name, path);
        }
        *s = '/';
        if (rc) return rc;
    }
    return 0;
}

static int set_attr(hid_t file, const char *path, const char *obj, const char *key, hid_t ftype, hid_t mtype,
                    const void *val, PureErr *err) {
    char o[1024];
    if (h5u_norm_name(obj, o, sizeof o) < 0 || h5u_kind(file, o) == H5O_TYPE_UNKNOWN)
        return err_set(err, "%s: cannot set attribute '%s': no object '%s'", path, key, obj);
    if (H5Aexists_by_name(file, o, key, H5P_DEFAULT) > 0) H5Adelete_by_name(file, o, key, H5P_DEFAULT);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t at = H5Acreate_by_name(file, o, key, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = 0;
    if (at < 0 || H5Awrite(at, mtype, val) < 0)
        rc = h5u_fail(err, "%s: cannot write attribute '%s' on '%s'", path, key, o);
    if (at >= 0) H5Aclose(at);
    H5Sclose(sp);
    return rc;
}

static hid_t vlen_utf8(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

/* String attributes are fixed-length (exactly the UTF-8 bytes, null-padded):
 * variable-length ones would live in HDF5's global heap, which carries no
 * checksum, and HDF5 crashes on some damaged heaps instead of failing. */
int artifact_set_attr_str(Artifact *a, const char *obj, const char *key, const char *val, PureErr *err) {
    if (!a->writable) return err_set(err, "%s: opened read-only, cannot set attribute '%s'", a->path, key);
    const char *v = val ? val : "";
    size_t n = strlen(v);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n ? n : 1);
    H5Tset_cset(t, H5T_CSET_UTF8);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    int rc = set_attr(a->file, a->path, obj, key, t, t, n ? v : "", err);
    H5Tclose(t);
    return rc;
}

int artifact_set_attr_i64(Artifact *a, const char *obj, const char *key, int64_t val, PureErr *err) {
    if (!a->writable) return err_set(err, "%s: opened read-only, cannot set attribute '%s'", a->path, key);
    return set_attr(a->file, a->path, obj, key, H5T_STD_I64LE, H5T_NATIVE_INT64, &val, err);
}

int artifact_set_attr_f64(Artifact *a, const char *obj, const char *key, double val, PureErr *err) {
    if (!a->writable) return err_set(err, "%s: opened read-only, cannot set attribute '%s'", a->path, key);
    return set_attr(a->file, a->path, obj, key, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &val, err);
}

/* Creates dataset `path` (already prepared) and writes all of `data`, then its
 * checksum attribute. ndim 0 = scalar. */
static int write_dataset(Artifact *a, const char *path, hid_t ftype, hid_t mtype, int ndim, const int64_t *dims,
                         const void *data, const char *sha, PureErr *err) {
    hsize_t hd[ARTIFACT_MAX_DIMS];
    for (int i = 0; i < ndim; i++) hd[i] = (hsize_t)dims[i];
    hid_t sp = ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(ndim, hd, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0);
    /* every element is written right away: no fill pass (HDF5 refuses this for vlen types) */
    if (H5Tis_variable_str(ftype) <= 0) H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    hid_t ds = H5Dcreate2(a->file, path, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int rc = 0;
    static const char dummy[8];
    if (ds < 0) rc = h5u_fail(err, "%s: cannot create dataset '%s'", a->path, path);
    else if (H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data ? data : dummy) < 0)
        rc = h5u_fail(err, "%s: cannot write dataset '%s'", a->path, path);
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
    if (rc == 0) rc = artifact_set_attr_str(a, path, H5U_SHA_ATTR, sha, err);
    return rc;
}

static int check_dims(Artifact *a, const char *name, int ndim, const int64_t *dims, int64_t *count, PureErr *err) {
    if (ndim < 0 || ndim > ARTIFACT_MAX_DIMS)
        return err_set(err, "%s: dataset '%s': rank %d outside 0..%d", a->path, name, ndim, ARTIFACT_MAX_DIMS);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0)
            return err_set(err, "%s: dataset '%s': negative dimension %lld at axis %d", a->path, name,
                           (long long)dims[i], i);
        n *= dims[i];
    }
    *count = n;
    return 0;
}

int artifact_write(Artifact *a, const char *name, DType t, int ndim, const int64_t *dims, const void *data,
                   PureErr *err) {
    char path[1024];
    int64_t n = 0;
    if (!dtype_valid(t)) return err_set(err, "%s: dataset '%s': invalid dtype %d", a->path, name, (int)t);
    if (check_dims(a, name, ndim, dims, &n, err) || prepare_name(a, name, path, sizeof path, err)) return -1;
    if (n > 0 && !data) return err_set(err, "%s: dataset '%s': no data for %lld elements", a->path, name, (long long)n);
    char sha[65];
    sha256_hex(data ? data : "", (size_t)n * dtype_size(t), sha);
    return write_dataset(a, path, h5u_file_type(t), h5u_mem_type(t), ndim, dims, data, sha, err);
}

int artifact_write_ragged(Artifact *a, const char *name, DType t, int64_t n_rows, const int64_t *offsets,
                          const void *flat, PureErr *err) {
    char path[1024], sub[1100];
    if (n_rows < 0) return err_set(err, "%s: ragged '%s': negative row count %lld", a->path, name, (long long)n_rows);
    if (!offsets) return err_set(err, "%s: ragged '%s': no offsets", a->path, name);
    if (offsets[0] != 0)
        return err_set(err, "%s: ragged '%s': offsets[0] = %lld, expected 0", a->path, name, (long long)offsets[0]);
    for (int64_t i = 0; i < n_rows; i++)
        if (offsets[i + 1] < offsets[i])
            return err_set(err, "%s: ragged '%s': offsets decrease at row %lld (%lld -> %lld)", a->path, name,
                           (long long)i, (long long)offsets[i], (long long)offsets[i + 1]);
    if (prepare_name(a, name, path, sizeof path, err)) return -1;
    hid_t gcpl = gcpl_untimed();
    hid_t g = H5Gcreate2(a->file, path, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    int rc = g < 0 ? h5u_fail(err, "%s: cannot create group '%s'", a->path, path) : 0;
    H5Pclose(gcpl);
    if (rc) return -1;
    H5Gclose(g);
    if (artifact_set_attr_str(a, path, H5U_LAYOUT_ATTR, "ragged", err)) return -1;
    int64_t nv = offsets[n_rows], no = n_rows + 1;
    snprintf(sub, sizeof sub, "%s/values", path);
    if (artifact_write(a, sub, t, 1, &nv, flat, err)) return -1;
    snprintf(sub, sizeof sub, "%s/offsets", path);
    return artifact_write(a, sub, DT_I64, 1, &no, offsets, err);
}

int artifact_write_strings(Artifact *a, const char *name, int64_t n, const char *const *strs, PureErr *err) {
    char path[1024];
    if (n < 0) return err_set(err, "%s: strings '%s': negative count %lld", a->path, name, (long long)n);
    if (prepare_name(a, name, path, sizeof path, err)) return -1;
    /* HDF5 would store a NULL pointer as a null string that h5py reads back as b"" anyway; be explicit */
    const char **s = xmalloc((size_t)(n ? n : 1) * sizeof *s);
    for (int64_t i = 0; i < n; i++) s[i] = strs && strs[i] ? strs[i] : "";
    char sha[65];
    h5u_sha_strings(s, n, sha);
    hid_t t = vlen_utf8();
    int rc = write_dataset(a, path, t, t, 1, &n, s, sha, err);
    H5Tclose(t);
    free(s);
    return rc;
}

int artifact_write_scalar_f64(Artifact *a, const char *name, double v, PureErr *err) {
    return artifact_write(a, name, DT_F64, 0, NULL, &v, err);
}
