/* tokenizer.h - Hugging Face tokenizer.json (byte-level BPE) in C.
 *
 * Loads tokenizer.json (+ tokenizer_config.json beside it when present, for
 * eos/pad/bos and the chat template), encodes with exact Hugging Face parity
 * (Qwen2/Qwen3, GPT-2, Llama 3 style byte-level BPE), decodes, and reports the
 * byte span of every token so callers can find which token ends a "\n\n" step.
 * Also writes a small byte-level tokenizer (256 byte tokens + specials) for toy
 * models, in the same format.
 */
#ifndef PURE_TOKENIZER_H
#define PURE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>
#include "../util/err.h"

typedef struct Tokenizer Tokenizer;

/* path is tokenizer.json; tokenizer_config.json in the same folder is read if present. */
Tokenizer *tokenizer_load(const char *path, PureErr *err);
void tokenizer_free(Tokenizer *t);

int tokenizer_vocab_size(const Tokenizer *t);   /* largest id + 1 (added tokens included) */
int32_t tokenizer_eos_id(const Tokenizer *t);   /* -1 if none */
int32_t tokenizer_pad_id(const Tokenizer *t);   /* -1 if none */
int32_t tokenizer_bos_id(const Tokenizer *t);   /* -1 if none */
int32_t tokenizer_token_id(const Tokenizer *t, const char *token); /* exact vocab/added lookup, -1 if absent */
int tokenizer_is_special(const Tokenizer *t, int32_t id);

/* Encodes len bytes of text. allow_special: added tokens marked special are
 * matched in the text (as HF does by default); otherwise they are plain text.
 * *ids is malloc'd (caller frees), *n its length. If offsets != NULL, it gets
 * a malloc'd array of 2*n size_t: [start, end) byte offsets of each token in
 * the input. Invalid UTF-8: each byte that does not start a well-formed
 * sequence becomes its own single-byte token; the rest is encoded normally
 * (docs/tokenizer.md). Non-special added tokens (e.g. <think>) are always
 * matched, as in Hugging Face. Thread-safe: a Tokenizer is read-only after
 * loading (each thread keeps its own BPE cache, 3 MB). */
int tokenizer_encode(const Tokenizer *t, const char *text, size_t len, int allow_special, int32_t **ids, size_t *n,
                     size_t **offsets, PureErr *err);
/* Decodes ids to a malloc'd NUL-terminated string (*len without the NUL, may be NULL). */
char *tokenizer_decode(const Tokenizer *t, const int32_t *ids, size_t n, int skip_special, size_t *len);
/* Raw bytes of one token (after byte-level decoding); NULL if id is out of range. */
const char *tokenizer_token_bytes(const Tokenizer *t, int32_t id, size_t *len);
/* tokenizer_decode replaces ill-formed UTF-8 with U+FFFD as Hugging Face does;
 * this returns the raw bytes instead, so decode_raw(encode(x)) == x for any
 * bytes x that the normalizer leaves unchanged (valid or not). */
char *tokenizer_decode_raw(const Tokenizer *t, const int32_t *ids, size_t n, int skip_special, size_t *len);
/* Longest token in bytes: 3 * this + 16 is always enough for tokenizer_stream_push's out. */
size_t tokenizer_max_token_bytes(const Tokenizer *t);

/* Incremental decoding during sampling: feed ids one at a time, get the text
 * that is complete so far (incomplete UTF-8 is held back). */
typedef struct TokenizerStream {
    const Tokenizer *tok;
    char pending[16];
    size_t npending;
    int skip_special;
} TokenizerStream;
void tokenizer_stream_init(TokenizerStream *s, const Tokenizer *t, int skip_special);
/* Appends the newly completed text for `id` to out (up to cap bytes, NUL-terminated); returns bytes written. */
size_t tokenizer_stream_push(TokenizerStream *s, int32_t id, char *out, size_t cap);
/* At the end of a sequence: writes what is still held back (an unfinished
 * character becomes U+FFFD, as in tokenizer_decode). The pushes plus the flush
 * concatenate to exactly tokenizer_decode of the same ids. */
size_t tokenizer_stream_flush(TokenizerStream *s, char *out, size_t cap);

/* ChatML-style prompt for one user message: "<|im_start|>user\n...<|im_end|>\n<|im_start|>assistant\n"
 * (from tokenizer_config.json's template when it is ChatML; malloc'd). */
char *tokenizer_chat_prompt(const Tokenizer *t, const char *system, const char *user);

/* Writes a byte-level toy tokenizer.json (256 byte tokens, then the given
 * special tokens, e.g. "<|endoftext|>") and a tokenizer_config.json naming
 * eos/pad into dir. */
int tokenizer_write_bytelevel(const char *dir, const char *const *specials, int n_specials, const char *eos,
                              const char *pad, PureErr *err);

#endif
