/* cpu_x86.c - hand-written x86 product kernels, chosen at run time where the CPU has the instructions (what this
 * CPU allows: cpu_bf16x86_supported), and the few-rows ones (decoding, at most 16 rows of A against a transposed
 * weight, where the weights' memory traffic is the cost and nothing is worth packing):
 *  - bf16 weights widened in registers by a shift and a mask into f32 FMAs (the avx512 kernel, and the amx
 *    kernel's 1-3 rows: below, why not vdpbf16ps there);
 *  - bf16 weights against bf16 activations on vdpbf16ps (the dpbf16 kernel, where it issues as fast as an FMA);
 *  - f32 weights (cpu_blas.c's decoding products).
 * The large bf16 products are cpu_x86_amx.c (AMX tiles) and cpu_x86_dp.c (vdpbf16ps); what they share,
 * cpu_x86_pack.h. All take the operands already as bf16 values, so they compute what cpu_bf16.c's widening
 * kernels compute: exact bf16 x bf16 products summed in f32. Only the order of the sums differs, and the hardware
 * flushes denormal inputs and results to zero (no model value is that small). Each element of C is summed the
 * same way whatever the thread count and whatever rows or columns share its task, so results are reproducible on
 * one machine (tests/model/test_model_bf16.c checks every kernel against cpu_matmul_ref and for the same bits at 1
 * and 2 threads and for rows alone against their group).
 */
#include "cpu.h"
#include "cpu_x86.h"
#include "cpu_x86_pack.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/bf16.h"

#ifdef PURE_X86_BF16
#include <cpuid.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* the layout of A for cpu_bf16x86_skinny (plain C: it is only data movement) */
void cpu_bf16x86_skinny_pack(float *Ae, const float *A, int lda, int M, int K) {
    size_t ld = (size_t)(K + 31) / 32 * 32;
    for (int i = 0; i < M; i++) {
        float *d = Ae + (size_t)i * ld;
        const float *a = A + (size_t)i * lda;
        for (size_t k0 = 0; k0 < ld; k0 += 32)
            for (int u = 0; u < 16; u++) {
                size_t ke = k0 + 2 * (size_t)u, ko = ke + 1;
                d[k0 + u] = ke < (size_t)K ? bf16_round(a[ke]) : 0.0f;
                d[k0 + 16 + u] = ko < (size_t)K ? bf16_round(a[ko]) : 0.0f;
            }
    }
}

#ifdef PURE_X86_BF16

/* ---- what this CPU and kernel allow ---- */

#define ARCH_REQ_XCOMP_PERM 0x1023 /* Linux: ask for an extended state component */
#define XFEATURE_XTILEDATA 18      /* AMX's tile data */

static int g_dp, g_bf16, g_amx;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void detect(void) {
    __builtin_cpu_init();
    g_dp = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
    /* AMX also needs the kernel to grant this process the 8 KB tile state (Linux 5.16+); a refusal means the
       CPU's AMX is not ours to use */
    /* cpuid leaf 7 directly: clang's __builtin_cpu_supports does not know the AMX names. Subleaf 0 EDX bits 22
       and 24: AMX-BF16, AMX-TILE; subleaf 1 EAX bit 5: AVX-512 BF16 (the packing's conversions) */
    unsigned a0 = 0, b0 = 0, c0 = 0, d0 = 0, a1 = 0, b1 = 0, c1 = 0, d1 = 0;
    int leaf7 = __get_cpuid_count(7, 0, &a0, &b0, &c0, &d0) && __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1);
    g_bf16 = g_dp && leaf7 && (a1 >> 5 & 1);
    int amx_cpu = g_bf16 && (d0 >> 22 & 1) && (d0 >> 24 & 1);
    g_amx = g_dp && amx_cpu && syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

int cpu_bf16x86_supported(int kernel) {
    pthread_once(&g_once, detect);
    return kernel == CPU_BF16_AVX512 ? g_dp : kernel == CPU_BF16_DPBF16 ? g_bf16 : kernel == CPU_BF16_AMX ? g_amx : 0;
}

/* ---- few rows: AVX-512 ---- */

/* Few rows. vdpbf16ps would multiply bf16 pairs directly, but on Sapphire Rapids it issues once per ~2.5 cycles
 * (measured: 0.82 ns, against 0.19 ns for an f32 FMA), which made 8-row decoding compute-bound. So the weights are
 * widened instead, with one instruction per 16 values and no shuffle: of a 64-byte block of 32 bf16, a shift left
 * by 16 gives the even elements as f32 and a mask the odd ones. A is laid out to match once per call (Ae: each
 * 32-column block as its 16 even then its 16 odd columns, rounded to bf16 values, zero past K), and every output
 * is two FMA chains' worth of lanes: acc = fma(a_even, w_even, acc), then fma(a_odd, w_odd, acc), in k order.
 *
 * out[r][q] = sum over k of A row r . W row q, for R rows and Q weight rows (constants at each call, so the loops
 * unroll): each (r, q) has its own accumulator and the same operations whatever R and Q are, so an element's
 * bits do not depend on its neighbours, and the R x Q chains hide the FMA latency. */
