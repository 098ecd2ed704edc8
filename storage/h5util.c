/* h5util.c - HDF5 plumbing shared by the artifact writer, reader and
 * `pure inspect`: error capture, type mapping, path lookup, checksums. */
#include "storage/h5util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void h5u_quiet(void) {
    /* HDF5 prints its whole error stack to stderr by default; we turn the
     * innermost entry into a PureErr message instead. Checked on every call,
     * not once: thread-safe HDF5 keeps the setting per thread, and H5close
     * (a program may call it between files) restores the default. */
    H5E_auto2_t fn = NULL;
    void *data = NULL;
    if (H5Eget_auto2(H5E_DEFAULT, &fn, &data) < 0 || fn) H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
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

/* HDF5's innermost error message of the last failed lookup in h5u_kind, for
 * h5u_kind_fail (the lookup clears the stack so that missing names stay quiet). */
static _Thread_local char g_kind_inner[256];

static herr_t keep_inner(unsigned n, const H5E_error2_t *e, void *data) {
    (void)data;
    if (n == 0 && e) snprintf(g_kind_inner, sizeof g_kind_inner, "%s", e->desc ? e->desc : "");
    return 0;
}

static void clear_keep(void) {
    g_kind_inner[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_inner, NULL);
    H5Eclear2(H5E_DEFAULT);
}

/* External links are never traversed: a soft link whose target runs through
 * one would otherwise make HDF5 open another file. */
static herr_t deny_elink(const char *parent_file, const char *parent_group, const char *child_file,
                         const char *child_obj, unsigned *acc_flags, hid_t fapl, void *data) {
    (void)parent_file, (void)parent_group, (void)child_file, (void)child_obj, (void)acc_flags, (void)fapl, (void)data;
    return -1;
}

static pthread_mutex_t g_lapl_lock = PTHREAD_MUTEX_INITIALIZER;
static hid_t g_lapl = H5I_INVALID_HID;

/* The link access list of every lookup: external links denied. Made again
 * when H5close has invalidated it. */
static hid_t lapl(void) {
    pthread_mutex_lock(&g_lapl_lock);
    if (g_lapl < 0 || H5Iis_valid(g_lapl) <= 0) {
        hid_t l = H5Pcreate(H5P_LINK_ACCESS);
        if (l >= 0 && H5Pset_elink_cb(l, deny_elink, NULL) < 0) H5Pclose(l), l = H5I_INVALID_HID;
        g_lapl = l;
    }
    hid_t l = g_lapl >= 0 ? g_lapl : H5P_DEFAULT;
    pthread_mutex_unlock(&g_lapl_lock);
    return l;
}

/* Why the link at `path` (cut from a longer name) could not be read: absent,
 * under something that is not a group, or damaged. `soft`: a soft link was
 * crossed on the way (a target that does not resolve is not damage). */
static int kind_why(hid_t file, char *path, int soft) {
    htri_t ex = H5Lexists(file, path, lapl());
    if (ex == 0) return H5O_TYPE_UNKNOWN;
    char *slash = strrchr(path, '/');
    if (ex < 0 && slash) { /* "x/y" under a dataset x: there is no y */
        *slash = '\0';
        H5O_info_t info;
        herr_t r = H5Oget_info_by_name2(file, path, &info, H5O_INFO_BASIC, lapl());
        *slash = '/';
        if (r >= 0 && info.type != H5O_TYPE_GROUP) return H5O_TYPE_UNKNOWN;
    }
    return soft ? H5U_K_DANGLING : H5U_K_BROKEN;
}

/* Walks the components of path: each prefix must be a hard or soft link (one
 * lookup each; the failures are diagnosed apart), then the object is looked
 * up. Returns the kind and, in *bad, the length of the prefix that stopped
 * the walk. */
