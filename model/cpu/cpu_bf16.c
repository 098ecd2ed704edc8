/* cpu_bf16.c - matrix products with bf16 weights on the CPU: weights stored
 * as bf16 (half the memory and memory traffic of f32), activations rounded to
 * bf16 at the product's input, products and sums in f32 (the autocast rule,
 * model/bf16.h). Checked against cpu_matmul_ref on the widened operands
 * (tests/model/test_model_cpu_ops.c, tests/model/test_model_bf16.c).
 *
 * Kernels, chosen once at run time (the best the CPU has; PURE_BF16_KERNEL
 * through cpu_bf16_set_kernel picks a lower one; cpu_bf16_info names it):
 *  - widen (any CPU, the readable reference of the fast ones):
 *    - few rows (decoding, M <= 16) against a transposed weight: each bf16 row
 *      of W is widened in registers as it streams by (the compiler's AVX2 /
 *      AVX-512 copies via CPU_CLONES), 4 rows of A at a time in 16 lanes;
 *    - otherwise: W is widened one panel of 256 output columns at a time into
 *      a per-task f32 buffer and multiplied by OpenBLAS sgemm;
 *  - avx512 (AVX-512F/BW/VL): few rows by a hand-written kernel that widens
 *    weights with one instruction per 16 and keeps 16 FMA chains busy
 *    (cpu_x86.c), the rest as widen;
 *  - dpbf16 (AVX-512 BF16 without AMX: Zen 4 and 5): everything on vdpbf16ps,
 *    few rows in cpu_x86.c, the rest in cpu_x86_dp.c;
 *  - amx (AMX-BF16 and AVX-512 BF16: Sapphire Rapids and later): 1-3 rows as
 *    avx512, the rest on AMX tiles (cpu_x86_amx.c), 4-16 rows as one tile of A.
 * A native kernel is checked against widen on a few shapes when first chosen;
 * one that disagrees is never used (a warning says so).
 */
#include "cpu.h"
#include "cpu_x86.h"
#include "cpu_simd.h"
#include "cpu_skinny.h"

#include <cblas.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int bf16_kernel(void);

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

/* C = alpha * Ar @ op(B) + beta * C by the widening kernels, Ar (M, K) already rounded to bf16 values */
static void matmul_widen(Bf16Gemm *g) {
    /* few rows: skinny at any N (the k/v projections have 128 columns; a panel would widen them into a buffer
       and call sgemm for one row) */
    if (g->tb && g->M <= SKINNY_M) cpu_parallel_for(cpu_nblocks(g->N, SKINNY_COLS), skinny_bf16_task, g);
    else cpu_parallel_for(cpu_nblocks(g->N, PANEL), panel_task, g);
}

typedef struct {
    const float *Ae;    /* the avx512 kernel's A, or NULL */
    const uint16_t *Ab; /* the dpbf16 kernel's */
    const uint16_t *B;
    int M, N, K, ldb, ldc;
    float alpha, beta, *C;
} NativeSkinny;

static void native_skinny_task(void *vc, int t) {
    NativeSkinny *s = vc;
    int j0 = t * SKINNY_COLS, j1 = j0 + SKINNY_COLS < s->N ? j0 + SKINNY_COLS : s->N;
    if (s->Ae) cpu_bf16x86_skinny(s->Ae, s->M, s->K, s->B, s->ldb, j0, j1, s->C, s->ldc, s->alpha, s->beta);
    else cpu_bf16x86_skinny_dp(s->Ab, s->M, s->K, s->B, s->ldb, j0, j1, s->C, s->ldc, s->alpha, s->beta);
}

/* From this many rows the amx kernel decodes on tiles too: 8-sequence decoding of the 0.5B shape went from 60 to
   97-105 tokens/s (the FMA kernel is compute-bound there, a tile product is not); below it the FMA kernel is as fast
   or faster (one row: 19-21 against 17-18 tokens/s), the tiles' packing and stores costing more than they save. */
#define AMX_MIN_ROWS 4

