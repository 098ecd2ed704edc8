/* cpu_ops.c - the CPU backend's element-wise and row-wise kernels:
 * embedding, RMSNorm, RoPE, SwiGLU, bias, residual add, AdamW, reductions.
 *
 * Parallel over rows (or over column blocks for reductions across rows, so
 * each output element is summed by one task in row order).
 */
#include "cpu.h"
#include "cpu_simd.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "model/bf16.h"
#include "util/err.h"

#pragma GCC optimize("O3", "no-math-errno") /* errno-free sqrt vectorises; results are unchanged */

#define ROW_BLOCK 16
#define COL_BLOCK 64
#define ELEM_BLOCK 16384

/* ---- residual and bias ---- */

typedef struct {
    float *y;
    const float *x;
    size_t n;
} AddCtx;
CPU_CLONES static void add_task(void *c, int t) {
    AddCtx *a = c;
    size_t lo = (size_t)t * ELEM_BLOCK, hi = lo + ELEM_BLOCK < a->n ? lo + ELEM_BLOCK : a->n;
    for (size_t i = lo; i < hi; i++) a->y[i] += a->x[i];
}
static void op_add(float *y, const float *x, size_t n) {
    AddCtx c = {y, x, n};
    cpu_parallel_for((int)((n + ELEM_BLOCK - 1) / ELEM_BLOCK), add_task, &c);
}

static void op_add_bias(float *y, const float *bias, int rows, int cols) {
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) y[(size_t)i * cols + j] += bias[j];
}

typedef struct {
    float *dst;
    const float *src;
    const int32_t *ids; /* NULL: row i of src goes to row i of dst's sum (bias grad) */
    int rows, cols;
} ColSumCtx;
/* dst[ids[i] or 0, j] += src[i, j] for the task's column block, rows in order */
CPU_CLONES static void colsum_task(void *c, int t) {
    ColSumCtx *a = c;
    int j0 = t * COL_BLOCK, j1 = j0 + COL_BLOCK < a->cols ? j0 + COL_BLOCK : a->cols;
    for (int i = 0; i < a->rows; i++) {
        float *d = a->dst + (a->ids ? (size_t)a->ids[i] * a->cols : 0);
        const float *s = a->src + (size_t)i * a->cols;
        for (int j = j0; j < j1; j++) d[j] += s[j];
    }
}
static void op_bias_grad(float *dbias, const float *dy, int rows, int cols) {
    ColSumCtx c = {dbias, dy, NULL, rows, cols};
    cpu_parallel_for(cpu_nblocks(cols, COL_BLOCK), colsum_task, &c);
}

/* ---- embedding ---- */

static void op_embedding(float *out, const float *wte, const int32_t *ids, int n, int C) {
    for (int i = 0; i < n; i++) memcpy(out + (size_t)i * C, wte + (size_t)ids[i] * C, sizeof(float) * C);
}
static void op_embedding_bwd(float *dwte, const float *dout, const int32_t *ids, int n, int C) {
    ColSumCtx c = {dwte, dout, ids, n, C};
    cpu_parallel_for(cpu_nblocks(C, COL_BLOCK), colsum_task, &c);
}

/* ---- RMSNorm ---- */

typedef struct {
    float *out, *rstd, *dx, *dw;
    const float *x, *w, *dout, *rstd_in;
    int n, C;
    float eps;
} NormCtx;

CPU_CLONES static void rmsnorm_task(void *c, int t) {
    NormCtx *a = c;
    int r1 = (t + 1) * ROW_BLOCK < a->n ? (t + 1) * ROW_BLOCK : a->n;
    for (int i = t * ROW_BLOCK; i < r1; i++) {
        const float *x = a->x + (size_t)i * a->C;
        float *o = a->out + (size_t)i * a->C;
        double ss = 0;
        for (int j = 0; j < a->C; j++) ss += (double)x[j] * x[j];
        float r = (float)(1.0 / sqrt(ss / a->C + a->eps));
        a->rstd[i] = r;
        for (int j = 0; j < a->C; j++) o[j] = x[j] * r * a->w[j];
    }
}
static void op_rmsnorm(float *out, float *rstd, const float *x, const float *w, int n, int C, float eps) {
    NormCtx c = {.out = out, .rstd = rstd, .x = x, .w = w, .n = n, .C = C, .eps = eps};
    cpu_parallel_for(cpu_nblocks(n, ROW_BLOCK), rmsnorm_task, &c);
}

