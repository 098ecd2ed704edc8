/* loaders.c - JSONL/JSON loaders for the benchmark and training files (see loaders.h). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "stages/data/loaders.h"
#include "util/sbuf.h"
#include "verifier/verify.h"
#include "util/fs.h"
#include "util/json.h"

/* How a known source names its fields. answer: a string, number or array (first element) field;
   NULL: the reference is the last \boxed{} of the solution. */
const DataSourceDef data_sources[] = {
    {"toy", NULL, NULL, NULL, NULL, 0, NULL},
    {"math_train", "train/math_level3to5_8k.json", "question", "ref_answer", NULL, 0, "answer"},
    {"math500", "benchmarks/math500/test.jsonl", "problem", "answer", "solution", 0, NULL},
    {"minerva_math", "benchmarks/minerva_math/test.jsonl", "problem", NULL, "solution", 0, NULL},
    {"olympiadbench", "benchmarks/olympiadbench/test.jsonl", "question", "final_answer", "solution", 0, NULL},
    {"aime24", "benchmarks/aime24/test.jsonl", "problem", "answer", "solution", 0, NULL},
    {"amc23", "benchmarks/amc23/test.jsonl", "problem", "answer", NULL, 0, NULL},
    {"gsm8k", "benchmarks/gsm8k/test.jsonl", "question", "answer", NULL, 1, NULL},
    {"jsonl", NULL, NULL, NULL, NULL, 0, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL}};

/* A source with a file layout of ../shared/data (not toy, not jsonl). */
static const DataSourceDef *source_find(const char *name) {
    for (int i = 0; data_sources[i].name; i++)
        if (data_sources[i].file && strcmp(data_sources[i].name, name) == 0) return &data_sources[i];
    return NULL;
}

int data_source_known(const char *source) { return source_find(source) != NULL; }

char *data_default_path(const char *data_dir, const char *source) {
    const DataSourceDef *s = source_find(source);
    return s ? fs_join(data_dir, s->file) : NULL;
}

void dataset_push(DataSet *d, DataRow row) {
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->rows = xrealloc(d->rows, (size_t)d->cap * sizeof *d->rows);
    }
    d->rows[d->n++] = row;
}

void datarow_free(DataRow *r) {
    free(r->benchmark);
    free(r->problem);
    free(r->reference);
    free(r->solution);
    memset(r, 0, sizeof *r);
}

void dataset_free(DataSet *d) {
    for (int64_t i = 0; i < d->n; i++) datarow_free(&d->rows[i]);
    free(d->rows);
    memset(d, 0, sizeof *d);
}

/* A field's text: strings as is, numbers without a spurious ".0", arrays by their first element
   (OlympiadBench final_answer, solution), null as NULL. */
static char *field_text(const cJSON *v) {
    if (!v || cJSON_IsNull(v)) return NULL;
    if (cJSON_IsArray(v)) return field_text(cJSON_GetArrayItem(v, 0));
    if (cJSON_IsString(v)) return xstrdup(v->valuestring);
    if (cJSON_IsNumber(v)) {
        char buf[64];
        double x = v->valuedouble;
        if (x == floor(x) && fabs(x) < 1e15) snprintf(buf, sizeof buf, "%.0f", x);
        else snprintf(buf, sizeof buf, "%.17g", x);
        return xstrdup(buf);
    }
    if (cJSON_IsBool(v)) return xstrdup(cJSON_IsTrue(v) ? "true" : "false");
    return NULL;
}

static char *trimmed(const char *s, size_t n) {
    while (n > 0 && isspace((unsigned char)*s)) { s++; n--; }
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    char *t = xmalloc(n + 1);
    memcpy(t, s, n);
    t[n] = 0;
    return t;
}

