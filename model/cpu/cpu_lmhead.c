/* cpu_lmhead.c - the causal-LM head in vocabulary chunks.
 *
 * The logits of RB rows x VC vocabulary entries exist at a time; an online
 * log-sum-exp (running max, sum of exp, sum of exp * logit) gives the
 * log-prob of the target and the entropy without the full (N, V) matrix.
 * The backward recomputes each chunk's logits from the saved log-sum-exp.
 */
#include "cpu.h"
#include "cpu_simd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC optimize("O3", "no-math-errno")

/* 1024 x 1024 logits (4 MiB) at a time: large enough for efficient sgemm
 * (the weight-gradient product has K = RB), small next to a 151k vocabulary. */
#define RB 1024 /* rows per block */
#define VC 1024 /* vocabulary entries per chunk */

typedef struct {
    float *logits; /* (rows, vc) scratch */
    int r0, rows, v0, vc;
    const int32_t *target;
    const float *dlogp, *lse;
    double *mx, *s0, *s1; /* running stats per row of the block */
    float *tgt;           /* target logit per row */
} HeadCtx;

/* Online log-sum-exp: the chunk's max, then sums of e = exp(l - max) and e * l
 * in 16 float lanes, folded into the row's double accumulators. */
CPU_CLONES static void stats_task(void *vc_, int r) {
    HeadCtx *c = vc_;
    int t = c->target[c->r0 + r];
    if (t < 0) return;
    const float *l = c->logits + (size_t)r * c->vc;
    float cm = cpu_max(l, c->vc);
    if (cm > c->mx[r]) {
        double f = exp(c->mx[r] - cm);
        c->s0[r] *= f, c->s1[r] *= f, c->mx[r] = cm;
    }
    float m = (float)c->mx[r], a0[LANES] = {0}, a1[LANES] = {0};
    int j = 0;
    for (; j + LANES <= c->vc; j += LANES)
        for (int u = 0; u < LANES; u++) {
            float e = cpu_expf(l[j + u] - m);
            a0[u] += e, a1[u] += e * l[j + u];
        }
    for (int u = 0; j < c->vc; j++, u++) {
        float e = cpu_expf(l[j] - m);
        a0[u] += e, a1[u] += e * l[j];
    }
    double s0 = 0, s1 = 0;
    for (int u = 0; u < LANES; u++) s0 += a0[u], s1 += a1[u];
    c->s0[r] += s0, c->s1[r] += s1;
    if (t >= c->v0 && t < c->v0 + c->vc) c->tgt[r] = l[t - c->v0];
}

/* logits (rows, vc) = h rows @ W[v0 .. v0+vc)^T, from the f32 or the bf16 weights */
static void chunk_logits(float *logits, const float *h, const float *W, const uint16_t *Wb, int rows, int v0, int vc,
                         int C) {
    if (Wb) cpu_matmul_bf16(1, rows, vc, C, 1.0f, h, C, Wb + (size_t)v0 * C, C, 0.0f, logits, vc);
    else cpu_matmul(0, 1, rows, vc, C, 1.0f, h, C, W + (size_t)v0 * C, C, 0.0f, logits, vc);
}

static void lm_logprob_impl(float *logp, float *lse, float *entropy, const float *h, const float *W,
                            const uint16_t *Wb, const int32_t *target, int n, int V, int C) {
    HeadCtx c = {.target = target};
    c.logits = xmalloc(sizeof(float) * RB * VC);
    c.mx = xmalloc(sizeof(double) * RB * 3);
    c.s0 = c.mx + RB, c.s1 = c.mx + 2 * RB;
    c.tgt = xmalloc(sizeof(float) * RB);
    for (c.r0 = 0; c.r0 < n; c.r0 += RB) {
        c.rows = n - c.r0 < RB ? n - c.r0 : RB;
        for (int r = 0; r < c.rows; r++) c.mx[r] = -INFINITY, c.s0[r] = c.s1[r] = 0, c.tgt[r] = 0;
        for (c.v0 = 0; c.v0 < V; c.v0 += VC) {
            c.vc = V - c.v0 < VC ? V - c.v0 : VC;
            chunk_logits(c.logits, h + (size_t)c.r0 * C, W, Wb, c.rows, c.v0, c.vc, C);
            cpu_parallel_for(c.rows, stats_task, &c);
        }
        for (int r = 0; r < c.rows; r++) {
            int i = c.r0 + r;
            if (target[i] < 0) {
                logp[i] = 0, lse[i] = 0;
                if (entropy) entropy[i] = 0;
                continue;
            }
            double z = c.mx[r] + log(c.s0[r]);
            lse[i] = (float)z;
            logp[i] = (float)(c.tgt[r] - z);
            if (entropy) entropy[i] = (float)(z - c.s1[r] / c.s0[r]);
        }
    }
    free(c.logits), free(c.mx), free(c.tgt);
}

