/* cpu_x86.c - hand-written x86 product kernels, chosen at run time where the CPU has the instructions:
 * the bf16 products of cpu_bf16.c, and the f32 few-rows product of cpu_blas.c (at the end). For bf16:
 *  - AVX-512 for few rows (decoding), where the weights' memory traffic is the cost and nothing is worth
 *    packing: bf16 weights widened in registers by a shift and a mask, f32 FMAs (below: why not vdpbf16ps);
 *    the only few-rows kernel without AMX, and with it the one for 1-3 rows;
 *  - AMX-BF16 (tdpbf16ps: a 16 x 16 f32 tile += a 16 x 32 bf16 tile times a 32 x 16 one) for the rest
 *    (training, prefill, scoring, and decoding of 4-16 rows, where the FMA kernel is compute-bound).
 * Both take the operands already as bf16 values, so they compute what cpu_bf16.c's widening kernels compute:
 * exact bf16 x bf16 products summed in f32. Only the order of the sums differs, and the hardware flushes
 * denormal inputs and results to zero (no model value is that small). Each element of C is summed the same
 * way whatever the thread count and whatever rows or columns share its task, so results are reproducible on
 * one machine (tests/model/test_model_bf16.c checks both kernels against cpu_matmul_ref and for the same bits
 * at 1 and 2 threads).
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

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/bf16.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define PURE_X86_BF16 1
#include <cpuid.h>
#include <immintrin.h>
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

/* ---- A rounded to bf16 ---- */

#define TARGET_DP __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define TARGET_512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define TARGET_AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))

/* 16 f32 -> 16 bf16 by vcvtneps2bf16: round to nearest even, NaN kept quiet, as f32_to_bf16 (denormal inputs
   become 0, which the products would make of them anyway) */
TARGET_DP static inline __m256i cvt16(__m512 x) { return (__m256i)_mm512_cvtneps_pbh(x); }

