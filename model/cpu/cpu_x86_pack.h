/* cpu_x86_pack.h - what the x86 kernels (cpu_x86.c, cpu_x86_amx.c, cpu_x86_dp.c; this folder only) share: the
 * target attributes, AVX-512 conversions to bf16 and 16 x 16 transposes, one product's description and op(A)'s
 * packing (cpu_x86_pack.c). PURE_X86_BF16 is defined where they can be compiled (x86-64 with GCC or clang). */
#ifndef PURE_MODEL_CPU_X86_PACK_H
#define PURE_MODEL_CPU_X86_PACK_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define PURE_X86_BF16 1
#include <immintrin.h>

#define TARGET_DP __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define TARGET_512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define TARGET_AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))

/* 16 f32 -> 16 bf16 by vcvtneps2bf16: round to nearest even, NaN kept quiet, as f32_to_bf16 (denormal inputs
   become 0, which the products would make of them anyway) */
TARGET_DP static inline __m256i cvt16(__m512 x) { return (__m256i)_mm512_cvtneps_pbh(x); }

/* dst (rows, ldd) = bf16(A (rows, K) with leading dimension lda), zero in columns [K, ldd) */
TARGET_DP static inline void rows_to_bf16(uint16_t *dst, int ldd, const float *A, int lda, int rows, int K) {
    for (int i = 0; i < rows; i++) {
        uint16_t *d = dst + (size_t)i * ldd;
        const float *a = A + (size_t)i * lda;
        int k = 0;
        for (; k + 16 <= K; k += 16) _mm256_storeu_si256((__m256i *)(d + k), cvt16(_mm512_loadu_ps(a + k)));
        if (k < K) {
            __mmask16 m = (__mmask16)((1u << (K - k)) - 1);
            _mm256_mask_storeu_epi16(d + k, m, cvt16(_mm512_maskz_loadu_ps(m, a + k)));
        }
        for (k = K; k < ldd; k++) d[k] = 0;
    }
}

/* r[0..16) rows of 16 32-bit elements -> r[c] = column c: 4 x 4 blocks within each 128-bit lane, then the
   lanes across registers */
TARGET_DP static inline void transpose16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    /* u[4g + q], lane L: rows 4g .. 4g + 3 of column 4L + q */
    for (int g = 0; g < 4; g++) {
        u[4 * g] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
        u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
    }
    for (int q = 0; q < 4; q++) {
        __m512i a = _mm512_shuffle_i32x4(u[q], u[4 + q], 0x44), b = _mm512_shuffle_i32x4(u[q], u[4 + q], 0xee);
        __m512i c = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0x44), d = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0xee);
        r[q] = _mm512_shuffle_i32x4(a, c, 0x88);
        r[4 + q] = _mm512_shuffle_i32x4(a, c, 0xdd);
        r[8 + q] = _mm512_shuffle_i32x4(b, d, 0x88);
        r[12 + q] = _mm512_shuffle_i32x4(b, d, 0xdd);
    }
}

/* two rows of 16 bf16 -> 16 pairs (lo from the first) */
TARGET_DP static inline __m512i pair16(__m256i lo, __m256i hi) {
    return _mm512_or_si512(_mm512_cvtepu16_epi32(lo), _mm512_slli_epi32(_mm512_cvtepu16_epi32(hi), 16));
}

/* 32 k of one row (n of them valid, the rest zero) as 32 bf16: from bf16 b, or from f32 f rounded */
TARGET_DP static inline __m512i row32(const uint16_t *b, const float *f, int n) {
    if (n <= 0) return _mm512_setzero_si512();
    __mmask32 m = n >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1ull << n) - 1);
    if (b) return _mm512_maskz_loadu_epi16(m, b);
    __mmask16 m0 = (__mmask16)m, m1 = (__mmask16)(m >> 16);
    __m256i lo = cvt16(_mm512_maskz_loadu_ps(m0, f)), hi = cvt16(_mm512_maskz_loadu_ps(m1, f + 16));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* One product C (M, N) = alpha * bf16(op(A)) @ op(B) + beta * C for the amx and dpbf16 kernels. */
typedef struct {
    int trans_b, M, N, K, Mp, Kp, np;
    float alpha, beta;
    const uint16_t *Ap; /* amx with trans_b: A^T's pairs (Mp / 16 tiles of (Kp / 2, 16, 2)); else A's bf16 rows
                           (Mp, Kp) */
    const uint16_t *B; /* bf16 B, or NULL when Bf is the f32 one */
    const float *Bf;   /* f32 B (rounded to bf16 when packed), B[k][j] at Bf[tbf ? j * ldb + k : k * ldb + j] */
    int tbf, ldb;
    float *C;
    int ldc;
} X86Gemm;

typedef struct {
    uint16_t *Ap;
    const float *A; /* op(A)[i][k] at A[ta ? k * lda + i : i * lda + k] */
    int ta, lda, M, K, Mp, Kp, pairs;
} PackCtx;

/* rows [16 t, 16 t + 16) of op(A) (a task of cpu_parallel_for over Mp / 16): as bf16 rows (Mp, Kp), zero past M
   and K, or (pairs) as A^T's pairs for AMX tile t (Kp / 2, 16, 2) */
void cpu_x86_pack_a_task(void *vc, int t);

#endif /* PURE_X86_BF16 */
#endif
