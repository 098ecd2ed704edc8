/* tok_map.c - the two hash maps of the tokenizer: token bytes -> id (vocab and
 * added tokens) and (left id, right id) -> (merge rank, merged id). Open
 * addressing with linear probing, sized to a load factor under 1/2 so a
 * lookup is one or two probes; built once at load, read-only afterwards (so
 * any number of threads may encode at once). */
#include <stdlib.h>
#include <string.h>
#include "tok_internal.h"

/* FNV-1a, then a final avalanche so that short keys spread over the table. */
uint32_t tok_hash(const void *data, size_t n) {
    const unsigned char *p = data;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    return h;
}

static size_t pow2_at_least(size_t n) {
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

void tokmap_init(TokMap *m, size_t expected) {
    size_t cap = pow2_at_least(expected * 2 + 1);
    m->slots = xmalloc(cap * sizeof *m->slots);
    for (size_t i = 0; i < cap; i++) m->slots[i].id = -1;
    m->mask = cap - 1;
    m->count = 0;
}

void tokmap_free(TokMap *m) {
    free(m->slots);
    m->slots = NULL;
}

static void tokmap_grow(TokMap *m, const Tokenizer *t) {
    TokMap bigger;
    tokmap_init(&bigger, (m->mask + 1));
    for (size_t i = 0; i <= m->mask; i++)
        if (m->slots[i].id >= 0) tokmap_put(&bigger, t, m->slots[i].id);
    tokmap_free(m);
    *m = bigger;
}

void tokmap_put(TokMap *m, const Tokenizer *t, int32_t id) {
    if ((m->count + 1) * 2 > m->mask + 1) tokmap_grow(m, t);
    const char *key = t->arena + t->tok_off[id];
    size_t n = t->tok_len[id];
    uint32_t h = tok_hash(key, n);
    for (size_t i = h & m->mask;; i = (i + 1) & m->mask) {
        TokMapSlot *s = &m->slots[i];
        if (s->id < 0) {
            s->hash = h;
            s->id = id;
            m->count++;
            return;
        }
        if (s->hash == h && t->tok_len[s->id] == n && memcmp(t->arena + t->tok_off[s->id], key, n) == 0) return;
    }
}

int32_t tokmap_get(const TokMap *m, const Tokenizer *t, const void *key, size_t n) {
    if (!m->slots) return -1;
    uint32_t h = tok_hash(key, n);
    for (size_t i = h & m->mask;; i = (i + 1) & m->mask) {
        const TokMapSlot *s = &m->slots[i];
        if (s->id < 0) return -1;
        if (s->hash == h && t->tok_len[s->id] == n && memcmp(t->arena + t->tok_off[s->id], key, n) == 0)
            return s->id;
    }
}

void mergemap_init(MergeMap *m, size_t expected) {
    size_t cap = pow2_at_least(expected * 2 + 1);
    m->slots = xcalloc(cap, sizeof *m->slots);
    m->mask = cap - 1;
}

void mergemap_free(MergeMap *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static inline size_t pair_slot(uint64_t key, size_t mask) {
    key *= 0x9E3779B97F4A7C15ull;  /* Fibonacci hashing: the high bits are well mixed */
    return (size_t)(key >> 32) & mask;
}

int mergemap_put(MergeMap *m, int32_t a, int32_t b, int32_t rank, int32_t merged) {
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    for (size_t i = pair_slot(key, m->mask);; i = (i + 1) & m->mask) {
        MergeSlot *s = &m->slots[i];
        if (s->key == key || s->key == 0) {
            int dup = s->key == key;  /* duplicate pair: the later line wins, as in HF's HashMap collect */
            *s = (MergeSlot){key, rank, merged};
            return dup;
        }
    }
}

int32_t mergemap_get(const MergeMap *m, int32_t a, int32_t b, int32_t *merged) {
    if (!m->slots) return -1;
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    for (size_t i = pair_slot(key, m->mask);; i = (i + 1) & m->mask) {
        const MergeSlot *s = &m->slots[i];
        if (s->key == key) {
            *merged = s->merged;
            return s->rank;
        }
        if (s->key == 0) return -1;
    }
}
