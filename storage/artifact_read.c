/* artifact_read.c - opening artifact files and reading datasets, ragged
 * groups, strings and attributes, with dtype conversion and checksum checks.
 *
 * Every failure names the file and the object and says what was expected
 * versus what is stored. Damaged files must end in a PureErr, never a crash:
 * HDF5 checksums the metadata of the format we write, and our pure_sha256
 * attribute covers the raw data bytes. Hostile files get an error too: no read
 * allocates more than the file can hold (h5u_read_budget), names nest at most
 * H5U_MAX_DEPTH groups deep, and external links are never followed. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "storage/h5util.h"
#include "util/fs.h"

Artifact *artifact_open(const char *path, PureErr *err) {
    h5u_quiet();
    if (!fs_exists(path)) {
        err_set(err, "%s: no such artifact file", path);
        return NULL;
    }
    htri_t ok = H5Fis_hdf5(path);
    if (ok == 0) {
        err_set(err, "%s: not an HDF5 file (no HDF5 signature; truncated or overwritten?)", path);
        return NULL;
    }
    hid_t fapl = h5u_fapl(0);
    hid_t f = ok > 0 ? H5Fopen(path, H5F_ACC_RDONLY, fapl) : H5I_INVALID_HID;
    /* report before H5Pclose, which would clear HDF5's error stack */
    if (f < 0) h5u_fail(err, "%s: cannot open artifact (damaged or truncated file?)", path);
    H5Pclose(fapl);
    if (f < 0) return NULL;
    Artifact *a = xcalloc(1, sizeof *a);
    a->file = f;
    a->path = xstrdup(path);
    struct stat st;
    a->file_size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
    return a;
}

int artifact_has(Artifact *a, const char *name) { return h5u_kind(a->file, name) != H5O_TYPE_UNKNOWN; }

static void fmt_shape(int ndim, const int64_t *dims, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++) k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

/* Opens dataset `name`; a missing name, a group or a ragged group in its place
 * each get their own message. */
static hid_t open_dataset(Artifact *a, const char *name, PureErr *err) {
    char path[1024];
    if (h5u_norm_name(name, path, sizeof path) < 0) {
        err_set(err, "%s: invalid dataset name '%s'", a->path, name);
        return H5I_INVALID_HID;
    }
    int k = h5u_kind(a->file, path);
    if (k == H5O_TYPE_UNKNOWN) {
        err_set(err, "%s: no dataset '%s'", a->path, path);
        return H5I_INVALID_HID;
    }
    if (k < H5O_TYPE_UNKNOWN) {
        h5u_kind_fail(a, path, k, err);
        return H5I_INVALID_HID;
    }
    if (k == H5O_TYPE_NAMED_DATATYPE) {
        err_set(err, "%s: '%s' is a named datatype, expected a dataset", a->path, path);
        return H5I_INVALID_HID;
    }
    if (k != H5O_TYPE_DATASET) {
        if (h5u_is_ragged(a->file, path))
            err_set(err, "%s: '%s' is a ragged group (values + offsets), expected a dense dataset", a->path, path);
        else err_set(err, "%s: '%s' is a group, expected a dataset", a->path, path);
        return H5I_INVALID_HID;
    }
    hid_t ds = H5Dopen2(a->file, path, H5P_DEFAULT);
    if (ds < 0) h5u_fail(err, "%s: cannot open dataset '%s'", a->path, path);
    return ds;
}

/* Rank and dims of a dataset (or attribute) dataspace. */
static int space_dims(hid_t sp, Artifact *a, const char *name, int *ndim, int64_t *dims, PureErr *err) {
    int r = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
    if (r < 0) return h5u_fail(err, "%s: '%s': cannot read its dataspace", a->path, name);
    if (H5Sget_simple_extent_type(sp) == H5S_NULL)
        return err_set(err, "%s: '%s': an empty (null) dataspace holds no data, expected a dataset with a shape",
                       a->path, name);
    if (r > ARTIFACT_MAX_DIMS)
        return err_set(err, "%s: '%s': rank %d, more than the %d supported", a->path, name, r, ARTIFACT_MAX_DIMS);
    hsize_t hd[ARTIFACT_MAX_DIMS];
    H5Sget_simple_extent_dims(sp, hd, NULL);
    for (int i = 0; i < r; i++) dims[i] = (int64_t)hd[i];
    *ndim = r;
    return 0;
}