/* dx_j += r w_j g_j - r^3/C x_j sum_k g_k w_k x_k */
CPU_CLONES static void rmsnorm_dx_task(void *c, int t) {
    NormCtx *a = c;
    int r1 = (t + 1) * ROW_BLOCK < a->n ? (t + 1) * ROW_BLOCK : a->n;
    for (int i = t * ROW_BLOCK; i < r1; i++) {
        const float *x = a->x + (size_t)i * a->C, *g = a->dout + (size_t)i * a->C;
        float *dx = a->dx + (size_t)i * a->C;
        float r = a->rstd_in[i];
        double dot = 0;
        for (int j = 0; j < a->C; j++) dot += (double)g[j] * a->w[j] * x[j];
        float coef = (float)(dot * r * r * r / a->C);
        for (int j = 0; j < a->C; j++) dx[j] += r * a->w[j] * g[j] - coef * x[j];
    }
}
CPU_CLONES static void rmsnorm_dw_task(void *c, int t) {
    NormCtx *a = c;
    int j0 = t * COL_BLOCK, j1 = j0 + COL_BLOCK < a->C ? j0 + COL_BLOCK : a->C;
    for (int i = 0; i < a->n; i++) {
        const float *x = a->x + (size_t)i * a->C, *g = a->dout + (size_t)i * a->C;
        float r = a->rstd_in[i];
        for (int j = j0; j < j1; j++) a->dw[j] += g[j] * x[j] * r;
    }
}
static void op_rmsnorm_bwd(float *dx, float *dw, const float *dout, const float *x, const float *w, const float *rstd,
                           int n, int C) {
    NormCtx c = {.dx = dx, .dw = dw, .x = x, .w = w, .dout = dout, .rstd_in = rstd, .n = n, .C = C};
    cpu_parallel_for(cpu_nblocks(n, ROW_BLOCK), rmsnorm_dx_task, &c);
    cpu_parallel_for(cpu_nblocks(C, COL_BLOCK), rmsnorm_dw_task, &c);
}

/* ---- RoPE (rotate-half: pairs (d, d + hd/2)) ---- */

typedef struct {
    float *x;
    const int32_t *pos;
    int n, heads, hd, inverse;
    double theta;
    float *table; /* (npos, 2, hd/2): cos, then sin (negated for the inverse), per position; NULL: per row */
    int npos;
} RopeCtx;

