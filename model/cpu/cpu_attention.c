/* cpu_attention.c - causal self-attention over packed sequences (forward,
 * backward) and single-row attention against a KV cache (decoding).
 *
 * Memory-light like flash attention: the forward keeps only the output and
 * the log-sum-exp per (row, head); the backward recomputes the probabilities.
 * Tasks: forward and dq over (sequence, head, query block); dk/dv over
 * (sequence, kv head, key block), looping over the query heads of the group in
 * order, so no two tasks write the same row.
 */
#include "cpu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define QBLOCK 32

typedef struct {
    float *out, *lse, *dq, *dk, *dv, *D;
    const float *q, *k, *v, *dout, *o, *lse_in;
    const AttnSeqs *s;
    const AttnDims *d;
    int32_t *task_seq, *task_blk; /* task -> (sequence, block) */
    int heads_per_task;           /* NH (forward, dq) or NKV (dk/dv) */
    int max_len;
} AttnCtx;

/* Builds the task list: one per (sequence, block of QBLOCK rows, head). */
static int plan_tasks(AttnCtx *c, int heads) {
    int n = 0;
    c->max_len = 0;
    for (int s = 0; s < c->s->n; s++) {
        n += cpu_nblocks(c->s->len[s], QBLOCK) * heads;
        if (c->s->len[s] > c->max_len) c->max_len = c->s->len[s];
    }
    c->task_seq = malloc(sizeof(int32_t) * (n ? n : 1));
    c->task_blk = malloc(sizeof(int32_t) * (n ? n : 1));
    int t = 0;
    for (int s = 0; s < c->s->n; s++)
        for (int b = 0; b < cpu_nblocks(c->s->len[s], QBLOCK) * heads; b++) c->task_seq[t] = s, c->task_blk[t++] = b;
    c->heads_per_task = heads;
    return n;
}

static void fwd_task(void *vc, int t) {
    AttnCtx *c = vc;
    const AttnDims *d = c->d;
    int s = c->task_seq[t], h = c->task_blk[t] % d->n_heads, blk = c->task_blk[t] / d->n_heads;
    int start = c->s->start[s], len = c->s->len[s], hd = d->head_dim, kh = h / (d->n_heads / d->n_kv_heads);
    int qs = d->n_heads * hd, ks = d->n_kv_heads * hd;
    float *sc = malloc(sizeof(float) * len);
    int i1 = (blk + 1) * QBLOCK < len ? (blk + 1) * QBLOCK : len;
    for (int i = blk * QBLOCK; i < i1; i++) {
        const float *qi = c->q + (size_t)(start + i) * qs + h * hd;
        float mx = -INFINITY;
        for (int j = 0; j <= i; j++) {
            sc[j] = cpu_dot(qi, c->k + (size_t)(start + j) * ks + kh * hd, hd) * d->scale;
            mx = sc[j] > mx ? sc[j] : mx;
        }
        float sum = 0;
        for (int j = 0; j <= i; j++) sum += (sc[j] = expf(sc[j] - mx));
        float *oi = c->out + (size_t)(start + i) * qs + h * hd, inv = 1.0f / sum;
        memset(oi, 0, sizeof(float) * hd);
        for (int j = 0; j <= i; j++) cpu_axpy(oi, sc[j] * inv, c->v + (size_t)(start + j) * ks + kh * hd, hd);
        c->lse[(size_t)(start + i) * d->n_heads + h] = mx + logf(sum);
    }
    free(sc);
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
        c->D[r * d->n_heads + h] = cpu_dot(c->dout + r * qs + h * hd, c->o + r * qs + h * hd, hd);
    }
}

/* dq_i = scale * sum_j p_ij (dout_i . v_j - D_i) k_j */
static void dq_task(void *vc, int t) {
    AttnCtx *c = vc;
    const AttnDims *d = c->d;
    int s = c->task_seq[t], h = c->task_blk[t] % d->n_heads, blk = c->task_blk[t] / d->n_heads;
    int start = c->s->start[s], len = c->s->len[s], hd = d->head_dim, kh = h / (d->n_heads / d->n_kv_heads);
    int qs = d->n_heads * hd, ks = d->n_kv_heads * hd;
    int i1 = (blk + 1) * QBLOCK < len ? (blk + 1) * QBLOCK : len;
    for (int i = blk * QBLOCK; i < i1; i++) {
        size_t r = (size_t)(start + i);
        const float *qi = c->q + r * qs + h * hd, *gi = c->dout + r * qs + h * hd;
        float *dqi = c->dq + r * qs + h * hd, lse = c->lse_in[r * d->n_heads + h], D = c->D[r * d->n_heads + h];
        memset(dqi, 0, sizeof(float) * hd);
        for (int j = 0; j <= i; j++) {
            const float *kj = c->k + (size_t)(start + j) * ks + kh * hd, *vj = c->v + (size_t)(start + j) * ks + kh * hd;
            float p = expf(cpu_dot(qi, kj, hd) * d->scale - lse);
            float ds = p * (cpu_dot(gi, vj, hd) - D);
            cpu_axpy(dqi, ds * d->scale, kj, hd);
        }
    }
}

