/* tok_encode.c - text to ids, the Hugging Face pipeline step by step:
 *
 *   1. added tokens are found in the raw text (leftmost, then longest) and
 *      become their ids; the text between them is encoded separately;
 *   2. (pure's rule) bytes that are not well-formed UTF-8 become their
 *      byte-level tokens one by one; each well-formed run goes on;
 *   3. the normalizer (NFC...) runs, keeping a map back to input bytes;
 *   4. the pre-tokenizer steps split the text (Split regex, ByteLevel);
 *   5. each piece is merged by BPE (tok_bpe.c).
 *
 * Offsets are byte spans of the input. Where normalization changed the text,
 * every token inside the changed chunk gets the chunk's whole input span. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "tok_internal.h"

/* A piece of the normalized text: [nstart, next chunk's nstart). same = the
 * bytes equal the input bytes [ostart, oend) one for one. */
typedef struct Chunk {
    size_t nstart, ostart, oend;
    int same;
} Chunk;

typedef struct Enc {
    const Tokenizer *t;
    const unsigned char *text;
    IdBuf out;
    size_t *offs;                 /* (2 * out.n) when wanted */
    size_t offs_cap;
    int want_offsets;
    pcre2_match_data *md[TOK_MAX_PRESTEPS];
    /* the current normalized run */
    const unsigned char *buf;
    size_t len;
    unsigned char *nbuf;          /* storage for buf when normalization copied */
    size_t ncap;
    Chunk *chunks;
    size_t nchunks, chunk_cap;
    size_t base;                  /* nchunks == 0: buf[x] is text[base + x] */
} Enc;

static inline size_t utf8_char_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

/* ---------------------------------------------------------------- output */

static void push_offsets(Enc *e, size_t first, size_t start, size_t end) {
    if (!e->want_offsets) return;
    if (2 * e->out.n > e->offs_cap) {
        e->offs_cap = 2 * e->out.cap;
        e->offs = xrealloc(e->offs, e->offs_cap * sizeof *e->offs);
    }
    for (size_t i = first; i < e->out.n; i++) {
        e->offs[2 * i] = start;
        e->offs[2 * i + 1] = end;
    }
}

static const Chunk *chunk_at(const Enc *e, size_t x) {
    size_t lo = 0, hi = e->nchunks;  /* last chunk with nstart <= x */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (e->chunks[mid].nstart <= x) lo = mid;
        else hi = mid;
    }
    return &e->chunks[lo];
}

static size_t map_start(const Enc *e, size_t x) {
    if (!e->nchunks) return e->base + x;
    const Chunk *c = chunk_at(e, x);
    return c->same ? c->ostart + (x - c->nstart) : c->ostart;
}

static size_t map_end(const Enc *e, size_t y) {
    if (!e->nchunks) return e->base + y;
    const Chunk *c = chunk_at(e, y - 1);
    return c->same ? c->ostart + (y - c->nstart) : c->oend;
}

/* BPE of buf[p, q) and the offsets of its tokens. */
static void emit_word(Enc *e, size_t p, size_t q) {
    size_t first = e->out.n;
    bpe_encode_word(e->t, e->buf + p, q - p, &e->out);
    if (!e->want_offsets) return;
    push_offsets(e, first, 0, 0);
    size_t x = p;
    for (size_t i = first; i < e->out.n; i++) {
        size_t y = x + e->t->tok_len[e->out.ids[i]];
        if (y > q) y = q;  /* cannot happen for a consistent vocabulary; keeps offsets in range */
        e->offs[2 * i] = map_start(e, x);
        e->offs[2 * i + 1] = y > x ? map_end(e, y) : map_start(e, x);
        x = y;
    }
}

/* ---------------------------------------------------------------- pre-tokenization */

static int regex_match(const PreStep *ps, pcre2_match_data *md, const unsigned char *s, size_t n, size_t from) {
    int rc = ps->jit ? pcre2_jit_match(ps->re, s, n, from, 0, md, NULL)
                     : pcre2_match(ps->re, s, n, from, PCRE2_NO_UTF_CHECK, md, NULL);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH && ps->jit)  /* e.g. JIT stack limit: the interpreter uses the heap */
        rc = pcre2_match(ps->re, s, n, from, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
    return rc;
}

/* Splits buf[p, q) with pre-tokenizer step `step` and recurses into each piece. */
static void pretok(Enc *e, int step, size_t p, size_t q) {
    if (step == e->t->n_pre) {
        emit_word(e, p, q);
        return;
    }
    const PreStep *ps = &e->t->pre[step];
    pcre2_match_data *md = e->md[step];
    size_t gap = p, pos = p;
    while (pos < q) {
        /* anything but a match (no match, or a PCRE2 error) leaves the rest as one piece */
        if (regex_match(ps, md, e->buf + p, q - p, pos - p) < 0) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = p + ov[0], me = p + ov[1];
        if (me <= ms) {  /* empty match: no piece, search on from the next character */
            if (ms >= q) break;
            pos = ms + utf8_char_len(e->buf[ms]);
            continue;
        }
        if (ms > gap) pretok(e, step + 1, gap, ms);
        if (ps->behavior == SPLIT_ISOLATED) pretok(e, step + 1, ms, me);
        gap = pos = me;
    }
    if (q > gap) pretok(e, step + 1, gap, q);
}

