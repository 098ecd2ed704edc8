/* h5util.h - private helpers of storage/: the Artifact handle, HDF5 error
 * capture, dtype <-> HDF5 type mapping, object lookup by path and content
 * checksums. Not for use outside storage/ (other modules use artifact.h). */
#ifndef PURE_H5UTIL_H
#define PURE_H5UTIL_H

#include <hdf5.h>
#include <stdint.h>
#include "storage/artifact.h"
#include "util/hash.h"

struct Artifact {
    hid_t file;
    char *path;
    int writable;
    uint64_t file_size;  /* bytes on disk when opened read-only: bounds what a read may allocate */
};

/* ---- limits on what a (damaged or hostile) file can make a reader do ---- */
/* Group nesting: names with more components, and deeper trees, are refused. */
#define H5U_MAX_DEPTH 32
/* A read may always produce this many bytes (small sparse datasets from other tools)... */
#define H5U_READ_FLOOR ((uint64_t)16 << 20)
/* ...else at most the file's size (data stored as is) or this multiple of it
 * (filtered, i.e. compressed, data: beyond it a dataset is a decompression bomb). */
#define H5U_INFLATE_RATIO 64

/* Attribute holding the SHA-256 (hex) of a dataset's stored bytes; checked on
 * every read so a flipped byte in raw data is an error, not a silent value. */
#define H5U_SHA_ATTR "pure_sha256"
/* Attribute marking a ragged group (values + offsets). */
#define H5U_LAYOUT_ATTR "pure_layout"

/* Turns HDF5's automatic error printing off (idempotent). */
void h5u_quiet(void);
/* err_set(fmt...) followed by ": <innermost HDF5 error>" when HDF5 has one. */
int h5u_fail(PureErr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* File access list for create and open (format bounds, strong close). */
hid_t h5u_fapl(int writing);
hid_t h5u_file_type(DType t);  /* little-endian type stored in files */
hid_t h5u_mem_type(DType t);   /* native type in memory */
/* The DType closest to a stored numeric type; -1 for non-numeric classes. */
int h5u_dtype_of(hid_t type, DType *t);
/* "string", "integer", "float", "compound", ... */
const char *h5u_class_name(hid_t type);
/* Describes a stored type, e.g. "f32", "i16", "u32", "vlen utf-8 string". */
void h5u_type_desc(hid_t type, char *buf, size_t n);

/* Normalizes an object name ("/a//b/" -> "a/b"; "/" or "" -> "/") into buf. */
int h5u_norm_name(const char *name, char *buf, size_t n);
/* What `name` is: H5O_TYPE_GROUP, H5O_TYPE_DATASET, other H5O_type_t,
 * H5O_TYPE_UNKNOWN (-1) when it does not exist, or one of the H5U_K_* codes
 * below when it cannot be reached. Never follows external or user-defined
 * links, never raises HDF5 errors for missing intermediate groups. */
int h5u_kind(hid_t file, const char *name);
enum {
    H5U_K_BROKEN = -2,    /* the link exists but its object cannot be read: damaged */
    H5U_K_EXTERNAL = -3,  /* a component is an external link: not followed */
    H5U_K_UDLINK = -4,    /* a component is a user-defined link: not followed */
    H5U_K_DANGLING = -5,  /* a soft link whose target does not exist (or loops) */
    H5U_K_TOODEEP = -6,   /* more than H5U_MAX_DEPTH components */
    H5U_K_BADNAME = -7    /* too long to be a name */
};
/* The error for a negative h5u_kind() other than H5O_TYPE_UNKNOWN: names the
 * file, the object and what it is (the external link's target...). Returns -1. */
int h5u_kind_fail(Artifact *a, const char *name, int kind, PureErr *err);
/* "external link to 'f.h5:/x'", "soft link to '/x'", ... for a link of type t
 * at `path` (relative to loc). */
void h5u_link_desc(hid_t loc, const char *path, H5L_type_t t, char *buf, size_t n);
/* The target of a soft link (obj) or an external link (file and obj); "?"
 * where unreadable. Never follows the link. */
void h5u_link_target(hid_t loc, const char *path, H5L_type_t t, char *file, size_t fn, char *obj, size_t on);

/* Refuses a read of dataset ds (`name`) whose `count` elements of `elem`
 * stored bytes are more than the file can hold: more than its size (or
 * H5U_READ_FLOOR), or for filtered data more than H5U_INFLATE_RATIO times
 * it; also data stored outside the file (external storage, virtual
 * datasets). `count` comes from h5u_count. 0, or -1 + err naming the dataset
 * and what the read would need. */
int h5u_read_budget(Artifact *a, hid_t ds, const char *name, int64_t count, size_t elem, PureErr *err);
/* The largest number of bytes a read from this file may produce without filters. */
uint64_t h5u_read_limit(Artifact *a);
/* Product of dims; -1 when it overflows int64. */
int64_t h5u_count(int ndim, const int64_t *dims);

/* Objects already visited by a tree walk (a hard link may name an object
 * twice, or a group its own ancestor): a set of object addresses with the
 * first path each was seen under. */
typedef struct {
    struct H5uSeenSlot { haddr_t addr; char *path; } *slots;
    size_t cap, n;
} H5uSeen;
/* Adds addr; returns NULL when it is new, else the path it was first seen under. */
const char *h5u_seen_add(H5uSeen *s, haddr_t addr, const char *path);
void h5u_seen_free(H5uSeen *s);
/* parent + "/" + name into buf ("/" parent: just name); -1 when too long. */
int h5u_join(const char *parent, const char *name, char *buf, size_t n);

/* Names of a group's links (with their types) or of an object's attributes,
 * sorted by name (the order HDF5's name index gives). Listed in HDF5's native
 * order and sorted here: HDF5 1.10 builds its sorted table of a damaged dense
 * group or attribute heap half-way and then frees pointers it never set. */
typedef struct {
    char **names;
    H5L_type_t *types; /* links only */
    int n, cap;
} H5uNames;
int h5u_list_links(Artifact *a, const char *group, H5uNames *l, PureErr *err);
int h5u_list_attrs(Artifact *a, const char *obj, H5uNames *l, PureErr *err);
void h5u_names_free(H5uNames *l);

/* Reads every attribute of object `obj` once (values, not only names): 0, or
 * -1 + err naming the file, the object and the attribute. */
int h5u_check_attrs(Artifact *a, const char *obj, PureErr *err);
/* The same for one attribute `key` of the open object loc (named obj in messages). */
int h5u_check_attr(Artifact *a, hid_t loc, const char *obj, const char *key, PureErr *err);
/* Is `name` a group holding exactly the ragged pair values + offsets? */
int h5u_is_ragged(hid_t file, const char *name);

/* Validates the global heap objects behind the n vlen strings of contiguous
 * dataset ds before HDF5 reads them (h5heap_check.c); -1 + err if damaged. */
int h5u_check_vlen_heap(Artifact *a, hid_t ds, const char *name, int64_t n, PureErr *err);

/* Checksum of strings, each hashed with its NUL (numeric data: sha256_hex of the bytes). */
void h5u_sha_strings(const char *const *s, int64_t n, char hex[65]);

#endif
