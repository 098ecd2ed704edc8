/* inspect_values.c - loading one object for `pure inspect`, its summary
 * statistics, and printing it as text or JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/h5util.h"
#include "storage/inspect.h"

static void stats_of(const double *v, const int64_t *iv, int64_t n, InspectStats *s) {
    memset(s, 0, sizeof *s);
    double sum = 0, sq = 0;
    s->min = INFINITY;
    s->max = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double x = v ? v[i] : (double)iv[i];
        if (isnan(x)) s->nan++;
        else if (isinf(x)) s->inf++;
        else {
            s->finite++;
            sum += x;
            if (x < s->min) s->min = x;
            if (x > s->max) s->max = x;
        }
    }
    if (s->finite == 0) {
        s->min = s->max = NAN;
        s->mean = s->std = NAN;
        return;
    }
    s->mean = sum / (double)s->finite;
    /* second pass for the variance: no cancellation from sum of squares */
    for (int64_t i = 0; i < n; i++) {
        double x = v ? v[i] : (double)iv[i];
        if (isfinite(x)) sq += (x - s->mean) * (x - s->mean);
    }
    s->std = sqrt(sq / (double)s->finite);
}

/* Stored type of dataset `name` (already known to be one), for display. */
static int stored_type(Artifact *a, const char *name, char *desc, size_t n, int *is_int, int *is_str, PureErr *err) {
    hid_t ds = H5Dopen2(a->file, name, H5P_DEFAULT);
    if (ds < 0) return h5u_fail(err, "%s: cannot open dataset '%s' (damaged file?)", a->path, name);
    hid_t t = H5Dget_type(ds);
    int rc = 0;
    if (t < 0) rc = h5u_fail(err, "%s: dataset '%s': cannot read its type (damaged file?)", a->path, name);
    else {
        h5u_type_desc(t, desc, n);
        *is_int = H5Tget_class(t) == H5T_INTEGER;
        *is_str = H5Tget_class(t) == H5T_STRING;
        H5Tclose(t);
    }
    H5Dclose(ds);
    return rc;
}

int inspect_load(Artifact *a, const char *name, InspectInfo *in, PureErr *err) {
    memset(in, 0, sizeof *in);
    in->name = name;
    int is_str = 0, k = h5u_kind(a->file, name);
    if (k == H5O_TYPE_UNKNOWN) return err_set(err, "%s: no dataset '%s'", a->path, name);
    if (k < H5O_TYPE_UNKNOWN) return h5u_kind_fail(a, name, k, err); /* damaged, too deep, a link not followed */
    if (k == H5O_TYPE_GROUP && h5u_is_ragged(a->file, name)) {
        char sub[1100];
        snprintf(sub, sizeof sub, "%s/values", name);
        if (stored_type(a, sub, in->dtype, sizeof in->dtype, &in->is_int, &is_str, err)) return -1;
        in->kind = INS_RAGGED;
        void *flat = NULL;
        if (artifact_read_ragged(a, name, in->is_int ? DT_I64 : DT_F64, &in->n_rows, &in->offsets, &flat, err))
            return -1;
        in->n = in->offsets[in->n_rows];
        if (in->is_int) in->ivals = flat;
        else in->fvals = flat;
        in->ndim = 1;
        in->dims[0] = in->n;
        double *lens = xmalloc((size_t)(in->n_rows ? in->n_rows : 1) * sizeof *lens);
        for (int64_t r = 0; r < in->n_rows; r++) lens[r] = (double)(in->offsets[r + 1] - in->offsets[r]);
        stats_of(lens, NULL, in->n_rows, &in->lens);
        free(lens);
    } else {
        if (k != H5O_TYPE_DATASET) {
            /* a plain group or a named datatype: let the reader say what it is */
            void *p = artifact_read(a, name, DT_F64, -1, NULL, err);
            free(p);
            return p ? err_set(err, "%s: cannot open dataset '%s'", artifact_path(a), name) : -1;
        }
        if (stored_type(a, name, in->dtype, sizeof in->dtype, &in->is_int, &is_str, err)) return -1;
        if (is_str) {
            in->kind = INS_STRINGS;
            in->strs = artifact_read_strings(a, name, &in->n, err);
            if (!in->strs) return -1;
            in->ndim = 1;
            in->dims[0] = in->n;
            double *lens = xmalloc((size_t)(in->n ? in->n : 1) * sizeof *lens);
            for (int64_t i = 0; i < in->n; i++) lens[i] = (double)strlen(in->strs[i]);
            stats_of(lens, NULL, in->n, &in->lens);
            free(lens);
            return 0;
        }
        in->kind = INS_DENSE;
        DType t;
        if (artifact_shape(a, name, &in->ndim, in->dims, &t, err)) return -1;
        void *v = artifact_read(a, name, in->is_int ? DT_I64 : DT_F64, in->ndim, NULL, err);
        if (!v) return -1;
        if (in->is_int) in->ivals = v;
        else in->fvals = v;
        in->n = h5u_count(in->ndim, in->dims);
    }
    stats_of(in->fvals, in->ivals, in->n, &in->stats);
    return 0;
}