static int kind_walk(hid_t file, char *path, size_t *bad) {
    int soft = 0, depth = 0;
    *bad = strlen(path);
    if (strcmp(path, "/") == 0) goto last;
    for (char *s = path;; s++) {
        char c = *s;
        if (c != '/' && c != '\0') continue;
        if (++depth > H5U_MAX_DEPTH) return *bad = (size_t)(s - path), H5U_K_TOODEEP;
        *s = '\0';
        int k = H5O_TYPE_GROUP;
        H5L_info_t li;
        if (H5Lget_info(file, path, &li, lapl()) < 0) k = kind_why(file, path, soft);
        else if (li.type == H5L_TYPE_EXTERNAL) k = H5U_K_EXTERNAL;
        else if (li.type != H5L_TYPE_HARD && li.type != H5L_TYPE_SOFT) k = H5U_K_UDLINK;
        else soft |= li.type == H5L_TYPE_SOFT;
        *s = c;
        if (k != H5O_TYPE_GROUP) return *bad = (size_t)(s - path), k;
        if (c == '\0') break;
    }
last:;
    H5O_info_t info;
    if (H5Oget_info_by_name2(file, path, &info, H5O_INFO_BASIC, lapl()) < 0) return soft ? H5U_K_DANGLING : H5U_K_BROKEN;
    return info.type;
}

/* The last lookup that failed, for h5u_kind_fail: walking a damaged object
 * header again costs time and, in HDF5 1.10, leaks what it loaded again. */
static _Thread_local struct {
    hid_t file;
    char path[1024];
    int kind;
    size_t bad;
    char inner[256];
} g_last_fail;

int h5u_kind(hid_t file, const char *name) {
    char path[1024];
    h5u_quiet(); /* nearly every call passes here, on whatever thread uses the handle */
    if (h5u_norm_name(name, path, sizeof path) < 0) return H5U_K_BADNAME;
    size_t bad;
    int k = kind_walk(file, path, &bad);
    clear_keep();
    if (k < H5O_TYPE_UNKNOWN) {
        g_last_fail.file = file;
        g_last_fail.kind = k;
        g_last_fail.bad = bad;
        memcpy(g_last_fail.path, path, sizeof path);
        memcpy(g_last_fail.inner, g_kind_inner, sizeof g_kind_inner);
    }
    return k;
}

void h5u_link_target(hid_t loc, const char *path, H5L_type_t t, char *file, size_t fn, char *obj, size_t on) {
    H5L_info_t li;
    char *val = NULL;
    snprintf(file, fn, "?");
    snprintf(obj, on, "?");
    /* the link value lives in the (checksummed) object header; cap it anyway */
    if (H5Lget_info(loc, path, &li, lapl()) >= 0 && li.type == t && li.u.val_size > 0 && li.u.val_size < 65536) {
        val = xcalloc(li.u.val_size + 1, 1);
        if (H5Lget_val(loc, path, val, li.u.val_size, lapl()) >= 0) {
            const char *f = NULL, *o = NULL;
            unsigned flags;
            if (t == H5L_TYPE_SOFT) snprintf(obj, on, "%s", val);
            else if (t == H5L_TYPE_EXTERNAL && H5Lunpack_elink_val(val, li.u.val_size, &flags, &f, &o) >= 0 && f && o) {
                snprintf(file, fn, "%s", f);
                snprintf(obj, on, "%s", o);
            }
        }
    }
    free(val);
    H5Eclear2(H5E_DEFAULT);
}

void h5u_link_desc(hid_t loc, const char *path, H5L_type_t t, char *buf, size_t n) {
    char file[512], obj[512];
    if (t == H5L_TYPE_SOFT || t == H5L_TYPE_EXTERNAL) h5u_link_target(loc, path, t, file, sizeof file, obj, sizeof obj);
    if (t == H5L_TYPE_SOFT) snprintf(buf, n, "soft link to '%s'", obj);
    else if (t == H5L_TYPE_EXTERNAL) snprintf(buf, n, "external link to '%s:%s'", file, obj);
    else if (t == H5L_TYPE_HARD) snprintf(buf, n, "hard link");
    else snprintf(buf, n, "user-defined link (type %d)", (int)t);
}