static int dataset_dims(hid_t ds, Artifact *a, const char *name, int *ndim, int64_t *dims, PureErr *err) {
    hid_t sp = H5Dget_space(ds);
    int rc = space_dims(sp, a, name, ndim, dims, err);
    if (sp >= 0) H5Sclose(sp);
    return rc;
}

static int64_t count_of(int ndim, const int64_t *dims) { return h5u_count(ndim, dims); }

/* Reads a string attribute of an open object (vlen or fixed length). */
static char *attr_read_str(hid_t at, Artifact *a, const char *obj, const char *key, PureErr *err) {
    hid_t ft = H5Aget_type(at);
    char *out = NULL;
    if (H5Tget_class(ft) != H5T_STRING) {
        char d[64];
        h5u_type_desc(ft, d, sizeof d);
        err_set(err, "%s: attribute '%s' of '%s': expected a string, got %s", a->path, key, obj, d);
    } else if (H5Tis_variable_str(ft) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char *s = NULL;
        if (H5Aread(at, mt, &s) < 0) h5u_fail(err, "%s: cannot read attribute '%s' of '%s'", a->path, key, obj);
        else {
            out = xstrdup(s ? s : "");
            hid_t sp = H5Screate(H5S_SCALAR);
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, &s);
            H5Sclose(sp);
        }
        H5Tclose(mt);
    } else if (H5Tget_size(ft) == 0 || H5Tget_size(ft) > h5u_read_limit(a)) {
        err_set(err, "%s: attribute '%s' of '%s': a %zu-byte string, more than the file holds (damaged file?)", a->path,
                key, obj, H5Tget_size(ft));
    } else {
        size_t sz = H5Tget_size(ft);
        char *buf = xcalloc(sz + 1, 1);
        if (H5Aread(at, ft, buf) < 0) {
            h5u_fail(err, "%s: cannot read attribute '%s' of '%s'", a->path, key, obj);
            free(buf);
        } else out = buf;
    }
    H5Tclose(ft);
    return out;
}

static hid_t open_attr(Artifact *a, const char *obj, const char *key, PureErr *err) {
    char o[1024];
    int k = h5u_norm_name(obj, o, sizeof o) < 0 ? H5U_K_BADNAME : h5u_kind(a->file, o);
    if (k == H5O_TYPE_UNKNOWN) {
        err_set(err, "%s: no object '%s' (reading attribute '%s')", a->path, obj, key);
        return H5I_INVALID_HID;
    }
    if (k < H5O_TYPE_UNKNOWN) {
        h5u_kind_fail(a, obj, k, err);
        err_prefix(err, "reading attribute '%s'", key);
        return H5I_INVALID_HID;
    }
    htri_t ex = H5Aexists_by_name(a->file, o, key, H5P_DEFAULT);
    if (ex <= 0) {
        if (ex < 0) h5u_fail(err, "%s: cannot read attributes of '%s'", a->path, o);
        else err_set(err, "%s: '%s' has no attribute '%s'", a->path, o, key);
        return H5I_INVALID_HID;
    }
    hid_t at = H5Aopen_by_name(a->file, o, key, H5P_DEFAULT, H5P_DEFAULT);
    if (at < 0) h5u_fail(err, "%s: cannot open attribute '%s' of '%s'", a->path, key, o);
    return at;
}

/* Compares the checksum attribute (when the writer left one) with `hex`. */
static int verify_sha(Artifact *a, hid_t ds, const char *name, const char *hex, PureErr *err) {
    htri_t ex = H5Aexists(ds, H5U_SHA_ATTR);
    if (ex == 0) return 0; /* written by another tool: nothing to check */
    if (ex < 0) return h5u_fail(err, "%s: dataset '%s': cannot read its attributes", a->path, name);
    hid_t at = H5Aopen(ds, H5U_SHA_ATTR, H5P_DEFAULT);
    if (at < 0) return h5u_fail(err, "%s: dataset '%s': cannot open its checksum", a->path, name);
    char *want = attr_read_str(at, a, name, H5U_SHA_ATTR, err);
    H5Aclose(at);
    if (!want) return -1;
    int rc = 0;
    if (strcmp(want, hex) != 0)
        rc = err_set(err, "%s: dataset '%s': checksum mismatch (stored %.12s..., data hashes to %.12s...): the file is corrupted",
                     a->path, name, want, hex);
    free(want);
    return rc;
}

