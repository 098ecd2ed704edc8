/* test_tokenizer_fuzz.c - deterministic random-mutation fuzzing, run as a
 * normal test (and under ASan/UBSan in the sanitizer build):
 *   - encode: mutated corpus strings, random bytes (ill-formed UTF-8), huge
 *     runs; every id must be in range, offsets ordered and in range, and the
 *     raw decode must give back the input (after NFC of its well-formed runs);
 *   - the JSON loader: byte mutations and structural mutations of a small
 *     tokenizer.json; every outcome must be a tokenizer that encodes, or NULL
 *     with a message.
 * Uses the Qwen tokenizer when ../shared has it, else a toy with merges. */
#include <unistd.h>
#include <utf8proc.h>
#include "tests/check.h"
#include "tests/tokenizer/tok_test_util.h"
#include "tokenizer/tok_internal.h"

static char dir[] = "/tmp/pure_tok_fuzz_XXXXXX";

static const char *pieces[] = {
    " ", "  ", "\n", "\n\n", "\t", "\r\n", "a", "Z", "word", " the", "7", "42", "'s", "'LL", "\xC3\xA9", "e\xCC\x81",
    "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "\xE2\x80\x8D", "\xC2\xA0", "\xC2\x85", ".", "$", "\\", "{", "<|im_end|>",
    "<|endoftext|>", "<think>", "<|", "|>", "\xFF", "\xE2\x82", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\x00",
};

/* What decode_raw(encode(x)) must return: x with each well-formed run NFC-normalized. */
static char *expected_raw(const Tokenizer *t, const char *s, size_t n, size_t *out_n, int nfc) {
    (void)t;
    char *out = malloc(4 * n + 16);
    size_t k = 0, run = 0, i = 0;
    for (;;) {
        int v = i < n ? utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &(utf8proc_int32_t){0}) : -1;
        if (i < n && v > 0) {
            i += (size_t)v;
            continue;
        }
        if (i > run) {  /* the well-formed run [run, i) */
            utf8proc_uint8_t *d = NULL;
            utf8proc_ssize_t r = nfc ? utf8proc_map((const utf8proc_uint8_t *)s + run, (utf8proc_ssize_t)(i - run), &d,
                                                    UTF8PROC_STABLE | UTF8PROC_COMPOSE)
                                     : -1;
            if (r >= 0) {
                out = realloc(out, k + (size_t)r + 4 * (n - i) + 16);
                memcpy(out + k, d, (size_t)r);
                k += (size_t)r;
            } else {
                memcpy(out + k, s + run, i - run);
                k += i - run;
            }
            free(d);
        }
        if (i >= n) break;
        out[k++] = s[i++];  /* an ill-formed byte */
        run = i;
    }
    *out_n = k;
    return out;
}

static void check_encode(const Tokenizer *t, const char *s, size_t n, int nfc) {
    PureErr err;
    err_clear(&err);
    int32_t *ids;
    size_t k, *off;
    int special = (int)(test_rand() & 1);
    CHECK(tokenizer_encode(t, s, n, special, &ids, &k, &off, &err) == 0);
    int ok = 1;
    for (size_t i = 0; i < k && ok; i++)
        ok = ids[i] >= 0 && ids[i] < tokenizer_vocab_size(t) && off[2 * i] <= off[2 * i + 1] && off[2 * i + 1] <= n &&
             (i == 0 || off[2 * i] >= off[2 * i - 2]);
    CHECK(ok);
    size_t rl, el;
    char *raw = tokenizer_decode_raw(t, ids, k, 0, &rl);
    char *want = expected_raw(t, s, n, &el, nfc);
    int same = rl == el && memcmp(raw, want, el) == 0;
    if (!same) fprintf(stderr, "round trip failed on %zu bytes\n", n);
    CHECK(same);
    char *lossy = tokenizer_decode(t, ids, k, 1, NULL);  /* must not crash either */
    free(lossy);
    free(raw);
    free(want);
    free(ids);
    free(off);
}

