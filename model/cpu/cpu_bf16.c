/* cpu_bf16.c - matrix products with bf16 weights on the CPU: weights stored
 * as bf16 (half the memory and memory traffic of f32), activations rounded to
 * bf16 at the product's input, products and sums in f32 (the autocast rule,
 * model/bf16.h). Checked against cpu_matmul_ref on the widened operands
 * (tests/model/test_model_cpu_ops.c).
 *
 * Kernels, chosen at run time (cpu_bf16_info):
 *  - few rows (decoding, M <= 16) against a transposed weight: each bf16 row
 *    of W is widened in registers as it streams by (the compiler's AVX2 /
 *    AVX-512 copies via CPU_CLONES), 4 rows of A at a time in 16 lanes;
 *  - otherwise: W is widened one panel of 256 output columns at a time into
 *    a per-task f32 buffer and multiplied by OpenBLAS sgemm.
 * Where the CPU has AVX-512 BF16 (vdpbf16ps) or AMX-BF16 tile products, a
 * kernel that multiplies bf16 directly would be chosen at the dispatch point
 * below; none is written yet (this project's machines have neither), so
 * those CPUs use the widening kernels too and say so in the kernel line.
 */
#include "cpu.h"
#include "cpu_simd.h"
#include "cpu_skinny.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/bf16.h"

#pragma GCC optimize("O3")

#define PANEL 256

/* ---- element-wise ---- */

typedef struct {
    uint16_t *dst;
    const float *src;
    size_t n;
} ConvCtx;

#define CONV_BLOCK 65536

CPU_CLONES static void to_bf16_task(void *vc, int t) {
    ConvCtx *c = vc;
    size_t lo = (size_t)t * CONV_BLOCK, hi = lo + CONV_BLOCK < c->n ? lo + CONV_BLOCK : c->n;
    for (size_t i = lo; i < hi; i++) c->dst[i] = f32_to_bf16(c->src[i]);
}

void cpu_to_bf16(uint16_t *dst, const float *src, size_t n) {
    ConvCtx c = {dst, src, n};
    cpu_parallel_for((int)((n + CONV_BLOCK - 1) / CONV_BLOCK), to_bf16_task, &c);
}

/* Ar (M, K) = bf16_round(A (M, K) with leading dimension lda) */
CPU_CLONES static void round_rows(float *Ar, const float *A, int M, int K, int lda) {
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) Ar[(size_t)i * K + k] = bf16_round(A[(size_t)i * lda + k]);
}

void cpu_embedding_bf16(float *out, const uint16_t *wte, const int32_t *ids, int n, int C) {
    for (int i = 0; i < n; i++) {
        const uint16_t *row = wte + (size_t)ids[i] * C;
        float *o = out + (size_t)i * C;
        for (int j = 0; j < C; j++) o[j] = bf16_to_f32(row[j]);
    }
}

/* ---- products ---- */

typedef struct {
    int tb, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A; /* (M, K), already rounded to bf16 values */
    const uint16_t *B;
    float *C;
} Bf16Gemm;

/* C (M, N) = A (M, K) @ B (N, K)^T for M <= 16 (cpu_skinny.h), each bf16 weight widened in registers. */
SKINNY_ROWS_FN(skinny_rows_bf16, uint16_t, bf16_to_f32)
SKINNY_CLONES static void skinny_bf16_task(void *vc, int t) {
    Bf16Gemm *g = vc;
    SKINNY_TASK_BODY(skinny_rows_bf16, 0, g->B, g->ldb, g->A, (size_t)g->K, g->M, g->N, g->K, g->C, (size_t)g->ldc,
                     g->alpha, g->beta, t);
}

/* One panel of PANEL output columns: widen that part of B, then sgemm. */
CPU_CLONES static void panel_task(void *vc, int t) {
    Bf16Gemm *g = vc;
    int j0 = t * PANEL, nb = g->N - j0 < PANEL ? g->N - j0 : PANEL, K = g->K;
    float *Wp = xmalloc(sizeof(float) * (size_t)nb * K);
    if (g->tb) { /* B (N, K): rows j0.. -> Wp (nb, K) */
        for (int j = 0; j < nb; j++) {
            const uint16_t *src = g->B + (size_t)(j0 + j) * g->ldb;
            float *dst = Wp + (size_t)j * K;
            for (int k = 0; k < K; k++) dst[k] = bf16_to_f32(src[k]);
        }
    } else { /* B (K, N): columns j0.. -> Wp (K, nb) */
        for (int k = 0; k < K; k++) {
            const uint16_t *src = g->B + (size_t)k * g->ldb + j0;
            float *dst = Wp + (size_t)k * nb;
            for (int j = 0; j < nb; j++) dst[j] = bf16_to_f32(src[j]);
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, g->M, nb, K, g->alpha, g->A, K, Wp,
                g->tb ? K : nb, g->beta, g->C + j0, g->ldc);
    free(Wp);
}

void cpu_matmul_bf16(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *B,
                     int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
        return;
    }
    /* A rounded to bf16 once (packed to K columns): the product then sees exactly bf16 x bf16 */
    float *Ar = xmalloc(sizeof(float) * (size_t)M * K);
    round_rows(Ar, A, M, K, lda);
    Bf16Gemm g = {trans_b, M, N, K, K, ldb, ldc, alpha, beta, Ar, B, C};
    /* few rows: skinny at any N (the k/v projections have 128 columns; a panel would widen them into a buffer
       and call sgemm for one row) */
    if (trans_b && M <= SKINNY_M) cpu_parallel_for(cpu_nblocks(N, SKINNY_COLS), skinny_bf16_task, &g);
    else cpu_parallel_for(cpu_nblocks(N, PANEL), panel_task, &g);
    free(Ar);
}

/* ---- dispatch ---- */

static char g_info[160];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void info_init(void) {
    int bf16dp = 0, amx = 0;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    __builtin_cpu_init();
    bf16dp = __builtin_cpu_supports("avx512bf16");
    amx = __builtin_cpu_supports("amx-bf16");
#endif
    /* the dispatch point: a vdpbf16ps or AMX tile kernel would be selected here when bf16dp / amx */
    snprintf(g_info, sizeof g_info, "bf16 %s (CPU %s AVX-512 BF16, %s AMX-BF16%s)",
             __builtin_cpu_supports("avx512f") ? "widen-in-register AVX-512 + sgemm panels"
             : __builtin_cpu_supports("avx2")  ? "widen-in-register AVX2 + sgemm panels"
                                               : "widen + sgemm panels",
             bf16dp ? "has" : "lacks", amx ? "has" : "lacks",
             bf16dp || amx ? "; no native bf16 kernel written yet" : "");
}

const char *cpu_bf16_info(void) {
    pthread_once(&g_once, info_init);
    return g_info;
}