/* ---------------------------------------------------------------- normalization */

static void nbuf_add(Enc *e, const void *s, size_t n) {
    if (e->len + n > e->ncap) {
        e->ncap = (e->len + n) * 2 + 64;
        e->nbuf = xrealloc(e->nbuf, e->ncap);
    }
    memcpy(e->nbuf + e->len, s, n);
    e->len += n;
}

static void chunk_add(Enc *e, size_t ostart, size_t oend, int same, const void *bytes, size_t n) {
    if (n == 0) return;
    Chunk *last = e->nchunks ? &e->chunks[e->nchunks - 1] : NULL;
    if (same && last && last->same && last->oend == ostart) {
        last->oend = oend;  /* extend the identity chunk */
    } else {
        if (e->nchunks == e->chunk_cap) {
            e->chunk_cap = e->chunk_cap ? 2 * e->chunk_cap : 16;
            e->chunks = xrealloc(e->chunks, e->chunk_cap * sizeof *e->chunks);
        }
        e->chunks[e->nchunks++] = (Chunk){e->len, ostart, oend, same};
    }
    nbuf_add(e, bytes, n);
}

static const utf8proc_option_t norm_options[] = {
    [NORM_NFC] = UTF8PROC_STABLE | UTF8PROC_COMPOSE,
    [NORM_NFD] = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE,
    [NORM_NFKC] = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT,
    [NORM_NFKD] = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT,
};

/* Normalizes s[0..n) (valid UTF-8) through every normalizer; malloc'd result or NULL on failure. */
static unsigned char *normalize(const Tokenizer *t, const unsigned char *s, size_t n, size_t *out_n) {
    unsigned char *cur = NULL;
    size_t cur_n = n;
    for (int k = 0; k < t->n_norms; k++) {
        utf8proc_uint8_t *dst = NULL;
        utf8proc_ssize_t r = utf8proc_map(cur ? cur : s, (utf8proc_ssize_t)cur_n, &dst, norm_options[t->norms[k]]);
        free(cur);
        if (r < 0) {
            free(dst);
            return NULL;
        }
        cur = dst;
        cur_n = (size_t)r;
    }
    *out_n = cur_n;
    return cur;
}

/* Sets e->buf to the normalized form of text[a, b) (well-formed UTF-8). The
 * input is cut before ASCII characters: no normalization form composes or
 * reorders across such a cut, so chunks normalize independently, and an ASCII
 * character only joins a chunk when combining marks follow it. */
static void normalize_run(Enc *e, size_t a, size_t b, int prefix_space) {
    const Tokenizer *t = e->t;
    const unsigned char *s = e->text;
    e->len = 0;
    e->nchunks = 0;
    int need_prefix = prefix_space && s[a] != ' ';
    int ascii = 1;
    if (t->n_norms)
        for (size_t i = a; i < b && ascii; i++) ascii = s[i] < 0x80;
    if ((ascii || !t->n_norms) && !need_prefix) {  /* the common case: no copy */
        e->buf = s + a;
        e->len = b - a;
        e->base = a;
        return;
    }
    if (need_prefix) chunk_add(e, a, a, 0, " ", 1);  /* the added space covers no input byte */
    size_t id_start = a, i = a;
    while (i < b && t->n_norms) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t cs = i > id_start ? i - 1 : i, j = i;
        while (j < b && s[j] >= 0x80) j++;
        size_t nn;
        unsigned char *norm = normalize(t, s + cs, j - cs, &nn);
        if (norm && (nn != j - cs || memcmp(norm, s + cs, nn) != 0)) {
            chunk_add(e, id_start, cs, 1, s + id_start, cs - id_start);
            chunk_add(e, cs, j, 0, norm, nn);
            id_start = j;
        }
        free(norm);
        i = j;
    }
    chunk_add(e, id_start, b, 1, s + id_start, b - id_start);
    e->buf = e->nbuf;
}

/* ---------------------------------------------------------------- segments */

static void push_byte_token(Enc *e, size_t at) {
    size_t first = e->out.n;
    idbuf_push(&e->out, e->t->byte_id[e->text[at]]);
    push_offsets(e, first, at, at + 1);
}

static void encode_run(Enc *e, size_t a, size_t b, int first_of_segment) {
    if (b <= a) return;
    normalize_run(e, a, b, first_of_segment && e->t->prefix_space);
    if (e->len) pretok(e, 0, 0, e->len);
}

