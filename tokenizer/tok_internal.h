/* tok_internal.h - the Tokenizer struct and the helpers shared by the
 * tokenizer's source files (loading, BPE, encoding, decoding). Not a public
 * interface: other modules use tokenizer.h only.
 *
 * Tokens are kept as raw bytes (the byte-level alphabet of tokenizer.json is
 * decoded once at load), so BPE runs directly on the input bytes and decoding
 * is a concatenation.
 */
#ifndef PURE_TOK_INTERNAL_H
#define PURE_TOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* ---- bytes -> id map (open addressing; keys live in the token arena) ---- */
typedef struct TokMapSlot {
    uint32_t hash;
    int32_t id;  /* -1 = empty */
} TokMapSlot;

typedef struct TokMap {
    TokMapSlot *slots;  /* (mask + 1) */
    size_t mask;
    size_t count;
} TokMap;

/* ---- (left id, right id) -> (rank, merged id) ---- */
typedef struct MergeSlot {
    uint64_t key;       /* (left << 32 | right) + 1, 0 = empty */
    int32_t rank;
    int32_t merged;     /* one slot is one 16-byte read: a lookup costs one cache miss */
} MergeSlot;

typedef struct MergeMap {
    MergeSlot *slots;   /* (mask + 1) */
    size_t mask;
} MergeMap;

typedef struct AddedToken {
    char *content;      /* raw bytes as written in the text */
    size_t len;
    int32_t id;
    uint8_t special, lstrip, rstrip, single_word, normalized;
} AddedToken;

enum { NORM_NONE = 0, NORM_NFC = 1, NORM_NFD = 2, NORM_NFKC = 3, NORM_NFKD = 4 };
enum { PRE_SPLIT = 1, PRE_BYTELEVEL = 2 };
enum { SPLIT_ISOLATED = 0, SPLIT_REMOVED = 1 };

typedef struct PreStep {
    int kind;                 /* PRE_SPLIT (also ByteLevel with use_regex) */
    int behavior;             /* SPLIT_* */
    pcre2_code *re;
    int jit;                  /* JIT-compiled: use pcre2_jit_match */
} PreStep;

#define TOK_MAX_PRESTEPS 8
#define TOK_MAX_NORMS 4
#define TOK_MAX_ID (1 << 24) /* ids beyond this are refused (they would size the tables) */

struct Tokenizer {
    char *path;
    uint64_t serial;          /* distinguishes tokenizers in the per-thread BPE cache */
    int vocab_size;           /* largest id + 1 */
    /* token bytes: arena[off[id] .. off[id] + len[id]) */
    char *arena;
    size_t arena_len, arena_cap;
    uint32_t *tok_off;        /* (vocab_size) */
    uint32_t *tok_len;        /* (vocab_size) */
    uint8_t *tok_flags;       /* (vocab_size): TOKF_* */
    size_t max_token_bytes;
    TokMap vocab;             /* model vocab: bytes -> id */
    int32_t byte_id[256];     /* the single-byte tokens */
    MergeMap merges;
    int ignore_merges;
    AddedToken *added;        /* (n_added) */
    int n_added;
    uint8_t added_first[256]; /* 1 if some added token starts with this byte */
    int norms[TOK_MAX_NORMS];
    int n_norms;
    PreStep pre[TOK_MAX_PRESTEPS];
    int n_pre;
    int prefix_space;         /* ByteLevel add_prefix_space */
    int32_t eos, pad, bos;
    int chat;                 /* CHAT_* */
    char *default_system;     /* Qwen2.5-style templates add a system message when none is given */
};

enum { TOKF_PRESENT = 1, TOKF_ADDED = 2, TOKF_SPECIAL = 4 };
enum { CHAT_CHATML = 0, CHAT_LLAMA3 = 1 };