void inspect_info_free(InspectInfo *in) {
    free(in->fvals);
    free(in->ivals);
    free(in->offsets);
    artifact_strings_free(in->strs, in->n);
    memset(in, 0, sizeof *in);
}

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 when p[0] does not start one. */
static size_t utf8_len(const unsigned char *p) {
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;      /* overlong */
        else if (c == 0xED) hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;      /* overlong */
        else if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0; /* also stops at the NUL */
    return n;
}

char *inspect_utf8_clean(const char *s) {
    size_t n = strlen(s), k = 0;
    char *out = xmalloc(3 * n + 1); /* each invalid byte becomes 3 bytes */
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t l = utf8_len(p);
        if (l) {
            memcpy(out + k, p, l);
            k += l;
            p += l;
        } else {
            memcpy(out + k, "\xEF\xBF\xBD", 3); /* U+FFFD */
            k += 3;
            p++;
        }
    }
    out[k] = '\0';
    return out;
}

cJSON *inspect_json_string(const char *s) {
    char *c = inspect_utf8_clean(s ? s : "");
    cJSON *j = cJSON_CreateString(c);
    free(c);
    return j;
}

/* JSON-style escaping so control characters and quotes stay on one line;
 * bytes that are not UTF-8 are shown as \xNN. */
char *inspect_quote(const char *s) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t l = utf8_len(p);
        if (l == 0) fprintf(f, "\\x%02x", *p++);
        else if (l > 1) {
            fwrite(p, 1, l, f);
            p += l;
        } else {
            if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
            else if (*p == '\n') fputs("\\n", f);
            else if (*p == '\t') fputs("\\t", f);
            else if (*p < 0x20 || *p == 0x7F) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
            p++;
        }
    }
    fputc('"', f);
    fclose(f);
    return buf;
}

/* ---- text ---- */

static void print_value(FILE *out, const InspectInfo *in, int64_t i) {
    if (in->is_int) fprintf(out, "%lld", (long long)in->ivals[i]);
    else fprintf(out, "%.9g", in->fvals[i]);
}

static void print_quoted(FILE *out, const char *s) {
    char *q = inspect_quote(s);
    fputs(q, out);
    free(q);
}

static void print_stats(FILE *out, const char *what, const InspectStats *s, int nonfinite) {
    fprintf(out, "    %s: min %.6g  max %.6g  mean %.6g  std %.6g", what, s->min, s->max, s->mean, s->std);
    if (nonfinite) fprintf(out, "  nan %lld  inf %lld", (long long)s->nan, (long long)s->inf);
    fputc('\n', out);
}

/* Prints values [from, to) on one line, at most `cap` of them (-1: all). */
static void print_run(FILE *out, const InspectInfo *in, int64_t from, int64_t to, long cap) {
    int64_t n = to - from, shown = cap < 0 || n <= cap ? n : cap;
    fputc('[', out);
    for (int64_t i = 0; i < shown; i++) {
        if (i) fputc(' ', out);
        print_value(out, in, from + i);
    }
    if (shown < n) fprintf(out, " ... (%lld more)", (long long)(n - shown));
    fputs("]\n", out);
}

void inspect_info_print(FILE *out, const InspectInfo *in, long head) {
    if (in->kind == INS_RAGGED) {
        fprintf(out, "%-32s ragged %s  %lld rows x lengths %.0f..%.0f (mean %.4g), %lld values\n", in->name, in->dtype,
               (long long)in->n_rows, in->lens.min, in->lens.max, in->lens.mean, (long long)in->n);
    } else {
        fprintf(out, "%-32s %s [", in->name, in->kind == INS_STRINGS ? "str" : in->dtype);
        for (int i = 0; i < in->ndim; i++) fprintf(out, "%s%lld", i ? ", " : "", (long long)in->dims[i]);
        fprintf(out, "]%s%s\n", in->kind == INS_STRINGS ? "  " : "", in->kind == INS_STRINGS ? in->dtype : "");
    }
    if (in->kind == INS_STRINGS) {
        if (in->n) print_stats(out, "bytes", &in->lens, 0);
    } else if (in->n) print_stats(out, "values", &in->stats, 1);
    if (head == 0) return;
    int64_t rows = in->kind == INS_RAGGED ? in->n_rows : in->kind == INS_STRINGS || in->ndim <= 1 ? in->n : in->dims[0];
    int64_t shown = head < 0 || rows <= head ? rows : head;
    long cap = head < 0 ? -1 : 16;
    if (in->kind == INS_DENSE && in->ndim <= 1) {
        fprintf(out, "    ");
        print_run(out, in, 0, in->n, head);
    } else {
        int64_t row_len = rows ? in->n / rows : 0;
        for (int64_t r = 0; r < shown; r++) {
            fprintf(out, "    [%lld] ", (long long)r);
            if (in->kind == INS_STRINGS) {
                print_quoted(out, in->strs[r]);
                fputc('\n', out);
            } else if (in->kind == INS_RAGGED) print_run(out, in, in->offsets[r], in->offsets[r + 1], cap);
            else print_run(out, in, r * row_len, (r + 1) * row_len, cap);
        }
        if (shown < rows) fprintf(out, "    ... %lld more rows (--all shows them)\n", (long long)(rows - shown));
    }
}

