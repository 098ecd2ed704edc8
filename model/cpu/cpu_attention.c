/* cpu_attention.c - causal self-attention over packed sequences (forward,
 * backward) and single-row attention against a KV cache (decoding).
 *
 * Memory-light like flash attention: the forward keeps only the output and
 * the log-sum-exp per (row, head); the backward recomputes the probabilities.
 * Tasks: forward and dq over (sequence, head, block of queries); dk/dv over
 * (sequence, kv head, block of keys), looping over the query heads of the
 * group in order, so no two tasks write the same row. Keys and values are
 * copied transposed (head_dim, keys) per task so scores vectorise over keys.
 */
#include "cpu.h"
#include "model/bf16.h"
#include "cpu_simd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC optimize("O3", "no-math-errno")

#define QBLOCK 32

typedef struct {
    float *out, *lse, *dq, *dk, *dv, *D;
    const float *q, *k, *v, *dout, *o, *lse_in;
    const AttnSeqs *s;
    const AttnDims *d;
    int32_t *task_seq, *task_blk; /* task -> (sequence, block * heads + head) */
} AttnCtx;

/* Builds the task list: one per (sequence, block of QBLOCK rows, head). */
static int plan_tasks(AttnCtx *c, int heads) {
    int n = 0;
    for (int s = 0; s < c->s->n; s++) n += cpu_nblocks(c->s->len[s], QBLOCK) * heads;
    c->task_seq = xmalloc(sizeof(int32_t) * (n ? n : 1));
    c->task_blk = xmalloc(sizeof(int32_t) * (n ? n : 1));
    int t = 0;
    for (int s = 0; s < c->s->n; s++)
        for (int b = 0; b < cpu_nblocks(c->s->len[s], QBLOCK) * heads; b++) c->task_seq[t] = s, c->task_blk[t++] = b;
    return n;
}

/* dst (hd, ld) = rows [0, n) of src (row stride `stride`) transposed, columns [n, ld) zero */
CPU_INLINE void transpose_padded(float *dst, const float *src, int n, int hd, int stride, int ld) {
    for (int d = 0; d < hd; d++)
        for (int j = n; j < ld; j++) dst[(size_t)d * ld + j] = 0.0f;
    for (int j = 0; j < n; j++)
        for (int d = 0; d < hd; d++) dst[(size_t)d * ld + j] = src[(size_t)j * stride + d];
}

/* n rounded up to whole blocks of LANES: the row length of a padded transpose */
CPU_INLINE int padded(int n) { return (n + LANES - 1) / LANES * LANES; }

/* s[j] = scale * q . kt[:, j] for j < n (kt is (hd, ld)) */
CPU_INLINE void scores(float *s, const float *q, const float *kt, int n, int ld, int hd, float scale) {
    memset(s, 0, sizeof(float) * n);
    for (int d = 0; d < hd; d++) {
        const float *row = kt + (size_t)d * ld;
        float qd = q[d];
        for (int j = 0; j < n; j++) s[j] += qd * row[j];
    }
    for (int j = 0; j < n; j++) s[j] *= scale;
}

/* scores for 4 queries at once: s[r][j] = scale * q[r] . kt[:, j], j < n.
 * Blocks of 16 keys keep the 4 accumulators in registers and read each key
 * once for all 4; every score is still summed over d in order, exactly as
 * scores() does. */
CPU_INLINE void scores4(float *const s[4], const float *const q[4], const float *kt, int n, int ld, int hd,
                        float scale) {
    int j0 = 0;
    for (; j0 < n && j0 + LANES <= ld; j0 += LANES) {
        /* a last partial block reads the zero padding of kt's rows (ld: a multiple of LANES, transpose_padded)
         * and stores only its n - j0 scores: the scalar loop of scores() through memory was the hottest code of
         * the attention's forward and backward */
        float a0[LANES] = {0}, a1[LANES] = {0}, a2[LANES] = {0}, a3[LANES] = {0};
        for (int d = 0; d < hd; d++) {
            const float *r = kt + (size_t)d * ld + j0;
            float x0 = q[0][d], x1 = q[1][d], x2 = q[2][d], x3 = q[3][d];
            for (int u = 0; u < LANES; u++) {
                a0[u] += x0 * r[u], a1[u] += x1 * r[u];
                a2[u] += x2 * r[u], a3[u] += x3 * r[u];
            }
        }
        int w = n - j0 < LANES ? n - j0 : LANES;
        for (int u = 0; u < w; u++) {
            s[0][j0 + u] = a0[u] * scale, s[1][j0 + u] = a1[u] * scale;
            s[2][j0 + u] = a2[u] * scale, s[3][j0 + u] = a3[u] * scale;
        }
    }
    if (j0 < n) /* rows not padded to a whole block */
        for (int r = 0; r < 4; r++) scores(s[r] + j0, q[r], kt + j0, n - j0, ld, hd, scale);
}