/* One record -> one row. where = "file:line" or "file: element N" for messages. */
static int record_row(const cJSON *obj, const DataSourceDef *def, const char *bench, int64_t id, const char *where,
                      DataRow *row, PureErr *err) {
    memset(row, 0, sizeof *row);
    if (!cJSON_IsObject(obj)) return err_set(err, "%s: expected a JSON object", where);
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(obj, def->problem);
    if (!cJSON_IsString(pv))
        return err_set(err, "%s: missing field '%s' (the problem text, a string)", where, def->problem);
    char *solution = def->solution && *def->solution ? field_text(cJSON_GetObjectItemCaseSensitive(obj, def->solution)) : NULL;
    char *reference = NULL;
    if (def->answer && *def->answer) {
        const cJSON *av = cJSON_GetObjectItemCaseSensitive(obj, def->answer);
        reference = field_text(av);
        if (!av) {
            free(solution);
            return err_set(err, "%s: missing field '%s' (the reference answer)", where, def->answer);
        }
        if (reference && def->hashes) {
            const char *h = strstr(reference, "####");
            if (!h) {
                free(solution);
                free(reference);
                return err_set(err, "%s: field '%s' has no '####' before the final answer", where, def->answer);
            }
            /* the worked solution is the text before "####", the reference what follows */
            solution = trimmed(reference, (size_t)(h - reference));
            char *r = trimmed(h + 4, strlen(h + 4));
            free(reference);
            reference = r;
        }
    }
    if (def->fallback && (!reference || !*reference || !strcmp(reference, "null"))) {
        free(reference);
        reference = field_text(cJSON_GetObjectItemCaseSensitive(obj, def->fallback));
        if (reference && !strcmp(reference, "null")) reference[0] = 0; /* neither field: no reference */
    }
    if (!reference && solution) reference = verify_extract(solution);
    /* without an answer field, the solution is where the reference comes from: it must be there */
    if (!(def->answer && *def->answer) && def->solution && *def->solution && !solution)
        return err_set(err, "%s: missing field '%s' (the solution, whose last \\boxed{} is the reference)", where,
                       def->solution);
    row->id = id;
    row->benchmark = xstrdup(bench);
    row->problem = xstrdup(pv->valuestring);
    row->reference = reference ? reference : xstrdup("");
    row->solution = solution ? solution : xstrdup("");
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(obj, "answer");
    row->answer_given = cJSON_IsString(given) && strcmp(given->valuestring, "null") != 0;
    return 0;
}

static int load_jsonl(const char *path, const DataSourceDef *def, const char *bench, DataSet *out, PureErr *err) {
    size_t len;
    char *text = fs_read_file(path, &len, err);
    if (!text) return err_prefix(err, "%s data", def->name);
    int64_t id = 0;
    int line = 0, rc = 0;
    for (size_t pos = 0; pos < len && rc == 0;) {
        line++;
        size_t e = pos;
        while (e < len && text[e] != '\n') e++;
        size_t k = pos;
        while (k < e && isspace((unsigned char)text[k])) k++;
        if (k < e) { /* blank lines are skipped */
            const char *stop = NULL;
            cJSON *obj = cJSON_ParseWithLengthOpts(text + pos, e - pos, &stop, 0);
            char where[1100];
            if (!obj) {
                size_t col = stop && stop >= text + pos ? (size_t)(stop - (text + pos)) + 1 : 1;
                rc = err_set(err, "%s:%d:%zu: invalid JSON line", path, line, col);
            } else {
                snprintf(where, sizeof where, "%s:%d", path, line);
                DataRow row;
                rc = record_row(obj, def, bench, id++, where, &row, err);
                if (rc == 0) dataset_push(out, row);
                cJSON_Delete(obj);
            }
        }
        pos = e + 1;
    }
    free(text);
    return rc;
}

static int load_json_array(const char *path, const DataSourceDef *def, const char *bench, DataSet *out, PureErr *err) {
    cJSON *root = json_parse_file(path, err);
    if (!root) return -1;
    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return err_set(err, "%s: expected a JSON array of problems", path);
    }
    int64_t id = 0;
    int rc = 0;
    const cJSON *obj;
    cJSON_ArrayForEach(obj, root) {
        char where[1100];
        snprintf(where, sizeof where, "%s: element %lld", path, (long long)id);
        DataRow row;
        if ((rc = record_row(obj, def, bench, id++, where, &row, err)) < 0) break;
        dataset_push(out, row);
    }
    cJSON_Delete(root);
    return rc;
}

int data_load(const char *source, const char *path, const DataFields *fields, DataSet *out, PureErr *err) {
    if (!path || !*path) return err_set(err, "source '%s' needs a file: set `path` or `data_dir`", source);
    if (!fs_exists(path)) return err_set(err, "%s: no such file (source '%s')", path, source);
    if (strcmp(source, "jsonl") == 0) {
        DataSourceDef def = {"jsonl", NULL, fields->problem, fields->answer, fields->solution, 0, NULL};
        char *stem = fs_stem(path);
        /* a file that opens with '[' is one JSON array of records, like the MATH training file */
        FILE *f = fopen(path, "r");
        int c = ' ';
        while (f && (c = fgetc(f)) != EOF && isspace(c)) {}
        if (f) fclose(f);
        int rc = c == '[' ? load_json_array(path, &def, stem, out, err) : load_jsonl(path, &def, stem, out, err);
        free(stem);
        return rc;
    }
    const DataSourceDef *def = source_find(source);
    if (!def) return err_set(err, "unknown data source '%s'", source);
    if (strcmp(source, "math_train") == 0) return load_json_array(path, def, source, out, err);
    return load_jsonl(path, def, source, out, err);
}