/* logits row -> d loss / d logits = dlogp * (onehot(target) - softmax) */
CPU_CLONES static void grad_task(void *vc_, int r) {
    HeadCtx *c = vc_;
    int i = c->r0 + r, t = c->target[i];
    float *l = c->logits + (size_t)r * c->vc;
    if (t < 0 || c->dlogp[i] == 0) {
        memset(l, 0, sizeof(float) * c->vc);
        return;
    }
    float g = c->dlogp[i], z = c->lse[i];
    for (int j = 0; j < c->vc; j++) l[j] = -g * cpu_expf(l[j] - z);
    if (t >= c->v0 && t < c->v0 + c->vc) l[t - c->v0] += g;
}

static void lm_logprob_bwd_impl(float *dh, float *dW, const float *dlogp, const float *lse, const float *h,
                                const float *W, const uint16_t *Wb, const int32_t *target, int n, int V, int C) {
    HeadCtx c = {.target = target, .dlogp = dlogp, .lse = lse};
    c.logits = xmalloc(sizeof(float) * RB * VC);
    memset(dh, 0, sizeof(float) * (size_t)n * C);
    for (c.r0 = 0; c.r0 < n; c.r0 += RB) {
        c.rows = n - c.r0 < RB ? n - c.r0 : RB;
        int any = 0;
        for (int r = 0; r < c.rows; r++) any |= target[c.r0 + r] >= 0 && dlogp[c.r0 + r] != 0;
        if (!any) continue;
        for (c.v0 = 0; c.v0 < V; c.v0 += VC) {
            c.vc = V - c.v0 < VC ? V - c.v0 : VC;
            const float *hb = h + (size_t)c.r0 * C;
            chunk_logits(c.logits, hb, W, Wb, c.rows, c.v0, c.vc, C);
            cpu_parallel_for(c.rows, grad_task, &c);
            if (Wb)
                cpu_matmul_bf16(0, c.rows, C, c.vc, 1.0f, c.logits, c.vc, Wb + (size_t)c.v0 * C, C, 1.0f,
                                dh + (size_t)c.r0 * C, C);
            else
                cpu_matmul(0, 0, c.rows, C, c.vc, 1.0f, c.logits, c.vc, W + (size_t)c.v0 * C, C, 1.0f,
                           dh + (size_t)c.r0 * C, C);
            /* the head's gradient from bf16-rounded operands in bf16 training (cpu_matmul_bf16_ab) */
            if (Wb) cpu_matmul_bf16_ab(1, 0, c.vc, C, c.rows, 1.0f, c.logits, c.vc, hb, C, 1.0f, dW + (size_t)c.v0 * C, C);
            else cpu_matmul(1, 0, c.vc, C, c.rows, 1.0f, c.logits, c.vc, hb, C, 1.0f, dW + (size_t)c.v0 * C, C);
        }
    }
    free(c.logits);
}

void cpu_lm_logprob(float *logp, float *lse, float *entropy, const float *h, const float *W, const int32_t *target,
                    int n, int V, int C) {
    lm_logprob_impl(logp, lse, entropy, h, W, NULL, target, n, V, C);
}
void cpu_lm_logprob_bf16(float *logp, float *lse, float *entropy, const float *h, const uint16_t *W,
                         const int32_t *target, int n, int V, int C) {
    lm_logprob_impl(logp, lse, entropy, h, NULL, W, target, n, V, C);
}
void cpu_lm_logprob_bwd(float *dh, float *dW, const float *dlogp, const float *lse, const float *h, const float *W,
                        const int32_t *target, int n, int V, int C) {
    lm_logprob_bwd_impl(dh, dW, dlogp, lse, h, W, NULL, target, n, V, C);
}
void cpu_lm_logprob_bwd_bf16(float *dh, float *dW, const float *dlogp, const float *lse, const float *h,
                             const uint16_t *W, const int32_t *target, int n, int V, int C) {
    lm_logprob_bwd_impl(dh, dW, dlogp, lse, h, NULL, W, target, n, V, C);
}
