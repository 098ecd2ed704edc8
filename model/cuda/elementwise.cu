/* elementwise.cu - the CUDA backend's element-wise and row-wise kernels:
 * residual add, bias, embedding, RMSNorm, RoPE, SwiGLU, AdamW, sum of squares,
 * row log-sum-exp. The CPU backend (model/cpu/cpu_ops.c) is the reference:
 * same formulas, double accumulation where it uses double.
 *
 * Reductions across rows (bias and norm-weight gradients) are deterministic:
 * fixed row splits summed per column into partials, then the partials summed
 * in split order by one thread per column. Results depend on n, never on
 * scheduling.
 */
#include "internal.cuh"

#define TPB 256
#define ROWS_PER_SPLIT 128 /* rows per partial in column reductions */

/* ---- residual and bias ---- */

__global__ void add_kernel(float *y, const float *x, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] += x[i];
}
void cuda_op_add(float *y, const float *x, size_t n) {
    if (!n) return;
    CU_LAUNCH(add_kernel, cuda_blocks(n, TPB), TPB, 0, y, x, n);
    CU_LAUNCHED();
}

__global__ void add_bias_kernel(float *y, const float *bias, size_t total, int cols) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        y[i] += bias[i % cols];
}
void cuda_op_add_bias(float *y, const float *bias, int rows, int cols) {
    size_t total = (size_t)rows * cols;
    if (!total) return;
    CU_LAUNCH(add_bias_kernel, cuda_blocks(total, TPB), TPB, 0, y, bias, total, cols);
    CU_LAUNCHED();
}

/* Column sums of a (rows, cols) product src * (scale per row), in two
 * deterministic stages. mode 0: src; mode 1: dout * x * rstd[row] (norm weight grad). */
__global__ void colsum_partial_kernel(float *part, const float *a, const float *b, const float *rstd, int rows,
                                      int cols, int mode) {
    int c = blockIdx.x * blockDim.x + threadIdx.x, s = blockIdx.y;
    if (c >= cols) return;
    int r0 = s * ROWS_PER_SPLIT, r1 = min(rows, r0 + ROWS_PER_SPLIT);
    float acc = 0;
    for (int r = r0; r < r1; r++) {
        size_t i = (size_t)r * cols + c;
        acc += mode ? a[i] * b[i] * rstd[r] : a[i];
    }
    part[(size_t)s * cols + c] = acc;
}
__global__ void colsum_reduce_kernel(float *dst, const float *part, int splits, int cols) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    float acc = 0;
    for (int s = 0; s < splits; s++) acc += part[(size_t)s * cols + c];
    dst[c] += acc;
}
static void colsum(float *dst, const float *a, const float *b, const float *rstd, int rows, int cols, int mode) {
    if (rows <= 0 || cols <= 0) return;
    int splits = (rows + ROWS_PER_SPLIT - 1) / ROWS_PER_SPLIT;
    float *part = (float *)cuda_scratch(SCRATCH_AUX, sizeof(float) * (size_t)splits * cols);
    dim3 grid((cols + TPB - 1) / TPB, splits);
    CU_LAUNCH(colsum_partial_kernel, grid, TPB, 0, part, a, b, rstd, rows, cols, mode);
    CU_LAUNCHED();
    CU_LAUNCH(colsum_reduce_kernel, (cols + TPB - 1) / TPB, TPB, 0, dst, part, splits, cols);
    CU_LAUNCHED();
}
void cuda_op_bias_grad(float *dbias, const float *dy, int rows, int cols) {
    colsum(dbias, dy, NULL, NULL, rows, cols, 0);
}

/* ---- embedding ---- */

__global__ void embedding_kernel(float *out, const float *wte, const int32_t *ids, int n, int C) {
    size_t total = (size_t)n * C;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        out[i] = wte[(size_t)ids[i / C] * C + i % C];
}
void cuda_op_embedding(float *out, const float *wte, const int32_t *ids, int n, int C) {
    if (n <= 0) return;
    const int32_t *d = cuda_dev_i32(ids, n, SCRATCH_I32A);
    CU_LAUNCH(embedding_kernel, cuda_blocks((size_t)n * C, TPB), TPB, 0, out, wte, d, n, C);
    CU_LAUNCHED();
}

__global__ void embedding_bf16_kernel(float *out, const uint16_t *wte, const int32_t *ids, int n, int C) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, total = (size_t)n * C;
    for (; i < total; i += (size_t)gridDim.x * blockDim.x)
        out[i] = dev_bf16_to_f32(wte[(size_t)ids[i / C] * C + i % C]);
}

