/* json.c - cJSON parsing with line:column errors. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fs.h"

void json_line_col(const char *text, size_t off, int *line, int *col) {
    int l = 1, c = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') { l++; c = 1; }
        else c++;
    }
    *line = l;
    *col = c;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Duplicate keys: cJSON keeps both and lookups see the first, so a file could
 * say one thing to pure and another to every other reader. Checked per object
 * by sorting its keys (O(n log n): an object of 10^5 keys is fine). */
static int check_dups(const cJSON *j, const char *what, char *path, size_t len, size_t cap, PureErr *err) {
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j)) return 0;
    int n = cJSON_GetArraySize(j), idx = 0;
    if (cJSON_IsObject(j) && n > 1) {
        const char **keys = xmalloc((size_t)n * sizeof *keys);
        int k = 0;
        for (const cJSON *c = j->child; c; c = c->next) keys[k++] = c->string ? c->string : "";
        qsort(keys, (size_t)k, sizeof *keys, cmp_str);
        for (int i = 1; i < k; i++)
            if (!strcmp(keys[i - 1], keys[i])) {
                err_set(err, "%s: duplicate key \"%.60s\" in the object at %s", what, keys[i], len ? path : "$");
                free(keys);
                return -1;
            }
        free(keys);
    }
    for (const cJSON *c = j->child; c; c = c->next, idx++) {
        size_t l = len;
        if (l == 0) l = (size_t)snprintf(path, cap, "$");
        if (l < cap) {
            if (c->string) snprintf(path + l, cap - l, ".%.40s", c->string);
            else snprintf(path + l, cap - l, "[%d]", idx);
        }
        size_t nl = strlen(path);
        if (check_dups(c, what, path, nl, cap, err)) return -1;
        path[l < cap ? l : cap - 1] = '\0';
    }
    return 0;
}

static cJSON *parse(const char *text, size_t len, const char *what, int dups_ok, PureErr *err);

cJSON *json_parse(const char *text, size_t len, const char *what, PureErr *err) {
    return parse(text, len, what, 0, err);
}

cJSON *json_parse_dups(const char *text, size_t len, const char *what, PureErr *err) {
    return parse(text, len, what, 1, err);
}

static cJSON *parse(const char *text, size_t len, const char *what, int dups_ok, PureErr *err) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root) {
        /* one value and nothing after it but white space */
        size_t off = end && end >= text ? (size_t)(end - text) : len;
        while (off < len && (text[off] == ' ' || text[off] == '\t' || text[off] == '\n' || text[off] == '\r'))
            off++;
        if (off < len && !(text[off] == '\0' && off + 1 == len)) {
            int line, col;
            json_line_col(text, off, &line, &col);
            err_set(err, "%s:%d:%d: unexpected data after the JSON value", what, line, col);
            cJSON_Delete(root);
            return NULL;
        }
        char path[512] = "";
        if (!dups_ok && check_dups(root, what, path, 0, sizeof path, err)) {
            cJSON_Delete(root);
            return NULL;
        }
        return root;
    }
    {
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        if (off > len) off = len;
        int line, col;
        json_line_col(text, off, &line, &col);
        char near[24] = {0};
        size_t k = 0;
        for (size_t i = off; i < len && k < 16 && text[i] != '\n'; i++) near[k++] = text[i];
        err_set(err, "%s:%d:%d: invalid JSON near '%s'", what, line, col, near);
        return NULL;
    }
}

cJSON *json_parse_file(const char *path, PureErr *err) {
    size_t len;
    char *text = fs_read_file(path, &len, err);
    if (!text) return NULL;
    cJSON *root = json_parse(text, len, path, err);
    free(text);
    return root;
}
