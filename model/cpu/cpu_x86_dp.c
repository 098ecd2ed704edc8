/* cpu_x86_dp.c - the dpbf16 kernel's large bf16 products on AVX-512 BF16 (vdpbf16ps), for CPUs without AMX (AMD
 * Zen 4 and 5, Intel Cooper Lake); its decoding products are in cpu_x86.c, the numerics every x86 kernel shares
 * too.
 *
 * vdpbf16ps(acc, x, y) computes acc[l] += x[2l] * y[2l] + x[2l+1] * y[2l+1] for 16 f32 lanes l: the AMX tile
 * instruction one row at a time. Its lanes here are 16 columns of C. Each task packs one panel of DP_PANEL columns
 * of op(B) as pairs (for each pair p of k, tile v of 16 columns: the 16 columns' (B[2p][j], B[2p+1][j]) side by
 * side, all tiles of a pair adjacent), and A's bf16 rows supply each pair of k of a row as one 32-bit word, which
 * the instruction broadcasts from memory. A block of DP_MR rows x DP_PANEL columns is 24 accumulators; a step of
 * one pair loads 4 vectors of B and broadcasts DP_MR words of A for 24 vdpbf16ps. Each C element is one chain in k
 * order, so its bits depend neither on its block nor on the thread count. */
#include "cpu.h"
#include "cpu_x86.h"
#include "cpu_x86_pack.h"

#include <stdlib.h>
#include <string.h>

#ifdef PURE_X86_BF16

#define DP_MR 6
typedef uint32_t pair_word __attribute__((may_alias));
#define DP_PANEL 64 /* columns of C per task: 4 tiles of 16 */
#define DP_AHEAD 256 /* elements ahead in each row packed */

/* 16 columns j0.. (nj of them valid) of B's row k as 16 bf16 (zero when k >= K) */
TARGET_DP static inline __m256i cols16(const X86Gemm *g, int k, int j0, int nj) {
    if (k >= g->K) return _mm256_setzero_si256();
    __mmask16 m = (__mmask16)(nj >= 16 ? 0xffff : (1u << nj) - 1);
    if (g->B) return _mm256_maskz_loadu_epi16(m, g->B + (size_t)k * g->ldb + j0);
    return cvt16(_mm512_maskz_loadu_ps(m, g->Bf + (size_t)k * g->ldb + j0));
}

/* Bp = the pairs of op(B)'s columns [n0, n0 + tiles * 16), zero past N and K */
TARGET_DP static void dp_pack_b(const X86Gemm *g, int n0, int tiles, uint16_t *Bp) {
    int Kp = g->Kp;
    /* rows of memory are columns of op(B): W (N, K) bf16 (trans_b) or a transposed f32 B */
    int by_rows = g->trans_b || (!g->B && g->tbf);
    for (int v = 0; v < tiles; v++) {
        int j0 = n0 + v * 16, nj = g->N - j0 < 16 ? g->N - j0 : 16;
        if (!by_rows) {
            for (int p = 0; p < Kp / 2; p++)
                _mm512_storeu_si512(Bp + ((size_t)p * tiles + v) * 32,
                                    pair16(cols16(g, 2 * p, j0, nj), cols16(g, 2 * p + 1, j0, nj)));
            continue;
        }
        for (int k0 = 0; k0 < Kp; k0 += 32) {
            __m512i r[16];
            for (int c = 0; c < 16; c++) {
                size_t off = (size_t)(j0 + c) * g->ldb + k0;
                int n = c < nj ? g->K - k0 : 0;
                /* 16 rows read 64 bytes at a time are more streams than the hardware prefetcher follows */
                if (n > DP_AHEAD) _mm_prefetch(g->B ? (const char *)(g->B + off + DP_AHEAD)
                                                    : (const char *)(g->Bf + off + DP_AHEAD), _MM_HINT_T0);
                r[c] = row32(g->B ? g->B + off : NULL, g->B ? NULL : g->Bf + off, n);
            }
            transpose16(r); /* r[p]: pair k0 / 2 + p of the 16 columns */
            for (int p = 0; p < 16; p++) _mm512_storeu_si512(Bp + ((size_t)(k0 / 2 + p) * tiles + v) * 32, r[p]);
        }
    }
}

/* Pairs [p0, p1) of C rows [i0, i0 + R), columns [j0, j0 + NV * 16): A's bf16 rows a (lda2 pairs apart) against
   the panel's pairs bp, summed onto the partial sums in T (ld DP_PANEL, row 0 = row i0) unless p0 is 0; at the
   last pair C = alpha * sum + beta * C, before it the sums go back to T. R <= DP_MR and NV <= 4 are constants at
   each call, so the loops unroll. */
