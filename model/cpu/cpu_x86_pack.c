/* cpu_x86_pack.c - op(A) packed for the amx and dpbf16 kernels (cpu_x86_pack.h): as bf16 rows, or as the
 * pairs an AMX tile reads. */
#include "cpu_x86_pack.h"

#include <string.h>

#include "model/bf16.h"

#ifdef PURE_X86_BF16

static inline uint16_t pack_at(const PackCtx *c, int i, int k) {
    return f32_to_bf16(c->ta ? c->A[(size_t)k * c->lda + i] : c->A[(size_t)i * c->lda + k]);
}

/* rows [16 t, 16 t + 16) of op(A): as bf16 rows (Mp, Kp), or as A^T's pairs for tile t (Kp / 2, 16, 2) */
TARGET_DP void cpu_x86_pack_a_task(void *vc, int t) {
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
            r[m] = row32(NULL, n > 0 ? c->A + (size_t)(i0 + m) * c->lda + k0 : c->A, n);
        }
        transpose16(r);
        for (int p = 0; p < 16; p++) _mm512_storeu_si512(d + (size_t)(k0 / 2 + p) * 32, r[p]);
    }
}

#endif
