/* perm.c - seeded permutations for batch order and prompt choice (see lm.h). */
#include <stdint.h>

#include "stages/common/lm.h"
#include "util/rng.h"

void common_permutation(int64_t *idx, int64_t n, uint64_t seed, uint64_t stream) {
    Rng r;
    rng_init(&r, seed, stream);
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)rng_next_below(&r, (uint64_t)i + 1), t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
