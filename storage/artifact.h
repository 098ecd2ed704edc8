/* artifact.h - the store: HDF5 artifact files that stages exchange.
 *
 * Every stage output of kind ART_H5 is one HDF5 file written through this API.
 * Layout conventions (docs/artifacts.md):
 *   - dense tensors are datasets, row-major, dims as given; names may contain
 *     '/' and intermediate groups are created;
 *   - ragged sequences (one variable-length row per response) are a group NAME
 *     holding NAME/values (flat, sum of row lengths) and NAME/offsets (int64,
 *     n_rows + 1, offsets[0] = 0), so h5py users slice values[o[i]:o[i+1]];
 *   - strings are variable-length UTF-8 string datasets;
 *   - provenance lives in attributes on the root group "/" (stage kind and
 *     version, parameter hash, input fingerprints, seed, pure version, wall time).
 * The runner owns temporary paths and the atomic commit; this API only writes
 * and reads one file. Read errors name the file and the dataset and say what
 * was expected (dtype, rank, shape).
 * Files are not trusted: no read allocates more than the file can hold (its
 * size, 64 times it for compressed data, or 16 MiB), names nest at most 32
 * levels, and external links are never followed (reading one is an error
 * saying so); see docs/artifacts.md, "Hostile files".
 */
#ifndef PURE_ARTIFACT_H
#define PURE_ARTIFACT_H

#include <stdint.h>
#include "../util/err.h"

typedef enum { DT_F32 = 0, DT_F64, DT_I32, DT_I64, DT_U8 } DType;
#define ARTIFACT_MAX_DIMS 8

typedef struct Artifact Artifact;

const char *dtype_name(DType t);
size_t dtype_size(DType t);

/* ---- writing ---- */
Artifact *artifact_create(const char *path, PureErr *err);
/* Dense tensor. dims has ndim entries (ndim 0 = scalar). */
int artifact_write(Artifact *a, const char *name, DType t, int ndim, const int64_t *dims, const void *data,
                   PureErr *err);
/* Ragged rows: offsets has n_rows+1 entries; flat has offsets[n_rows] elements. */
int artifact_write_ragged(Artifact *a, const char *name, DType t, int64_t n_rows, const int64_t *offsets,
                          const void *flat, PureErr *err);
/* n UTF-8 strings (NULL entries stored as ""). */
int artifact_write_strings(Artifact *a, const char *name, int64_t n, const char *const *strs, PureErr *err);
/* Attributes on an object ("/" for the file, or a dataset/group name). */
int artifact_set_attr_str(Artifact *a, const char *obj, const char *key, const char *val, PureErr *err);
int artifact_set_attr_i64(Artifact *a, const char *obj, const char *key, int64_t val, PureErr *err);
int artifact_set_attr_f64(Artifact *a, const char *obj, const char *key, double val, PureErr *err);
/* Flushes, closes and frees (also for files opened read-only). NULL is a no-op. */
int artifact_close(Artifact *a, PureErr *err);

/* ---- reading ---- */
Artifact *artifact_open(const char *path, PureErr *err);
const char *artifact_path(const Artifact *a);
int artifact_has(Artifact *a, const char *name);
/* Shape and stored dtype of a dataset. */
int artifact_shape(Artifact *a, const char *name, int *ndim, int64_t dims[ARTIFACT_MAX_DIMS], DType *t,
                   PureErr *err);
/* Reads a dataset converted to `want` (numeric conversion by HDF5). If
 * want_ndim >= 0 the rank must match, else an error names file, dataset and
 * both ranks. Returns malloc'd data (caller frees); dims filled when non-NULL. */
void *artifact_read(Artifact *a, const char *name, DType want, int want_ndim, int64_t dims[ARTIFACT_MAX_DIMS],
                    PureErr *err);
/* Reads a ragged group; *offsets (n_rows+1) and *flat are malloc'd. Checks
 * that offsets start at 0, never decrease and end at the values length. */
int artifact_read_ragged(Artifact *a, const char *name, DType want, int64_t *n_rows, int64_t **offsets,
                         void **flat, PureErr *err);
/* Reads a string dataset: array of n malloc'd strings (free with artifact_strings_free). */
char **artifact_read_strings(Artifact *a, const char *name, int64_t *n, PureErr *err);
void artifact_strings_free(char **strs, int64_t n);
/* Attribute getters; the string one returns a malloc'd copy. */
char *artifact_get_attr_str(Artifact *a, const char *obj, const char *key, PureErr *err);
int artifact_get_attr_i64(Artifact *a, const char *obj, const char *key, int64_t *val, PureErr *err);
int artifact_get_attr_f64(Artifact *a, const char *obj, const char *key, double *val, PureErr *err);

/* Opens `path` and reads every dataset, ragged group and attribute once
 * (checksums, offsets, string heaps), each object once however many links
 * name it: 0 if the whole file is sound, else -1 with the first problem (file
 * + object). An external link is a problem (an artifact must be
 * self-contained); soft links are checked where their targets live. For the
 * runner's "never trust a damaged artifact" check. */
int artifact_verify(const char *path, PureErr *err);

/* What one object is: the stage interface checks ports against this. */
typedef enum { AO_ABSENT, AO_DENSE, AO_RAGGED, AO_STRINGS, AO_GROUP, AO_OTHER } ArtObjectKind;
typedef struct ArtObject {
    ArtObjectKind kind;
    int numeric;                       /* dtype is set: a numeric stored type */
    DType dtype;                       /* dense data, or a ragged group's values */
    char type_desc[64];                /* the stored type, e.g. "f32", "u16", "vlen utf-8 string" */
    int ndim;                          /* dense / strings rank; ragged: the values' rank */
    int64_t dims[ARTIFACT_MAX_DIMS];
    int64_t rows;                      /* AO_RAGGED: number of rows */
} ArtObject;
/* Describes `name` (AO_ABSENT when there is none); -1 + err when unreadable. */
int artifact_describe(Artifact *a, const char *name, ArtObject *o, PureErr *err);
/* Names of the root group's children, sorted (caller frees each and the array). */
int artifact_list_root(Artifact *a, char ***names, int *n, PureErr *err);

/* Convenience for scalars written as 0-d datasets. */
int artifact_write_scalar_f64(Artifact *a, const char *name, double v, PureErr *err);
int artifact_read_scalar_f64(Artifact *a, const char *name, double *v, PureErr *err);

#endif