int artifact_shape(Artifact *a, const char *name, int *ndim, int64_t dims[ARTIFACT_MAX_DIMS], DType *t,
                   PureErr *err) {
    hid_t ds = open_dataset(a, name, err);
    if (ds < 0) return -1;
    int rc = dataset_dims(ds, a, name, ndim, dims, err);
    hid_t ft = H5Dget_type(ds);
    if (rc == 0 && h5u_dtype_of(ft, t) < 0) {
        char d[64];
        h5u_type_desc(ft, d, sizeof d);
        rc = err_set(err, "%s: dataset '%s': expected numeric data, got %s", a->path, name, d);
    }
    H5Tclose(ft);
    H5Dclose(ds);
    return rc;
}

void *artifact_read(Artifact *a, const char *name, DType want, int want_ndim, int64_t dims[ARTIFACT_MAX_DIMS],
                    PureErr *err) {
    hid_t ds = open_dataset(a, name, err);
    if (ds < 0) return NULL;
    int ndim;
    int64_t d[ARTIFACT_MAX_DIMS];
    void *buf = NULL;
    hid_t ft = H5Dget_type(ds);
    DType stored;
    char desc[64], shape[256];
    if (dataset_dims(ds, a, name, &ndim, d, err)) goto done;
    fmt_shape(ndim, d, shape, sizeof shape);
    if (want_ndim >= 0 && ndim != want_ndim) {
        err_set(err, "%s: dataset '%s': expected rank %d, got rank %d (shape %s)", a->path, name, want_ndim, ndim,
                shape);
        goto done;
    }
    if (h5u_dtype_of(ft, &stored) < 0) {
        h5u_type_desc(ft, desc, sizeof desc);
        err_set(err, "%s: dataset '%s': expected numeric data (read as %s), got %s", a->path, name, dtype_name(want),
                desc);
        goto done;
    }
    int64_t n = count_of(ndim, d);
    size_t fsz = H5Tget_size(ft), msz = dtype_size(want);
    /* before any allocation: the shape of a sparse or compressed dataset says nothing of the file's size */
    if (h5u_read_budget(a, ds, name, n, fsz, err)) goto done;
    buf = xmalloc((size_t)n * (fsz > msz ? fsz : msz) + 1);
    /* read the stored bytes as they are, check them, then convert in place */
    if (n > 0 && H5Dread(ds, ft, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        h5u_fail(err, "%s: dataset '%s': read failed (damaged file?)", a->path, name);
        goto fail;
    }
    char hex[65];
    sha256_hex(buf, (size_t)n * fsz, hex);
    if (verify_sha(a, ds, name, hex, err)) goto fail;
    hid_t mt = h5u_mem_type(want);
    if (n > 0 && H5Tequal(ft, mt) <= 0 && H5Tconvert(ft, mt, (size_t)n, buf, NULL, H5P_DEFAULT) < 0) {
        h5u_type_desc(ft, desc, sizeof desc);
        h5u_fail(err, "%s: dataset '%s': cannot convert %s to %s", a->path, name, desc, dtype_name(want));
        goto fail;
    }
    if (dims) memcpy(dims, d, sizeof(int64_t) * (size_t)ndim);
    goto done;
fail:
    free(buf);
    buf = NULL;
done:
    H5Tclose(ft);
    H5Dclose(ds);
    return buf;
}

int artifact_read_ragged(Artifact *a, const char *name, DType want, int64_t *n_rows, int64_t **offsets,
                         void **flat, PureErr *err) {
    char path[1024], sub[1100];
    *offsets = NULL;
    *flat = NULL;
    if (h5u_norm_name(name, path, sizeof path) < 0) return err_set(err, "%s: invalid name '%s'", a->path, name);
    int k = h5u_kind(a->file, path);
    if (k == H5O_TYPE_UNKNOWN) return err_set(err, "%s: no ragged group '%s'", a->path, path);
    if (k < H5O_TYPE_UNKNOWN) return h5u_kind_fail(a, path, k, err);
    if (k == H5O_TYPE_DATASET)
        return err_set(err, "%s: '%s' is a dense dataset, expected a ragged group (values + offsets)", a->path, path);
    int64_t od[ARTIFACT_MAX_DIMS], vd[ARTIFACT_MAX_DIMS];
    snprintf(sub, sizeof sub, "%s/offsets", path);
    if (!artifact_has(a, sub))
        return err_set(err, "%s: ragged group '%s' has no 'offsets' dataset", a->path, path);
    int64_t *o = artifact_read(a, sub, DT_I64, 1, od, err);
    if (!o) return -1;
    snprintf(sub, sizeof sub, "%s/values", path);
    if (!artifact_has(a, sub)) {
        free(o);
        return err_set(err, "%s: ragged group '%s' has no 'values' dataset", a->path, path);
    }
    void *v = artifact_read(a, sub, want, 1, vd, err);
    if (!v) {
        free(o);
        return -1;
    }
    int rc = 0;
    if (od[0] < 1) rc = err_set(err, "%s: ragged '%s': offsets is empty, expected n_rows + 1 >= 1 entries", a->path, path);
    else if (o[0] != 0)
        rc = err_set(err, "%s: ragged '%s': offsets[0] = %lld, expected 0", a->path, path, (long long)o[0]);
    for (int64_t i = 1; rc == 0 && i < od[0]; i++)
        if (o[i] < o[i - 1])
            rc = err_set(err, "%s: ragged '%s': offsets decrease at row %lld (%lld -> %lld)", a->path, path,
                         (long long)(i - 1), (long long)o[i - 1], (long long)o[i]);
    if (rc == 0 && o[od[0] - 1] != vd[0])
        rc = err_set(err, "%s: ragged '%s': offsets end at %lld but values has %lld elements", a->path, path,
                     (long long)o[od[0] - 1], (long long)vd[0]);
    if (rc) {
        free(o);
        free(v);
        return -1;
    }
    *n_rows = od[0] - 1;
    *offsets = o;
    *flat = v;
    return 0;
}

/* Fixed-length strings (h5py's numpy 'S' arrays): copy out each padded slot. */
static char **read_fixed_strings(Artifact *a, const char *name, hid_t ds, hid_t ft, int64_t n, PureErr *err) {
    size_t sz = H5Tget_size(ft);
    if (h5u_read_budget(a, ds, name, n, sz, err)) return NULL;
    char *raw = xmalloc((size_t)n * sz + 1);
    char **out = NULL;
    if (n > 0 && H5Dread(ds, ft, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        h5u_fail(err, "%s: dataset '%s': read failed (damaged file?)", a->path, name);
    } else {
        int spacepad = H5Tget_strpad(ft) == H5T_STR_SPACEPAD;
        out = xmalloc((size_t)(n ? n : 1) * sizeof *out);
        for (int64_t i = 0; i < n; i++) {
            const char *s = raw + (size_t)i * sz;
            size_t len = strnlen(s, sz);
            while (spacepad && len > 0 && s[len - 1] == ' ') len--;
            out[i] = xmalloc(len + 1);
            memcpy(out[i], s, len);
            out[i][len] = '\0';
        }
    }
    free(raw);
    return out;
}

static char **read_vlen_strings(Artifact *a, const char *name, hid_t ds, hid_t ft, int64_t n, PureErr *err) {
    /* each element is a 16-byte heap reference in the file */
    if (h5u_read_budget(a, ds, name, n, 16, err)) return NULL;
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5Tget_cset(ft));
    char **raw = xcalloc((size_t)(n ? n : 1), sizeof *raw), **out = NULL;
    if (h5u_check_vlen_heap(a, ds, name, n, err) != 0) {
        /* damaged heap: HDF5 must not touch it */
    } else if (n > 0 && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        h5u_fail(err, "%s: dataset '%s': read failed (damaged file?)", a->path, name);
    } else {
        out = xmalloc((size_t)(n ? n : 1) * sizeof *out);
        for (int64_t i = 0; i < n; i++) out[i] = xstrdup(raw[i] ? raw[i] : "");
        if (n > 0) {
            hid_t sp = H5Dget_space(ds);
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, raw);
            H5Sclose(sp);
        }
    }
    free(raw);
    H5Tclose(mt);
    return out;
}

