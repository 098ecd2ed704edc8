/* safetensors.c - reading (mmap, validated header, sharded index) and
 * writing (sorted header, 8-byte padding, atomic) of Hugging Face
 * safetensors files, and the f16/bf16 conversions. */
#include "model/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/json.h"

/* ==== dtypes and conversions ==== */

static const char *const DTYPE_NAMES[] = {"F32", "F16", "BF16", "I32", "I64", "U8"};
static const size_t DTYPE_SIZES[] = {4, 2, 2, 4, 8, 1};
#define N_DTYPES 6
#define SUPPORTED "F32, F16, BF16, I32, I64, U8"

const char *st_dtype_name(StDType t) { return (unsigned)t < N_DTYPES ? DTYPE_NAMES[t] : "?"; }
size_t st_dtype_size(StDType t) { return (unsigned)t < N_DTYPES ? DTYPE_SIZES[t] : 0; }

float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* keep NaN a (quiet) NaN */
    u += 0x7fffu + ((u >> 16) & 1); /* round to nearest, ties to even */
    return (uint16_t)(u >> 16);
}

float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
    if (exp == 0) {
        float f = (float)man * 5.9604644775390625e-08f; /* subnormal: man * 2^-24, exact */
        return sign ? -f : f;
    }
    if (exp == 31) u = sign | 0x7f800000u | (man << 13); /* inf / NaN */
    else u = sign | ((exp + 112) << 23) | (man << 13);  /* rebias 15 -> 127 */
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00;  /* NaN */
    if (ax >= 0x477ff000u) return sign | 0x7c00; /* >= 65520 rounds to inf (65504 is the largest half) */
    if (ax < 0x38800000u) {
        /* below 2^-14: a subnormal half, man = round_even(|f| * 2^24); the
         * scaling by a power of two is exact and nearbyintf rounds to even */
        float a;
        memcpy(&a, &ax, 4);
        return sign | (uint16_t)nearbyintf(a * 16777216.0f);
    }
    uint32_t r = ax - (112u << 23); /* rebias 127 -> 15 */
    r += 0xfffu + ((r >> 13) & 1);  /* round to nearest even at bit 13; a carry bumps the exponent */
    return sign | (uint16_t)(r >> 13);
}

/* ==== reading ==== */

typedef struct StFile {
    char *path;
    unsigned char *map;
    size_t size;
} StFile;

struct SafeTensors {
    char *path;          /* what was opened (file or directory) */
    StFile *files;
    int nfiles;
    StTensor *t;         /* sorted by name */
    int n, cap;
    cJSON *meta;         /* __metadata__ of the first file, or NULL */
};

static uint64_t le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* A JSON number that is an exact non-negative integer below 2^53. */
static int json_uint(const cJSON *j, uint64_t *v) {
    if (!cJSON_IsNumber(j)) return -1;
    double d = j->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || d != floor(d)) return -1;
    *v = (uint64_t)d;
    return 0;
}

