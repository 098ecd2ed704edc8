/* tok_ids.c - batch front end of tokenizer/ for tests/compat/tokenizers_compat.py: one process
 * encodes thousands of texts (pure tokenize takes one text per process).
 *
 *   tok_ids TOKENIZER_JSON [--special] < items > ids
 *
 * Input: items as "<byte count>\n<bytes>" back to back, so any bytes (NUL, newlines, invalid
 * UTF-8) pass unchanged. Output: one line per item, the ids separated by spaces; then a line
 * "decode <hex>" with the bytes of tokenizer_decode(ids) (special tokens kept), so the caller can
 * compare decoding too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

int main(int argc, char **argv) {
    if (argc < 2) return fprintf(stderr, "usage: tok_ids TOKENIZER_JSON [--special] < items\n"), 2;
    int special = argc > 2 && !strcmp(argv[2], "--special");
    PureErr err;
    err_clear(&err);
    Tokenizer *t = tokenizer_load(argv[1], &err);
    if (!t) return fprintf(stderr, "tok_ids: %s\n", err.msg), 1;
    size_t len;
    long item = 0;
    while (scanf("%zu", &len) == 1) {
        if (getchar() != '\n') return fprintf(stderr, "tok_ids: item %ld: expected a newline after the count\n", item), 1;
        char *buf = malloc(len + 1);
        if (!buf || fread(buf, 1, len, stdin) != len)
            return fprintf(stderr, "tok_ids: item %ld: %zu bytes announced, input ended first\n", item, len), 1;
        buf[len] = 0;
        int32_t *ids;
        size_t n;
        if (tokenizer_encode(t, buf, len, special, &ids, &n, NULL, &err))
            return fprintf(stderr, "tok_ids: item %ld: %s\n", item, err.msg), 1;
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        size_t dl;
        char *text = tokenizer_decode(t, ids, n, 0, &dl);
        printf("\ndecode ");
        for (size_t i = 0; i < dl; i++) printf("%02x", (unsigned char)text[i]);
        putchar('\n');
        free(text), free(ids), free(buf);
        item++;
    }
    tokenizer_free(t);
    return 0;
}
