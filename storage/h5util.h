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
};

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
/* What `name` is: H5O_TYPE_GROUP, H5O_TYPE_DATASET, other H5O_type_t, or
 * H5O_TYPE_UNKNOWN (-1) when it does not exist. Never raises HDF5 errors for
 * missing intermediate groups. */
int h5u_kind(hid_t file, const char *name);
/* Is `name` a group holding exactly the ragged pair values + offsets? */
int h5u_is_ragged(hid_t file, const char *name);

/* Validates the global heap objects behind the n vlen strings of contiguous
 * dataset ds before HDF5 reads them (h5heap_check.c); -1 + err if damaged. */
int h5u_check_vlen_heap(Artifact *a, hid_t ds, const char *name, int64_t n, PureErr *err);

/* Checksum of strings, each hashed with its NUL (numeric data: sha256_hex of the bytes). */
void h5u_sha_strings(const char *const *s, int64_t n, char hex[65]);

#endif