/* weighted_rows for a head size known at compile time (a multiple of LANES, at most 8 LANES): all hd / LANES
 * accumulators in registers at once, so each key feeds that many independent chains instead of one (one chain at
 * a time waited on the add's latency: the prefill's attention ran at ~17 GFLOPS). Each element is still summed
 * over j in order, so the bits are those of the loop below. */
CPU_INLINE void weighted_rows_fixed(float *o, const float *init, const float *w, int n, const float *base,
                                    size_t stride, const int hd) {
    float acc[8 * LANES];
    for (int e = 0; e < hd; e++) acc[e] = init ? init[e] : 0.0f;
    for (int j = 0; j < n; j++) {
        const float *r = base + (size_t)j * stride;
        float p = w[j];
        for (int e = 0; e < hd; e++) acc[e] += p * r[e];
    }
    for (int e = 0; e < hd; e++) o[e] = acc[e];
}

/* o[e] = init[e] + sum_j w[j] * row_j[e] (rows at base + j * stride), summed
 * over j in order, 16 columns at a time in registers (a load-add-store per
 * key would chain through memory). init NULL means 0. */
CPU_INLINE void weighted_rows(float *o, const float *init, const float *w, int n, const float *base, size_t stride,
                              int hd) {
    /* the head sizes of the Qwen2 / Llama family (and the toy's) */
    switch (hd) {
    case 32: weighted_rows_fixed(o, init, w, n, base, stride, 32); return;
    case 64: weighted_rows_fixed(o, init, w, n, base, stride, 64); return;
    case 128: weighted_rows_fixed(o, init, w, n, base, stride, 128); return;
    }
    for (int e0 = 0; e0 < hd; e0 += LANES) {
        float acc[LANES];
        int width = hd - e0 < LANES ? hd - e0 : LANES;
        for (int u = 0; u < LANES; u++) acc[u] = init && u < width ? init[e0 + u] : 0.0f;
        if (width == LANES) {
            for (int j = 0; j < n; j++) {
                const float *r = base + (size_t)j * stride + e0;
                float p = w[j];
                for (int u = 0; u < LANES; u++) acc[u] += p * r[u];
            }
        } else {
            for (int j = 0; j < n; j++) {
                const float *r = base + (size_t)j * stride + e0;
                for (int u = 0; u < width; u++) acc[u] += w[j] * r[u];
            }
        }
        for (int u = 0; u < width; u++) o[e0 + u] = acc[u];
    }
}

/* acc (hd) += sum_{j0 <= j < j1} w[j] * row_j, in order (the loop of weighted_rows_fixed) */
CPU_INLINE void wr_range(float *acc, const float *w, int j0, int j1, const float *base, size_t stride, const int hd) {
    for (int j = j0; j < j1; j++) {
        const float *r = base + (size_t)j * stride;
        float p = w[j];
        for (int e = 0; e < hd; e++) acc[e] += p * r[e];
    }
}

/* Four weighted_rows at once over the same rows: o[r] = init[r] + sum_{lo[r] <= j < hi[r]} w[r][j] * row_j.
 * One output's sum is a chain of dependent adds (hd / LANES accumulators wait on the add's latency); four outputs
 * give four times the independent chains and read each row once for all four (the attention's three weighted sums
 * were a fifth of a toy training step). [L, H) = [max(lo), min(hi)) with L <= H: the part before the common range,
 * the common range, and the part after are each summed in order, so every output's bits are those of weighted_rows. */