static void fmt_shape(int ndim, const int64_t *s, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++) k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)s[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

static int parse_dtype(const char *s, StDType *t) {
    for (int i = 0; i < N_DTYPES; i++)
        if (!strcmp(s, DTYPE_NAMES[i])) {
            *t = (StDType)i;
            return 0;
        }
    return -1;
}

/* Validates one header entry and appends it; data_size = bytes after the header. */
static int add_entry(SafeTensors *st, StFile *f, const cJSON *e, size_t data_off, uint64_t data_size,
                     uint64_t *begin, PureErr *err) {
    const char *name = e->string;
    if (!name[0]) return err_set(err, "%s: a tensor has an empty name", f->path);
    if (!cJSON_IsObject(e)) return err_set(err, "%s: tensor '%s': header entry is not an object", f->path, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    StTensor t = {0};
    if (!cJSON_IsString(dt)) return err_set(err, "%s: tensor '%s': missing \"dtype\" string", f->path, name);
    if (parse_dtype(dt->valuestring, &t.dtype))
        return err_set(err, "%s: tensor '%s': dtype '%s' is not supported (supported: " SUPPORTED ")", f->path, name,
                       dt->valuestring);
    if (!cJSON_IsArray(sh)) return err_set(err, "%s: tensor '%s': missing \"shape\" array", f->path, name);
    t.ndim = cJSON_GetArraySize(sh);
    if (t.ndim > ST_MAX_DIMS)
        return err_set(err, "%s: tensor '%s': rank %d, more than the %d supported", f->path, name, t.ndim, ST_MAX_DIMS);
    uint64_t count = 1, v;
    int overflow = 0;
    for (int i = 0; i < t.ndim; i++) {
        if (json_uint(cJSON_GetArrayItem(sh, i), &v))
            return err_set(err, "%s: tensor '%s': shape entry %d is not a non-negative integer", f->path, name, i);
        t.shape[i] = (int64_t)v;
        if (v && count > UINT64_MAX / v) overflow = 1;
        count *= v;
    }
    uint64_t b, en;
    if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 || json_uint(cJSON_GetArrayItem(of, 0), &b) ||
        json_uint(cJSON_GetArrayItem(of, 1), &en) || b > en)
        return err_set(err, "%s: tensor '%s': \"data_offsets\" must be [begin, end] with 0 <= begin <= end", f->path,
                       name);
    if (en > data_size)
        return err_set(err, "%s: tensor '%s': data_offsets [%llu, %llu] run past the end of the data (%llu bytes): truncated file?",
                       f->path, name, (unsigned long long)b, (unsigned long long)en, (unsigned long long)data_size);
    uint64_t need = count * st_dtype_size(t.dtype);
    if (overflow || count > UINT64_MAX / 8 || need != en - b) {
        char s[256];
        fmt_shape(t.ndim, t.shape, s, sizeof s);
        return err_set(err, "%s: tensor '%s': data_offsets span %llu bytes but shape %s of %s needs %llu", f->path,
                       name, (unsigned long long)(en - b), s, dt->valuestring, (unsigned long long)need);
    }
    t.name = xstrdup(name);
    t.data = f->map + data_off + b;
    t.nbytes = (size_t)need;
    t.file = f->path;
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 64;
        st->t = xrealloc(st->t, (size_t)st->cap * sizeof *st->t);
    }
    *begin = b;
    st->t[st->n++] = t;
    return 0;
}

typedef struct {
    uint64_t b, e;
    const char *name;
} Span;

static int span_cmp(const void *x, const void *y) {
    const Span *a = x, *b = y;
    return a->b < b->b ? -1 : a->b > b->b ? 1 : (a->e > b->e) - (a->e < b->e);
}

/* Maps and validates one file, appending its tensors. */
static int parse_file(SafeTensors *st, const char *path, PureErr *err) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return err_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return err_set(err, "%s: not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    if (size < 8) {
        close(fd);
        return err_set(err, "%s: %zu bytes, too short for a safetensors header (truncated file?)", path, size);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return err_set(err, "%s: cannot map: %s", path, strerror(errno));
    st->files = xrealloc(st->files, (size_t)(st->nfiles + 1) * sizeof *st->files);
    StFile *f = &st->files[st->nfiles++];
    f->path = xstrdup(path);
    f->map = map;
    f->size = size;
    uint64_t hlen = le64(f->map);
    if (hlen > size - 8)
        return err_set(err, "%s: header length %llu is larger than the file (%zu bytes): truncated or not a safetensors file",
                       path, (unsigned long long)hlen, size);
    if (hlen > (100u << 20)) return err_set(err, "%s: header length %llu over the 100 MB limit", path, (unsigned long long)hlen);
    cJSON *root = json_parse((const char *)f->map + 8, (size_t)hlen, path, err);
    if (!root) return err_prefix(err, "bad safetensors header");
    int rc = 0;
    if (!cJSON_IsObject(root)) rc = err_set(err, "%s: the header is not a JSON object", path);
    int cnt = 0;
    Span *spans = xmalloc(((size_t)cJSON_GetArraySize(root) + 1) * sizeof *spans);
    for (cJSON *e = root->child; rc == 0 && e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) {
            if (!cJSON_IsObject(e)) rc = err_set(err, "%s: __metadata__ is not an object", path);
            for (cJSON *m = e->child; rc == 0 && m; m = m->next)
                if (!cJSON_IsString(m)) rc = err_set(err, "%s: __metadata__ key '%s' is not a string", path, m->string);
            if (rc == 0 && !st->meta) st->meta = cJSON_Duplicate(e, 1);
            continue;
        }
        uint64_t b = 0;
        rc = add_entry(st, f, e, 8 + (size_t)hlen, size - 8 - hlen, &b, err);
        if (rc == 0) spans[cnt++] = (Span){b, b + st->t[st->n - 1].nbytes, st->t[st->n - 1].name};
    }
    /* tensors may not share bytes (a writer bug or a crafted file) */
    qsort(spans, (size_t)cnt, sizeof *spans, span_cmp);
    for (int i = 1; rc == 0 && i < cnt; i++) {
        const Span *p = &spans[i - 1], *q = &spans[i];
        if (q->b < p->e && q->e > q->b)
            rc = err_set(err, "%s: tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap", path, p->name,
                         (unsigned long long)p->b, (unsigned long long)p->e, q->name, (unsigned long long)q->b,
                         (unsigned long long)q->e);
    }
    free(spans);
    cJSON_Delete(root);
    return rc;
}