TARGET_DP static inline __attribute__((always_inline)) void dp_block(const X86Gemm *g, const uint16_t *a, size_t lda2,
                                                                     int R, const uint16_t *bp, int NV, int i0,
                                                                     int j0, int p0, int p1, float *T) {
    __m512 acc[DP_MR][4];
    _Pragma("GCC unroll 6") for (int r = 0; r < R; r++) _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)
        acc[r][v] = p0 == 0 ? _mm512_setzero_ps() : _mm512_loadu_ps(T + r * DP_PANEL + v * 16);
    for (int p = p0; p < p1; p++) {
        const uint16_t *b = bp + (size_t)p * NV * 32;
        __m512bh y[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) y[v] = (__m512bh)_mm512_loadu_si512(b + v * 32);
#pragma GCC unroll 6
        for (int r = 0; r < R; r++) {
            /* the pair (k = 2p, 2p + 1) of row r as one word (a may_alias type: the buffer is uint16_t; a memcpy
               here cost 10%, its index kept per row) */
            __m512bh x = (__m512bh)_mm512_set1_epi32((int)((const pair_word *)a)[r * lda2 + p]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], x, y[v]);
        }
    }
    if (p1 < g->Kp / 2) {
        _Pragma("GCC unroll 6") for (int r = 0; r < R; r++) _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)
            _mm512_storeu_ps(T + r * DP_PANEL + v * 16, acc[r][v]);
        return;
    }
    __m512 al = _mm512_set1_ps(g->alpha), be = _mm512_set1_ps(g->beta);
    for (int r = 0; r < R; r++) {
        if (i0 + r >= g->M) break;
        float *o = g->C + (size_t)(i0 + r) * g->ldc;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            int j = j0 + v * 16, nj = g->N - j < 16 ? g->N - j : 16;
            __mmask16 m = (__mmask16)((1u << nj) - 1);
            __m512 out = _mm512_mul_ps(al, acc[r][v]);
            if (g->beta != 0) out = _mm512_add_ps(out, _mm512_mul_ps(be, _mm512_maskz_loadu_ps(m, o + j)));
            _mm512_mask_storeu_ps(o + j, m, out);
        }
    }
}

#define DP_TILES(R)                                                                                           \
    switch (tiles) {                                                                                          \
    case 4: dp_block(g, a, lda2, R, Bp, 4, i0, n0, p0, p1, t); break;                                         \
    case 3: dp_block(g, a, lda2, R, Bp, 3, i0, n0, p0, p1, t); break;                                         \
    case 2: dp_block(g, a, lda2, R, Bp, 2, i0, n0, p0, p1, t); break;                                         \
    default: dp_block(g, a, lda2, R, Bp, 1, i0, n0, p0, p1, t); break;                                        \
    }

/* Cache blocks: DP_KC pairs of the panel (32 KB of B, in L1) meet DP_MC rows of A before the next pairs */
#define DP_KC 2048
#define DP_MC (16 * DP_MR)

TARGET_DP static void dp_task(void *vc, int task) {
    X86Gemm *g = vc;
    int n0 = task * DP_PANEL, cols = g->N - n0 < DP_PANEL ? g->N - n0 : DP_PANEL, tiles = (cols + 15) / 16;
    uint16_t *Bp = xmalloc(sizeof(uint16_t) * (size_t)tiles * 16 * g->Kp);
    dp_pack_b(g, n0, tiles, Bp);
    size_t lda2 = (size_t)g->Kp / 2;
    int pairs = g->Kp / 2;
    float T[DP_MC * DP_PANEL];
    for (int m0 = 0; m0 < g->M; m0 += DP_MC) {
        int m1 = m0 + DP_MC < g->M ? m0 + DP_MC : g->M;
        for (int p0 = 0; p0 < pairs; p0 += DP_KC) {
            int p1 = p0 + DP_KC < pairs ? p0 + DP_KC : pairs;
            int i0 = m0;
            for (; i0 + DP_MR <= m1; i0 += DP_MR) {
                const uint16_t *a = g->Ap + (size_t)i0 * g->Kp;
                float *t = T + (size_t)(i0 - m0) * DP_PANEL;
                DP_TILES(DP_MR);
            }
            const uint16_t *a = g->Ap + (size_t)i0 * g->Kp;
            float *t = T + (size_t)(i0 - m0) * DP_PANEL;
            switch (m1 - i0) {
            case 5: DP_TILES(5); break;
            case 4: DP_TILES(4); break;
            case 3: DP_TILES(3); break;
            case 2: DP_TILES(2); break;
            case 1: DP_TILES(1); break;
            }
        }
    }
    free(Bp);
}

static void dp_run(int ta, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                   const uint16_t *B, const float *Bf, int tbf, int ldb, float beta, float *C, int ldc) {
    int Mp = ((M + 15) / 16) * 16, Kp = ((K + 31) / 32) * 32;
    uint16_t *Ap = xmalloc(sizeof(uint16_t) * (size_t)Mp * Kp);
    PackCtx pc = {Ap, A, ta, lda, M, K, Mp, Kp, 0}; /* op(A)'s bf16 rows (Mp, Kp) */
    cpu_parallel_for(Mp / 16, cpu_x86_pack_a_task, &pc);
    X86Gemm g = {trans_b, M, N, K, Mp, Kp, 0, alpha, beta, Ap, B, Bf, tbf, ldb, C, ldc};
    cpu_parallel_for(cpu_nblocks(N, DP_PANEL), dp_task, &g);
    free(Ap);
}

void cpu_bf16x86_dp(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *B,
                    int ldb, float beta, float *C, int ldc) {
    dp_run(0, trans_b, M, N, K, alpha, A, lda, B, NULL, 0, ldb, beta, C, ldc);
}

void cpu_bf16x86_dp_ab(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc) {
    dp_run(trans_a, 0, M, N, K, alpha, A, lda, NULL, B, trans_b, ldb, beta, C, ldc);
}

#else /* not x86-64 with GCC or clang */

void cpu_bf16x86_dp(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *B,
                    int ldb, float beta, float *C, int ldc) {
    (void)trans_b, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)B, (void)ldb, (void)beta;
    (void)C, (void)ldc;
    abort();
}

void cpu_bf16x86_dp_ab(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc) {
    (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)B, (void)ldb;
    (void)beta, (void)C, (void)ldc;
    abort();
}

#endif
