/* cpu_x86_amx.c - bf16 products on AMX-BF16 tiles (tdpbf16ps: a 16 x 16 f32 tile += a 16 x 32 bf16 tile times a
 * 32 x 16 one), the amx kernel's products of more than 3 rows: training, prefill, scoring, and decoding of 4-16
 * rows, where the FMA kernel is compute-bound (cpu_x86.c: the numerics every x86 kernel shares).
 *
 * AMX layout. A tile is at most 16 rows of 64 bytes. tdpbf16ps(C, X, Y) computes
 *   C[i][j] += sum_p X[i][2p] * Y[p][2j] + X[i][2p+1] * Y[p][2j+1]
 * so Y holds its 32 x 16 operand as 16 rows of 16 bf16 pairs ("VNNI" order: the two k of a pair side by side).
 *  - W^T products (C = A @ W^T, W (N, K): every forward product): computed as C^T = W @ A^T. The rows of W are
 *    X tiles as they lie in memory (no copy of the weights), and A^T's pairs are A's own adjacent elements, so
 *    A packed once per call serves as every Y tile. Each 16 x 16 result is transposed into C.
 *  - W products (C = A @ B, B (K, N): backward's dA = dC @ W): A's bf16 rows are the X tiles, and each panel of
 *    B is packed into pairs of rows once per call.
 *  - products of two f32 operands rounded to bf16 (backward's dW = dC^T @ X): the same, both packed from f32.
 * Each step uses 4 result tiles (a 32 x 32 block), 2 X and 2 Y tiles: all 8 tile registers; with at most 16 rows
 * of A (decoding) there is one Y tile, so 2 result tiles (32 W rows x 16).
 */
#include "cpu.h"
#include "cpu_x86.h"
#include "cpu_x86_pack.h"

#include <stdlib.h>
#include <string.h>

#include "model/bf16.h"

#ifdef PURE_X86_BF16

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} TileConfig;

/* every tile 16 rows of 64 bytes */
TARGET_AMX static void tiles_configure(void) {
    TileConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) cfg.colsb[t] = 64, cfg.rows[t] = 16;
    _tile_loadconfig(&cfg);
}

/* Tile registers are named in the instruction, so the 2 x 2 block is written out. */
#define COMPILER_BARRIER() __asm__ volatile("" ::: "memory")


/* C block rows [i0, i0 + 16), columns [j0, j0 + 16) from one 16 x 16 result tile t (t[r][c] is C[i0 + c][j0 + r]
   when transposed): C = alpha * t + beta * C on the part inside C */
TARGET_DP static void tile_store(const X86Gemm *g, const float *t, int transposed, int i0, int j0) {
    int ni = g->M - i0 < 16 ? g->M - i0 : 16, nj = g->N - j0 < 16 ? g->N - j0 : 16;
    __m512i r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_si512(t + i * 16);
    if (transposed) transpose16(r);
    __mmask16 m = (__mmask16)((1u << nj) - 1);
    __m512 al = _mm512_set1_ps(g->alpha), be = _mm512_set1_ps(g->beta);
    for (int i = 0; i < ni; i++) {
        float *o = g->C + (size_t)(i0 + i) * g->ldc + j0;
        __m512 v = _mm512_mul_ps(al, _mm512_castsi512_ps(r[i]));
        if (g->beta != 0) v = _mm512_add_ps(v, _mm512_mul_ps(be, _mm512_maskz_loadu_ps(m, o)));
        _mm512_mask_storeu_ps(o, m, v);
    }
}

/* The four result tiles of a 32 x 32 block, stored and written into C. */
TARGET_AMX static void block_store(const X86Gemm *g, float *buf, int transposed, int r0, int c0) {
    _tile_stored(0, buf, 64);
    _tile_stored(1, buf + 256, 64);
    _tile_stored(2, buf + 512, 64);
    _tile_stored(3, buf + 768, 64);
    COMPILER_BARRIER();
    /* tile (a, b) covers X rows a*16.. and Y columns b*16..; transposed: X rows are C's columns */
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            const float *t = buf + (a * 2 + b) * 256;
            if (transposed) {
                if (c0 + b * 16 < g->M && r0 + a * 16 < g->N) tile_store(g, t, 1, c0 + b * 16, r0 + a * 16);
            } else if (r0 + a * 16 < g->M && c0 + b * 16 < g->N) {
                tile_store(g, t, 0, r0 + a * 16, c0 + b * 16);
            }
        }
}

/* 32 x 32 block: X tiles at x0, x1 (row stride ldx bytes, advancing 64 bytes per k step), Y tiles at y0, y1
   (1 KB each per k step), Kp / 32 steps */