/* cos and sin of position p's angles, as float; sn negated for the inverse rotation */
static void rope_angles(float *cs, float *sn, const double *inv, int half, int32_t p, int inverse) {
    for (int d = 0; d < half; d++) {
        double ang = p * inv[d];
        cs[d] = (float)cos(ang);
        sn[d] = (float)(inverse ? -sin(ang) : sin(ang));
    }
}
static void rope_freqs(double *inv, int half, double theta, int hd) {
    for (int d = 0; d < half; d++) inv[d] = pow(theta, -2.0 * d / hd);
}
static void rope_table_task(void *c, int t) {
    RopeCtx *a = c;
    int half = a->hd / 2;
    double inv[512]; /* head_dim <= 1024 */
    rope_freqs(inv, half, a->theta, a->hd);
    int p1 = (t + 1) * ROW_BLOCK < a->npos ? (t + 1) * ROW_BLOCK : a->npos;
    for (int p = t * ROW_BLOCK; p < p1; p++) {
        float *row = a->table + (size_t)p * 2 * half;
        rope_angles(row, row + half, inv, half, p, a->inverse);
    }
}
static void rope_task(void *c, int t) {
    RopeCtx *a = c;
    int half = a->hd / 2;
    float cbuf[512], sbuf[512]; /* head_dim <= 1024 */
    double inv[512];            /* the frequencies, once per task (pow per row was 2.5% of a toy training step) */
    if (!a->table) rope_freqs(inv, half, a->theta, a->hd);
    int r1 = (t + 1) * ROW_BLOCK < a->n ? (t + 1) * ROW_BLOCK : a->n;
    for (int i = t * ROW_BLOCK; i < r1; i++) {
        const float *cs = cbuf, *sn = sbuf;
        if (a->table) cs = a->table + (size_t)a->pos[i] * 2 * half, sn = cs + half;
        else rope_angles(cbuf, sbuf, inv, half, a->pos[i], a->inverse);
        for (int h = 0; h < a->heads; h++) {
            float *v = a->x + ((size_t)i * a->heads + h) * a->hd;
            for (int d = 0; d < half; d++) {
                float x1 = v[d], x2 = v[d + half];
                v[d] = x1 * cs[d] - x2 * sn[d];
                v[d + half] = x2 * cs[d] + x1 * sn[d];
            }
        }
    }
}
/* Packed training and prefill batches repeat the same few positions in every sequence, so their angles are
 * computed once per position into a table (sincos per row was 2.7% of a toy training step); a batch with fewer
 * rows than positions (decoding at long offsets) computes them per row. The same double-precision angles either
 * way, so the bits do not depend on the path. */
static void op_rope(float *x, const int32_t *pos, int n, int heads, int head_dim, double theta, int inverse) {
    RopeCtx c = {x, pos, n, heads, head_dim, inverse, theta, NULL, 0};
    int maxp = -1, neg = 0;
    for (int i = 0; i < n; i++) {
        if (pos[i] > maxp) maxp = pos[i];
        if (pos[i] < 0) neg = 1;
    }
    if (!neg && maxp >= 0 && maxp < n) {
        c.npos = maxp + 1;
        c.table = xmalloc(sizeof(float) * (size_t)c.npos * (size_t)head_dim);
        cpu_parallel_for(cpu_nblocks(c.npos, ROW_BLOCK), rope_table_task, &c);
    }
    cpu_parallel_for(cpu_nblocks(n, ROW_BLOCK), rope_task, &c);
    free(c.table);
}

/* ---- SwiGLU ---- */

typedef struct {
    float *h, *dg, *du;
    const float *g, *u, *dh;
    size_t n;
} GluCtx;
CPU_CLONES static void swiglu_task(void *c, int t) {
    GluCtx *a = c;
    size_t lo = (size_t)t * ELEM_BLOCK, hi = lo + ELEM_BLOCK < a->n ? lo + ELEM_BLOCK : a->n;
    float *restrict h = a->h;
    const float *restrict g = a->g, *restrict u = a->u;
    for (size_t i = lo; i < hi; i++) h[i] = g[i] / (1.0f + cpu_expf(-g[i])) * u[i];
}
CPU_CLONES static void swiglu_bwd_task(void *c, int t) {
    GluCtx *a = c;
    size_t lo = (size_t)t * ELEM_BLOCK, hi = lo + ELEM_BLOCK < a->n ? lo + ELEM_BLOCK : a->n;
    float *restrict dg = a->dg, *restrict du = a->du;
    const float *restrict gp = a->g, *restrict u = a->u, *restrict dhp = a->dh;
    for (size_t i = lo; i < hi; i++) {
        float g = gp[i], s = 1.0f / (1.0f + cpu_expf(-g)), dh = dhp[i];
        dg[i] = dh * u[i] * s * (1.0f + g * (1.0f - s));
        du[i] = dh * g * s;
    }
}
static void op_swiglu(float *h, const float *g, const float *u, size_t n) {
    GluCtx c = {.h = h, .g = g, .u = u, .n = n};
    cpu_parallel_for((int)((n + ELEM_BLOCK - 1) / ELEM_BLOCK), swiglu_task, &c);
}
static void op_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u, size_t n) {
    GluCtx c = {.dg = dg, .du = du, .dh = dh, .g = g, .u = u, .n = n};
    cpu_parallel_for((int)((n + ELEM_BLOCK - 1) / ELEM_BLOCK), swiglu_bwd_task, &c);
}

