/* tokenizer_bench.c - speed of tokenizer/: load time of a tokenizer.json and
 * encode throughput on one core over a corpus (JSONL, one {"text": ...} per
 * line), encoding item by item as the stages do. Prints one line per figure.
 * Usage: tokenizer_bench TOKENIZER_JSON CORPUS_JSONL [REPEATS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tokenizer/tokenizer.h"
#include "util/fs.h"
#include "util/json.h"

/* CPU time of this thread: on a shared machine, wall time also counts the
 * time other processes held the core. */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* FNV-1a over every id of every item (32-bit, the same in tokenizer_bench.js):
 * equal checksums mean token-for-token parity on the whole corpus. */
static uint32_t ids_checksum(const Tokenizer *t, char **items, const size_t *lens, size_t n) {
    uint32_t h = 2166136261u;
    PureErr err;
    err_clear(&err);
    for (size_t i = 0; i < n; i++) {
        int32_t *ids;
        size_t k;
        tokenizer_encode(t, items[i], lens[i], 1, &ids, &k, NULL, &err);
        for (size_t j = 0; j < k; j++) h = (h ^ (uint32_t)ids[j]) * 16777619u;
        h = (h ^ 0xFFFFFFFFu) * 16777619u;  /* item separator */
        free(ids);
    }
    return h;
}

/* Best time of `repeats` passes encoding every item. */
static double encode_all(const Tokenizer *t, char **items, const size_t *lens, size_t n, int repeats, int offsets,
                         size_t *tokens) {
    PureErr err;
    err_clear(&err);
    double best = 1e30;
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        *tokens = 0;
        for (size_t i = 0; i < n; i++) {
            int32_t *ids;
            size_t k, *off = NULL;
            tokenizer_encode(t, items[i], lens[i], 1, &ids, &k, offsets ? &off : NULL, &err);
            *tokens += k;
            free(ids);
            free(off);
        }
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    return best;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s TOKENIZER_JSON CORPUS_JSONL [REPEATS]\n", argv[0]);
        return 2;
    }
    int repeats = argc > 3 ? atoi(argv[3]) : 5;
    PureErr err;
    err_clear(&err);
    double loads[16], walls[16];
    Tokenizer *t = NULL;
    int nl = 5;  /* loads; REPEATS is for encoding */
    for (int r = 0; r < nl; r++) {
        tokenizer_free(t);
        double t0 = now(), w0 = wall();
        t = tokenizer_load(argv[1], &err);
        loads[r] = now() - t0;
        walls[r] = wall() - w0;
        if (!t) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    }
    qsort(loads, (size_t)nl, sizeof *loads, cmp_double);
    qsort(walls, (size_t)nl, sizeof *walls, cmp_double);
    printf("load_ms_cpu_median %.1f\nload_ms_wall_median %.1f\n", 1e3 * loads[nl / 2], 1e3 * walls[nl / 2]);

    size_t len;
    char *text = fs_read_file(argv[2], &len, &err);
    if (!text) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    char **items = NULL;
    size_t *lens = NULL, n = 0, bytes = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *rec = cJSON_Parse(line);
        const cJSON *s = cJSON_GetObjectItem(rec, "text");
        if (cJSON_IsString(s)) {
            items = realloc(items, (n + 1) * sizeof *items);
            lens = realloc(lens, (n + 1) * sizeof *lens);
            items[n] = strdup(s->valuestring);
            lens[n] = strlen(s->valuestring);
            bytes += lens[n++];
        }
        cJSON_Delete(rec);
    }
    size_t tokens = 0;
    double plain = encode_all(t, items, lens, n, repeats, 0, &tokens);
    double with_offsets = encode_all(t, items, lens, n, repeats, 1, &tokens);
    printf("corpus_items %zu\ncorpus_bytes %zu\ntokens %zu\n", n, bytes, tokens);
    printf("encode_MBps %.2f\n", bytes / plain / 1e6);
    printf("encode_offsets_MBps %.2f\n", bytes / with_offsets / 1e6);  /* what rollouts ask for */
    printf("ids_checksum %08x\n", ids_checksum(t, items, lens, n));
    for (size_t i = 0; i < n; i++) free(items[i]);
    free(items);
    free(lens);
    free(text);
    tokenizer_free(t);
    return 0;
}
