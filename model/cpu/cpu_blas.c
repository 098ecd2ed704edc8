/* cpu_blas.c - matrix products through OpenBLAS, a plain reference loop, and
 * the start-up check that the BLAS kernels in use compute correct results.
 *
 * Debian's OpenBLAS may pick slow "Prescott" kernels on AVX-512 cores; the
 * fix (OPENBLAS_CORETYPE chosen before the library loads) lives in
 * model/runtime.c. Here we only report what was chosen and verify it.
 */
#include "cpu.h"
#include "cpu_simd.h"
#include "cpu_skinny.h"
#include "cpu_x86.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#pragma GCC optimize("O3")

char *openblas_get_corename(void);
char *openblas_get_config(void);

static int g_use_ref;

typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc, split_rows, block;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int native; /* few rows: the hand-written AVX-512 kernel (chosen by the caller, outside the pool's tasks) */
} GemmCtx;

/* One block of rows or columns of C, computed by a single-threaded sgemm. */
static void gemm_task(void *vc, int t) {
    GemmCtx *g = vc;
    int lo = t * g->block, M = g->M, N = g->N;
    const float *A = g->A, *B = g->B;
    float *C = g->C;
    if (g->split_rows) {
        M = M - lo < g->block ? M - lo : g->block;
        A += g->ta ? (size_t)lo : (size_t)lo * g->lda;
        C += (size_t)lo * g->ldc;
    } else {
        N = N - lo < g->block ? N - lo : g->block;
        B += g->tb ? (size_t)lo * g->ldb : (size_t)lo;
        C += lo;
    }
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, M, N, g->K,
                g->alpha, A, g->lda, B, g->ldb, g->beta, C, g->ldc);
}

/* Few rows times a transposed weight (decoding): cpu_skinny.h. */
#define WIDEN_F32(x) (x)
SKINNY_ROWS_FN(skinny_rows_f32, float, WIDEN_F32)
SKINNY_CLONES static void skinny_task(void *vc, int t) {
    GemmCtx *g = vc;
    if (g->native) { /* the hand-written AVX-512 kernel (cpu_x86.c): 16 FMA chains and a prefetch ahead */
        int j0 = t * SKINNY_COLS, j1 = j0 + SKINNY_COLS < g->N ? j0 + SKINNY_COLS : g->N;
        cpu_x86_skinny_f32(g->A, g->lda, g->M, g->K, g->B, g->ldb, j0, j1, g->C, g->ldc, g->alpha, g->beta);
        return;
    }
    SKINNY_TASK_BODY(skinny_rows_f32, 1, g->B, g->ldb, g->A, (size_t)g->lda, g->M, g->N, g->K, g->C, (size_t)g->ldc,
                     g->alpha, g->beta, t);
}

/* OpenBLAS runs single-threaded inside our pool: its own threads would spin
 * (sched_yield) against ours on a small machine. Blocks of C are fixed by the
 * shape alone (never by the thread count), and each element's sum over K is
 * computed the same way in any block, so results do not depend on threads. */
void cpu_matmul(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* C = beta * C */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
        return;
    }
    if (g_use_ref) {
        cpu_matmul_ref(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    GemmCtx g = {trans_a, trans_b, M, N, K, lda, ldb, ldc, M >= N, 0, alpha, beta, A, B, C};
    if (!trans_a && trans_b && M <= SKINNY_M && N >= 256) {
        g.native = cpu_bf16_kernel() >= CPU_BF16_AVX512;
        cpu_parallel_for(cpu_nblocks(N, SKINNY_COLS), skinny_task, &g);
        return;
    }
    double work = (double)M * N * K;
    int dim = g.split_rows ? M : N;
    g.block = work < (1 << 21) ? dim : g.split_rows ? 128 : 512;
    cpu_parallel_for(cpu_nblocks(dim, g.block), gemm_task, &g);
}

void cpu_matmul_ref(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += (double)a * b;
            }
            float *c = &C[(size_t)i * ldc + j];
            *c = (float)(alpha * s + (beta == 0 ? 0.0 : (double)beta * *c));
        }
}

/* ---- start-up verification ---- */

static char g_info[512];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* Compares BLAS with the reference on shapes that exercise every transpose
 * combination and edge tiles; returns the largest error relative to the
 * largest reference value. */
static double verify_sgemm(void) {
    enum { M = 67, N = 45, K = 91 };
    float *A = xmalloc(sizeof(float) * M * K), *B = xmalloc(sizeof(float) * K * N);
    float *C1 = xmalloc(sizeof(float) * M * N), *C2 = xmalloc(sizeof(float) * M * N);
    uint32_t x = 12345;
    for (int i = 0; i < M * K; i++) A[i] = (float)((x = x * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (int i = 0; i < K * N; i++) B[i] = (float)((x = x * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    double worst = 0;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = ta ? M : K, ldb = tb ? K : N;
            for (int i = 0; i < M * N; i++) C1[i] = C2[i] = (float)(i % 7) - 3.0f;
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 0.5f,
                        A, lda, B, ldb, 1.0f, C1, N);
            cpu_matmul_ref(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 1.0f, C2, N);
            double mx = 0, err = 0;
            for (int i = 0; i < M * N; i++) {
                mx = fmax(mx, fabs(C2[i]));
                err = fmax(err, fabs(C1[i] - C2[i]));
                if (C1[i] != C1[i]) err = INFINITY;
            }
            worst = fmax(worst, err / (mx > 0 ? mx : 1));
        }
    free(A), free(B), free(C1), free(C2);
    return worst;
}

static void info_init(void) {
    double err = verify_sgemm();
    const char *core = openblas_get_corename();
    const char *env = getenv("OPENBLAS_CORETYPE");
    snprintf(g_info, sizeof g_info, "OpenBLAS sgemm (core %s%s%s, %s), %d threads, sgemm check %s (rel err %.1e); %s",
             core ? core : "?", env ? ", OPENBLAS_CORETYPE=" : "", env ? env : "", openblas_get_config(),
             cpu_threads(), err < 1e-5 ? "ok" : "FAILED", err, cpu_bf16_info());
    if (!(err < 1e-5)) {
        /* wrong kernels must never train a model: fall back to the plain loop */
        g_use_ref = 1;
        fprintf(stderr, "[pure] warning: OpenBLAS sgemm gives wrong results (rel err %.3g); using the plain loop\n",
                err);
    }
}

const char *cpu_kernel_info(void) {
    pthread_once(&g_once, info_init);
    return g_info;
}