void cuda_op_embedding_bf16(float *out, const uint16_t *wte, const int32_t *ids, int n, int C) {
    if (n <= 0) return;
    const int32_t *d = cuda_dev_i32(ids, n, SCRATCH_I32A);
    CU_LAUNCH(embedding_bf16_kernel, cuda_blocks((size_t)n * C, TPB), TPB, 0, out, wte, d, n, C);
    CU_LAUNCHED();
}

/* One thread per column walks the rows in order (the CPU's order): repeated
 * ids make a row-parallel scatter racy, and this keeps it deterministic. */
__global__ void embedding_bwd_kernel(float *dwte, const float *dout, const int32_t *ids, int n, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    for (int i = 0; i < n; i++) dwte[(size_t)ids[i] * C + c] += dout[(size_t)i * C + c];
}
void cuda_op_embedding_bwd(float *dwte, const float *dout, const int32_t *ids, int n, int C) {
    if (n <= 0) return;
    const int32_t *d = cuda_dev_i32(ids, n, SCRATCH_I32A);
    CU_LAUNCH(embedding_bwd_kernel, (C + 127) / 128, 128, 0, dwte, dout, d, n, C);
    CU_LAUNCHED();
}

/* ---- RMSNorm: one block per row ---- */

__global__ void rmsnorm_kernel(float *out, float *rstd, const float *x, const float *w, int C, float eps) {
    const float *xr = x + (size_t)blockIdx.x * C;
    float *o = out + (size_t)blockIdx.x * C;
    double ss = 0;
    for (int j = threadIdx.x; j < C; j += blockDim.x) ss += (double)xr[j] * xr[j];
    ss = block_sum(ss);
    float r = (float)(1.0 / sqrt(ss / C + eps));
    if (threadIdx.x == 0) rstd[blockIdx.x] = r;
    for (int j = threadIdx.x; j < C; j += blockDim.x) o[j] = xr[j] * r * w[j];
}
void cuda_op_rmsnorm(float *out, float *rstd, const float *x, const float *w, int n, int C, float eps) {
    if (n <= 0) return;
    CU_LAUNCH(rmsnorm_kernel, n, TPB, 0, out, rstd, x, w, C, eps);
    CU_LAUNCHED();
}

/* dx_j += r w_j g_j - r^3/C x_j sum_k g_k w_k x_k */
__global__ void rmsnorm_dx_kernel(float *dx, const float *dout, const float *x, const float *w, const float *rstd,
                                  int C) {
    size_t off = (size_t)blockIdx.x * C;
    const float *xr = x + off, *g = dout + off;
    float r = rstd[blockIdx.x];
    double dot = 0;
    for (int j = threadIdx.x; j < C; j += blockDim.x) dot += (double)g[j] * w[j] * xr[j];
    dot = block_sum(dot);
    float coef = (float)(dot * r * r * r / C);
    for (int j = threadIdx.x; j < C; j += blockDim.x) dx[off + j] += r * w[j] * g[j] - coef * xr[j];
}
void cuda_op_rmsnorm_bwd(float *dx, float *dw, const float *dout, const float *x, const float *w, const float *rstd,
                         int n, int C) {
    if (n <= 0) return;
    CU_LAUNCH(rmsnorm_dx_kernel, n, TPB, 0, dx, dout, x, w, rstd, C);
    CU_LAUNCHED();
    colsum(dw, dout, x, rstd, n, C, 1);
}

/* ---- RoPE: rotate-half pairs (d, d + hd/2), angle in double like the CPU ---- */

__global__ void rope_kernel(float *x, const int32_t *pos, int n, int heads, int hd, double theta, int inverse) {
    int half = hd / 2;
    size_t total = (size_t)n * heads * half;
    for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < total; t += (size_t)gridDim.x * blockDim.x) {
        int d = (int)(t % half);
        size_t rh = t / half; /* row * heads + head */
        int i = (int)(rh / heads);
        double ang = pos[i] * pow(theta, -2.0 * d / hd);
        float cs = (float)cos(ang), sn = (float)(inverse ? -sin(ang) : sin(ang));
        float *v = x + rh * hd;
        float x1 = v[d], x2 = v[d + half];
        v[d] = x1 * cs - x2 * sn;
        v[d + half] = x2 * cs + x1 * sn;
    }
}
void cuda_op_rope(float *x, const int32_t *pos, int n, int heads, int head_dim, double theta, int inverse) {
    if (n <= 0) return;
    const int32_t *d = cuda_dev_i32(pos, n, SCRATCH_I32B);
    CU_LAUNCH(rope_kernel, cuda_blocks((size_t)n * heads * (head_dim / 2), TPB), TPB, 0, x, d, n, heads, head_dim, theta,
                                                                               inverse);
    CU_LAUNCHED();
}

/* ---- SwiGLU ---- */