/* ---- tok_map.c ---- */
uint32_t tok_hash(const void *data, size_t n);
void tokmap_init(TokMap *m, size_t expected);
void tokmap_free(TokMap *m);
/* Inserts id under the bytes of token id (arena); keeps an existing entry. */
void tokmap_put(TokMap *m, const Tokenizer *t, int32_t id);
int32_t tokmap_get(const TokMap *m, const Tokenizer *t, const void *key, size_t n);
void mergemap_init(MergeMap *m, size_t expected);
void mergemap_free(MergeMap *m);
/* Returns 0, or 1 if the pair was already present (then the new rank replaces it, as in HF). */
int mergemap_put(MergeMap *m, int32_t a, int32_t b, int32_t rank, int32_t merged);
/* rank of (a, b) or -1; *merged gets the new id. */
int32_t mergemap_get(const MergeMap *m, int32_t a, int32_t b, int32_t *merged);

/* ---- tok_bytelevel.c ---- */
/* The GPT-2 byte-level alphabet: byte -> code point, and back (-1 if not in the alphabet). */
uint32_t bytelevel_char(uint8_t b);
int bytelevel_byte(uint32_t cp);
/* Decodes a vocab string (UTF-8 of byte-level chars) into raw bytes written to out
 * (capacity >= n); returns the length. Strings with a char outside the alphabet
 * are copied as they are (the Hugging Face ByteLevel decoder does the same). */
size_t bytelevel_decode(const char *s, size_t n, char *out);
/* Appends the byte-level string of raw bytes to out (capacity >= 2n); returns its length. */
size_t bytelevel_encode(const char *raw, size_t n, char *out);

/* ---- tok_utf8.c ---- */
/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 if s[0] starts none. */
int utf8_valid_len(const unsigned char *s, size_t n);
/* Length of the longest prefix of s[0..n) that could still become a well-formed
 * sequence if more bytes came (0 if s[0] cannot start one or it is complete). */
int utf8_incomplete_len(const unsigned char *s, size_t n);
/* Appends s[0..n) to out with each maximal ill-formed subpart replaced by U+FFFD
 * (the rule of Rust's from_utf8_lossy and WHATWG TextDecoder); out capacity >= 3n.
 * Returns bytes written. */
size_t utf8_lossy(const unsigned char *s, size_t n, char *out);

/* ---- tok_bpe.c ---- */
typedef struct IdBuf {
    int32_t *ids;  /* (cap) */
    size_t n, cap;
} IdBuf;
void idbuf_push(IdBuf *b, int32_t id);
/* Appends the BPE ids of one pre-token (raw bytes) to out. Uses a per-thread
 * cache of recent pre-tokens, so the tokenizer itself stays read-only. */
void bpe_encode_word(const Tokenizer *t, const unsigned char *w, size_t n, IdBuf *out);

/* ---- tok_fastjson.c ---- */
typedef struct TokStr {
    const char *s;  /* not NUL-terminated */
    uint32_t n;
} TokStr;
enum { MERGE_BAD = 0, MERGE_STRING = 1, MERGE_PAIR = 2 };
typedef struct MergeItem {
    TokStr a, b;    /* MERGE_STRING: the whole "a b" in a */
    int form;
} MergeItem;
/* model.vocab and model.merges as flat lists, from either reader. */
typedef struct ModelLists {
    char *strings;  /* fast reader: the unescaped strings */
    TokStr *vkey;   /* (nvocab) */
    int64_t *vid;   /* (nvocab): -1 = not a non-negative integer */
    size_t nvocab;
    MergeItem *merges;  /* (nmerges) */
    size_t nmerges;
    int have_merges;
    size_t rest_len;
} ModelLists;
/* Reads model.vocab/merges from the raw text; returns the text with those two
 * values blanked (malloc'd, rest_len bytes), or NULL when it declines (then
 * the caller parses everything with cJSON). */
char *fastjson_model(const char *text, size_t len, ModelLists *m);
void modellists_free(ModelLists *m);
/* Test hook: 1 = never take the fast reader. */
extern int tok_fastjson_disabled;

/* ---- tok_regex.c ---- */
/* Compiles a Hugging Face (Oniguruma) pattern for PCRE2 (UTF, UCP, JIT); \s
 * and \S become Unicode White_Space as Oniguruma defines them. */
pcre2_code *tok_regex_compile(const char *pattern, int literal, const char *what, PureErr *err);
/* Is cp Unicode White_Space (Rust char::is_whitespace)? */
int tok_is_whitespace(uint32_t cp);

#endif