#define PREFETCH 2048 /* bf16 elements (4 KB) ahead, in each weight row */
/* stmt for every accumulator (r < R, q < Q), unrolled */
#define FOR_RQ(stmt)                                                                                          \
    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) _Pragma("GCC unroll 4") for (int q = 0; q < Q; q++) stmt

TARGET_512 static inline __attribute__((always_inline)) void dot_block(const float *ae, size_t lda, int R,
                                                                       const uint16_t *w, size_t ldw, int Q, int K,
                                                                       float out[8][4]) {
    const __m512i odd = _mm512_set1_epi32((int)0xffff0000u);
    __m512 acc[8][4];
    FOR_RQ(acc[r][q] = _mm512_setzero_ps());
    for (int k = 0; k < K; k += 32) {
        __m512 we[4], wo[4];
        __mmask32 m = K - k >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1ull << (K - k)) - 1);
#pragma GCC unroll 4
        for (int q = 0; q < Q; q++) {
            /* the hardware prefetcher falls behind once 8 rows of work slow the stream down (8-sequence decoding
               read weights at 3-6 GB/s); a prefetch 4 KB ahead keeps the loads from waiting on memory (1 KB was
               measured 15-30% slower at 8 rows, in bf16 and f32; 8 KB no better) */
            _mm_prefetch((const char *)(w + q * ldw + k + PREFETCH), _MM_HINT_T0);
            __m512i v = _mm512_maskz_loadu_epi16(m, w + q * ldw + k);
            we[q] = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
            wo[q] = _mm512_castsi512_ps(_mm512_and_si512(v, odd));
        }
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512 a0 = _mm512_loadu_ps(ae + r * lda + k), a1 = _mm512_loadu_ps(ae + r * lda + k + 16);
#pragma GCC unroll 4
            for (int q = 0; q < Q; q++) acc[r][q] = _mm512_fmadd_ps(a1, wo[q], _mm512_fmadd_ps(a0, we[q], acc[r][q]));
        }
    }
    FOR_RQ(out[r][q] = _mm512_reduce_add_ps(acc[r][q]));
}

/* rows [i0, i0 + R) of A against W rows [j, j + Q), written into C */
TARGET_512 static inline __attribute__((always_inline)) void skinny_block(const float *Ae, size_t lda, int i0, int R,
                                                                          int K, const uint16_t *W, int ldw, int j,
                                                                          int Q, float *C, int ldc, float alpha,
                                                                          float beta) {
    float out[8][4];
    dot_block(Ae + (size_t)i0 * lda, lda, R, W + (size_t)j * ldw, (size_t)ldw, Q, K, out);
    for (int r = 0; r < R; r++)
        for (int q = 0; q < Q; q++) {
            float *o = C + (size_t)(i0 + r) * ldc + j + q;
            *o = alpha * out[r][q] + (beta == 0 ? 0.0f : beta * *o);
        }
}

/* all M rows of X against W rows [j, j + Q) through BLOCK (skinny_block or skinny_block_f32), 8, 4 and 1-3 rows
   at a time */
#define SKINNY_ROWS(BLOCK, X, Q)                                                                              \
    do {                                                                                                      \
        int i0 = 0;                                                                                           \
        for (; i0 + 8 <= M; i0 += 8) BLOCK(X, lda, i0, 8, K, W, ldw, j, Q, C, ldc, alpha, beta);              \
        if (M - i0 >= 4) BLOCK(X, lda, i0, 4, K, W, ldw, j, Q, C, ldc, alpha, beta), i0 += 4;                 \
        switch (M - i0) {                                                                                     \
        case 3: BLOCK(X, lda, i0, 3, K, W, ldw, j, Q, C, ldc, alpha, beta); break;                            \
        case 2: BLOCK(X, lda, i0, 2, K, W, ldw, j, Q, C, ldc, alpha, beta); break;                            \
        case 1: BLOCK(X, lda, i0, 1, K, W, ldw, j, Q, C, ldc, alpha, beta); break;                            \
        }                                                                                                     \
    } while (0)

/* columns [j0, j1): 4 weight rows at a time against up to 4 rows of X, 2 against 8 or more (registers: 16
   accumulators + the weights); each weight row is read from memory once */