/* ---- JSON ---- */

static cJSON *stats_json(const InspectStats *s, int nonfinite) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "min", s->min);
    cJSON_AddNumberToObject(j, "max", s->max);
    cJSON_AddNumberToObject(j, "mean", s->mean);
    cJSON_AddNumberToObject(j, "std", s->std);
    if (nonfinite) {
        cJSON_AddNumberToObject(j, "nan", (double)s->nan);
        cJSON_AddNumberToObject(j, "inf", (double)s->inf);
    }
    return j;
}

static cJSON *run_json(const InspectInfo *in, int64_t from, int64_t to) {
    cJSON *arr = cJSON_CreateArray();
    for (int64_t i = from; i < to; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(in->is_int ? (double)in->ivals[i] : in->fvals[i]));
    return arr;
}

/* Nested arrays for a dense block of `ndim` axes starting at element `base`. */
static cJSON *dense_json(const InspectInfo *in, int axis, int64_t base, int64_t limit) {
    int64_t inner = 1;
    for (int i = axis + 1; i < in->ndim; i++) inner *= in->dims[i];
    if (axis == in->ndim - 1) return run_json(in, base, base + (limit < in->dims[axis] ? limit : in->dims[axis]));
    cJSON *arr = cJSON_CreateArray();
    int64_t rows = limit < in->dims[axis] ? limit : in->dims[axis];
    for (int64_t r = 0; r < rows; r++) cJSON_AddItemToArray(arr, dense_json(in, axis + 1, base + r * inner, INT64_MAX));
    return arr;
}

cJSON *inspect_info_json(const InspectInfo *in, long head) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "name", inspect_json_string(in->name));
    cJSON_AddStringToObject(j, "kind", in->kind == INS_RAGGED ? "ragged" : in->kind == INS_STRINGS ? "strings" : "dataset");
    cJSON_AddStringToObject(j, "dtype", in->dtype);
    if (in->kind == INS_RAGGED) {
        cJSON_AddNumberToObject(j, "rows", (double)in->n_rows);
        cJSON_AddNumberToObject(j, "values_count", (double)in->n);
        cJSON_AddItemToObject(j, "lengths", stats_json(&in->lens, 0));
    } else {
        cJSON *shape = cJSON_AddArrayToObject(j, "shape");
        for (int i = 0; i < in->ndim; i++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)in->dims[i]));
    }
    if (in->kind == INS_STRINGS) cJSON_AddItemToObject(j, "bytes", stats_json(&in->lens, 0));
    else cJSON_AddItemToObject(j, "stats", stats_json(&in->stats, 1));
    if (head == 0) return j;
    int64_t rows = in->kind == INS_RAGGED ? in->n_rows : in->kind == INS_STRINGS ? in->n : in->ndim ? in->dims[0] : 1;
    int64_t shown = head < 0 || rows <= head ? rows : head;
    cJSON *vals;
    if (in->kind == INS_STRINGS) {
        vals = cJSON_CreateArray();
        for (int64_t i = 0; i < shown; i++) cJSON_AddItemToArray(vals, inspect_json_string(in->strs[i]));
    } else if (in->kind == INS_RAGGED) {
        vals = cJSON_CreateArray();
        for (int64_t r = 0; r < shown; r++) cJSON_AddItemToArray(vals, run_json(in, in->offsets[r], in->offsets[r + 1]));
    } else if (in->ndim == 0) {
        vals = in->is_int ? cJSON_CreateNumber((double)in->ivals[0]) : cJSON_CreateNumber(in->fvals[0]);
    } else vals = dense_json(in, 0, 0, shown);
    cJSON_AddItemToObject(j, "values", vals);
    cJSON_AddBoolToObject(j, "truncated", shown < rows);
    return j;
}