static void fuzz_encode(const Tokenizer *t, int nfc, int iters) {
    char buf[2048];
    for (int it = 0; it < iters; it++) {
        size_t n = 0;
        int parts = 1 + (int)(test_rand() % 40);
        for (int p = 0; p < parts && n < sizeof buf - 16; p++) {
            if (test_rand() % 5 == 0) {
                buf[n++] = (char)(test_rand() & 0xFF);  /* any byte */
            } else {
                const char *pc = pieces[test_rand() % (sizeof pieces / sizeof *pieces)];
                size_t l = pc[0] ? strlen(pc) : 1;
                memcpy(buf + n, pc, l);
                n += l;
            }
        }
        check_encode(t, buf, n, nfc);
    }
    /* long runs: one huge pre-token, deep regex backtracking */
    size_t big = 200000;
    char *b = malloc(big);
    const char fills[] = {' ', '\n', 'a', '7', '!'};
    for (size_t f = 0; f < sizeof fills; f++) {
        memset(b, fills[f], big);
        check_encode(t, b, big, nfc);
    }
    for (size_t i = 0; i < big; i++) b[i] = (char)(test_rand() & 0xFF);
    check_encode(t, b, big, nfc);
    for (size_t i = 0; i < big; i++) b[i] = " \n\t\r"[test_rand() % 4];
    check_encode(t, b, big, nfc);
    free(b);
}

/* ---------------------------------------------------------------- loader */

static const char *base_json;

/* A small tokenizer.json with every supported component: the toy plus merges,
 * NFC and a Qwen-style Split. */
static char *make_base(void) {
    PureErr err;
    err_clear(&err);
    const char *sp[] = {"<|endoftext|>", "<|im_end|>"};
    if (tokenizer_write_bytelevel(dir, sp, 2, "<|im_end|>", NULL, &err)) return NULL;
    char path[300];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    cJSON *j = json_parse_file(path, &err);
    cJSON *model = cJSON_GetObjectItem(j, "model"), *vocab = cJSON_GetObjectItem(model, "vocab");
    cJSON *merges = cJSON_GetObjectItem(model, "merges");
    const char *m[][3] = {{"t", "h", "th"}, {"th", "e", "the"}, {"\xC4\xA0", "the", "\xC4\xA0the"}, {"i", "n", "in"}};
    for (int i = 0; i < 4; i++) {
        cJSON_AddNumberToObject(vocab, m[i][2], 300 + i);
        cJSON_AddItemToArray(merges, cJSON_CreateStringArray(m[i], 2));
    }
    cJSON_ReplaceItemInObject(j, "normalizer", cJSON_Parse("{\"type\": \"NFC\"}"));
    cJSON_ReplaceItemInObject(
        j, "pre_tokenizer",
        cJSON_Parse("{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": "
                    "\"(?i:'s|'t)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|"
                    "\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"}, \"behavior\": \"Isolated\", \"invert\": false}, "
                    "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": false}]}"));
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    return text;
}

static cJSON *random_value(void) {
    switch (test_rand() % 9) {
    case 0: return cJSON_CreateNull();
    case 1: return cJSON_CreateNumber(-1);
    case 2: return cJSON_CreateNumber(1e12);
    case 3: return cJSON_CreateNumber(257);
    case 4: return cJSON_CreateString("");
    case 5: return cJSON_CreateString("Split");
    case 6: return cJSON_CreateArray();
    case 7: return cJSON_CreateObject();
    default: return cJSON_CreateTrue();
    }
}

/* Replaces a random node of the tree (depth-first walk of random length). */
static void mutate_tree(cJSON *root) {
    cJSON *node = root;
    for (int d = 0; d < 6 && node->child; d++) {
        int n = 0;
        for (cJSON *c = node->child; c; c = c->next) n++;
        int pick = (int)(test_rand() % (unsigned)n);
        cJSON *c = node->child;
        while (pick--) c = c->next;
        if (!c->child || test_rand() % 3 == 0) {
            cJSON_ReplaceItemViaPointer(node, c, random_value());
            return;
        }
        node = c;
    }
}

