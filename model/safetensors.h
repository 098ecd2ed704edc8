/* safetensors.h - Hugging Face safetensors files: memory-mapped reading
 * (single file or sharded with model.safetensors.index.json), conversion to
 * f32, and atomic writing from f32 in F32 / F16 / BF16 / I32 / I64 / U8.
 *
 * File format: u64 little-endian header length N, N bytes of JSON
 *   {"__metadata__": {str: str}, NAME: {"dtype": "F32", "shape": [..],
 *    "data_offsets": [begin, end]}, ...}
 * then the data; offsets are relative to the byte after the header. Every
 * header field is validated on open (dtype names, shapes, offsets inside the
 * file, sizes = product(shape) * dtype size, no overlaps, no duplicate names);
 * errors name the file and the tensor. */
#ifndef PURE_SAFETENSORS_H
#define PURE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

typedef enum { ST_F32 = 0, ST_F16, ST_BF16, ST_I32, ST_I64, ST_U8 } StDType;
#define ST_MAX_DIMS 8

typedef struct StTensor {
    char *name;
    StDType dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;   /* inside the read-only map; may be unaligned: copy out with memcpy */
    size_t nbytes;
    const char *file;   /* the .safetensors file holding it */
} StTensor;

typedef struct SafeTensors SafeTensors;

/* path: a .safetensors file, or a directory holding model.safetensors or
 * model.safetensors.index.json (sharded). Memory-mapped, read-only. */
SafeTensors *safetensors_open(const char *path, PureErr *err);
void safetensors_close(SafeTensors *st);
int safetensors_count(const SafeTensors *st);
/* Tensors in name order. */
const StTensor *safetensors_get(const SafeTensors *st, int i);
const StTensor *safetensors_find(const SafeTensors *st, const char *name); /* NULL if absent */
/* Value of key in the header's __metadata__ (first file), or NULL. */
const char *safetensors_metadata(const SafeTensors *st, const char *key);

/* Reads tensor `name` converted to f32 into out. expect_shape (ndim entries)
 * is checked when ndim >= 0; errors name the file, the tensor, the expected
 * and actual shape/dtype; a missing tensor is an error naming it. */
int safetensors_read_f32(const SafeTensors *st, const char *name, int ndim, const int64_t *expect_shape, float *out,
                         PureErr *err);

/* The same, also counting into *nonfinite the values that are NaN or +-Inf
 * (f32, f16 and bf16 tensors; integer dtypes have none). The count is taken
 * on the source bits in the conversion loop itself, so it costs little beside
 * the copy (model_load warns with it). */
int safetensors_read_f32_scan(const SafeTensors *st, const char *name, int ndim, const int64_t *expect_shape,
                              float *out, size_t *nonfinite, PureErr *err);

/* One tensor to write: f32 source converted to dtype (bf16 and f16
 * round-to-nearest-even, integers rounded to nearest). */
typedef struct StWrite {
    const char *name;
    StDType dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const float *data;  /* product(shape) values */
} StWrite;

/* Writes one .safetensors file: header keys sorted, header padded with
 * spaces to a multiple of 8 bytes as Hugging Face does, metadata
 * {"format":"pt"} plus the keys of the optional JSON object metadata_json
 * (string values only). Atomic: path.tmp.<pid>, fsync, rename. */
int safetensors_write(const char *path, const StWrite *tensors, int n, const char *metadata_json, PureErr *err);
/* The bytes safetensors_write would put before the data (*header, malloc'd: the 8-byte length and the padded
 * JSON, *header_len bytes) and where each tensor's data would go (file_off[i], from the start of the file, for
 * tensors[i]; *total = the file's size), without any data: for a file several processes write parts of
 * (model_optimizer_save_range). */
int safetensors_layout(const char *path, const StWrite *tensors, int n, const char *metadata_json,
                       unsigned char **header, size_t *header_len, uint64_t *file_off, uint64_t *total, PureErr *err);

const char *st_dtype_name(StDType t); /* "F32", "BF16", ... */
size_t st_dtype_size(StDType t);

/* bf16/f16 <-> f32 (to-half conversions round to nearest even; NaN stays NaN). */
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

#endif