TARGET_AMX static void block_run(const uint16_t *x0, const uint16_t *x1, long ldx, const uint16_t *y0,
                                 const uint16_t *y1, int steps) {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int s = 0; s < steps; s++) {
        _tile_loadd(4, x0 + (size_t)s * 32, ldx);
        _tile_loadd(5, x1 + (size_t)s * 32, ldx);
        _tile_loadd(6, y0 + (size_t)s * 512, 64);
        _tile_loadd(7, y1 + (size_t)s * 512, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
}

/* 32 x 16 block for few rows (M <= 16: one tile of A^T's pairs): X tiles at x0, x1 as block_run, the Y tile at y0 */
TARGET_AMX static void block_run_few(const uint16_t *x0, const uint16_t *x1, long ldx, const uint16_t *y0, int steps) {
    _tile_zero(0);
    _tile_zero(1);
    for (int s = 0; s < steps; s++) {
        _tile_loadd(4, x0 + (size_t)s * 32, ldx);
        _tile_loadd(5, x1 + (size_t)s * 32, ldx);
        _tile_loadd(6, y0 + (size_t)s * 512, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 5, 6);
    }
}

/* block_run_few's two result tiles: W rows r0.. and r0 + 16.., C rows 0..M */
TARGET_AMX static void block_store_few(const X86Gemm *g, float *buf, int r0) {
    _tile_stored(0, buf, 64);
    _tile_stored(1, buf + 256, 64);
    COMPILER_BARRIER();
    for (int a = 0; a < 2; a++)
        if (r0 + a * 16 < g->N) tile_store(g, buf + a * 256, 1, 0, r0 + a * 16);
}

#define AMX_PANEL 64 /* columns of C (trans_b: rows of W) per task */

/* C^T = W @ A^T for W rows [n0, n0 + AMX_PANEL). W's rows are read in place when they are whole tiles (K a
   multiple of 32, 16 rows inside N); otherwise the panel is copied, zero-padded, first. */
TARGET_AMX static void amx_wt_task(void *vc, int t) {
    X86Gemm *g = vc;
    int n0 = t * AMX_PANEL, n1 = n0 + AMX_PANEL < g->N ? n0 + AMX_PANEL : g->N;
    int rows = ((n1 - n0 + 31) / 32) * 32, steps = g->Kp / 32;
    const uint16_t *X = g->B + (size_t)n0 * g->ldb;
    long ldx = (long)g->ldb * 2;
    uint16_t *pad = NULL;
    if (g->K % 32 || n0 + rows > g->N) {
        pad = xmalloc(sizeof(uint16_t) * (size_t)rows * g->Kp);
        memset(pad, 0, sizeof(uint16_t) * (size_t)rows * g->Kp);
        for (int r = 0; r < n1 - n0; r++) memcpy(pad + (size_t)r * g->Kp, X + (size_t)r * g->ldb, 2 * (size_t)g->K);
        X = pad, ldx = (long)g->Kp * 2;
        COMPILER_BARRIER();
    }
    float buf[1024];
    tiles_configure();
    if (g->Mp == 16) { /* few rows: each W tile meets the one A^T tile (decoding reads the weights at memory speed) */
        for (int r = 0; r < rows; r += 32) {
            const uint16_t *x0 = X + (size_t)r * (ldx / 2), *x1 = x0 + (size_t)16 * (ldx / 2);
            block_run_few(x0, x1, ldx, g->Ap, steps);
            block_store_few(g, buf, n0 + r);
        }
    } else {
        for (int m0 = 0; m0 < g->Mp; m0 += 32) {
            const uint16_t *y0 = g->Ap + (size_t)(m0 / 16) * 16 * g->Kp, *y1 = y0 + (size_t)16 * g->Kp;
            for (int r = 0; r < rows; r += 32) {
                const uint16_t *x0 = X + (size_t)r * (ldx / 2), *x1 = x0 + (size_t)16 * (ldx / 2);
                block_run(x0, x1, ldx, y0, y1, steps);
                block_store(g, buf, 1, n0 + r, m0);
            }
        }
    }
    _tile_release();
    free(pad);
}

/* C = A @ B for C columns [n0, n0 + AMX_PANEL): that panel of B packed into row pairs, then A's rows against it */
TARGET_AMX static void amx_w_task(void *vc, int t) {
    X86Gemm *g = vc;
    int n0 = t * AMX_PANEL, cols = g->N - n0 < AMX_PANEL ? g->N - n0 : AMX_PANEL;
    int tiles = ((cols + 31) / 32) * 2, Kp = g->Kp;
    /* Bp: tiles column tiles of (Kp / 2 pair rows, 16 columns, 2) */
    uint16_t *Bp = xmalloc(sizeof(uint16_t) * (size_t)tiles * 16 * Kp);
    for (int ct = 0; ct < tiles; ct++) {
        uint16_t *d = Bp + (size_t)ct * 16 * Kp;
        int j0 = n0 + ct * 16;
        if (ct * 16 + 16 <= cols && (g->B || !g->tbf)) { /* 16 columns of two rows of B, side by side */
            const __m256i zero = _mm256_setzero_si256();
            for (int p = 0; p < Kp / 2; p++) {
                int k = 2 * p;
                __m256i lo = zero, hi = zero;
                if (g->B) {
                    if (k < g->K) lo = _mm256_loadu_si256((const __m256i *)(g->B + (size_t)k * g->ldb + j0));
                    if (k + 1 < g->K) hi = _mm256_loadu_si256((const __m256i *)(g->B + (size_t)(k + 1) * g->ldb + j0));
                } else {
                    if (k < g->K) lo = cvt16(_mm512_loadu_ps(g->Bf + (size_t)k * g->ldb + j0));
                    if (k + 1 < g->K) hi = cvt16(_mm512_loadu_ps(g->Bf + (size_t)(k + 1) * g->ldb + j0));
                }
                _mm512_storeu_si512(d + (size_t)p * 32, pair16(lo, hi));
            }
            continue;
        }
        for (int c = 0; c < 16; c++) { /* the edge of N, or a transposed f32 B: element by element */
            int j = j0 + c;
            for (int k = 0; k < Kp; k++) {
                uint16_t v = 0;
                if (k < g->K && ct * 16 + c < cols)
                    v = g->B    ? g->B[(size_t)k * g->ldb + j]
                        : g->tbf ? f32_to_bf16(g->Bf[(size_t)j * g->ldb + k])
                                 : f32_to_bf16(g->Bf[(size_t)k * g->ldb + j]);
                d[(size_t)(k / 2) * 32 + 2 * c + (k & 1)] = v;
            }
        }
    }
    COMPILER_BARRIER();
    float buf[1024];
    long ldx = (long)Kp * 2;
    tiles_configure();
    for (int m0 = 0; m0 < g->Mp; m0 += 32) {
        const uint16_t *x0 = g->Ap + (size_t)m0 * Kp, *x1 = x0 + (size_t)16 * Kp;
        for (int ct = 0; ct < tiles; ct += 2) {
            const uint16_t *y0 = Bp + (size_t)ct * 16 * Kp, *y1 = y0 + (size_t)16 * Kp;
            block_run(x0, x1, ldx, y0, y1, Kp / 32);
            block_store(g, buf, 0, m0, n0 + ct * 16);
        }
    }
    _tile_release();
    free(Bp);
}

static void amx_run(int ta, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                    const uint16_t *B, const float *Bf, int tbf, int ldb, float beta, float *C, int ldc) {
    /* trans_b with at most 16 rows: one tile of A^T's pairs (amx_wt_task's few-rows blocks) */
    int Mp = trans_b && M <= 16 ? 16 : ((M + 31) / 32) * 32, Kp = ((K + 31) / 32) * 32;
    uint16_t *Ap = xmalloc(sizeof(uint16_t) * (size_t)Mp * Kp);
    PackCtx pc = {Ap, A, ta, lda, M, K, Mp, Kp, trans_b};
    cpu_parallel_for(Mp / 16, cpu_x86_pack_a_task, &pc);
    X86Gemm g = {trans_b, M, N, K, Mp, Kp, 0, alpha, beta, Ap, B, Bf, tbf, ldb, C, ldc};
    cpu_parallel_for(cpu_nblocks(N, AMX_PANEL), trans_b ? amx_wt_task : amx_w_task, &g);
    free(Ap);
}

void cpu_bf16x86_amx(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *B,
                     int ldb, float beta, float *C, int ldc) {
    amx_run(0, trans_b, M, N, K, alpha, A, lda, B, NULL, 0, ldb, beta, C, ldc);
}

void cpu_bf16x86_amx_ab(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
    amx_run(trans_a, 0, M, N, K, alpha, A, lda, NULL, B, trans_b, ldb, beta, C, ldc);
}

#else /* not x86-64 with GCC or clang */

void cpu_bf16x86_amx(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *B,
                     int ldb, float beta, float *C, int ldc) {
    (void)trans_b, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)B, (void)ldb, (void)beta;
    (void)C, (void)ldc;
    abort();
}

void cpu_bf16x86_amx_ab(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
    (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)B, (void)ldb;
    (void)beta, (void)C, (void)ldc;
    abort();
}

#endif