/* Plain write: the atomic writer fsyncs, which would dominate 1500 iterations. */
static void write_file(const char *path, const char *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

static void fuzz_loader(int iters) {
    char path[300];
    snprintf(path, sizeof path, "%s/fuzz", dir);
    PureErr err;
    err_clear(&err);
    fs_mkdir_p(path, &err);
    snprintf(path, sizeof path, "%s/fuzz/tokenizer.json", dir);
    size_t base_len = strlen(base_json);
    char *buf = malloc(base_len + 64);
    int loaded = 0, refused = 0;
    for (int it = 0; it < iters; it++) {
        size_t n;
        if (it % 2 == 0) {  /* structural */
            cJSON *j = cJSON_Parse(base_json);
            for (unsigned k = 0; k <= test_rand() % 3; k++) mutate_tree(j);
            char *text = cJSON_PrintUnformatted(j);
            cJSON_Delete(j);
            n = strlen(text);
            write_file(path, text, n);
            free(text);
        } else {  /* bytes */
            memcpy(buf, base_json, base_len);
            n = base_len;
            for (unsigned k = 0; k <= test_rand() % 4; k++) {
                size_t at = test_rand() % n;
                switch (test_rand() % 4) {
                case 0: buf[at] = (char)(test_rand() & 0xFF); break;
                case 1: buf[at] = "{}[]\",:0-9\\ae"[test_rand() % 13]; break;
                case 2: n = at + 1; break;  /* truncate */
                default: memmove(buf + at, buf + at + 1, n - at - 1); n--; break;
                }
            }
            write_file(path, buf, n);
        }
        err_clear(&err);
        Tokenizer *t = tokenizer_load(path, &err);
        /* the fast reader of vocab/merges and the cJSON-only path agree */
        PureErr err2;
        err_clear(&err2);
        tok_fastjson_disabled = 1;
        Tokenizer *t2 = tokenizer_load(path, &err2);
        tok_fastjson_disabled = 0;
        CHECK((t == NULL) == (t2 == NULL));
        if (!t && !t2 && strcmp(err.msg, err2.msg) != 0) fprintf(stderr, "fast: %s\nslow: %s\n", err.msg, err2.msg);
        CHECK(t || t2 || strcmp(err.msg, err2.msg) == 0);
        if (t && t2) {
            CHECK(tokenizer_vocab_size(t) == tokenizer_vocab_size(t2));
            const char *s = "the in\n\nthe<|im_end|> \xC3\xA9 9 th";
            int32_t *a, *b;
            size_t na, nb;
            tokenizer_encode(t, s, strlen(s), 1, &a, &na, NULL, &err);
            tokenizer_encode(t2, s, strlen(s), 1, &b, &nb, NULL, &err);
            CHECK(na == nb && memcmp(a, b, na * sizeof *a) == 0);
            free(a);
            free(b);
        }
        tokenizer_free(t2);
        if (t) {
            loaded++;
            const char *s = "the in\n\nthe<|im_end|> \xC3\xA9 9";
            int32_t *ids;
            size_t k;
            CHECK(tokenizer_encode(t, s, strlen(s), 1, &ids, &k, NULL, &err) == 0);
            for (size_t i = 0; i < k; i++) CHECK(ids[i] >= 0 && ids[i] < tokenizer_vocab_size(t));
            char *d = tokenizer_decode(t, ids, k, 0, NULL);
            free(d);
            free(ids);
            tokenizer_free(t);
        } else {
            refused++;
            CHECK(err.set && err.msg[0]);
        }
    }
    printf("loader fuzz: %d loaded, %d refused\n", loaded, refused);
    CHECK(loaded > 0 && refused > 0);
    free(buf);
}

int main(void) {
    PureErr err;
    err_clear(&err);
    CHECK(mkdtemp(dir) != NULL);
    char *base = make_base();
    CHECK(base != NULL);
    if (!base) return check_report("test_tokenizer_fuzz");
    base_json = base;
    char qwen[1024];
    Tokenizer *t = qwen_path(qwen, sizeof qwen) ? tokenizer_load(qwen, &err) : NULL;
    int nfc = 1;
    if (!t) {  /* the base tokenizer (NFC as well) */
        char p[300];
        snprintf(p, sizeof p, "%s/base/tokenizer.json", dir);
        char sub[300];
        snprintf(sub, sizeof sub, "%s/base", dir);
        fs_mkdir_p(sub, &err);
        fs_write_atomic(p, base, strlen(base), &err);
        t = tokenizer_load(p, &err);
    }
    CHECK(t != NULL);
    if (t) fuzz_encode(t, nfc, 3000);
    tokenizer_free(t);
    fuzz_loader(1500);
    free(base);
    fs_remove_all(dir, &err);
    return check_report("test_tokenizer_fuzz");
}