/* ---- optimizer ---- */

/* Block sums then a sum of blocks in order: the same partition for any thread count. */
typedef struct {
    const float *x;
    size_t n;
    double *part;
} SumsqCtx;
CPU_CLONES static void sumsq_task(void *c, int t) {
    SumsqCtx *a = c;
    size_t lo = (size_t)t * ELEM_BLOCK, hi = lo + ELEM_BLOCK < a->n ? lo + ELEM_BLOCK : a->n;
    double l[LANES] = {0}, s = 0;
    size_t i = lo;
    for (; i + LANES <= hi; i += LANES)
        for (int u = 0; u < LANES; u++) l[u] += (double)a->x[i + u] * a->x[i + u];
    for (int u = 0; i < hi; i++, u++) l[u] += (double)a->x[i] * a->x[i];
    for (int u = 0; u < LANES; u++) s += l[u];
    a->part[t] = s;
}
static double op_sumsq(const float *x, size_t n) {
    int nb = (int)((n + ELEM_BLOCK - 1) / ELEM_BLOCK);
    double stack[64], *part = nb <= 64 ? stack : xmalloc(sizeof(double) * nb);
    SumsqCtx c = {x, n, part};
    cpu_parallel_for(nb, sumsq_task, &c);
    double s = 0;
    for (int i = 0; i < nb; i++) s += part[i];
    if (part != stack) free(part);
    return s;
}

typedef struct {
    float *p, *m, *v;
    const float *g;
    uint16_t *pb;
    size_t n;
    float lr, b1, b2, eps, wd, bc1, bc2, gscale;
} AdamCtx;
/* torch.optim.AdamW: p *= 1 - lr wd; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) */
CPU_CLONES static void adamw_task(void *c, int t) {
    AdamCtx *a = c;
    size_t lo = (size_t)t * ELEM_BLOCK, hi = lo + ELEM_BLOCK < a->n ? lo + ELEM_BLOCK : a->n;
    float step = a->lr / a->bc1, sbc2 = sqrtf(a->bc2), decay = 1.0f - a->lr * a->wd;
    float *restrict p = a->p, *restrict m = a->m, *restrict v = a->v;
    uint16_t *restrict pb = a->pb;
    const float *restrict gp = a->g;
    float b1 = a->b1, b2 = a->b2, eps = a->eps, gs = a->gscale;
    for (size_t i = lo; i < hi; i++) { /* the pb test is loop-invariant: -O3 unswitches it */
        float g = gp[i] * gs;
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        p[i] = p[i] * decay - step * m[i] / (sqrtf(v[i]) / sbc2 + eps);
        if (pb) pb[i] = f32_to_bf16(p[i]);
    }
}
static void op_adamw(float *p, const float *g, float *m, float *v, uint16_t *pb, size_t n, float lr, float beta1,
                     float beta2, float eps, float weight_decay, float bias_corr1, float bias_corr2, float gscale) {
    AdamCtx c = {p, m, v, g, pb, n, lr, beta1, beta2, eps, weight_decay, bias_corr1, bias_corr2, gscale};
    cpu_parallel_for((int)((n + ELEM_BLOCK - 1) / ELEM_BLOCK), adamw_task, &c);
}

/* ---- sampling support ---- */

