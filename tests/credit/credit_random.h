/* credit_random.h - random credit batches for the tests and bench/credit_bench.c:
 * groups of equal size, ragged lengths, ascending step ends whose last step ends
 * at the last token, rewards in [-1, 1], optional verifiable rewards and KL. */
#ifndef PURE_CREDIT_RANDOM_H
#define PURE_CREDIT_RANDOM_H

#include <stdlib.h>
#include "stages/credit/credit.h"
#include "util/rng.h"

typedef struct RandBatch {
    CreditBatch b;
    int64_t *group, *step_off;   /* (N), (N+1) */
    int32_t *length, *step_ends; /* (N), (S) */
    uint8_t *truncated, *has_v;  /* (N) */
    float *rewards, *v, *kl;     /* (S), (N), (T) */
} RandBatch;

/* n responses in groups of group_size; lengths in [min_len, max_len]; steps in
 * [0, max_steps] (never more than the length); with_v / with_kl add those. */
static inline void rand_batch_init(RandBatch *rb, uint64_t seed, int64_t n, int group_size, int min_len, int max_len,
                                   int max_steps, int with_v, int with_kl) {
    Rng r;
    rng_init(&r, seed, 0);
    rb->group = xmalloc((size_t)n * sizeof *rb->group);
    rb->length = xmalloc((size_t)n * sizeof *rb->length);
    rb->truncated = xmalloc((size_t)n);
    rb->has_v = xmalloc((size_t)n);
    rb->v = xmalloc((size_t)n * sizeof *rb->v);
    rb->step_off = xmalloc((size_t)(n + 1) * sizeof *rb->step_off);
    int64_t tokens = 0, steps = 0;
    int *ns = xmalloc((size_t)n * sizeof *ns);
    for (int64_t i = 0; i < n; i++) {
        rb->group[i] = i / group_size * 3 + 1;  /* ids need not be 0..G-1 */
        rb->length[i] = min_len + (int)rng_next_below(&r, (uint64_t)(max_len - min_len + 1));
        ns[i] = (int)rng_next_below(&r, (uint64_t)max_steps + 1);
        if (ns[i] > rb->length[i]) ns[i] = rb->length[i];
        rb->truncated[i] = rng_next_uniform(&r) < 0.2f;
        rb->has_v[i] = rng_next_uniform(&r) < 0.7f;
        rb->v[i] = rng_next_uniform(&r) < 0.5f ? 1.0f : 0.0f;
        tokens += rb->length[i];
        steps += ns[i];
    }
    rb->step_ends = xmalloc((size_t)(steps + 1) * sizeof *rb->step_ends);
    rb->rewards = xmalloc((size_t)(steps + 1) * sizeof *rb->rewards);
    rb->step_off[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t o = rb->step_off[i];
        int L = rb->length[i], s = ns[i];
        for (int j = 0; j < s; j++) {
            /* step j ends inside its own slice [j L / s, (j+1) L / s): ascending by construction */
            int lo = (int)((int64_t)j * L / s), hi = (int)((int64_t)(j + 1) * L / s);
            rb->step_ends[o + j] = j == s - 1 ? L - 1 : lo + (int)rng_next_below(&r, (uint64_t)(hi - lo));
            rb->rewards[o + j] = 2 * rng_next_uniform(&r) - 1;
        }
        rb->step_off[i + 1] = o + s;
    }
    rb->kl = NULL;
    if (with_kl) {
        rb->kl = xmalloc((size_t)(tokens + 1) * sizeof *rb->kl);
        for (int64_t t = 0; t < tokens; t++) rb->kl[t] = 0.1f * rng_next_normal(&r);
    }
    free(ns);
    rb->b = (CreditBatch){.n = n, .group = rb->group, .length = rb->length, .truncated = rb->truncated,
                          .step_off = rb->step_off, .step_ends = rb->step_ends, .step_rewards = rb->rewards,
                          .verifiable = with_v ? rb->v : NULL, .has_verifiable = with_v ? rb->has_v : NULL,
                          .kl = rb->kl};
}

static inline void rand_batch_free(RandBatch *rb) {
    free(rb->group);
    free(rb->length);
    free(rb->truncated);
    free(rb->has_v);
    free(rb->v);
    free(rb->step_off);
    free(rb->step_ends);
    free(rb->rewards);
    free(rb->kl);
}

#endif
