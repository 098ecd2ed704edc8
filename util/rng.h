/* rng.h - counter-based random numbers (Philox4x32-10).
 *
 * A draw is a pure function of (seed, stream, counter): no hidden state, so a
 * sequence's samples do not depend on batch composition, thread count or
 * resume point. Convention: stream = a stable id of the thing drawing (prompt
 * index * K + sample index, a parameter tensor index, ...), counter = the
 * position within that thing (token index, element index).
 */
#ifndef PURE_RNG_H
#define PURE_RNG_H

#include <stdint.h>

/* Four 32-bit random words for (seed, stream, counter). */
void rng_philox(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4]);
/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
float rng_uniform(uint64_t seed, uint64_t stream, uint64_t counter);
/* Uniform double in [0, 1) with 53 random bits. */
double rng_uniform_double(uint64_t seed, uint64_t stream, uint64_t counter);
/* Standard normal via Box-Muller on one counter (uses both uniforms). */
float rng_normal(uint64_t seed, uint64_t stream, uint64_t counter);
/* Derive a child seed from a parent seed and a label (e.g. a stage name). */
uint64_t rng_derive(uint64_t seed, const char *label);

/* A small sequential wrapper for code that just wants "the next number". */
typedef struct Rng {
    uint64_t seed, stream, counter;
} Rng;
static inline void rng_init(Rng *r, uint64_t seed, uint64_t stream) { r->seed = seed; r->stream = stream; r->counter = 0; }
static inline float rng_next_uniform(Rng *r) { return rng_uniform(r->seed, r->stream, r->counter++); }
static inline float rng_next_normal(Rng *r) { return rng_normal(r->seed, r->stream, r->counter++); }
/* Uniform integer in [0, n). */
static inline uint64_t rng_next_below(Rng *r, uint64_t n) {
    return (uint64_t)(rng_uniform_double(r->seed, r->stream, r->counter++) * (double)n) % (n ? n : 1);
}

#endif