CPU_INLINE void weighted_rows4_fixed(float *const o[4], const float *const init[4], const float *const w[4],
                                     const int lo[4], const int hi[4], int L, int H, const float *base,
                                     size_t stride, const int hd) {
    float a0[4 * LANES], a1[4 * LANES], a2[4 * LANES], a3[4 * LANES];
    float *acc[4] = {a0, a1, a2, a3};
    for (int r = 0; r < 4; r++) {
        for (int e = 0; e < hd; e++) acc[r][e] = init[r] ? init[r][e] : 0.0f;
        wr_range(acc[r], w[r], lo[r], L, base, stride, hd);
    }
    for (int j = L; j < H; j++) {
        const float *row = base + (size_t)j * stride;
        float p0 = w[0][j], p1 = w[1][j], p2 = w[2][j], p3 = w[3][j];
        for (int e = 0; e < hd; e++) {
            float x = row[e];
            a0[e] += p0 * x, a1[e] += p1 * x, a2[e] += p2 * x, a3[e] += p3 * x;
        }
    }
    for (int r = 0; r < 4; r++) {
        wr_range(acc[r], w[r], H, hi[r], base, stride, hd);
        for (int e = 0; e < hd; e++) o[r][e] = acc[r][e];
    }
}

/* weighted_rows for four outputs; 0 if the head size has no four-output path or the ranges share no rows (the
 * caller goes one by one) */
CPU_INLINE int weighted_rows4(float *const o[4], const float *const init[4], const float *const w[4],
                              const int lo[4], const int hi[4], const float *base, size_t stride, int hd) {
    int L = lo[0], H = hi[0];
    for (int r = 1; r < 4; r++) L = lo[r] > L ? lo[r] : L, H = hi[r] < H ? hi[r] : H;
    if (L > H) return 0;
    switch (hd) {
    case 32: weighted_rows4_fixed(o, init, w, lo, hi, L, H, base, stride, 32); return 1;
    case 64: weighted_rows4_fixed(o, init, w, lo, hi, L, H, base, stride, 64); return 1;
    }
    return 0;
}

/* o (hd) = softmax(s) @ V with V's rows at v0 + j * stride (j < n); s is
 * overwritten with the unnormalised weights; returns the log-sum-exp. Shared
 * by the forward and decoding so both compute a row the same way. */
/* s[0, n) = exp(s - max) (the unnormalised weights); *inv = 1 / their sum; returns the log-sum-exp */
CPU_INLINE float softmax_w(float *s, int n, float *inv) {
    float mx = cpu_max(s, n);
    for (int j = 0; j < n; j++) s[j] = cpu_expf(s[j] - mx);
    float sum = cpu_sum(s, n);
    *inv = 1.0f / sum;
    return mx + logf(sum);
}

/* o (hd) = softmax(s) @ V with V's rows at v0 + j * stride (j < n); s is
 * overwritten with the unnormalised weights; returns the log-sum-exp. Shared
 * by the forward and decoding so both compute a row the same way (the
 * forward's four-row path below does these same steps per row). */
CPU_INLINE float softmax_v(float *o, float *s, int n, const float *v0, size_t stride, int hd) {
    float inv, lse = softmax_w(s, n, &inv);
    weighted_rows(o, NULL, s, n, v0, stride, hd);
    for (int e = 0; e < hd; e++) o[e] *= inv;
    return lse;
}

