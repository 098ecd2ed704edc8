/* rng.c - Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11). */
#include "rng.h"

#include <math.h>

static void philox_round(uint32_t ctr[4], const uint32_t key[2]) {
    const uint64_t p0 = (uint64_t)0xD2511F53u * ctr[0];
    const uint64_t p1 = (uint64_t)0xCD9E8D57u * ctr[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t n0 = hi1 ^ ctr[1] ^ key[0];
    uint32_t n2 = hi0 ^ ctr[3] ^ key[1];
    ctr[0] = n0; ctr[1] = lo1; ctr[2] = n2; ctr[3] = lo0;
}

void rng_philox(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4]) {
    uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    for (int i = 0; i < 10; i++) {
        philox_round(ctr, key);
        key[0] += 0x9E3779B9u;
        key[1] += 0xBB67AE85u;
    }
    for (int i = 0; i < 4; i++) out[i] = ctr[i];
}

float rng_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint32_t r[4];
    rng_philox(seed, stream, counter, r);
    return (float)(r[0] >> 8) * (1.0f / 16777216.0f);
}

double rng_uniform_double(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint32_t r[4];
    rng_philox(seed, stream, counter, r);
    uint64_t bits = ((uint64_t)r[0] << 21) ^ (r[1] >> 11);
    return (double)(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

float rng_normal(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint32_t r[4];
    rng_philox(seed, stream, counter, r);
    /* u1 in (0, 1] so log() is finite */
    double u1 = ((double)(r[0] >> 8) + 1.0) / 16777216.0;
    double u2 = (double)(r[1] >> 8) / 16777216.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t rng_derive(uint64_t seed, const char *label) {
    /* FNV-1a over the label, mixed with the seed through one Philox call */
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)label; *p; p++) h = (h ^ *p) * 1099511628211ull;
    uint32_t r[4];
    rng_philox(seed, h, 0x5eedull, r);
    return (uint64_t)r[0] << 32 | r[1];
}
