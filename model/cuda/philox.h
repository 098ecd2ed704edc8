/* philox.h - Philox4x32-10 for host and device, bit-identical to util/rng.c.
 *
 * util/rng.c is the definition; this is its port to a __host__ __device__
 * inline function so sampling kernels draw exactly the numbers the CPU draws
 * for the same (seed, stream, counter). tests/cuda/test_cuda_philox.c checks
 * the host build against rng_philox, test_cuda_ops checks the device build.
 */
#ifndef PURE_MODEL_CUDA_PHILOX_H
#define PURE_MODEL_CUDA_PHILOX_H

#include <stdint.h>

#ifdef __CUDACC__
#define PURE_HD __host__ __device__ __forceinline__
#else
#define PURE_HD static inline
#endif

PURE_HD void philox4x32_10(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int i = 0; i < 10; i++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* rng_uniform: 24 random bits, exactly representable as a float in [0, 1). */
PURE_HD float philox_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint32_t r[4];
    philox4x32_10(seed, stream, counter, r);
    return (float)(r[0] >> 8) * (1.0f / 16777216.0f);
}

/* rng_uniform_double: 53 random bits in [0, 1). */
PURE_HD double philox_uniform_double(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint32_t r[4];
    philox4x32_10(seed, stream, counter, r);
    uint64_t bits = ((uint64_t)r[0] << 21) ^ (r[1] >> 11);
    return (double)(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}


#endif