CPU_CLONES static void fwd_task(void *vc, int t) {
    AttnCtx *c = vc;
    const AttnDims *d = c->d;
    int s = c->task_seq[t], h = c->task_blk[t] % d->n_heads, blk = c->task_blk[t] / d->n_heads;
    int start = c->s->start[s], len = c->s->len[s], hd = d->head_dim, kh = h / (d->n_heads / d->n_kv_heads);
    int qs = d->n_heads * hd, ks = d->n_kv_heads * hd;
    int i0 = blk * QBLOCK, i1 = i0 + QBLOCK < len ? i0 + QBLOCK : len, nk = i1;
    int ld = padded(nk);
    float *kt = xmalloc(sizeof(float) * ((size_t)hd * ld + 5 * (size_t)nk)), *sc = kt + (size_t)hd * ld;
    transpose_padded(kt, c->k + (size_t)start * ks + kh * hd, nk, hd, ks, ld);
    for (int i = i0; i < i1; i += 4) {
        /* queries i..i+3 (the missing ones of a last short group score into a spare row) */
        float *srow[4];
        const float *qrow[4];
        for (int r = 0; r < 4; r++) {
            srow[r] = sc + (size_t)(i + r < i1 ? r : 4) * nk;
            qrow[r] = c->q + (size_t)(start + (i + r < i1 ? i + r : i)) * qs + h * hd;
        }
        int n = i + 4 < i1 ? i + 4 : i1;
        scores4(srow, qrow, kt, n, ld, hd, d->scale);
        const float *v0 = c->v + (size_t)start * ks + kh * hd;
        if (i + 4 <= i1) { /* four whole rows: softmax_v's steps, the weighted sums four at a time */
            float *o[4], inv[4];
            const float *init[4] = {NULL, NULL, NULL, NULL}, *w[4];
            int lo[4] = {0, 0, 0, 0}, hi[4];
            for (int r = 0; r < 4; r++) {
                o[r] = c->out + (size_t)(start + i + r) * qs + h * hd, w[r] = srow[r], hi[r] = i + r + 1;
                c->lse[(size_t)(start + i + r) * d->n_heads + h] = softmax_w(srow[r], i + r + 1, &inv[r]);
            }
            if (!weighted_rows4(o, init, w, lo, hi, v0, ks, hd))
                for (int r = 0; r < 4; r++) weighted_rows(o[r], NULL, w[r], hi[r], v0, ks, hd);
            for (int r = 0; r < 4; r++)
                for (int e = 0; e < hd; e++) o[r][e] *= inv[r];
            continue;
        }
        for (int r = 0; r < 4 && i + r < i1; r++)
            c->lse[(size_t)(start + i + r) * d->n_heads + h] =
                softmax_v(c->out + (size_t)(start + i + r) * qs + h * hd, srow[r], i + r + 1, v0, ks, hd);
    }
    free(kt);
}

void cpu_attention(float *out, float *lse, const float *q, const float *k, const float *v, const AttnSeqs *s,
                   const AttnDims *d) {
    AttnCtx c = {.out = out, .lse = lse, .q = q, .k = k, .v = v, .s = s, .d = d};
    int n = plan_tasks(&c, d->n_heads);
    cpu_parallel_for(n, fwd_task, &c);
    free(c.task_seq), free(c.task_blk);
}

/* ---- backward ---- */

/* D[row, h] = dout . out, the softmax-backward correction term */
static void delta_task(void *vc, int t) {
    AttnCtx *c = vc;
    const AttnDims *d = c->d;
    int s = c->task_seq[t], h = c->task_blk[t] % d->n_heads, blk = c->task_blk[t] / d->n_heads;
    int start = c->s->start[s], len = c->s->len[s], hd = d->head_dim, qs = d->n_heads * hd;
    int i1 = (blk + 1) * QBLOCK < len ? (blk + 1) * QBLOCK : len;
    for (int i = blk * QBLOCK; i < i1; i++) {
        size_t r = (size_t)(start + i);
        c->D[r * d->n_heads + h] = cpu_dot16(c->dout + r * qs + h * hd, c->o + r * qs + h * hd, hd);
    }
}