static void matmul_kernel(int kernel, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                          const uint16_t *B, int ldb, float beta, float *C, int ldc) {
    if (kernel >= CPU_BF16_AVX512 && trans_b && M <= SKINNY_M && !(kernel == CPU_BF16_AMX && M >= AMX_MIN_ROWS)) {
        /* A laid out once per call for the kernel's few-rows code: bf16 rows (dpbf16) or even/odd f32 (the others) */
        size_t n = (size_t)M * (size_t)((K + 31) / 32 * 32);
        NativeSkinny s = {NULL, NULL, B, M, N, K, ldb, ldc, alpha, beta, C};
        void *buf;
        if (kernel == CPU_BF16_DPBF16) {
            buf = xmalloc(sizeof(uint16_t) * n);
            cpu_bf16x86_rows_pack(buf, A, lda, M, K);
            s.Ab = buf;
        } else {
            buf = xmalloc(sizeof(float) * n);
            cpu_bf16x86_skinny_pack(buf, A, lda, M, K);
            s.Ae = buf;
        }
        cpu_parallel_for(cpu_nblocks(N, SKINNY_COLS), native_skinny_task, &s);
        free(buf);
        return;
    }
    if (kernel == CPU_BF16_AMX) {
        cpu_bf16x86_amx(trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (kernel == CPU_BF16_DPBF16) {
        cpu_bf16x86_dp(trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* A rounded to bf16 once (packed to K columns): the product then sees exactly bf16 x bf16 */
    float *Ar = xmalloc(sizeof(float) * (size_t)M * K);
    round_rows(Ar, A, M, K, lda);
    Bf16Gemm g = {trans_b, M, N, K, K, ldb, ldc, alpha, beta, Ar, B, C};
    matmul_widen(&g);
    free(Ar);
}

void cpu_matmul_bf16(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *B,
                     int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
        return;
    }
    matmul_kernel(bf16_kernel(), trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* C (M, N) = alpha * bf16(op(A)) (M, K) @ bf16(op(B)) (K, N) + beta * C: both operands f32, rounded at the
   product's input (weight gradients in bf16 training) */
static void matmul_ab_kernel(int kernel, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                             const float *B, int ldb, float beta, float *C, int ldc) {
    if (kernel == CPU_BF16_AMX) {
        cpu_bf16x86_amx_ab(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (kernel == CPU_BF16_DPBF16) {
        cpu_bf16x86_dp_ab(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* op(A) and op(B) rounded into packed copies, then sgemm: exactly bf16 x bf16 products */
    float *Ar = xmalloc(sizeof(float) * (size_t)M * K), *Br = xmalloc(sizeof(float) * (size_t)K * N);
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) Ar[(size_t)i * K + k] = bf16_round(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]);
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) Br[(size_t)k * N + j] = bf16_round(tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
    cpu_matmul(0, 0, M, N, K, alpha, Ar, K, Br, N, beta, C, ldc);
    free(Ar), free(Br);
}

void cpu_matmul_bf16_ab(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
        return;
    }
    matmul_ab_kernel(bf16_kernel(), trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* ---- dispatch ---- */

static const char *const kernel_names[CPU_BF16_KERNELS] = {"widen", "avx512", "dpbf16", "amx"};

/* max |x - ref| / max |ref|, infinite when x has a NaN */
static double rel_err(const float *x, const float *ref, int n) {
    double mx = 0, err = 0;
    for (int i = 0; i < n; i++) {
        mx = fmax(mx, fabs(ref[i]));
        err = x[i] == x[i] ? fmax(err, fabs(x[i] - ref[i])) : INFINITY;
    }
    return err / (mx > 0 ? mx : 1);
}

/* Worst relative error of kernel against widen over shapes that reach every branch (few rows and many, both
   layouts, K and N off the tile sizes, beta 0 and 1). */
static double kernel_check(int kernel) {
    static const int shapes[][3] = {{1, 70, 45}, {5, 33, 64}, {37, 50, 70}, {64, 96, 128}, {20, 17, 31}};
    double worst = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int tb = 0; tb < 2; tb++) {
            int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], ldb = tb ? K : N;
            float *A = xmalloc(sizeof(float) * (size_t)M * K), *C1 = xmalloc(sizeof(float) * (size_t)M * N),
                  *C2 = xmalloc(sizeof(float) * (size_t)M * N);
            uint16_t *B = xmalloc(sizeof(uint16_t) * (size_t)N * K);
            uint32_t x = 12345u + (uint32_t)s;
            for (int i = 0; i < M * K; i++) x = x * 1664525u + 1013904223u, A[i] = (float)(x >> 8) / 16777216.0f - 0.5f;
            for (int i = 0; i < N * K; i++)
                x = x * 1664525u + 1013904223u, B[i] = f32_to_bf16((float)(x >> 8) / 16777216.0f - 0.5f);
            for (int i = 0; i < M * N; i++) C1[i] = C2[i] = (float)(i % 5) - 2;
            float beta = (float)(s & 1);
            matmul_kernel(kernel, tb, M, N, K, 0.75f, A, K, B, ldb, beta, C1, N);
            matmul_kernel(CPU_BF16_WIDEN, tb, M, N, K, 0.75f, A, K, B, ldb, beta, C2, N);
            worst = fmax(worst, rel_err(C1, C2, M * N));
            /* both operands f32, A read transposed as a weight gradient reads it: A^T (M, K) from (K, M) */
            float *Bf = xmalloc(sizeof(float) * (size_t)N * K);
            for (int i = 0; i < N * K; i++) Bf[i] = bf16_to_f32(B[i]) * 1.5f + 1e-3f;
            for (int i = 0; i < M * N; i++) C1[i] = C2[i] = (float)(i % 3) - 1;
            matmul_ab_kernel(kernel, 1, tb, M, N, K, 0.5f, A, M, Bf, ldb, beta, C1, N);
            matmul_ab_kernel(CPU_BF16_WIDEN, 1, tb, M, N, K, 0.5f, A, M, Bf, ldb, beta, C2, N);
            worst = fmax(worst, rel_err(C1, C2, M * N));
            free(A), free(B), free(Bf), free(C1), free(C2);
        }
    return worst;
}

static int g_kernel = -1, g_best;
static char g_info[200];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void info_set(void) {
    const char *widen = __builtin_cpu_supports("avx512f") ? "widen-in-register AVX-512 + sgemm panels"
                        : __builtin_cpu_supports("avx2")  ? "widen-in-register AVX2 + sgemm panels"
                                                          : "widen + sgemm panels";
    const char *how = g_kernel == CPU_BF16_AMX      ? "AMX-BF16 tiles, AVX-512 for 1-3 rows"
                      : g_kernel == CPU_BF16_DPBF16 ? "AVX-512 BF16 dot products (vdpbf16ps)"
                      : g_kernel == CPU_BF16_AVX512 ? "AVX-512 for few rows, widen + sgemm panels otherwise"
                                                    : widen;
    snprintf(g_info, sizeof g_info, "bf16 kernel %s: %s (CPU best: %s)", kernel_names[g_kernel], how,
             kernel_names[g_best]);
}

static void kernel_init(void) {
    __builtin_cpu_init();
    g_best = CPU_BF16_WIDEN;
    for (int k = CPU_BF16_AVX512; k < CPU_BF16_KERNELS; k++)
        if (cpu_bf16x86_supported(k)) {
            double err = kernel_check(k);
            if (err < 1e-5) g_best = k;
            else
                fprintf(stderr, "[pure] warning: the %s bf16 kernel disagrees with the widening one (rel err %.3g); "
                                "not using it\n", kernel_names[k], err);
        }
    g_kernel = g_best;
    info_set();
}

static int bf16_kernel(void) {
    pthread_once(&g_once, kernel_init);
    return g_kernel;
}

int cpu_bf16_kernel(void) { return bf16_kernel(); }

/* matmul_kernel above: AMX and vdpbf16ps pack A as bf16 (Mp x Kp), the others round it into f32 (M x K) */
size_t cpu_bf16_operand_bytes(void) {
    int k = bf16_kernel();
    return k == CPU_BF16_AMX || k == CPU_BF16_DPBF16 ? 2 : 4;
}

int cpu_bf16_set_kernel(const char *name, char *msg, size_t msg_size) {
    bf16_kernel();
    int k = -1;
    for (int i = 0; i < CPU_BF16_KERNELS; i++)
        if (!strcmp(name, kernel_names[i])) k = i;
    if (k < 0) {
        snprintf(msg, msg_size, "bf16 kernel '%.40s%s': expected widen, avx512, dpbf16 or amx", name,
                 strlen(name) > 40 ? "..." : "");
        return -1;
    }
    if (k > g_best) {
        snprintf(msg, msg_size, "bf16 kernel '%s': this CPU %s (best here: %s)", name,
                 cpu_bf16x86_supported(k) ? "has it, but it failed its check against widen" : "does not have it",
                 kernel_names[g_best]);
        return -1;
    }
    g_kernel = k;
    info_set();
    return 0;
}

const char *cpu_bf16_info(void) {
    bf16_kernel();
    return g_info;
}
