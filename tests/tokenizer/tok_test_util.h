/* tok_test_util.h - helpers shared by the tokenizer tests: JSONL reading,
 * id-array comparison with a readable first difference, and a seeded PRNG. */
#ifndef PURE_TOK_TEST_UTIL_H
#define PURE_TOK_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tokenizer/tokenizer.h"
#include "util/fs.h"
#include "util/json.h"

/* Calls fn(record, user) for every line of a JSONL file; returns the number of records or -1. */
static inline int jsonl_each(const char *path, void (*fn)(const cJSON *, void *), void *user) {
    PureErr err;
    err_clear(&err);
    size_t len;
    char *text = fs_read_file(path, &len, &err);
    if (!text) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    int n = 0;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        size_t k = end ? (size_t)(end - line) : strlen(line);
        if (k > 0) {
            cJSON *rec = json_parse(line, k, path, &err);
            if (!rec) {
                fprintf(stderr, "%s\n", err.msg);
                free(text);
                return -1;
            }
            fn(rec, user);
            cJSON_Delete(rec);
            n++;
        }
        line += k + (end ? 1 : 0);
    }
    free(text);
    return n;
}

/* ids of a JSON array; caller frees. */
static inline int32_t *json_ids(const cJSON *arr, size_t *n) {
    *n = (size_t)cJSON_GetArraySize(arr);
    int32_t *ids = malloc((*n + 1) * sizeof *ids);
    size_t i = 0;
    for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next) ids[i++] = e->valueint;
    return ids;
}

/* 1 if equal; otherwise prints the first difference under `what`. */
static inline int ids_equal(const char *what, const int32_t *got, size_t ng, const int32_t *want, size_t nw) {
    size_t i = 0;
    while (i < ng && i < nw && got[i] == want[i]) i++;
    if (i == ng && i == nw) return 1;
    fprintf(stderr, "%s: ids differ at %zu (got %zu ids, want %zu): got %d, want %d\n", what, i, ng, nw,
            i < ng ? got[i] : -1, i < nw ? want[i] : -1);
    return 0;
}

/* Path of the shared Qwen tokenizer.json in buf; 1 if it exists. */
static inline int qwen_path(char *buf, size_t cap) {
    snprintf(buf, cap, "%s/tokenizers/qwen/tokenizer.json", PURE_SHARED_DIR);
    return fs_exists(buf);
}

static uint64_t test_rng_state = 0x9E3779B97F4A7C15ull;
static inline uint32_t test_rand(void) {
    test_rng_state ^= test_rng_state << 13;
    test_rng_state ^= test_rng_state >> 7;
    test_rng_state ^= test_rng_state << 17;
    return (uint32_t)(test_rng_state >> 16);
}

#endif