/* dq_i = scale * sum_j p_ij (dout_i . v_j - D_i) k_j */
CPU_CLONES static void dq_task(void *vc, int t) {
    AttnCtx *c = vc;
    const AttnDims *d = c->d;
    int s = c->task_seq[t], h = c->task_blk[t] % d->n_heads, blk = c->task_blk[t] / d->n_heads;
    int start = c->s->start[s], len = c->s->len[s], hd = d->head_dim, kh = h / (d->n_heads / d->n_kv_heads);
    int qs = d->n_heads * hd, ks = d->n_kv_heads * hd;
    int i0 = blk * QBLOCK, i1 = i0 + QBLOCK < len ? i0 + QBLOCK : len, nk = i1;
    int ld = padded(nk);
    float *kt = xmalloc(sizeof(float) * ((size_t)2 * hd * ld + 10 * (size_t)nk)), *vt = kt + (size_t)hd * ld;
    float *pbuf = vt + (size_t)hd * ld, *dpbuf = pbuf + 5 * (size_t)nk;
    transpose_padded(kt, c->k + (size_t)start * ks + kh * hd, nk, hd, ks, ld);
    transpose_padded(vt, c->v + (size_t)start * ks + kh * hd, nk, hd, ks, ld);
    for (int i = i0; i < i1; i += 4) {
        float *prow[4], *dprow[4];
        const float *qrow[4], *grow[4];
        for (int r = 0; r < 4; r++) {
            int rr = i + r < i1 ? r : 4;
            size_t row = (size_t)(start + (i + r < i1 ? i + r : i));
            prow[r] = pbuf + rr * (size_t)nk, dprow[r] = dpbuf + rr * (size_t)nk;
            qrow[r] = c->q + row * qs + h * hd, grow[r] = c->dout + row * qs + h * hd;
        }
        int nmax = i + 4 < i1 ? i + 4 : i1;
        scores4(prow, qrow, kt, nmax, ld, hd, d->scale);
        scores4(dprow, grow, vt, nmax, ld, hd, 1.0f);
        const float *k0 = c->k + (size_t)start * ks + kh * hd;
        float *o[4];
        const float *init[4] = {NULL, NULL, NULL, NULL}, *w[4];
        int lo[4] = {0, 0, 0, 0}, hi[4], whole = i + 4 <= i1;
        for (int r = 0; r < 4 && i + r < i1; r++) {
            size_t row = (size_t)(start + i + r);
            int n = i + r + 1;
            float *p = prow[r], *dp = dprow[r];
            float lse = c->lse_in[row * d->n_heads + h], D = c->D[row * d->n_heads + h];
            for (int j = 0; j < n; j++) p[j] = cpu_expf(p[j] - lse) * (dp[j] - D) * d->scale;
            o[r] = c->dq + row * qs + h * hd, w[r] = p, hi[r] = n;
            if (!whole) weighted_rows(o[r], NULL, p, n, k0, ks, hd);
        }
        if (whole && !weighted_rows4(o, init, w, lo, hi, k0, ks, hd))
            for (int r = 0; r < 4; r++) weighted_rows(o[r], NULL, w[r], hi[r], k0, ks, hd);
    }
    free(kt);
}

