/* cmd_tokenize.c - `pure tokenize`: text on stdin to a JSON array of ids, or
 * (--decode) a JSON array of ids on stdin back to text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "util/json.h"
#include "tokenizer/tokenizer.h"

static const char usage[] =
    "usage: pure tokenize --tokenizer FILE [--decode] [--special] [--offsets]\n"
    "  reads text on stdin and prints its ids as a JSON array\n"
    "  --tokenizer FILE  tokenizer.json (tokenizer_config.json beside it is read too)\n"
    "  --special         match special tokens written in the text (default: plain text);\n"
    "                    with --decode: keep special tokens in the output (default: drop them)\n"
    "  --decode          read a JSON array of ids and print the text\n"
    "  --offsets         print [id, start, end] triples (byte offsets into the input)\n";

static char *read_stdin(size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, stdin)) > 0) {
        n += r;
        if (cap - n < 2) buf = xrealloc(buf, cap *= 2);
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static int do_decode(const Tokenizer *t, const char *in, size_t len, int keep_special) {
    PureErr err;
    err_clear(&err);
    cJSON *arr = json_parse(in, len, "<stdin>", &err);
    if (!arr) {
        fprintf(stderr, "pure tokenize: %s\n", err.msg);
        return PURE_EXIT_FAIL;
    }
    if (!cJSON_IsArray(arr)) {
        fprintf(stderr, "pure tokenize: <stdin>: expected a JSON array of token ids\n");
        cJSON_Delete(arr);
        return PURE_EXIT_FAIL;
    }
    int n = cJSON_GetArraySize(arr), i = 0;
    int32_t *ids = xmalloc(((size_t)n + 1) * sizeof *ids);
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e) || e->valuedouble != (int32_t)e->valuedouble || e->valueint < 0 ||
            e->valueint >= tokenizer_vocab_size(t)) {
            fprintf(stderr, "pure tokenize: <stdin>: element %d: expected a token id in [0, %d)\n", i,
                    tokenizer_vocab_size(t));
            free(ids);
            cJSON_Delete(arr);
            return PURE_EXIT_FAIL;
        }
        ids[i] = e->valueint;
    }
    size_t out_len;
    char *text = tokenizer_decode(t, ids, (size_t)n, !keep_special, &out_len);
    fwrite(text, 1, out_len, stdout);
    free(text);
    free(ids);
    cJSON_Delete(arr);
    return PURE_EXIT_OK;
}

static int do_encode(const Tokenizer *t, const char *in, size_t len, int special, int offsets) {
    PureErr err;
    err_clear(&err);
    int32_t *ids;
    size_t n, *offs = NULL;
    if (tokenizer_encode(t, in, len, special, &ids, &n, offsets ? &offs : NULL, &err)) {
        fprintf(stderr, "pure tokenize: %s\n", err.msg);
        return PURE_EXIT_FAIL;
    }
    putchar('[');
    for (size_t i = 0; i < n; i++) {
        if (offsets) printf("%s[%d, %zu, %zu]", i ? ", " : "", ids[i], offs[2 * i], offs[2 * i + 1]);
        else printf("%s%d", i ? ", " : "", ids[i]);
    }
    printf("]\n");
    free(ids);
    free(offs);
    return PURE_EXIT_OK;
}

int cmd_tokenize(int argc, char **argv) {
    const char *path = NULL;
    int decode = 0, special = 0, offsets = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "--decode")) decode = 1;
        else if (!strcmp(argv[i], "--special")) special = 1;
        else if (!strcmp(argv[i], "--offsets")) offsets = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return PURE_EXIT_OK;
        } else {
            fprintf(stderr, "pure tokenize: unknown argument '%s'\n%s", argv[i], usage);
            return PURE_EXIT_USAGE;
        }
    }
    if (!path) {
        fprintf(stderr, "pure tokenize: --tokenizer FILE is required\n%s", usage);
        return PURE_EXIT_USAGE;
    }
    PureErr err;
    err_clear(&err);
    Tokenizer *t = tokenizer_load(path, &err);
    if (!t) {
        fprintf(stderr, "pure tokenize: %s\n", err.msg);
        return PURE_EXIT_FAIL;
    }
    size_t len;
    char *in = read_stdin(&len);
    int rc = decode ? do_decode(t, in, len, special) : do_encode(t, in, len, special, offsets);
    free(in);
    tokenizer_free(t);
    return rc;
}
