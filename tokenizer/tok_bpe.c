/* tok_bpe.c - byte-pair merging of one pre-token, as Hugging Face's BPE model
 * does it: symbols in a linked list, candidate merges in a min-heap ordered by
 * (rank, position), stale candidates skipped when popped. Results of recent
 * pre-tokens are kept in a per-thread cache (natural text repeats its words),
 * which is what makes encoding fast. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "tok_internal.h"

void idbuf_push(IdBuf *b, int32_t id) {
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->ids = xrealloc(b->ids, b->cap * sizeof *b->ids);
    }
    b->ids[b->n++] = id;
}

/* ---------------------------------------------------------------- merging */

typedef struct Cand {
    int32_t rank;
    int32_t pos;     /* index of the left symbol */
    int32_t merged;  /* id the pair becomes */
} Cand;

static inline int cand_less(const Cand *a, const Cand *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(Cand *h, int *n, Cand c) {
    int i = (*n)++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!cand_less(&c, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}

static Cand heap_pop(Cand *h, int *n) {
    Cand top = h[0], last = h[--(*n)];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        const Cand *best = &last;
        if (l < *n && cand_less(&h[l], best)) { m = l; best = &h[l]; }
        if (r < *n && cand_less(&h[r], best)) { m = r; }
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    if (*n > 0) h[i] = last;
    return top;
}

static void push_pair(const Tokenizer *t, Cand *heap, int *nheap, const int32_t *id, int left, int right) {
    int32_t merged, rank = mergemap_get(&t->merges, id[left], id[right], &merged);
    if (rank >= 0) heap_push(heap, nheap, (Cand){rank, left, merged});
}

/* Merges w[0..n) into out; n >= 2. */
static void bpe_merge(const Tokenizer *t, const unsigned char *w, size_t n, IdBuf *out) {
    enum { STACK = 128 };
    int32_t id_s[STACK], prev_s[STACK], next_s[STACK];
    Cand heap_s[3 * STACK];
    int32_t *id = id_s, *prev = prev_s, *next = next_s;
    Cand *heap = heap_s;
    if (n > STACK) {
        id = xmalloc(n * sizeof *id);
        prev = xmalloc(n * sizeof *prev);
        next = xmalloc(n * sizeof *next);
        heap = xmalloc(3 * n * sizeof *heap);  /* n - 1 initial pairs + at most 2 per merge */
    }
    int nheap = 0;
    for (size_t i = 0; i < n; i++) {
        id[i] = t->byte_id[w[i]];
        prev[i] = (int32_t)i - 1;
        next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    for (size_t i = 0; i + 1 < n; i++) push_pair(t, heap, &nheap, id, (int)i, (int)i + 1);
    while (nheap > 0) {
        Cand c = heap_pop(heap, &nheap);
        if (id[c.pos] < 0 || next[c.pos] < 0) continue;  /* merged away / last symbol */
        int right = next[c.pos];
        int32_t merged;
        if (mergemap_get(&t->merges, id[c.pos], id[right], &merged) < 0 || merged != c.merged) continue;
        id[c.pos] = merged;
        id[right] = -1;
        next[c.pos] = next[right];
        if (next[right] >= 0) prev[next[right]] = c.pos;
        if (prev[c.pos] >= 0) push_pair(t, heap, &nheap, id, prev[c.pos], c.pos);
        if (next[c.pos] >= 0) push_pair(t, heap, &nheap, id, c.pos, next[c.pos]);
    }
    for (int i = 0; i >= 0; i = next[i]) idbuf_push(out, id[i]);
    if (n > STACK) {
        free(id);
        free(prev);
        free(next);
        free(heap);
    }
}

/* ------------------------------------------------------------------ cache */

/* Direct-mapped: a newer word simply replaces the one in its slot. The arenas
 * are reset when full. One cache per thread, tagged with the tokenizer's serial. */
enum { CACHE_SLOTS = 1 << 16, CACHE_MAX_WORD = 64, CACHE_KEY_BYTES = 1 << 20, CACHE_IDS = 1 << 18 };  /* 3 MB a thread */

typedef struct CacheSlot {
    uint32_t hash;
    uint16_t klen;   /* 0 = empty */
    uint16_t nids;
    uint32_t koff;
    uint32_t ioff;
} CacheSlot;

typedef struct BpeCache {
    uint64_t serial;
    CacheSlot slots[CACHE_SLOTS];
    unsigned char keys[CACHE_KEY_BYTES];
    int32_t ids[CACHE_IDS];
    size_t nkeys, nids;
} BpeCache;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static _Thread_local BpeCache *tls_cache;

static void cache_destroy(void *p) { free(p); }
static void cache_key_init(void) { pthread_key_create(&cache_key, cache_destroy); }

static void cache_reset(BpeCache *c, uint64_t serial) {
    memset(c->slots, 0, sizeof c->slots);
    c->nkeys = c->nids = 0;
    c->serial = serial;
}

static BpeCache *cache_get(const Tokenizer *t) {
    BpeCache *c = tls_cache;
    if (!c) {
        pthread_once(&cache_once, cache_key_init);
        c = xmalloc(sizeof *c);
        cache_reset(c, t->serial);
        tls_cache = c;
        pthread_setspecific(cache_key, c);  /* frees it when the thread exits */
    }
    if (c->serial != t->serial) cache_reset(c, t->serial);
    return c;
}

void bpe_encode_word(const Tokenizer *t, const unsigned char *w, size_t n, IdBuf *out) {
    if (n == 0) return;
    if (n == 1) {
        idbuf_push(out, t->byte_id[w[0]]);
        return;
    }
    if (t->ignore_merges) {  /* Llama 3: a pre-token that is a vocab entry is kept whole */
        int32_t id = tokmap_get(&t->vocab, t, w, n);
        if (id >= 0) {
            idbuf_push(out, id);
            return;
        }
    }
    if (n > CACHE_MAX_WORD) {
        bpe_merge(t, w, n, out);
        return;
    }
    BpeCache *c = cache_get(t);
    uint32_t h = tok_hash(w, n);
    CacheSlot *s = &c->slots[h & (CACHE_SLOTS - 1)];
    if (s->klen == n && s->hash == h && memcmp(c->keys + s->koff, w, n) == 0) {
        for (unsigned i = 0; i < s->nids; i++) idbuf_push(out, c->ids[s->ioff + i]);
        return;
    }
    size_t first = out->n;
    bpe_merge(t, w, n, out);
    size_t nids = out->n - first;
    if (c->nkeys + n > CACHE_KEY_BYTES || c->nids + nids > CACHE_IDS) cache_reset(c, t->serial);
    s = &c->slots[h & (CACHE_SLOTS - 1)];
    memcpy(c->keys + c->nkeys, w, n);
    memcpy(c->ids + c->nids, out->ids + first, nids * sizeof(int32_t));
    *s = (CacheSlot){h, (uint16_t)n, (uint16_t)nids, (uint32_t)c->nkeys, (uint32_t)c->nids};
    c->nkeys += n;
    c->nids += nids;
}