/* dv_j = sum_{h in group} sum_{i>=j} p_ij dout_i ; dk_j = scale * sum p_ij (dout_i . v_j - D_i) q_i */
CPU_CLONES static void dkv_task(void *vc, int t) {
    AttnCtx *c = vc;
    const AttnDims *d = c->d;
    int s = c->task_seq[t], kh = c->task_blk[t] % d->n_kv_heads, blk = c->task_blk[t] / d->n_kv_heads;
    int start = c->s->start[s], len = c->s->len[s], hd = d->head_dim, group = d->n_heads / d->n_kv_heads;
    int qs = d->n_heads * hd, ks = d->n_kv_heads * hd;
    int j0 = blk * QBLOCK, j1 = j0 + QBLOCK < len ? j0 + QBLOCK : len, nb = j1 - j0;
    int ni = len - j0; /* queries that see any key of the block */
    /* P and S get 4 spare rows: a last group of fewer than 4 queries scores its missing ones there */
    int ld = padded(nb);
    float *kt = xmalloc(sizeof(float) * ((size_t)2 * hd * ld + 2 * (size_t)(ni + 4) * nb + 8 * (size_t)ni));
    float *vt = kt + (size_t)hd * ld, *P = vt + (size_t)hd * ld, *S = P + (size_t)(ni + 4) * nb;
    float *pc = S + (size_t)(ni + 4) * nb, *sc = pc + 4 * (size_t)ni; /* 4 keys' columns of P and S, by query */
    transpose_padded(kt, c->k + (size_t)(start + j0) * ks + kh * hd, nb, hd, ks, ld);
    transpose_padded(vt, c->v + (size_t)(start + j0) * ks + kh * hd, nb, hd, ks, ld);
    for (int j = j0; j < j1; j++) {
        memset(c->dk + (size_t)(start + j) * ks + kh * hd, 0, sizeof(float) * hd);
        memset(c->dv + (size_t)(start + j) * ks + kh * hd, 0, sizeof(float) * hd);
    }
    for (int h = kh * group; h < (kh + 1) * group; h++) {
        /* P[i][jj] = p(query j0+i, key j0+jj), S[i][jj] = scale * P * (dout . v - D); 0 above the diagonal.
         * Four queries at a time share each key's load (scores4: the same sums, in the same order, as one at a
         * time; one at a time accumulated through memory and was the backward's slowest loop) */
        for (int i = 0; i < ni; i += 4) {
            float *prow[4], *dprow[4];
            const float *qrow[4], *grow[4];
            for (int r = 0; r < 4; r++) {
                int ir = i + r < ni ? i + r : ni + r; /* a spare row past the last query */
                size_t ri = (size_t)(start + j0 + (i + r < ni ? i + r : i));
                prow[r] = P + (size_t)ir * nb, dprow[r] = S + (size_t)ir * nb;
                qrow[r] = c->q + ri * qs + h * hd, grow[r] = c->dout + ri * qs + h * hd;
            }
            int nmax = i + 4 < nb ? i + 4 : nb;
            scores4(prow, qrow, kt, nmax, ld, hd, d->scale);
            scores4(dprow, grow, vt, nmax, ld, hd, 1.0f);
            for (int r = 0; r < 4 && i + r < ni; r++) {
                size_t ri = (size_t)(start + j0 + i + r);
                float lse = c->lse_in[ri * d->n_heads + h], D = c->D[ri * d->n_heads + h];
                float *p = prow[r], *dp = dprow[r];
                int n = i + r + 1 < nb ? i + r + 1 : nb;
                for (int jj = 0; jj < n; jj++) {
                    p[jj] = cpu_expf(p[jj] - lse);
                    dp[jj] = p[jj] * (dp[jj] - D) * d->scale;
                }
                for (int jj = n; jj < nb; jj++) p[jj] = dp[jj] = 0;
            }
        }
        /* dv_j += sum_i P[i][j] dout_i ; dk_j += sum_i S[i][j] q_i, over i >= j in order; four keys at a time
         * (weighted_rows4: each key's sums in the same order as alone), the last few one by one */
        const float *g0 = c->dout + (size_t)(start + j0) * qs + h * hd, *q0 = c->q + (size_t)(start + j0) * qs + h * hd;
        for (int jj = 0; jj < nb; jj += 4) {
            int nk = jj + 4 <= nb ? 4 : nb - jj;
            float *dv[4], *dk[4];
            const float *pw[4], *sw[4], *dvi[4], *dki[4];
            int lo[4], hi[4] = {ni, ni, ni, ni};
            for (int r = 0; r < nk; r++) {
                float *pr = pc + (size_t)r * ni, *sr = sc + (size_t)r * ni;
                for (int i = jj + r; i < ni; i++) pr[i] = P[(size_t)i * nb + jj + r], sr[i] = S[(size_t)i * nb + jj + r];
                size_t rj = (size_t)(start + j0 + jj + r) * ks + kh * hd;
                dv[r] = c->dv + rj, dk[r] = c->dk + rj, dvi[r] = dv[r], dki[r] = dk[r];
                pw[r] = pr, sw[r] = sr, lo[r] = jj + r;
            }
            int four = nk == 4 && weighted_rows4(dv, dvi, pw, lo, hi, g0, qs, hd);
            for (int r = 0; r < nk && !four; r++)
                weighted_rows(dv[r], dv[r], pw[r] + lo[r], ni - lo[r], g0 + (size_t)lo[r] * qs, qs, hd);
            four = nk == 4 && weighted_rows4(dk, dki, sw, lo, hi, q0, qs, hd);
            for (int r = 0; r < nk && !four; r++)
                weighted_rows(dk[r], dk[r], sw[r] + lo[r], ni - lo[r], q0 + (size_t)lo[r] * qs, qs, hd);
        }
    }
    free(kt);
}

void cpu_attention_bwd(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                       const float *q, const float *k, const float *v, const AttnSeqs *s, const AttnDims *d) {
    int N = 0;
    for (int i = 0; i < s->n; i++)
        if (s->start[i] + s->len[i] > N) N = s->start[i] + s->len[i];
    AttnCtx c = {.dq = dq, .dk = dk, .dv = dv, .dout = dout, .o = out, .lse_in = lse, .q = q, .k = k, .v = v,
                 .s = s, .d = d};
    c.D = xmalloc(sizeof(float) * ((size_t)N * d->n_heads + 1));
    int n = plan_tasks(&c, d->n_heads);
    cpu_parallel_for(n, delta_task, &c);
    cpu_parallel_for(n, dq_task, &c);
    free(c.task_seq), free(c.task_blk);
    n = plan_tasks(&c, d->n_kv_heads);
    cpu_parallel_for(n, dkv_task, &c);
    free(c.task_seq), free(c.task_blk), free(c.D);
}