char **artifact_read_strings(Artifact *a, const char *name, int64_t *n, PureErr *err) {
    hid_t ds = open_dataset(a, name, err);
    if (ds < 0) return NULL;
    hid_t ft = H5Dget_type(ds);
    char **out = NULL, desc[64], shape[256];
    int ndim;
    int64_t d[ARTIFACT_MAX_DIMS];
    if (dataset_dims(ds, a, name, &ndim, d, err)) goto done;
    if (H5Tget_class(ft) != H5T_STRING) {
        h5u_type_desc(ft, desc, sizeof desc);
        err_set(err, "%s: dataset '%s': expected strings, got %s", a->path, name, desc);
        goto done;
    }
    if (ndim > 1) {
        fmt_shape(ndim, d, shape, sizeof shape);
        err_set(err, "%s: dataset '%s': expected rank 1 strings, got rank %d (shape %s)", a->path, name, ndim, shape);
        goto done;
    }
    int64_t cnt = count_of(ndim, d);
    out = H5Tis_variable_str(ft) > 0 ? read_vlen_strings(a, name, ds, ft, cnt, err)
                                     : read_fixed_strings(a, name, ds, ft, cnt, err);
    if (!out) goto done;
    char hex[65];
    h5u_sha_strings((const char *const *)out, cnt, hex);
    if (verify_sha(a, ds, name, hex, err)) {
        artifact_strings_free(out, cnt);
        out = NULL;
        goto done;
    }
    *n = cnt;
done:
    H5Tclose(ft);
    H5Dclose(ds);
    return out;
}