/* dv_j = sum_{h in group} sum_{i>=j} p_ij dout_i ; dk_j = scale * sum p_ij (dout_i . v_j - D_i) q_i */
static void dkv_task(void *vc, int t) {
    AttnCtx *c = vc;
    const AttnDims *d = c->d;
    int s = c->task_seq[t], kh = c->task_blk[t] % d->n_kv_heads, blk = c->task_blk[t] / d->n_kv_heads;
    int start = c->s->start[s], len = c->s->len[s], hd = d->head_dim, group = d->n_heads / d->n_kv_heads;
    int qs = d->n_heads * hd, ks = d->n_kv_heads * hd;
    int j1 = (blk + 1) * QBLOCK < len ? (blk + 1) * QBLOCK : len;
    for (int j = blk * QBLOCK; j < j1; j++) {
        size_t r = (size_t)(start + j);
        const float *kj = c->k + r * ks + kh * hd, *vj = c->v + r * ks + kh * hd;
        float *dkj = c->dk + r * ks + kh * hd, *dvj = c->dv + r * ks + kh * hd;
        memset(dkj, 0, sizeof(float) * hd);
        memset(dvj, 0, sizeof(float) * hd);
        for (int h = kh * group; h < (kh + 1) * group; h++)
            for (int i = j; i < len; i++) {
                size_t ri = (size_t)(start + i);
                const float *qi = c->q + ri * qs + h * hd, *gi = c->dout + ri * qs + h * hd;
                float p = expf(cpu_dot(qi, kj, hd) * d->scale - c->lse_in[ri * d->n_heads + h]);
                cpu_axpy(dvj, p, gi, hd);
                float ds = p * (cpu_dot(gi, vj, hd) - c->D[ri * d->n_heads + h]);
                cpu_axpy(dkj, ds * d->scale, qi, hd);
            }
    }
}

void cpu_attention_bwd(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                       const float *q, const float *k, const float *v, const AttnSeqs *s, const AttnDims *d) {
    int N = 0;
    for (int i = 0; i < s->n; i++)
        if (s->start[i] + s->len[i] > N) N = s->start[i] + s->len[i];
    AttnCtx c = {.dq = dq, .dk = dk, .dv = dv, .dout = dout, .o = out, .lse_in = lse, .q = q, .k = k, .v = v,
                 .s = s, .d = d};
    c.D = malloc(sizeof(float) * ((size_t)N * d->n_heads + 1));
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
    const float *q, *kc, *vc;
    const int32_t *slot, *kv_len;
    int max_t;
    const AttnDims *d;
} DecodeCtx;

static void decode_task(void *vc, int t) {
    DecodeCtx *c = vc;
    const AttnDims *d = c->d;
    int i = t / d->n_heads, h = t % d->n_heads, hd = d->head_dim, kh = h / (d->n_heads / d->n_kv_heads);
    int qs = d->n_heads * hd, ks = d->n_kv_heads * hd, len = c->kv_len[i];
    const float *qi = c->q + (size_t)i * qs + h * hd;
    const float *kb = c->kc + (size_t)c->slot[i] * c->max_t * ks + kh * hd;
    const float *vb = c->vc + (size_t)c->slot[i] * c->max_t * ks + kh * hd;
    float *sc = malloc(sizeof(float) * (len ? len : 1)), mx = -INFINITY, sum = 0;
    for (int j = 0; j < len; j++) {
        sc[j] = cpu_dot(qi, kb + (size_t)j * ks, hd) * d->scale;
        mx = sc[j] > mx ? sc[j] : mx;
    }
    for (int j = 0; j < len; j++) sum += (sc[j] = expf(sc[j] - mx));
    float *oi = c->out + (size_t)i * qs + h * hd, inv = 1.0f / sum;
    memset(oi, 0, sizeof(float) * hd);
    for (int j = 0; j < len; j++) cpu_axpy(oi, sc[j] * inv, vb + (size_t)j * ks, hd);
    free(sc);
}

void cpu_attention_decode(float *out, const float *q, const float *kcache, const float *vcache, const int32_t *slot,
                          const int32_t *kv_len, int n, int max_t, const AttnDims *d) {
    DecodeCtx c = {out, q, kcache, vcache, slot, kv_len, max_t, d};
    cpu_parallel_for(n * d->n_heads, decode_task, &c);
}