/* ---- decoding against the KV cache ---- */

typedef struct {
    float *out;
    const float *q;
    const float *kc, *vc;       /* f32 cache, or */
    const uint16_t *kcb, *vcb;  /* bf16 cache (kc, vc NULL): widened per task */
    const int32_t *slot, *kv_len;
    int max_t, max_kv;
    const AttnDims *d;
} DecodeCtx;

/* one task per (row, kv head): the group's query heads share each cached key */
CPU_CLONES static void decode_task(void *vc, int t) {
    DecodeCtx *c = vc;
    const AttnDims *d = c->d;
    int group = d->n_heads / d->n_kv_heads, i = t / d->n_kv_heads, kh = t % d->n_kv_heads, hd = d->head_dim;
    int qs = d->n_heads * hd, ks = d->n_kv_heads * hd, len = c->kv_len[i] < c->max_kv ? c->kv_len[i] : c->max_kv;
    size_t base = (size_t)c->slot[i] * c->max_t * ks + kh * hd, stride = ks;
    const float *kb, *vb;
    float *wide = NULL;
    if (c->kc) {
        kb = c->kc + base, vb = c->vc + base;
    } else { /* this head's len cached rows of k and v, widened to f32: then the f32 path, value for value */
        wide = xmalloc(sizeof(float) * 2 * (size_t)(len ? len : 1) * hd);
        for (int j = 0; j < len; j++)
            for (int e = 0; e < hd; e++) {
                wide[(size_t)j * hd + e] = bf16_to_f32(c->kcb[base + (size_t)j * ks + e]);
                wide[((size_t)len + j) * hd + e] = bf16_to_f32(c->vcb[base + (size_t)j * ks + e]);
            }
        kb = wide, vb = wide + (size_t)len * hd, stride = hd;
    }
    float *sc = xmalloc(sizeof(float) * (size_t)(len ? len : 1) * group);
    for (int g = 0; g < group; g++) {
        const float *qi = c->q + (size_t)i * qs + (kh * group + g) * hd;
        float *s = sc + (size_t)g * len;
        for (int j = 0; j < len; j++) s[j] = cpu_dot16(qi, kb + (size_t)j * stride, hd) * d->scale;
        softmax_v(c->out + (size_t)i * qs + (kh * group + g) * hd, s, len, vb, stride, hd);
    }
    free(sc), free(wide);
}

void cpu_attention_decode(float *out, const float *q, const float *kcache, const float *vcache, const int32_t *slot,
                          const int32_t *kv_len, int n, int max_t, int max_kv, const AttnDims *d) {
    DecodeCtx c = {out, q, kcache, vcache, NULL, NULL, slot, kv_len, max_t, max_kv, d};
    cpu_parallel_for(n * d->n_kv_heads, decode_task, &c);
}

void cpu_attention_decode_bf16(float *out, const float *q, const uint16_t *kcache, const uint16_t *vcache,
                               const int32_t *slot, const int32_t *kv_len, int n, int max_t, int max_kv,
                               const AttnDims *d) {
    DecodeCtx c = {out, q, NULL, NULL, kcache, vcache, slot, kv_len, max_t, max_kv, d};
    cpu_parallel_for(n * d->n_kv_heads, decode_task, &c);
}

void cpu_kv_append(float *kcache, float *vcache, const float *k, const float *v, const int32_t *slot,
                   const int32_t *pos, int n, int max_t, int kd) {
    for (int i = 0; i < n; i++) {
        size_t row = ((size_t)slot[i] * max_t + pos[i]) * kd;
        memcpy(kcache + row, k + (size_t)i * kd, sizeof(float) * kd);
        memcpy(vcache + row, v + (size_t)i * kd, sizeof(float) * kd);
    }
}

void cpu_kv_append_bf16(uint16_t *kcache, uint16_t *vcache, const float *k, const float *v, const int32_t *slot,
                        const int32_t *pos, int n, int max_t, int kd) {
    for (int i = 0; i < n; i++) {
        size_t row = ((size_t)slot[i] * max_t + pos[i]) * kd;
        for (int e = 0; e < kd; e++) {
            kcache[row + e] = f32_to_bf16(k[(size_t)i * kd + e]);
            vcache[row + e] = f32_to_bf16(v[(size_t)i * kd + e]);
        }
    }
}