void artifact_strings_free(char **strs, int64_t n) {
    if (!strs) return;
    for (int64_t i = 0; i < n; i++) free(strs[i]);
    free(strs);
}

char *artifact_get_attr_str(Artifact *a, const char *obj, const char *key, PureErr *err) {
    hid_t at = open_attr(a, obj, key, err);
    if (at < 0) return NULL;
    char *s = attr_read_str(at, a, obj, key, err);
    H5Aclose(at);
    return s;
}

/* One numeric attribute value converted to `mt`. */
static int attr_read_num(Artifact *a, const char *obj, const char *key, hid_t mt, void *val, PureErr *err) {
    hid_t at = open_attr(a, obj, key, err);
    if (at < 0) return -1;
    hid_t ft = H5Aget_type(at), sp = H5Aget_space(at);
    DType dt;
    int rc = 0;
    if (h5u_dtype_of(ft, &dt) < 0) {
        char d[64];
        h5u_type_desc(ft, d, sizeof d);
        rc = err_set(err, "%s: attribute '%s' of '%s': expected a number, got %s", a->path, key, obj, d);
    } else if (H5Sget_simple_extent_npoints(sp) != 1) {
        rc = err_set(err, "%s: attribute '%s' of '%s': expected one value, got %lld", a->path, key, obj,
                     (long long)H5Sget_simple_extent_npoints(sp));
    } else if (H5Aread(at, mt, val) < 0) {
        rc = h5u_fail(err, "%s: cannot read attribute '%s' of '%s'", a->path, key, obj);
    }
    H5Sclose(sp);
    H5Tclose(ft);
    H5Aclose(at);
    return rc;
}

int artifact_get_attr_i64(Artifact *a, const char *obj, const char *key, int64_t *val, PureErr *err) {
    return attr_read_num(a, obj, key, H5T_NATIVE_INT64, val, err);
}

int artifact_get_attr_f64(Artifact *a, const char *obj, const char *key, double *val, PureErr *err) {
    return attr_read_num(a, obj, key, H5T_NATIVE_DOUBLE, val, err);
}

int artifact_read_scalar_f64(Artifact *a, const char *name, double *v, PureErr *err) {
    int64_t d[ARTIFACT_MAX_DIMS];
    int ndim;
    DType t;
    if (artifact_shape(a, name, &ndim, d, &t, err)) return -1;
    if (count_of(ndim, d) != 1) {
        char shape[256];
        fmt_shape(ndim, d, shape, sizeof shape);
        return err_set(err, "%s: dataset '%s': expected a scalar, got shape %s", a->path, name, shape);
    }
    double *p = artifact_read(a, name, DT_F64, ndim, NULL, err);
    if (!p) return -1;
    *v = p[0];
    free(p);
    return 0;
}
