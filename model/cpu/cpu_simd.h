/* cpu_simd.h - helpers for kernels the compiler can vectorise without
 * changing results: every reduction keeps 16 fixed lanes (summed in a fixed
 * order at the end), and exp is a polynomial written in plain C instead of a
 * libm call. Hot functions carry CPU_CLONES: GCC builds an AVX-512, an AVX2
 * and a baseline copy and picks one at load time. Without -ffp-contract the
 * copies round identically, so results do not depend on which one runs.
 * (The decoding products of cpu_skinny.h are the exception: they fuse.)
 */
#ifndef PURE_MODEL_CPU_SIMD_H
#define PURE_MODEL_CPU_SIMD_H

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CPU_CLONES
#endif

/* forced so the helpers inline into every CPU_CLONES copy (a plain inline
 * function compiled for the baseline target is not inlined into AVX code) */
#define CPU_INLINE static inline __attribute__((always_inline))

#define LANES 16

/* exp(x) with x clamped to [-87.3, 88.7] (so tiny results are ~1e-38, not 0);
 * relative error below 3e-7.
 * Range reduction x = n ln2 + r, |r| <= ln2/2, then a degree-6 Taylor polynomial. */
CPU_INLINE float cpu_expf(float x) {
    /* written without branches so loops over it vectorise */
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.7f ? 88.7f : x;
    float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f; /* round to nearest via 1.5 * 2^23 */
    float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666667f + r * (0.0416666667f + r * (0.00833333377f + r * 0.00138888892f)))));
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* Sum of x[0..n) in 16 lanes. */
CPU_INLINE float cpu_sum(const float *x, int n) {
    float l[LANES] = {0};
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int u = 0; u < LANES; u++) l[u] += x[j + u];
    for (int u = 0; j < n; j++, u++) l[u] += x[j];
    float s = 0;
    for (int u = 0; u < LANES; u++) s += l[u];
    return s;
}

/* Max of x[0..n), n >= 1. */
CPU_INLINE float cpu_max(const float *x, int n) {
    float l[LANES];
    for (int u = 0; u < LANES; u++) l[u] = x[0];
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int u = 0; u < LANES; u++) l[u] = x[j + u] > l[u] ? x[j + u] : l[u];
    for (int u = 0; j < n; j++, u++) l[u] = x[j] > l[u] ? x[j] : l[u];
    float m = l[0];
    for (int u = 1; u < LANES; u++) m = l[u] > m ? l[u] : m;
    return m;
}

/* Dot product in 16 lanes. */
CPU_INLINE float cpu_dot16(const float *a, const float *b, int n) {
    float l[LANES] = {0};
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int u = 0; u < LANES; u++) l[u] += a[j + u] * b[j + u];
    for (int u = 0; j < n; j++, u++) l[u] += a[j] * b[j];
    float s = 0;
    for (int u = 0; u < LANES; u++) s += l[u];
    return s;
}

#endif