int h5u_kind_fail(Artifact *a, const char *name, int kind, PureErr *err) {
    char path[1024], what[1200];
    if (kind == H5U_K_BADNAME || h5u_norm_name(name, path, sizeof path) < 0)
        return err_set(err, "%s: object name '%.100s...' is longer than the %zu bytes a name may have", a->path, name,
                       sizeof path - 1);
    size_t bad;
    int k;
    char inner[256];
    if (g_last_fail.file == a->file && g_last_fail.kind == kind && !strcmp(g_last_fail.path, path)) {
        k = kind, bad = g_last_fail.bad;
        memcpy(inner, g_last_fail.inner, sizeof inner);
    } else {
        k = kind_walk(a->file, path, &bad);
        snprintf(inner, sizeof inner, "%s", g_kind_inner);
        clear_keep();
    }
    if (k != kind) bad = strlen(path);
    char c = path[bad];
    path[bad] = '\0'; /* the prefix that stopped the walk */
    if (kind == H5U_K_TOODEEP)
        return err_set(err, "%s: '%.300s...': nested more than %d groups deep (damaged or hostile file): not read",
                       a->path, path, H5U_MAX_DEPTH);
    H5L_info_t li;
    int lt = -1;
    if (H5Lget_info(a->file, path, &li, lapl()) >= 0) lt = li.type;
    H5Eclear2(H5E_DEFAULT);
    if (lt >= 0) h5u_link_desc(a->file, path, (H5L_type_t)lt, what, sizeof what);
    else snprintf(what, sizeof what, "link");
    char full[1024];
    h5u_norm_name(name, full, sizeof full);
    char where[1100] = "";
    path[bad] = c;
    if (bad < strlen(full)) {
        path[bad] = '\0';
        snprintf(where, sizeof where, " (through '%s')", path);
    }
    switch (kind) {
    case H5U_K_EXTERNAL:
        return err_set(err, "%s: '%s'%s is an %s, not followed (an artifact must be self-contained)", a->path, full,
                       where, what);
    case H5U_K_UDLINK:
        return err_set(err, "%s: '%s'%s is a %s, not followed", a->path, full, where, what);
    case H5U_K_DANGLING:
        return err_set(err, "%s: '%s'%s is a %s, which does not resolve (dangling or looping)", a->path, full, where,
                       what);
    default:
        if (inner[0])
            return err_set(err, "%s: '%s': cannot read its link or object header (damaged file?): %s", a->path, full,
                           inner);
        return err_set(err, "%s: '%s': cannot read its link or object header (damaged file?)", a->path, full);
    }
}

int64_t h5u_count(int ndim, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (dims[i] == 0) return 0;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0 || n > INT64_MAX / dims[i]) return -1;
        n *= dims[i];
    }
    return n;
}

uint64_t h5u_read_limit(Artifact *a) {
    uint64_t fs = a->file_size;
    if (a->writable) {
        hsize_t s = 0;
        if (H5Fget_filesize(a->file, &s) >= 0) fs = s;
        H5Eclear2(H5E_DEFAULT);
    }
    return fs > H5U_READ_FLOOR ? fs : H5U_READ_FLOOR;
}

/* "1234 bytes", "800000000000 bytes (745.1 GiB)" */
static void fmt_bytes(uint64_t b, char *buf, size_t n) {
    static const char *unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (b < 1024) {
        snprintf(buf, n, "%llu bytes", (unsigned long long)b);
        return;
    }
    double v = (double)b / 1024;
    int u = 0;
    while (v >= 1024 && u < 5) v /= 1024, u++;
    snprintf(buf, n, "%llu bytes (%.1f %s)", (unsigned long long)b, v, unit[u]);
}

int h5u_read_budget(Artifact *a, hid_t ds, const char *name, int64_t count, size_t elem, PureErr *err) {
    if (count < 0)
        return err_set(err, "%s: dataset '%s': its dimensions multiply to more than 2^63 elements (damaged or hostile "
                            "file): not read", a->path, name);
    if (elem == 0) return err_set(err, "%s: dataset '%s': its element type has size 0 (damaged file?)", a->path, name);
    hid_t dcpl = H5Dget_create_plist(ds);
    if (dcpl < 0) return h5u_fail(err, "%s: dataset '%s': cannot read its storage properties", a->path, name);
    int nfilt = H5Pget_nfilters(dcpl), next = H5Pget_external_count(dcpl);
    H5D_layout_t lay = H5Pget_layout(dcpl);
    char ext[256] = "?";
    if (next > 0) {
        off_t off;
        hsize_t sz;
        if (H5Pget_external(dcpl, 0, sizeof ext, ext, &off, &sz) < 0) snprintf(ext, sizeof ext, "?");
    }
    H5Pclose(dcpl);
    H5Eclear2(H5E_DEFAULT);
    if (next > 0)
        return err_set(err, "%s: dataset '%s': its data is stored outside this file (external file '%s'): not read",
                       a->path, name, ext);
    if (lay == H5D_VIRTUAL)
        return err_set(err, "%s: dataset '%s': a virtual dataset (its data lies in other files): not read", a->path, name);
    uint64_t base = h5u_read_limit(a), limit = base;
    if (nfilt > 0) {
        uint64_t fs = a->file_size ? a->file_size : base;
        limit = fs > UINT64_MAX / H5U_INFLATE_RATIO ? UINT64_MAX : fs * H5U_INFLATE_RATIO;
        if (limit < H5U_READ_FLOOR) limit = H5U_READ_FLOOR;
    }
    int over = (uint64_t)count > UINT64_MAX / elem;
    uint64_t need = over ? UINT64_MAX : (uint64_t)count * elem;
    if (!over && need <= limit) return 0;
    char nb[64], fb[64], lb[64];
    fmt_bytes(need, nb, sizeof nb);
    fmt_bytes(a->writable ? base : a->file_size, fb, sizeof fb);
    fmt_bytes(limit, lb, sizeof lb);
    if (nfilt > 0)
        return err_set(err, "%s: dataset '%s': %lld elements of %zu bytes decompress to %s%s, more than %d times the "
                            "file's %s (limit %s): a decompression bomb or a damaged dataset, not read",
                       a->path, name, (long long)count, elem, over ? "more than " : "", nb, H5U_INFLATE_RATIO, fb, lb);
    return err_set(err, "%s: dataset '%s': %lld elements of %zu bytes need %s%s, more than the file's %s can hold "
                        "(limit %s): a sparse or damaged dataset, not read",
                   a->path, name, (long long)count, elem, over ? "more than " : "", nb, fb, lb);
}

