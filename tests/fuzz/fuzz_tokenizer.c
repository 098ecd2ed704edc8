/* fuzz_tokenizer.c - libFuzzer target (scripts/fuzz.sh builds and runs it;
 * seeds in tests/fuzz/corpus/tokenizer/). The first input byte picks the
 * mode: even = encode the rest with the Qwen tokenizer (the toy one when
 * ../shared lacks it) and check the raw round trip of ASCII input; odd = load
 * the rest as a tokenizer.json. The deterministic test_tokenizer_fuzz covers
 * the same ground without clang. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tokenizer/tokenizer.h"
#include "util/fs.h"

static Tokenizer *tok;

static void setup(void) {
    PureErr err;
    err_clear(&err);
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizers/qwen/tokenizer.json", PURE_SHARED_DIR);
    if (fs_exists(path)) tok = tokenizer_load(path, &err);
    if (!tok) {
        const char *sp[] = {"<|endoftext|>"};
        char dir[64];
        snprintf(dir, sizeof dir, "/tmp/pure_fuzz_toy_%d", (int)getpid());
        tokenizer_write_bytelevel(dir, sp, 1, "<|endoftext|>", NULL, &err);
        char *p = fs_join(dir, "tokenizer.json");
        tok = tokenizer_load(p, &err);
        free(p);
    }
    if (!tok) abort();
}

/* The Qwen tokenizer takes seconds to load under the sanitizers: before
 * libFuzzer's per-input timeout starts, not inside the first input (on a busy
 * machine that input timed out). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tok) setup();
    if (size == 0) return 0;
    PureErr err;
    err_clear(&err);
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    if ((data[0] & 1) == 0) {
        int32_t *ids;
        size_t k, *off;
        if (tokenizer_encode(tok, s, n, data[0] & 2, &ids, &k, &off, &err) != 0) abort();
        int ascii = 1;
        for (size_t i = 0; i < n; i++) ascii &= (unsigned char)s[i] < 0x80;
        size_t rl;
        char *raw = tokenizer_decode_raw(tok, ids, k, 0, &rl);
        if (ascii && (rl != n || memcmp(raw, s, n) != 0)) abort();  /* NFC leaves ASCII alone */
        for (size_t i = 0; i < k; i++)
            if (off[2 * i] > off[2 * i + 1] || off[2 * i + 1] > n) abort();
        free(raw);
        free(tokenizer_decode(tok, ids, k, 1, NULL));
        free(ids);
        free(off);
    } else {
        char path[64];
        snprintf(path, sizeof path, "/tmp/pure_fuzz_load_%d.json", (int)getpid());
        FILE *f = fopen(path, "wb");
        if (!f) return 0;
        fwrite(s, 1, n, f);
        fclose(f);
        Tokenizer *t = tokenizer_load(path, &err);
        if (!t && !err.set) abort();  /* a refusal always says why */
        if (t) {
            int32_t *ids;
            size_t k;
            tokenizer_encode(t, "the fuzz\n\n", 10, 1, &ids, &k, NULL, &err);
            free(ids);
            tokenizer_free(t);
        }
    }
    return 0;
}