#define SKINNY_COLUMNS(BLOCK, X)                                                                              \
    do {                                                                                                      \
        int j = j0;                                                                                           \
        if (M >= 8)                                                                                           \
            for (; j + 2 <= j1; j += 2) SKINNY_ROWS(BLOCK, X, 2);                                             \
        else                                                                                                  \
            for (; j + 4 <= j1; j += 4) SKINNY_ROWS(BLOCK, X, 4);                                             \
        for (; j < j1; j++) SKINNY_ROWS(BLOCK, X, 1);                                                         \
    } while (0)

TARGET_512 void cpu_bf16x86_skinny(const float *Ae, int M, int K, const uint16_t *W, int ldw, int j0, int j1,
                                  float *C, int ldc, float alpha, float beta) {
    size_t lda = (size_t)(K + 31) / 32 * 32;
    SKINNY_COLUMNS(skinny_block, Ae);
}

/* ---- few rows: AVX-512 BF16 (the dpbf16 kernel) ----
 * Where vdpbf16ps issues as fast as an FMA (AMD Zen 4 and 5), it does the work of two FMAs and needs no widening:
 * 32 bf16 weights a load, met by 32 bf16 activations (A's rows packed once per call, zero past K), 16 lanes of
 * sums per (row, weight row), summed across lanes at the end. On Zen 5, 8-row decoding was compute-bound on the
 * FMA kernel (docs/performance.md). */

/* Ab (M, K rounded up to 32) = A as bf16, zero past K: the layout cpu_bf16x86_skinny_dp reads */
TARGET_DP void cpu_bf16x86_rows_pack(uint16_t *Ab, const float *A, int lda, int M, int K) {
    rows_to_bf16(Ab, (K + 31) / 32 * 32, A, lda, M, K);
}

TARGET_DP static inline __attribute__((always_inline)) void dot_block_dp(const uint16_t *ab, size_t lda, int R,
                                                                         const uint16_t *w, size_t ldw, int Q,
                                                                         int K, float out[8][4]) {
    __m512 acc[8][4];
    FOR_RQ(acc[r][q] = _mm512_setzero_ps());
    for (int k = 0; k < K; k += 32) {
        __m512bh wv[4];
        __mmask32 m = K - k >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1ull << (K - k)) - 1);
#pragma GCC unroll 4
        for (int q = 0; q < Q; q++) {
            /* the weight rows of the next two groups (a group reads Q rows at once, each read once) */
            _mm_prefetch((const char *)(w + (q + Q) * ldw + k), _MM_HINT_T0);
            _mm_prefetch((const char *)(w + (q + 2 * Q) * ldw + k), _MM_HINT_T0);
            wv[q] = (__m512bh)_mm512_maskz_loadu_epi16(m, w + q * ldw + k);
        }
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512bh av = (__m512bh)_mm512_loadu_si512(ab + r * lda + k);
#pragma GCC unroll 4
            for (int q = 0; q < Q; q++) acc[r][q] = _mm512_dpbf16_ps(acc[r][q], av, wv[q]);
        }
    }
    FOR_RQ(out[r][q] = _mm512_reduce_add_ps(acc[r][q]));
}

TARGET_DP static inline __attribute__((always_inline)) void skinny_block_dp(const uint16_t *Ab, size_t lda, int i0,
                                                                             int R, int K, const uint16_t *W,
                                                                             int ldw, int j, int Q, float *C,
                                                                             int ldc, float alpha, float beta) {
    float out[8][4];
    dot_block_dp(Ab + (size_t)i0 * lda, lda, R, W + (size_t)j * ldw, (size_t)ldw, Q, K, out);
    for (int r = 0; r < R; r++)
        for (int q = 0; q < Q; q++) {
            float *o = C + (size_t)(i0 + r) * ldc + j + q;
            *o = alpha * out[r][q] + (beta == 0 ? 0.0f : beta * *o);
        }
}

TARGET_DP void cpu_bf16x86_skinny_dp(const uint16_t *Ab, int M, int K, const uint16_t *W, int ldw, int j0, int j1,
                                     float *C, int ldc, float alpha, float beta) {
    size_t lda = (size_t)(K + 31) / 32 * 32;
    if (M == 1) { /* one weight row at a time: one stream to memory (groups of 4 rows streamed 20% slower) */
        for (int j = j0; j < j1; j++) skinny_block_dp(Ab, lda, 0, 1, K, W, ldw, j, 1, C, ldc, alpha, beta);
        return;
    }
    SKINNY_COLUMNS(skinny_block_dp, Ab);
}

/* ---- few rows in f32 (cpu_blas.c's decoding products) ---- */