/* Text between added tokens: well-formed runs go through the pipeline, each
 * ill-formed byte becomes its byte token. */
static void encode_segment(Enc *e, size_t a, size_t b) {
    size_t run = a, i = a;
    while (i < b) {
        if (e->text[i] < 0x80) {
            i++;
            continue;
        }
        int k = utf8_valid_len(e->text + i, b - i);
        if (k) {
            i += (size_t)k;
            continue;
        }
        encode_run(e, run, i, run == a);
        push_byte_token(e, i);
        run = ++i;
    }
    encode_run(e, run, b, run == a);
}

/* ---------------------------------------------------------------- added tokens */

/* Length of the whitespace character at s[i] (forward) or ending at s[i] (backward), 0 if none. */
static size_t ws_len_at(const unsigned char *s, size_t n, size_t i) {
    int k = utf8_valid_len(s + i, n - i);
    if (k == 0) return 0;
    utf8proc_int32_t cp;
    utf8proc_iterate(s + i, k, &cp);
    return tok_is_whitespace((uint32_t)cp) ? (size_t)k : 0;
}

static size_t ws_len_before(const unsigned char *s, size_t lo, size_t i) {
    for (size_t k = 1; k <= 3 && i >= lo + k; k++)
        if (utf8_valid_len(s + i - k, k) == (int)k) return ws_len_at(s, i, i - k);
    return 0;
}

static int is_word_char(const unsigned char *s, size_t n, size_t i) {
    int k = utf8_valid_len(s + i, n - i);
    if (k == 0) return 0;
    utf8proc_int32_t cp;
    utf8proc_iterate(s + i, k, &cp);
    if (cp == '_') return 1;
    utf8proc_category_t c = utf8proc_category(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
           (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
}

static int word_char_before(const unsigned char *s, size_t i) {
    for (size_t k = 1; k <= 4 && i >= k; k++)
        if (utf8_valid_len(s + i - k, k) == (int)k) return is_word_char(s, i, i - k);
    return 0;
}

/* First added token at or after `from` (leftmost, then longest); its span is
 * widened by lstrip/rstrip. Returns its index in t->added or -1. */
static int find_added(const Enc *e, size_t n, size_t from, int allow_special, size_t *ms, size_t *me) {
    const Tokenizer *t = e->t;
    const unsigned char *s = e->text;
    for (size_t i = from; i < n; i++) {
        if (!t->added_first[s[i]]) continue;
        int best = -1;
        for (int k = 0; k < t->n_added; k++) {
            const AddedToken *a = &t->added[k];
            if ((a->special && !allow_special) || a->len > n - i || (best >= 0 && a->len <= t->added[best].len) ||
                memcmp(s + i, a->content, a->len) != 0)
                continue;
            if (a->single_word && ((i > 0 && word_char_before(s, i)) || (i + a->len < n && is_word_char(s, n, i + a->len))))
                continue;
            best = k;
        }
        if (best < 0) continue;
        const AddedToken *a = &t->added[best];
        size_t start = i, stop = i + a->len, w;
        if (a->lstrip)
            while ((w = ws_len_before(s, from, start)) > 0) start -= w;
        if (a->rstrip)
            while (stop < n && (w = ws_len_at(s, n, stop)) > 0) stop += w;
        *ms = start;
        *me = stop;
        return best;
    }
    return -1;
}

/* ---------------------------------------------------------------- API */

int tokenizer_encode(const Tokenizer *t, const char *text, size_t len, int allow_special, int32_t **ids, size_t *n,
                     size_t **offsets, PureErr *err) {
    Enc e = {0};
    e.t = t;
    e.text = (const unsigned char *)(text ? text : "");
    if (!text) len = 0;
    e.want_offsets = offsets != NULL;
    for (int k = 0; k < t->n_pre; k++) e.md[k] = pcre2_match_data_create_from_pattern(t->pre[k].re, NULL);
    size_t pos = 0;
    while (pos < len) {
        size_t ms, me;
        int k = t->n_added ? find_added(&e, len, pos, allow_special, &ms, &me) : -1;
        if (k < 0) {
            encode_segment(&e, pos, len);
            break;
        }
        encode_segment(&e, pos, ms);
        size_t first = e.out.n;
        idbuf_push(&e.out, t->added[k].id);
        push_offsets(&e, first, ms, me);
        pos = me;
    }
    for (int k = 0; k < t->n_pre; k++) pcre2_match_data_free(e.md[k]);
    free(e.nbuf);
    free(e.chunks);
    *ids = e.out.ids ? e.out.ids : xmalloc(sizeof(int32_t));
    *n = e.out.n;
    if (offsets) *offsets = e.offs ? e.offs : xmalloc(2 * sizeof(size_t));
    (void)err;  /* every input has an encoding; kept for the contract */
    return 0;
}