__global__ void swiglu_kernel(float *h, const float *g, const float *u, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        h[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}
__global__ void swiglu_bwd_kernel(float *dg, float *du, const float *dh, const float *g, const float *u, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float gi = g[i], s = 1.0f / (1.0f + expf(-gi)), d = dh[i];
        dg[i] = d * u[i] * s * (1.0f + gi * (1.0f - s));
        du[i] = d * gi * s;
    }
}
void cuda_op_swiglu(float *h, const float *g, const float *u, size_t n) {
    if (!n) return;
    CU_LAUNCH(swiglu_kernel, cuda_blocks(n, TPB), TPB, 0, h, g, u, n);
    CU_LAUNCHED();
}
void cuda_op_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u, size_t n) {
    if (!n) return;
    CU_LAUNCH(swiglu_bwd_kernel, cuda_blocks(n, TPB), TPB, 0, dg, du, dh, g, u, n);
    CU_LAUNCHED();
}

/* ---- optimizer ---- */

#define SUMSQ_BLOCKS 1024
/* block b sums its contiguous slice; the host sums the blocks in order */
__global__ void sumsq_kernel(double *part, const float *x, size_t n, size_t chunk) {
    size_t lo = blockIdx.x * chunk, hi = min(n, lo + chunk);
    double s = 0;
    for (size_t i = lo + threadIdx.x; i < hi; i += blockDim.x) s += (double)x[i] * x[i];
    s = block_sum(s);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}
double cuda_op_sumsq(const float *x, size_t n) {
    if (!n) return 0;
    size_t chunk = (n + SUMSQ_BLOCKS - 1) / SUMSQ_BLOCKS;
    double *part = (double *)cuda_scratch(SCRATCH_AUX, sizeof(double) * SUMSQ_BLOCKS), host[SUMSQ_BLOCKS];
    CU_LAUNCH(sumsq_kernel, SUMSQ_BLOCKS, TPB, 0, part, x, n, chunk);
    CU_LAUNCHED();
    CU_CHECK(cudaMemcpy(host, part, sizeof host, cudaMemcpyDeviceToHost));
    double s = 0;
    for (int b = 0; b < SUMSQ_BLOCKS; b++) s += host[b];
    return s;
}

/* data-parallel norm (stages/common/dp.h): sumsq_kernel with one block per chunk */
void cuda_op_sumsq_chunks(double *out, const float *x, size_t n, size_t chunk) {
    if (!n) return;
    size_t nc = (n + chunk - 1) / chunk;
    double *part = (double *)cuda_scratch(SCRATCH_AUX, sizeof(double) * nc);
    CU_LAUNCH(sumsq_kernel, (unsigned)nc, TPB, 0, part, x, n, chunk);
    CU_LAUNCHED();
    CU_CHECK(cudaMemcpy(out, part, sizeof(double) * nc, cudaMemcpyDeviceToHost));
}

/* torch.optim.AdamW: p *= 1 - lr wd; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) */
__global__ void adamw_kernel(float *p, const float *g, float *m, float *v, uint16_t *pb, size_t n, float lr, float b1,
                             float b2, float eps, float wd, float bc1, float bc2, float gscale) {
    float step = lr / bc1, sbc2 = sqrtf(bc2), decay = 1.0f - lr * wd;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float gi = g[i] * gscale;
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi, v[i] = vi;
        float pi = p[i] * decay - step * mi / (sqrtf(vi) / sbc2 + eps);
        p[i] = pi;
        if (pb) pb[i] = dev_f32_to_bf16(pi); /* the bf16 copy in the same pass */
    }
}
void cuda_op_adamw(float *p, const float *g, float *m, float *v, uint16_t *pb, size_t n, float lr, float beta1,
                   float beta2, float eps, float weight_decay, float bias_corr1, float bias_corr2, float gscale) {
    if (!n) return;
    CU_LAUNCH(adamw_kernel, cuda_blocks(n, TPB), TPB, 0, p, g, m, v, pb, n, lr, beta1, beta2, eps, weight_decay,
              bias_corr1, bias_corr2, gscale);
    CU_LAUNCHED();
}

/* ---- sampling support: log-sum-exp per row, one block per row ---- */

__global__ void logsumexp_kernel(float *logz, const float *logits, int V) {
    const float *l = logits + (size_t)blockIdx.x * V;
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < V; j += blockDim.x) mx = fmaxf(mx, l[j]);
    mx = block_max(mx);
    double s = 0;
    for (int j = threadIdx.x; j < V; j += blockDim.x) s += expf(l[j] - mx);
    s = block_sum(s);
    if (threadIdx.x == 0) logz[blockIdx.x] = mx + (float)log(s);
}
void cuda_op_logsumexp_rows(float *logz, const float *logits, int n, int V) {
    if (n <= 0) return;
    CU_LAUNCH(logsumexp_kernel, n, 1024, 0, logz, logits, V);
    CU_LAUNCHED();
}