/* As dot_block, for f32 weights: 16 columns a step, no widening. With 8 or more rows (Q = 2) each weight byte meets
 * 8x the arithmetic, so the loads come slower and the next rows' prefetch (dot_block's) arrives too late under two
 * threads' memory traffic; there each weight row is prefetched 8 KB ahead of its own loads, into L2 (the L1 fill
 * buffers stay free for the loads). A microbenchmark of one product at 8 rows, f32 weights from memory, 2 threads
 * (medians of 25 interleaved runs, GB/s): 4864 x 896 10.4 -> 12.0, 896 x 4864 9.6 -> 9.3 and 6.8 -> 7.7 (two
 * runs), the 151,936 x 896 head 10.7 -> 12.8; for 1 and 4 rows it was no faster, so they keep dot_block's. */
TARGET_512 static inline __attribute__((always_inline)) void dot_block_f32(const float *a, size_t lda, int R,
                                                                           const float *w, size_t ldw, int Q, int K,
                                                                           float out[8][4]) {
    __m512 acc[8][4];
    FOR_RQ(acc[r][q] = _mm512_setzero_ps());
    for (int k = 0; k < K; k += 16) {
        __m512 wv[4];
        __mmask16 m = K - k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (K - k)) - 1);
#pragma GCC unroll 4
        for (int q = 0; q < Q; q++) {
            if (Q == 2) {
                _mm_prefetch((const char *)(w + q * ldw + k + 2048), _MM_HINT_T1);
            } else {
                _mm_prefetch((const char *)(w + (q + Q) * ldw + k), _MM_HINT_T0);
                _mm_prefetch((const char *)(w + (q + 2 * Q) * ldw + k), _MM_HINT_T0);
            }
            wv[q] = _mm512_maskz_loadu_ps(m, w + q * ldw + k);
        }
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512 av = _mm512_maskz_loadu_ps(m, a + r * lda + k);
#pragma GCC unroll 4
            for (int q = 0; q < Q; q++) acc[r][q] = _mm512_fmadd_ps(av, wv[q], acc[r][q]);
        }
    }
    FOR_RQ(out[r][q] = _mm512_reduce_add_ps(acc[r][q]));
}

TARGET_512 static inline __attribute__((always_inline)) void skinny_block_f32(const float *A, size_t lda, int i0,
                                                                              int R, int K, const float *W, int ldw,
                                                                              int j, int Q, float *C, int ldc,
                                                                              float alpha, float beta) {
    float out[8][4];
    dot_block_f32(A + (size_t)i0 * lda, lda, R, W + (size_t)j * ldw, (size_t)ldw, Q, K, out);
    for (int r = 0; r < R; r++)
        for (int q = 0; q < Q; q++) {
            float *o = C + (size_t)(i0 + r) * ldc + j + q;
            *o = alpha * out[r][q] + (beta == 0 ? 0.0f : beta * *o);
        }
}

TARGET_512 void cpu_x86_skinny_f32(const float *A, int lda_, int M, int K, const float *W, int ldw, int j0, int j1,
                                   float *C, int ldc, float alpha, float beta) {
    size_t lda = (size_t)lda_;
    if (M == 1) { /* as cpu_bf16x86_skinny_dp */
        for (int j = j0; j < j1; j++) skinny_block_f32(A, lda, 0, 1, K, W, ldw, j, 1, C, ldc, alpha, beta);
        return;
    }
    SKINNY_COLUMNS(skinny_block_f32, A);
}

#else /* not x86-64 with GCC or clang: nothing native */

int cpu_bf16x86_supported(int kernel) {
    (void)kernel;
    return 0;
}

void cpu_bf16x86_skinny(const float *Ae, int M, int K, const uint16_t *W, int ldw, int j0, int j1, float *C,
                        int ldc, float alpha, float beta) {
    (void)Ae, (void)M, (void)K, (void)W, (void)ldw, (void)j0, (void)j1, (void)C, (void)ldc, (void)alpha, (void)beta;
    abort(); /* unreachable: cpu_bf16.c selects these only where supported */
}

void cpu_bf16x86_rows_pack(uint16_t *Ab, const float *A, int lda, int M, int K) {
    (void)Ab, (void)A, (void)lda, (void)M, (void)K;
    abort();
}

void cpu_bf16x86_skinny_dp(const uint16_t *Ab, int M, int K, const uint16_t *W, int ldw, int j0, int j1, float *C,
                           int ldc, float alpha, float beta) {
    (void)Ab, (void)M, (void)K, (void)W, (void)ldw, (void)j0, (void)j1, (void)C, (void)ldc, (void)alpha, (void)beta;
    abort();
}

void cpu_x86_skinny_f32(const float *A, int lda, int M, int K, const float *W, int ldw, int j0, int j1, float *C,
                        int ldc, float alpha, float beta) {
    (void)A, (void)lda, (void)M, (void)K, (void)W, (void)ldw, (void)j0, (void)j1, (void)C, (void)ldc, (void)alpha;
    (void)beta;
    abort();
}

#endif
