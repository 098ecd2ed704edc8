/* tok_decode.c - ids to text: whole-sequence decoding (lossy UTF-8 like
 * Hugging Face's ByteLevel decoder, or raw bytes) and incremental decoding
 * during sampling, which holds back a character whose bytes are split across
 * tokens until it is complete. */
#include <stdlib.h>
#include <string.h>
#include "tok_internal.h"

static int skipped(const Tokenizer *t, int32_t id, int skip_special) {
    return id < 0 || id >= t->vocab_size || !(t->tok_flags[id] & TOKF_PRESENT) ||
           (skip_special && (t->tok_flags[id] & TOKF_SPECIAL));
}

char *tokenizer_decode_raw(const Tokenizer *t, const int32_t *ids, size_t n, int skip_special, size_t *len) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (!skipped(t, ids[i], skip_special)) total += t->tok_len[ids[i]];
    char *out = xmalloc(total + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (skipped(t, ids[i], skip_special)) continue;  /* unknown ids are dropped, as HF does */
        memcpy(out + k, t->arena + t->tok_off[ids[i]], t->tok_len[ids[i]]);
        k += t->tok_len[ids[i]];
    }
    out[k] = 0;
    if (len) *len = k;
    return out;
}

char *tokenizer_decode(const Tokenizer *t, const int32_t *ids, size_t n, int skip_special, size_t *len) {
    size_t raw_len;
    char *raw = tokenizer_decode_raw(t, ids, n, skip_special, &raw_len);
    char *out = xmalloc(3 * raw_len + 1);
    size_t k = utf8_lossy((const unsigned char *)raw, raw_len, out);
    out[k] = 0;
    free(raw);
    if (len) *len = k;
    return out;
}

void tokenizer_stream_init(TokenizerStream *s, const Tokenizer *t, int skip_special) {
    memset(s, 0, sizeof *s);
    s->tok = t;
    s->skip_special = skip_special;
}

/* Writes lossy(b[0..n)) into out (cap includes the NUL), cut at a character
 * boundary if it does not fit. */
static size_t write_lossy(const unsigned char *b, size_t n, char *out, size_t cap) {
    if (cap == 0) return 0;
    char stack[1024], *tmp = 3 * n <= sizeof stack ? stack : xmalloc(3 * n + 1);
    size_t k = utf8_lossy(b, n, tmp);
    if (k > cap - 1) {
        k = cap - 1;
        while (k > 0 && (tmp[k] & 0xC0) == 0x80) k--;  /* never split a character */
    }
    memcpy(out, tmp, k);
    out[k] = 0;
    if (tmp != stack) free(tmp);
    return k;
}

size_t tokenizer_stream_push(TokenizerStream *s, int32_t id, char *out, size_t cap) {
    if (cap) out[0] = 0;
    const Tokenizer *t = s->tok;
    if (skipped(t, id, s->skip_special)) return 0;
    size_t n = t->tok_len[id], total = s->npending + n;
    unsigned char stack[256], *b = total <= sizeof stack ? stack : xmalloc(total);
    memcpy(b, s->pending, s->npending);
    memcpy(b + s->npending, t->arena + t->tok_off[id], n);
    /* an unfinished character can only start in the last 3 bytes */
    size_t hold = 0;
    for (size_t k = 1; k <= 3 && k <= total; k++)
        if (utf8_incomplete_len(b + total - k, k) == (int)k) hold = k;
    size_t w = write_lossy(b, total - hold, out, cap);
    memcpy(s->pending, b + total - hold, hold);
    s->npending = hold;
    if (b != stack) free(b);
    return w;
}

size_t tokenizer_stream_flush(TokenizerStream *s, char *out, size_t cap) {
    size_t w = write_lossy((const unsigned char *)s->pending, s->npending, out, cap);
    s->npending = 0;
    return w;
}

/* ---------------------------------------------------------------- chat prompt */

char *tokenizer_chat_prompt(const Tokenizer *t, const char *system, const char *user) {
    if (!system || !system[0]) system = t->default_system;
    if (!user) user = "";
    const char *parts[16];
    int np = 0;
    if (t->chat == CHAT_LLAMA3) {
        parts[np++] = "<|begin_of_text|>";
        if (system) {
            parts[np++] = "<|start_header_id|>system<|end_header_id|>\n\n";
            parts[np++] = system;
            parts[np++] = "<|eot_id|>";
        }
        parts[np++] = "<|start_header_id|>user<|end_header_id|>\n\n";
        parts[np++] = user;
        parts[np++] = "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
    } else {
        if (system) {
            parts[np++] = "<|im_start|>system\n";
            parts[np++] = system;
            parts[np++] = "<|im_end|>\n";
        }
        parts[np++] = "<|im_start|>user\n";
        parts[np++] = user;
        parts[np++] = "<|im_end|>\n<|im_start|>assistant\n";
    }
    size_t total = 1;
    for (int i = 0; i < np; i++) total += strlen(parts[i]);
    char *out = xmalloc(total), *p = out;
    for (int i = 0; i < np; i++) {
        size_t k = strlen(parts[i]);
        memcpy(p, parts[i], k);
        p += k;
    }
    *p = 0;
    return out;
}