/* dst (rows, ldd) = bf16(A (rows, K) with leading dimension lda), zero in columns [K, ldd) */
TARGET_DP static void rows_to_bf16(uint16_t *dst, int ldd, const float *A, int lda, int rows, int K) {
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

/* As dot_block, for f32 weights: 16 columns a step, no widening. */
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
            _mm_prefetch((const char *)(w + (q + Q) * ldw + k), _MM_HINT_T0);
            _mm_prefetch((const char *)(w + (q + 2 * Q) * ldw + k), _MM_HINT_T0);
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

/* ---- AMX ---- */

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

typedef struct {
    int trans_b, M, N, K, Mp, Kp, np;
    float alpha, beta;
    const uint16_t *Ap; /* trans_b: A^T's pairs (Mp / 16 tiles of (Kp / 2, 16, 2)); else A's bf16 rows (Mp, Kp) */
    const uint16_t *B; /* bf16 B, or NULL when Bf is the f32 one */
    const float *Bf;   /* f32 B (rounded to bf16 when packed), B[k][j] at Bf[tbf ? j * ldb + k : k * ldb + j] */
    int tbf, ldb;
    float *C;
    int ldc;
} AmxGemm;

/* C block rows [i0, i0 + 16), columns [j0, j0 + 16) from one 16 x 16 result tile t (t[r][c] is C[i0 + c][j0 + r]
   when transposed): C = alpha * t + beta * C on the part inside C */
TARGET_DP static void tile_store(const AmxGemm *g, const float *t, int transposed, int i0, int j0) {
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
TARGET_AMX static void block_store(const AmxGemm *g, float *buf, int transposed, int r0, int c0) {
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
TARGET_AMX static void block_store_few(const AmxGemm *g, float *buf, int r0) {
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
    AmxGemm *g = vc;
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
    AmxGemm *g = vc;
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

typedef struct {
    uint16_t *Ap;
    const float *A; /* op(A)[i][k] at A[ta ? k * lda + i : i * lda + k] */
    int ta, lda, M, K, Mp, Kp, pairs;
} PackCtx;

static inline uint16_t pack_at(const PackCtx *c, int i, int k) {
    return f32_to_bf16(c->ta ? c->A[(size_t)k * c->lda + i] : c->A[(size_t)i * c->lda + k]);
}

/* rows [16 t, 16 t + 16) of op(A): as bf16 rows (Mp, Kp), or as A^T's pairs for tile t (Kp / 2, 16, 2) */
TARGET_DP static void pack_a_task(void *vc, int t) {
    PackCtx *c = vc;
    int i0 = t * 16, rows = c->M - i0 < 16 ? (c->M - i0 > 0 ? c->M - i0 : 0) : 16, K = c->K, Kp = c->Kp;
    const __m256i zero = _mm256_setzero_si256();
    if (!c->pairs && !c->ta) {
        rows_to_bf16(c->Ap + (size_t)i0 * Kp, Kp, c->A + (size_t)i0 * c->lda, c->lda, rows, K);
        memset(c->Ap + (size_t)(i0 + rows) * Kp, 0, sizeof(uint16_t) * (size_t)(16 - rows) * Kp);
        return;
    }
    if (!c->pairs && rows == 16) {
        /* rows of op(A) are 16 columns of A (K, M): pairs of A's rows side by side, then transposed */
        uint16_t *d = c->Ap + (size_t)i0 * Kp;
        for (int k0 = 0; k0 < Kp; k0 += 32) {
            __m512i r[16];
            for (int p = 0; p < 16; p++) {
                int k = k0 + 2 * p;
                __m256i lo = k < K ? cvt16(_mm512_loadu_ps(c->A + (size_t)k * c->lda + i0)) : zero;
                __m256i hi = k + 1 < K ? cvt16(_mm512_loadu_ps(c->A + (size_t)(k + 1) * c->lda + i0)) : zero;
                r[p] = pair16(lo, hi);
            }
            transpose16(r);
            for (int m = 0; m < 16; m++) _mm512_storeu_si512(d + (size_t)m * Kp + k0, r[m]);
        }
        return;
    }
    if (!c->pairs) { /* the last, partial tile of a transposed A */
        for (int m = 0; m < 16; m++) {
            uint16_t *d = c->Ap + (size_t)(i0 + m) * Kp;
            for (int k = 0; k < Kp; k++) d[k] = m < rows && k < K ? pack_at(c, i0 + m, k) : 0;
        }
        return;
    }
    /* A^T's pairs: each row's 32 bf16 of a k block as 16 pairs, transposed so a row holds one pair of every row */
    uint16_t *d = c->Ap + (size_t)t * 16 * Kp;
    for (int k0 = 0; k0 < Kp; k0 += 32) {
        __m512i r[16];
        for (int m = 0; m < 16; m++) {
            int n = m < rows && k0 < K ? (K - k0 < 32 ? K - k0 : 32) : 0;
            const float *a = n > 0 ? c->A + (size_t)(i0 + m) * c->lda + k0 : c->A;
            __mmask16 m0 = (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1);
            __mmask16 m1 = (__mmask16)(n >= 32 ? 0xffff : n > 16 ? (1u << (n - 16)) - 1 : 0);
            __m256i lo = n > 0 ? cvt16(_mm512_maskz_loadu_ps(m0, a)) : zero;
            __m256i hi = n > 16 ? cvt16(_mm512_maskz_loadu_ps(m1, a + 16)) : zero;
            r[m] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        }
        transpose16(r);
        for (int p = 0; p < 16; p++) _mm512_storeu_si512(d + (size_t)(k0 / 2 + p) * 32, r[p]);
    }
}

static void amx_run(int ta, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                    const uint16_t *B, const float *Bf, int tbf, int ldb, float beta, float *C, int ldc) {
    /* trans_b with at most 16 rows: one tile of A^T's pairs (amx_wt_task's few-rows blocks) */
    int Mp = trans_b && M <= 16 ? 16 : ((M + 31) / 32) * 32, Kp = ((K + 31) / 32) * 32;
    uint16_t *Ap = xmalloc(sizeof(uint16_t) * (size_t)Mp * Kp);
    PackCtx pc = {Ap, A, ta, lda, M, K, Mp, Kp, trans_b};
    cpu_parallel_for(Mp / 16, pack_a_task, &pc);
    AmxGemm g = {trans_b, M, N, K, Mp, Kp, 0, alpha, beta, Ap, B, Bf, tbf, ldb, C, ldc};
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

/* ---- AVX-512 BF16 (vdpbf16ps): the large products of CPUs without AMX (AMD Zen 4 and 5, Intel Cooper Lake) ----
 *
 * vdpbf16ps(acc, x, y) computes acc[l] += x[2l] * y[2l] + x[2l+1] * y[2l+1] for 16 f32 lanes l: the AMX tile
 * instruction one row at a time. Its lanes here are 16 columns of C. Each task packs one panel of DP_PANEL columns
 * of op(B) as pairs (for each pair p of k, tile v of 16 columns: the 16 columns' (B[2p][j], B[2p+1][j]) side by
 * side, all tiles of a pair adjacent), and A's bf16 rows supply each pair of k of a row as one 32-bit word, which
 * the instruction broadcasts from memory. A block of DP_MR rows x DP_PANEL columns is 24 accumulators; a step of
 * one pair loads 4 vectors of B and broadcasts DP_MR words of A for 24 vdpbf16ps. Each C element is one chain in k
 * order, so its bits depend neither on its block nor on the thread count. */
#define DP_MR 6
typedef uint32_t pair_word __attribute__((may_alias));
#define DP_PANEL 64 /* columns of C per task: 4 tiles of 16 */
#define DP_AHEAD 256 /* elements ahead in each row packed */

/* 32 k of one row of op(B) or op(A) (k0.., n of them valid, the rest zero) as 32 bf16 */
TARGET_DP static inline __m512i row32(const uint16_t *b, const float *f, int n) {
    if (n <= 0) return _mm512_setzero_si512();
    __mmask32 m = n >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1ull << n) - 1);
    if (b) return _mm512_maskz_loadu_epi16(m, b);
    __mmask16 m0 = (__mmask16)m, m1 = (__mmask16)(m >> 16);
    __m256i lo = cvt16(_mm512_maskz_loadu_ps(m0, f)), hi = cvt16(_mm512_maskz_loadu_ps(m1, f + 16));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* 16 columns j0.. (nj of them valid) of B's row k as 16 bf16 (zero when k >= K) */
TARGET_DP static inline __m256i cols16(const AmxGemm *g, int k, int j0, int nj) {
    if (k >= g->K) return _mm256_setzero_si256();
    __mmask16 m = (__mmask16)(nj >= 16 ? 0xffff : (1u << nj) - 1);
    if (g->B) return _mm256_maskz_loadu_epi16(m, g->B + (size_t)k * g->ldb + j0);
    return cvt16(_mm512_maskz_loadu_ps(m, g->Bf + (size_t)k * g->ldb + j0));
}

/* Bp = the pairs of op(B)'s columns [n0, n0 + tiles * 16), zero past N and K */
TARGET_DP static void dp_pack_b(const AmxGemm *g, int n0, int tiles, uint16_t *Bp) {
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
TARGET_DP static inline __attribute__((always_inline)) void dp_block(const AmxGemm *g, const uint16_t *a, size_t lda2,
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
    AmxGemm *g = vc;
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
    cpu_parallel_for(Mp / 16, pack_a_task, &pc);
    AmxGemm g = {trans_b, M, N, K, Mp, Kp, 0, alpha, beta, Ap, B, Bf, tbf, ldb, C, ldc};
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

void cpu_x86_skinny_f32(const float *A, int lda, int M, int K, const float *W, int ldw, int j0, int j1, float *C,
                        int ldc, float alpha, float beta) {
    (void)A, (void)lda, (void)M, (void)K, (void)W, (void)ldw, (void)j0, (void)j1, (void)C, (void)ldc, (void)alpha;
    (void)beta;
    abort();
}

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

void cpu_bf16x86_rows_pack(uint16_t *Ab, const float *A, int lda, int M, int K) {
    (void)Ab, (void)A, (void)lda, (void)M, (void)K;
    abort();
}

void cpu_bf16x86_skinny_dp(const uint16_t *Ab, int M, int K, const uint16_t *W, int ldw, int j0, int j1, float *C,
                           int ldc, float alpha, float beta) {
    (void)Ab, (void)M, (void)K, (void)W, (void)ldw, (void)j0, (void)j1, (void)C, (void)ldc, (void)alpha, (void)beta;
    abort();
}

#endif