static int tensor_cmp(const void *x, const void *y) {
    return strcmp(((const StTensor *)x)->name, ((const StTensor *)y)->name);
}

/* Sorts by name and refuses duplicates: a tensor in two shards (util/json.c
 * already refuses a key twice within one header). */
static int sort_tensors(SafeTensors *st, PureErr *err) {
    qsort(st->t, (size_t)st->n, sizeof *st->t, tensor_cmp);
    for (int i = 1; i < st->n; i++)
        if (!strcmp(st->t[i].name, st->t[i - 1].name))
            return err_set(err, "%s: tensor '%s' appears twice (%s and %s)", st->path, st->t[i].name, st->t[i - 1].file,
                           st->t[i].file);
    return 0;
}

/* model.safetensors.index.json: Llama-3.1-405B's is 110 KB; refused past
 * this before it is read (cJSON needs tens of bytes per value). */
#define INDEX_MAX_BYTES (64 << 20)

static int open_sharded(SafeTensors *st, const char *dir, const char *index, PureErr *err) {
    struct stat sb;
    if (stat(index, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > INDEX_MAX_BYTES)
        return err_set(err, "%s: %lld bytes, more than the %d MiB an index may have", index, (long long)sb.st_size,
                       INDEX_MAX_BYTES >> 20);
    cJSON *root = json_parse_file(index, err);
    if (!root) return -1;
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    int rc = 0;
    if (!cJSON_IsObject(wm)) rc = err_set(err, "%s: no \"weight_map\" object", index);
    /* each distinct shard once, in order of first mention */
    for (const cJSON *e = wm ? wm->child : NULL; rc == 0 && e; e = e->next) {
        if (!cJSON_IsString(e)) {
            rc = err_set(err, "%s: weight_map entry '%s' is not a file name", index, e->string);
            break;
        }
        const char *shard = e->valuestring;
        if (!shard[0] || shard[0] == '/' || strstr(shard, "..")) {
            rc = err_set(err, "%s: tensor '%s': shard name '%s' must be a file inside %s", index, e->string, shard, dir);
            break;
        }
        char *p = fs_join(dir, shard);
        int seen = 0;
        for (int i = 0; i < st->nfiles; i++) seen |= !strcmp(st->files[i].path, p);
        if (!seen) rc = parse_file(st, p, err);
        free(p);
    }
    if (rc == 0) rc = sort_tensors(st, err);
    /* every mapped tensor must be in the shard the index names */
    for (const cJSON *e = wm ? wm->child : NULL; rc == 0 && e; e = e->next) {
        const StTensor *t = safetensors_find(st, e->string);
        char *p = fs_join(dir, e->valuestring);
        if (!t) rc = err_set(err, "%s: tensor '%s' is listed in the index (shard %s) but no shard holds it", index, e->string, e->valuestring);
        else if (strcmp(t->file, p) != 0)
            rc = err_set(err, "%s: tensor '%s' is listed in shard %s but found in %s", index, e->string, e->valuestring, t->file);
        free(p);
    }
    cJSON_Delete(root);
    return rc;
}

SafeTensors *safetensors_open(const char *path, PureErr *err) {
    SafeTensors *st = xcalloc(1, sizeof *st);
    st->path = xstrdup(path);
    int rc;
    if (fs_is_dir(path)) {
        char *single = fs_join(path, "model.safetensors"), *index = fs_join(path, "model.safetensors.index.json");
        if (fs_exists(single)) {
            rc = parse_file(st, single, err);
            if (rc == 0) rc = sort_tensors(st, err);
        } else if (fs_exists(index)) rc = open_sharded(st, path, index, err);
        else rc = err_set(err, "%s: no model.safetensors or model.safetensors.index.json in this directory", path);
        free(single);
        free(index);
    } else if (!fs_exists(path)) {
        rc = err_set(err, "%s: no such file or directory", path);
    } else {
        rc = parse_file(st, path, err);
        if (rc == 0) rc = sort_tensors(st, err);
    }
    if (rc) {
        safetensors_close(st);
        return NULL;
    }
    return st;
}

void safetensors_close(SafeTensors *st) {
    if (!st) return;
    for (int i = 0; i < st->n; i++) free(st->t[i].name);
    for (int i = 0; i < st->nfiles; i++) {
        munmap(st->files[i].map, st->files[i].size);
        free(st->files[i].path);
    }
    cJSON_Delete(st->meta);
    free(st->files);
    free(st->t);
    free(st->path);
    free(st);
}

int safetensors_count(const SafeTensors *st) { return st->n; }

const StTensor *safetensors_get(const SafeTensors *st, int i) { return i >= 0 && i < st->n ? &st->t[i] : NULL; }

const StTensor *safetensors_find(const SafeTensors *st, const char *name) {
    StTensor key = {.name = (char *)name};
    return bsearch(&key, st->t, (size_t)st->n, sizeof *st->t, tensor_cmp);
}

const char *safetensors_metadata(const SafeTensors *st, const char *key) {
    const cJSON *v = st->meta ? cJSON_GetObjectItemCaseSensitive(st->meta, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Float conversions that count the non-finite values (NaN, +-Inf: exponent
 * bits all set) of the source, in 16 lanes so the loops vectorise at -O2.
 * bf16 and f16 count inside the conversion loop, at no measurable cost; f32
 * is a memcpy then a counting pass over the source (+0.4 s for the 2 GB of
 * a 0.5B model; docs/model.md has the measurements). */
#define SCAN_LANES 16
#define CONVERT_COUNT(NAME, T, MASK, TO_F32)                                                     \
    static size_t NAME(const unsigned char *p, size_t n, float *out) {                             \
        uint32_t lanes[SCAN_LANES] = {0};                                                          \
        size_t i = 0, k = 0;                                                                       \
        for (; i + SCAN_LANES <= n; i += SCAN_LANES)                                               \
            for (int l = 0; l < SCAN_LANES; l++) {                                                 \
                T h;                                                                               \
                memcpy(&h, p + sizeof(T) * (i + l), sizeof(T));                                    \
                out[i + l] = TO_F32(h);                                                            \
                lanes[l] += (h & MASK) == MASK;                                                    \
            }                                                                                      \
        for (int l = 0; l < SCAN_LANES; l++) k += lanes[l];                                        \
        for (; i < n; i++) {                                                                       \
            T h;                                                                                   \
            memcpy(&h, p + sizeof(T) * i, sizeof(T));                                              \
            out[i] = TO_F32(h);                                                                    \
            k += (h & MASK) == MASK;                                                               \
        }                                                                                          \
        return k;                                                                                  \
    }

/* f32: one memcpy (glibc's non-temporal stores beat any loop here), then the
 * count over the source bits */
static size_t count_f32(const unsigned char *p, size_t n) {
    uint32_t lanes[SCAN_LANES] = {0};
    size_t i = 0, k = 0;
    for (; i + SCAN_LANES <= n; i += SCAN_LANES)
        for (int l = 0; l < SCAN_LANES; l++) {
            uint32_t u;
            memcpy(&u, p + 4 * (i + l), 4);
            lanes[l] += (u & 0x7f800000u) == 0x7f800000u;
        }
    for (int l = 0; l < SCAN_LANES; l++) k += lanes[l];
    for (; i < n; i++) {
        uint32_t u;
        memcpy(&u, p + 4 * i, 4);
        k += (u & 0x7f800000u) == 0x7f800000u;
    }
    return k;
}
static size_t convert_f32(const unsigned char *p, size_t n, float *out) {
    memcpy(out, p, n * 4);
    return count_f32(p, n);
}
CONVERT_COUNT(convert_bf16, uint16_t, 0x7f80u, bf16_to_f32)
CONVERT_COUNT(convert_f16, uint16_t, 0x7c00u, f16_to_f32)

/* Converts n values of dtype t at p into out; returns how many are not
 * finite (integers never are: |int64| < FLT_MAX). */
static size_t convert_in(StDType t, const unsigned char *p, size_t n, float *out) {
    switch (t) {
    case ST_F32: return convert_f32(p, n, out);
    case ST_BF16: return convert_bf16(p, n, out);
    case ST_F16: return convert_f16(p, n, out);
    case ST_I32:
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, p + 4 * i, 4);
            out[i] = (float)v;
        }
        break;
    case ST_I64:
        for (size_t i = 0; i < n; i++) {
            int64_t v;
            memcpy(&v, p + 8 * i, 8);
            out[i] = (float)v;
        }
        break;
    case ST_U8:
        for (size_t i = 0; i < n; i++) out[i] = (float)p[i];
        break;
    }
    return 0;
}

int safetensors_read_f32_scan(const SafeTensors *st, const char *name, int ndim, const int64_t *expect_shape,
                              float *out, size_t *nonfinite, PureErr *err) {
    const StTensor *t = safetensors_find(st, name);
    if (!t) return err_set(err, "%s: tensor '%s' not found (%d tensors present)", st->path, name, st->n);
    int same = ndim < 0 || ndim == t->ndim;
    for (int i = 0; same && ndim >= 0 && i < ndim; i++) same = expect_shape[i] == t->shape[i];
    if (!same) {
        char want[256], got[256];
        fmt_shape(ndim, expect_shape, want, sizeof want);
        fmt_shape(t->ndim, t->shape, got, sizeof got);
        return err_set(err, "%s: tensor '%s': expected shape %s, got %s (dtype %s)", t->file, name, want, got,
                       st_dtype_name(t->dtype));
    }
    size_t bad = convert_in(t->dtype, t->data, t->nbytes / st_dtype_size(t->dtype), out);
    if (nonfinite) *nonfinite = bad;
    return 0;
}

int safetensors_read_f32(const SafeTensors *st, const char *name, int ndim, const int64_t *expect_shape, float *out,
                         PureErr *err) {
    return safetensors_read_f32_scan(st, name, ndim, expect_shape, out, NULL, err);
}

/* ==== writing ==== */

typedef struct {
    char *s;
    size_t n, cap;
} Buf;

static void buf_add(Buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void buf_str(Buf *b, const char *s) { buf_add(b, s, strlen(s)); }

/* A JSON string literal; UTF-8 passes through, control bytes are escaped. */
static void buf_json_str(Buf *b, const char *s) {
    buf_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            buf_add(b, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            buf_add(b, esc, 6);
        } else buf_add(b, (const char *)p, 1);
    }
    buf_add(b, "\"", 1);
}

static int write_cmp(const void *x, const void *y) {
    return strcmp((*(const StWrite *const *)x)->name, (*(const StWrite *const *)y)->name);
}

/* {"format":"pt", ...extra string keys}; "format" in extra replaces "pt". */
static int build_metadata(Buf *h, const char *path, const char *metadata_json, PureErr *err) {
    cJSON *extra = NULL;
    if (metadata_json && metadata_json[0]) {
        extra = json_parse(metadata_json, strlen(metadata_json), "safetensors metadata", err);
        if (!extra) return err_prefix(err, "%s", path);
        if (!cJSON_IsObject(extra)) {
            cJSON_Delete(extra);
            return err_set(err, "%s: metadata must be a JSON object", path);
        }
        for (cJSON *m = extra->child; m; m = m->next)
            if (!cJSON_IsString(m)) {
                int rc = err_set(err, "%s: metadata key '%s' must have a string value", path, m->string);
                cJSON_Delete(extra);
                return rc;
            }
    }
    const cJSON *fmt = extra ? cJSON_GetObjectItemCaseSensitive(extra, "format") : NULL;
    buf_str(h, "\"__metadata__\":{\"format\":");
    buf_json_str(h, fmt ? fmt->valuestring : "pt");
    for (cJSON *m = extra ? extra->child : NULL; m; m = m->next) {
        if (!strcmp(m->string, "format")) continue;
        buf_str(h, ",");
        buf_json_str(h, m->string);
        buf_str(h, ":");
        buf_json_str(h, m->valuestring);
    }
    buf_str(h, "}");
    cJSON_Delete(extra);
    return 0;
}

static int64_t count_of(const StWrite *w) {
    int64_t c = 1;
    for (int i = 0; i < w->ndim; i++) c *= w->shape[i];
    return c;
}

static int64_t clamp_round(float v, double lo, double hi) {
    if (isnan(v)) return 0;
    double r = nearbyint((double)v);
    return (int64_t)(r < lo ? lo : r > hi ? hi : r);
}

/* Converts src[0..n) to dtype t into dst. */
static void convert_out(StDType t, const float *src, size_t n, unsigned char *dst) {
    for (size_t i = 0; i < n; i++) {
        switch (t) {
        case ST_F32: memcpy(dst + 4 * i, &src[i], 4); break;
        case ST_F16: {
            uint16_t h = f32_to_f16(src[i]);
            memcpy(dst + 2 * i, &h, 2);
            break;
        }
        case ST_BF16: {
            uint16_t h = f32_to_bf16(src[i]);
            memcpy(dst + 2 * i, &h, 2);
            break;
        }
        case ST_I32: {
            int32_t v = (int32_t)clamp_round(src[i], -2147483648.0, 2147483647.0);
            memcpy(dst + 4 * i, &v, 4);
            break;
        }
        case ST_I64: {
            int64_t v = clamp_round(src[i], -9223372036854775808.0, 9223372036854774784.0);
            memcpy(dst + 8 * i, &v, 8);
            break;
        }
        case ST_U8: dst[i] = (unsigned char)clamp_round(src[i], 0, 255); break;
        }
    }
}

static int check_writes(const char *path, const StWrite *ws, int n, int need_data, PureErr *err) {
    for (int i = 0; i < n; i++) {
        const StWrite *w = &ws[i];
        if (!w->name || !w->name[0]) return err_set(err, "%s: tensor %d has no name", path, i);
        if ((unsigned)w->dtype >= N_DTYPES) return err_set(err, "%s: tensor '%s': invalid dtype %d", path, w->name, (int)w->dtype);
        if (w->ndim < 0 || w->ndim > ST_MAX_DIMS)
            return err_set(err, "%s: tensor '%s': rank %d outside 0..%d", path, w->name, w->ndim, ST_MAX_DIMS);
        for (int d = 0; d < w->ndim; d++)
            if (w->shape[d] < 0) return err_set(err, "%s: tensor '%s': negative dimension %d", path, w->name, d);
        if (need_data && count_of(w) > 0 && !w->data) return err_set(err, "%s: tensor '%s': no data", path, w->name);
    }
    return 0;
}

/* The header of tensors in name order (order: the sorted pointers), padded to 8 bytes; data_off[k] = byte offset of
 * order[k]'s data from the start of the data section. */
static int build_header(const char *path, const StWrite *tensors, int n, int need_data, const char *metadata_json,
                        const StWrite ***order_out, Buf *h, uint64_t *data_off, PureErr *err) {
    *order_out = NULL;
    if (n < 0) return err_set(err, "%s: negative tensor count", path);
    if (check_writes(path, tensors, n, need_data, err)) return -1;
    const StWrite **order = xmalloc((size_t)(n ? n : 1) * sizeof *order);
    for (int i = 0; i < n; i++) order[i] = &tensors[i];
    qsort(order, (size_t)n, sizeof *order, write_cmp);
    for (int i = 1; i < n; i++)
        if (!strcmp(order[i]->name, order[i - 1]->name)) {
            int rc = err_set(err, "%s: tensor '%s' given twice", path, order[i]->name);
            free(order);
            return rc;
        }
    buf_str(h, "{");
    if (build_metadata(h, path, metadata_json, err)) {
        free(order);
        return -1;
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        const StWrite *w = order[i];
        char num[64];
        buf_str(h, ",");
        buf_json_str(h, w->name);
        buf_str(h, ":{\"dtype\":\"");
        buf_str(h, st_dtype_name(w->dtype));
        buf_str(h, "\",\"shape\":[");
        for (int d = 0; d < w->ndim; d++) {
            snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)w->shape[d]);
            buf_str(h, num);
        }
        uint64_t nb = (uint64_t)count_of(w) * st_dtype_size(w->dtype);
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)(off + nb));
        buf_str(h, num);
        if (data_off) data_off[i] = off;
        off += nb;
    }
    buf_str(h, "}");
    while (h->n % 8) buf_str(h, " "); /* data starts 8-byte aligned, as Hugging Face writes it */
    *order_out = order;
    return 0;
}