/* ---- visited objects ---- */

static size_t seen_hash(haddr_t addr, size_t cap) {
    return (size_t)(((uint64_t)addr * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

const char *h5u_seen_add(H5uSeen *s, haddr_t addr, const char *path) {
    if (s->cap) {
        for (size_t i = seen_hash(addr, s->cap);; i = (i + 1) & (s->cap - 1)) {
            if (!s->slots[i].path) break;
            if (s->slots[i].addr == addr) return s->slots[i].path;
        }
    }
    if (2 * (s->n + 1) > s->cap) { /* grow: keep the table at most half full */
        size_t cap = s->cap ? 2 * s->cap : 64;
        struct H5uSeenSlot *old = s->slots;
        s->slots = xcalloc(cap, sizeof *s->slots);
        for (size_t i = 0; i < s->cap; i++) {
            if (!old[i].path) continue;
            size_t j = seen_hash(old[i].addr, cap);
            while (s->slots[j].path) j = (j + 1) & (cap - 1);
            s->slots[j] = old[i];
        }
        free(old);
        s->cap = cap;
    }
    size_t i = seen_hash(addr, s->cap);
    while (s->slots[i].path) i = (i + 1) & (s->cap - 1);
    s->slots[i].addr = addr;
    s->slots[i].path = xstrdup(path);
    s->n++;
    return NULL;
}

void h5u_seen_free(H5uSeen *s) {
    for (size_t i = 0; i < s->cap; i++) free(s->slots[i].path);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

int h5u_join(const char *parent, const char *name, char *buf, size_t n) {
    int k = strcmp(parent, "/") ? snprintf(buf, n, "%s/%s", parent, name) : snprintf(buf, n, "%s", name);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

/* ---- listing ---- */

static void names_add(H5uNames *l, const char *name, H5L_type_t t) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->names = xrealloc(l->names, (size_t)l->cap * sizeof *l->names);
        l->types = xrealloc(l->types, (size_t)l->cap * sizeof *l->types);
    }
    l->types[l->n] = t;
    l->names[l->n++] = xstrdup(name);
}

static herr_t add_link(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    (void)g;
    names_add(data, name, info->type);
    return 0;
}

static herr_t add_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
    (void)loc, (void)info;
    names_add(data, name, H5L_TYPE_ERROR);
    return 0;
}

/* Sorts names (and types) by strcmp: a permutation, so the types follow. */
static void names_sort(H5uNames *l) {
    int *idx = xmalloc((size_t)(l->n ? l->n : 1) * sizeof *idx);
    for (int i = 0; i < l->n; i++) idx[i] = i;
    /* insertion sort on runs would be quadratic on big groups: a plain merge sort */
    int *tmp = xmalloc((size_t)(l->n ? l->n : 1) * sizeof *tmp);
    for (int w = 1; w < l->n; w *= 2)
        for (int lo = 0; lo < l->n - w; lo += 2 * w) {
            int mid = lo + w, hi = lo + 2 * w < l->n ? lo + 2 * w : l->n, a = lo, b = mid, k = lo;
            while (a < mid || b < hi)
                tmp[k++] = b >= hi || (a < mid && strcmp(l->names[idx[a]], l->names[idx[b]]) <= 0) ? idx[a++] : idx[b++];
            memcpy(idx + lo, tmp + lo, (size_t)(hi - lo) * sizeof *idx);
        }
    char **names = xmalloc((size_t)(l->n ? l->n : 1) * sizeof *names);
    H5L_type_t *types = xmalloc((size_t)(l->n ? l->n : 1) * sizeof *types);
    for (int i = 0; i < l->n; i++) names[i] = l->names[idx[i]], types[i] = l->types[idx[i]];
    free(l->names);
    free(l->types);
    l->names = names;
    l->types = types;
    l->cap = l->n;
    free(idx);
    free(tmp);
}

int h5u_list_links(Artifact *a, const char *group, H5uNames *l, PureErr *err) {
    memset(l, 0, sizeof *l);
    hsize_t idx = 0;
    if (H5Literate_by_name(a->file, group, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, add_link, l, lapl()) < 0) {
        h5u_names_free(l);
        return h5u_fail(err, "%s: cannot list group '%s' (damaged file?)", a->path, group);
    }
    names_sort(l);
    return 0;
}

int h5u_list_attrs(Artifact *a, const char *obj, H5uNames *l, PureErr *err) {
    memset(l, 0, sizeof *l);
    hsize_t idx = 0;
    if (H5Aiterate_by_name(a->file, obj, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, add_attr, l, lapl()) < 0) {
        h5u_names_free(l);
        return h5u_fail(err, "%s: cannot list the attributes of '%s' (damaged file?)", a->path, obj);
    }
    names_sort(l);
    return 0;
}

void h5u_names_free(H5uNames *l) {
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    free(l->types);
    memset(l, 0, sizeof *l);
}

/* ---- attributes ---- */

int h5u_check_attr(Artifact *a, hid_t loc, const char *obj, const char *key, PureErr *err) {
    hid_t at = H5Aopen(loc, key, H5P_DEFAULT);
    hid_t ft = at >= 0 ? H5Aget_type(at) : H5I_INVALID_HID, sp = at >= 0 ? H5Aget_space(at) : H5I_INVALID_HID;
    hssize_t npts = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    size_t sz = ft >= 0 ? H5Tget_size(ft) : 0;
    int rc = 0;
    if (at < 0 || ft < 0 || npts < 0 || sz == 0) {
        rc = h5u_fail(err, "%s: attribute '%s' of '%s': cannot read its header (damaged file?)", a->path, key, obj);
    } else if ((uint64_t)npts > h5u_read_limit(a) / (sz > 16 ? sz : 16)) {
        rc = err_set(err, "%s: attribute '%s' of '%s': %lld values of %zu bytes, more than the file can hold "
                             "(damaged file?)", a->path, key, obj, (long long)npts, sz);
    } else if (npts == 0) {
        /* nothing stored */
    } else if (H5Tis_variable_str(ft) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char **s = xcalloc((size_t)npts, sizeof *s);
        if (H5Aread(at, mt, s) < 0) rc = h5u_fail(err, "%s: cannot read attribute '%s' of '%s'", a->path, key, obj);
        else H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, s);
        free(s);
        H5Tclose(mt);
    } else if (H5Tdetect_class(ft, H5T_VLEN) <= 0 && H5Tget_class(ft) != H5T_REFERENCE) {
        void *buf = xmalloc((size_t)npts * sz);
        if (H5Aread(at, ft, buf) < 0) rc = h5u_fail(err, "%s: cannot read attribute '%s' of '%s'", a->path, key, obj);
        free(buf);
    } /* else: vlen sequences and references, which pure never writes */
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    if (at >= 0) H5Aclose(at);
    return rc;
}

int h5u_check_attrs(Artifact *a, const char *obj, PureErr *err) {
    H5uNames l;
    if (h5u_list_attrs(a, obj, &l, err)) return -1;
    hid_t o = l.n ? H5Oopen(a->file, obj, lapl()) : H5I_INVALID_HID;
    int rc = 0;
    if (l.n && o < 0) rc = h5u_fail(err, "%s: cannot open '%s' (damaged file?)", a->path, obj);
    for (int i = 0; rc == 0 && i < l.n; i++) rc = h5u_check_attr(a, o, obj, l.names[i], err);
    if (o >= 0) H5Oclose(o);
    h5u_names_free(&l);
    return rc;
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