typedef struct {
    float *logz;
    const float *logits;
    int V;
} LseCtx;
CPU_CLONES static void lse_task(void *c, int i) {
    LseCtx *a = c;
    const float *l = a->logits + (size_t)i * a->V;
    float mx = cpu_max(l, a->V), acc[LANES] = {0};
    int j = 0;
    for (; j + LANES <= a->V; j += LANES)
        for (int u = 0; u < LANES; u++) acc[u] += cpu_expf(l[j + u] - mx);
    for (int u = 0; j < a->V; j++, u++) acc[u] += cpu_expf(l[j] - mx);
    double s = 0;
    for (int u = 0; u < LANES; u++) s += acc[u];
    a->logz[i] = mx + (float)log(s);
}
static void op_logsumexp_rows(float *logz, const float *logits, int n, int V) {
    LseCtx c = {logz, logits, V};
    cpu_parallel_for(n, lse_task, &c);
}

/* ---- memory ---- */

/* Large buffers (weights, optimizer state, activations) ask for transparent huge pages where the kernel leaves
 * them to madvise: decoding streams every weight once per token, and with 4 KiB pages each 4 KiB of it costs a
 * TLB miss (a 0.5B model is 500k pages). The advice covers the buffer's whole pages; calloc's large blocks are
 * fresh mappings, not yet touched, so the pages come in huge when they are first written. */
#define HUGE_ADVICE_MIN ((size_t)8 << 20)
static void *mem_alloc(size_t bytes) {
    void *p = xcalloc(bytes ? bytes : 1, 1);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= HUGE_ADVICE_MIN) {
        uintptr_t page = 4096, lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + bytes) & ~(page - 1);
        if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE); /* advice only: a refusal changes nothing */
    }
#endif
    return p;
}
static void mem_free(void *p) { free(p); }
static void mem_copy(void *dst, const void *src, size_t bytes) {
    if (bytes) memmove(dst, src, bytes);
}
static void mem_zero(void *p, size_t bytes) {
    if (bytes) memset(p, 0, bytes);
}

static void cpu_set_threads_op(int n) { cpu_set_threads(n); }

static const Backend cpu_backend = {
    .name = "cpu",
    .host_memory = 1,
    .alloc = mem_alloc,
    .free = mem_free,
    .upload = mem_copy,
    .download = mem_copy,
    .copy = mem_copy,
    .zero = mem_zero,
    .matmul = cpu_matmul,
    .add = op_add,
    .add_bias = op_add_bias,
    .bias_grad = op_bias_grad,
    .embedding = op_embedding,
    .embedding_bwd = op_embedding_bwd,
    .rmsnorm = op_rmsnorm,
    .rmsnorm_bwd = op_rmsnorm_bwd,
    .rope = op_rope,
    .attention = cpu_attention,
    .attention_bwd = cpu_attention_bwd,
    .kv_append = cpu_kv_append,
    .attention_decode = cpu_attention_decode,
    .swiglu = op_swiglu,
    .swiglu_bwd = op_swiglu_bwd,
    .lm_logprob = cpu_lm_logprob,
    .lm_logprob_bwd = cpu_lm_logprob_bwd,
    .sumsq = op_sumsq,
    .adamw = op_adamw,
    .logsumexp_rows = op_logsumexp_rows,
    .set_threads = cpu_set_threads_op,
    .set_bf16_kernel = cpu_bf16_set_kernel,
    .bf16_operand_bytes = cpu_bf16_operand_bytes,
    .kernel_info = cpu_kernel_info,
    .matmul_bf16 = cpu_matmul_bf16,
    .matmul_bf16_ab = cpu_matmul_bf16_ab,
    .to_bf16 = cpu_to_bf16,
    .embedding_bf16 = cpu_embedding_bf16,
    .lm_logprob_bf16 = cpu_lm_logprob_bf16,
    .lm_logprob_bwd_bf16 = cpu_lm_logprob_bwd_bf16,
    .kv_append_bf16 = cpu_kv_append_bf16,
    .attention_decode_bf16 = cpu_attention_decode_bf16,
    .sumsq_chunks = cpu_sumsq_chunks,
    .dist_init = cpu_dist_init,
    .dist_exchange = cpu_dist_exchange,
    .dist_allgather = cpu_dist_allgather,
};

const Backend *backend_cpu(void) {
    cpu_kernel_info(); /* verifies the BLAS kernels once before any use */
    return &cpu_backend;
}