int safetensors_layout(const char *path, const StWrite *tensors, int n, const char *metadata_json,
                       unsigned char **header, size_t *header_len, uint64_t *file_off, uint64_t *total, PureErr *err) {
    Buf h = {0};
    const StWrite **order;
    uint64_t *sorted = xmalloc((size_t)(n ? n : 1) * sizeof *sorted);
    int rc = build_header(path, tensors, n, 0, metadata_json, &order, &h, sorted, err);
    if (!rc) {
        *header_len = 8 + h.n;
        *header = xmalloc(*header_len);
        for (int i = 0; i < 8; i++) (*header)[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
        memcpy(*header + 8, h.s, h.n);
        *total = *header_len;
        for (int k = 0; k < n; k++) {
            uint64_t at = *header_len + sorted[k], nb = (uint64_t)count_of(order[k]) * st_dtype_size(order[k]->dtype);
            file_off[order[k] - tensors] = at;
            if (at + nb > *total) *total = at + nb;
        }
    }
    free(order), free(sorted), free(h.s);
    return rc;
}

int safetensors_write(const char *path, const StWrite *tensors, int n, const char *metadata_json, PureErr *err) {
    Buf h = {0};
    const StWrite **order;
    if (build_header(path, tensors, n, 1, metadata_json, &order, &h, NULL, err)) {
        free(h.s);
        return -1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int rc = 0;
    if (!f) rc = err_set(err, "%s: cannot create: %s", tmp, strerror(errno));
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
    if (rc == 0 && (fwrite(len8, 1, 8, f) != 8 || fwrite(h.s, 1, h.n, f) != h.n))
        rc = err_set(err, "%s: write failed: %s", tmp, strerror(errno));
    /* data, converted in chunks so a large model never needs a second full copy */
    enum { CHUNK = 1 << 16 };
    unsigned char *cbuf = xmalloc(CHUNK * 8);
    for (int i = 0; rc == 0 && i < n; i++) {
        const StWrite *w = order[i];
        size_t cnt = (size_t)count_of(w), es = st_dtype_size(w->dtype);
        for (size_t s = 0; rc == 0 && s < cnt; s += CHUNK) {
            size_t m = cnt - s < CHUNK ? cnt - s : CHUNK;
            convert_out(w->dtype, w->data + s, m, cbuf);
            if (fwrite(cbuf, es, m, f) != m) rc = err_set(err, "%s: write failed: %s", tmp, strerror(errno));
        }
    }
    free(cbuf);
    free(order);
    free(h.s);
    if (f) {
        if (rc == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0))
            rc = err_set(err, "%s: flush failed: %s", tmp, strerror(errno));
        if (fclose(f) != 0 && rc == 0) rc = err_set(err, "%s: close failed: %s", tmp, strerror(errno));
        if (rc == 0) rc = fs_rename_durable(tmp, path, err);
        if (rc) unlink(tmp);
    }
    return rc;
}
