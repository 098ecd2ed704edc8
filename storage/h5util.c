/* h5util.c - HDF5 plumbing shared by the artifact writer, reader and
 * `pure inspect`: error capture, type mapping, path lookup, checksums. */
#include "storage/h5util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void h5u_quiet(void) {
    /* thread-safe HDF5 keeps one error stack (and its print setting) per thread */
    static _Thread_local int done;
    if (done) return;
    /* HDF5 prints its whole error stack to stderr by default; we turn the
     * innermost entry into a PureErr message instead. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    done = 1;
}

typedef struct {
    char desc[512];
    int found;
} InnerErr;

static herr_t walk_inner(unsigned n, const H5E_error2_t *e, void *data) {
    InnerErr *ie = data;
    /* upward walk: entry 0 is where the error was first raised, the most specific */
    if (n == 0 && e) {
        char minor[160] = "";
        H5Eget_msg(e->min_num, NULL, minor, sizeof minor);
        const char *d = e->desc ? e->desc : "";
        /* the description usually repeats the minor message; keep the longer one then */
        if (!d[0] || !minor[0] || strncasecmp(d, minor, strlen(minor)) == 0)
            snprintf(ie->desc, sizeof ie->desc, "%s", d[0] ? d : minor);
        else
            snprintf(ie->desc, sizeof ie->desc, "%s (%s)", minor, d);
        ie->found = 1;
    }
    return 0;
}

int h5u_fail(PureErr *err, const char *fmt, ...) {
    char head[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    InnerErr ie = {{0}, 0};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_inner, &ie);
    H5Eclear2(H5E_DEFAULT);
    if (ie.found && ie.desc[0]) return err_set(err, "%s: %s", head, ie.desc);
    return err_set(err, "%s", head);
}

/* File access list shared by create and open: format bounds fixed to the 1.8
 * format (checksummed metadata, readable by any HDF5 >= 1.8) and a strong close
 * so a forgotten handle cannot keep a half-written file open. */
hid_t h5u_fapl(int writing) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* readers accept any format version (files from h5py); writers pin one */
    if (writing) H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18);
    /* keep HDF5's file locks, but do not fail on file systems without them */
    H5Pset_file_locking(fapl, 1, 1);
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    return fapl;
}

hid_t h5u_file_type(DType t) {
    switch (t) {
    case DT_F32: return H5T_IEEE_F32LE;
    case DT_F64: return H5T_IEEE_F64LE;
    case DT_I32: return H5T_STD_I32LE;
    case DT_I64: return H5T_STD_I64LE;
    case DT_U8: return H5T_STD_U8LE;
    }
    return H5I_INVALID_HID;
}

hid_t h5u_mem_type(DType t) {
    switch (t) {
    case DT_F32: return H5T_NATIVE_FLOAT;
    case DT_F64: return H5T_NATIVE_DOUBLE;
    case DT_I32: return H5T_NATIVE_INT32;
    case DT_I64: return H5T_NATIVE_INT64;
    case DT_U8: return H5T_NATIVE_UINT8;
    }
    return H5I_INVALID_HID;
}

int h5u_dtype_of(hid_t type, DType *t) {
    H5T_class_t c = H5Tget_class(type);
    size_t sz = H5Tget_size(type);
    if (c == H5T_FLOAT) {
        *t = sz <= 4 ? DT_F32 : DT_F64;
        return 0;
    }
    if (c != H5T_INTEGER) return -1;
    int is_signed = H5Tget_sign(type) == H5T_SGN_2;
    if (!is_signed && sz == 1) *t = DT_U8;
    else if (sz < 4 || (sz == 4 && is_signed)) *t = DT_I32;
    else *t = DT_I64;
    return 0;
}

const char *h5u_class_name(hid_t type) {
    switch (H5Tget_class(type)) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "vlen sequence";
    case H5T_ARRAY: return "array";
    case H5T_OPAQUE: return "opaque";
    case H5T_BITFIELD: return "bitfield";
    case H5T_REFERENCE: return "reference";
    case H5T_TIME: return "time";
    default: return "unknown type";
    }
}

void h5u_type_desc(hid_t type, char *buf, size_t n) {
    H5T_class_t c = H5Tget_class(type);
    size_t sz = H5Tget_size(type);
    if (c == H5T_FLOAT) snprintf(buf, n, "f%zu", sz * 8);
    else if (c == H5T_INTEGER) snprintf(buf, n, "%c%zu", H5Tget_sign(type) == H5T_SGN_2 ? 'i' : 'u', sz * 8);
    else if (c == H5T_STRING) {
        const char *cs = H5Tget_cset(type) == H5T_CSET_UTF8 ? "utf-8" : "ascii";
        if (H5Tis_variable_str(type) > 0) snprintf(buf, n, "vlen %s string", cs);
        else snprintf(buf, n, "fixed %zu-byte %s string", sz, cs);
    } else snprintf(buf, n, "%s", h5u_class_name(type));
}

int h5u_norm_name(const char *name, char *buf, size_t n) {
    size_t k = 0;
    for (const char *p = name; *p; p++) {
        if (*p == '/' && (k == 0 || buf[k - 1] == '/')) continue; /* leading and doubled slashes */
        if (k + 1 >= n) return -1;
        buf[k++] = *p;
    }
    if (k > 0 && buf[k - 1] == '/') k--;
    if (k == 0) {
        if (n < 2) return -1;
        buf[k++] = '/';
    }
    buf[k] = '\0';
    return 0;
}

int h5u_kind(hid_t file, const char *name) {
    char path[1024];
    h5u_quiet(); /* nearly every call passes here, on whatever thread uses the handle */
    if (h5u_norm_name(name, path, sizeof path) < 0) return H5O_TYPE_UNKNOWN;
    if (strcmp(path, "/") != 0) {
        /* H5Lexists needs every intermediate group to exist: test each prefix */
        for (char *s = path;; s++) {
            char c = *s;
            if (c == '/' || c == '\0') {
                *s = '\0';
                htri_t ex = H5Lexists(file, path, H5P_DEFAULT);
                *s = c;
                if (ex <= 0) {
                    H5Eclear2(H5E_DEFAULT);
                    return H5O_TYPE_UNKNOWN;
                }
                if (c == '\0') break;
            }
        }
    }
    H5O_info_t info;
    if (H5Oget_info_by_name2(file, path, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return H5O_TYPE_UNKNOWN;
    }
    return info.type;
}

int h5u_is_ragged(hid_t file, const char *name) {
    if (h5u_kind(file, name) != H5O_TYPE_GROUP) return 0;
    char v[1100], o[1100];
    snprintf(v, sizeof v, "%s/values", name);
    snprintf(o, sizeof o, "%s/offsets", name);
    return h5u_kind(file, v) == H5O_TYPE_DATASET && h5u_kind(file, o) == H5O_TYPE_DATASET;
}

void h5u_sha_strings(const char *const *s, int64_t n, char hex[65]) {
    Sha256 h;
    sha256_init(&h);
    for (int64_t i = 0; i < n; i++) {
        const char *x = s[i] ? s[i] : "";
        sha256_update(&h, x, strlen(x) + 1);
    }
    uint8_t d[32];
    sha256_final(&h, d);
    sha256_to_hex(d, hex);
}
