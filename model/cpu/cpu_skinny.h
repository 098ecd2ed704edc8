/* cpu_skinny.h - products of a few rows (decoding: one row per sequence, M <= 16) with a transposed weight,
 * C (M, N) = alpha * A (M, K) @ W (N, K)^T + beta * C, for f32 weights (cpu_blas.c) and bf16 weights
 * (cpu_bf16.c, widened in registers). sgemm would pack all of W on every call, which costs more than the
 * product; here each row of W is read once from memory and used for groups of 4, 2 and 1 rows of A (the next
 * group of the same column finds it in cache), in 16 fixed lanes summed in lane order. Groups of 8 were tried:
 * on AVX2 their 16 lanes x 8 rows of sums need every register and spill, and a two-pass variant that avoids the
 * spills was slower than 4 + 4 (bench numbers in docs/performance.md).
 * The x86-64-v3 / v4 copies fuse each multiply-add (FMA, one rounding): unlike the other kernels (cpu_simd.h),
 * they do not round like the baseline copy, so a CPU without FMA decodes with different last bits. On one
 * machine every thread count and every grouping gives the same bits (columns are split by the shape, and a row
 * is computed the same way in any group).
 */
#ifndef PURE_MODEL_CPU_SKINNY_H
#define PURE_MODEL_CPU_SKINNY_H

#include "cpu_simd.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define SKINNY_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), optimize("fp-contract=fast")))
#else
#define SKINNY_CLONES
#endif
#define SKINNY_M 16    /* at most this many rows take the skinny path */
#define SKINNY_COLS 64 /* columns of C per task */

/* Defines NAME(w, a, lda, R, K, c, ldc, alpha, beta): rows [0, R) of A (R a constant at each call) against one
 * weight row w of element type WT, widened by WIDEN, into C's column c (stride ldc). */
#define SKINNY_ROWS_FN(NAME, WT, WIDEN)                                                                       \
    CPU_INLINE void NAME(const WT *w, const float *a, size_t lda, int R, int K, float *c, size_t ldc,         \
                         float alpha, float beta) {                                                           \
        float acc[4][LANES];                                                                                  \
        for (int r = 0; r < R; r++)                                                                           \
            for (int u = 0; u < LANES; u++) acc[r][u] = 0;                                                    \
        int k = 0;                                                                                            \
        for (; k + LANES <= K; k += LANES)                                                                    \
            for (int u = 0; u < LANES; u++) {                                                                 \
                float wv = WIDEN(w[k + u]);                                                                   \
                for (int r = 0; r < R; r++) acc[r][u] += a[r * lda + k + u] * wv;                             \
            }                                                                                                 \
        for (int u = 0; k < K; k++, u++) {                                                                    \
            float wv = WIDEN(w[k]);                                                                           \
            for (int r = 0; r < R; r++) acc[r][u] += a[r * lda + k] * wv;                                     \
        }                                                                                                     \
        for (int r = 0; r < R; r++) {                                                                         \
            float sum = 0;                                                                                    \
            for (int u = 0; u < LANES; u++) sum += acc[r][u];                                                 \
            float *o = c + (size_t)r * ldc;                                                                   \
            *o = alpha * sum + (beta == 0 ? 0.0f : beta * *o);                                                \
        }                                                                                                     \
    }                                                                                                         \
    /* one row of A against 4 consecutive weight rows: each column summed exactly as NAME sums it (the same   \
       lanes, the same order), so the bits do not depend on which of the two computed it */                   \
    CPU_INLINE void NAME##_cols4(const WT *w, size_t ldw, const float *a, int K, float *c, float alpha,        \
                                 float beta) {                                                                \
        float acc[4][LANES];                                                                                  \
        for (int q = 0; q < 4; q++)                                                                           \
            for (int u = 0; u < LANES; u++) acc[q][u] = 0;                                                    \
        int k = 0;                                                                                            \
        for (; k + LANES <= K; k += LANES)                                                                    \
            for (int u = 0; u < LANES; u++) {                                                                 \
                float av = a[k + u];                                                                          \
                for (int q = 0; q < 4; q++) acc[q][u] += av * WIDEN(w[q * ldw + k + u]);                      \
            }                                                                                                 \
        for (int u = 0; k < K; k++, u++)                                                                      \
            for (int q = 0; q < 4; q++) acc[q][u] += a[k] * WIDEN(w[q * ldw + k]);                            \
        for (int q = 0; q < 4; q++) {                                                                         \
            float sum = 0;                                                                                    \
            for (int u = 0; u < LANES; u++) sum += acc[q][u];                                                 \
            c[q] = alpha * sum + (beta == 0 ? 0.0f : beta * c[q]);                                            \
        }                                                                                                     \
    }

/* The task body: columns [t * SKINNY_COLS, ...) of C, rows in groups of 4, 2, 1 (each a constant R); a lone row
 * (M = 1) 4 columns at a time when COLS4 (f32: 3-7% faster decoding; bf16: slower, measured in
 * docs/performance.md). */
#define SKINNY_TASK_BODY(ROWS_FN, COLS4, Wbase, ldw, A, lda, M, N, K, C, ldc, alpha, beta, t)               \
    do {                                                                                                      \
        int j1_ = ((t) + 1) * SKINNY_COLS < (N) ? ((t) + 1) * SKINNY_COLS : (N);                              \
        int j0_ = (t) * SKINNY_COLS;                                                                          \
        if ((COLS4) && (M) == 1)                                                                              \
            for (; j0_ + 4 <= j1_; j0_ += 4)                                                                  \
                ROWS_FN##_cols4((Wbase) + (size_t)j0_ * (ldw), (ldw), (A), (K), (C) + j0_, (alpha), (beta));  \
        for (int j = j0_; j < j1_; j++) {                                                                     \
            int i0 = 0;                                                                                       \
            for (; (M) - i0 >= 4; i0 += 4)                                                                    \
                ROWS_FN((Wbase) + (size_t)j * (ldw), (A) + (size_t)i0 * (lda), (lda), 4, (K),                 \
                        (C) + (size_t)i0 * (ldc) + j, (ldc), (alpha), (beta));                                \
            if ((M) - i0 >= 2)                                                                                \
                ROWS_FN((Wbase) + (size_t)j * (ldw), (A) + (size_t)i0 * (lda), (lda), 2, (K),                 \
                        (C) + (size_t)i0 * (ldc) + j, (ldc), (alpha), (beta)), i0 += 2;                       \
            if ((M) - i0 >= 1)                                                                                \
                ROWS_FN((Wbase) + (size_t)j * (ldw), (A) + (size_t)i0 * (lda), (lda), 1, (K),                 \
                        (C) + (size_t)i0 * (ldc) + j, (ldc), (alpha), (beta));                                \
        }                                                                                                     \
    } while (0)

#endif
