/* vocab.cu - the causal-LM head in row chunks: log-prob of the target token,
 * log-sum-exp and entropy per row, and the backward, without ever holding
 * the (n, V) logits: a chunk of R rows x V logits (at most LOGIT_BUDGET bytes)
 * is produced by one matmul, reduced by one block per row, and dropped. The
 * backward recomputes the chunk from the saved log-sum-exp, turns it into
 * d loss / d logits in place and feeds two matmuls (dh and dW).
 * Reference: model/cpu/cpu_lmhead.c (same formulas, double sums).
 */
#include "internal.cuh"

#define LOGIT_BUDGET ((size_t)256 << 20) /* bytes of logits alive at once */
#define RTPB 1024

/* rows per chunk, and the chunk's logits buffer (R, V) */
static float *chunk_buffer(int n, int V, int *R) {
    size_t r = LOGIT_BUDGET / (sizeof(float) * (size_t)V);
    if (r < 1) r = 1;
    *R = (int)(r < (size_t)n ? r : (size_t)n);
    return (float *)cuda_scratch(SCRATCH_MAIN, sizeof(float) * (size_t)*R * V);
}

/* one block per row: lse, log-prob of the target, entropy = lse - E[logit] */
__global__ void head_stats_kernel(float *logp, float *lse, float *entropy, const float *logits,
                                  const int32_t *target, int r0, int V) {
    const int i = r0 + blockIdx.x, t = target[i];
    if (t < 0) { /* uniform: the whole block returns */
        if (threadIdx.x == 0) {
            logp[i] = 0, lse[i] = 0;
            if (entropy) entropy[i] = 0;
        }
        return;
    }
    const float *l = logits + (size_t)blockIdx.x * V;
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < V; j += blockDim.x) mx = fmaxf(mx, l[j]);
    mx = block_max(mx);
    double s0 = 0, s1 = 0;
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
        double e = exp((double)l[j] - mx);
        s0 += e, s1 += e * l[j];
    }
    s0 = block_sum(s0);
    s1 = block_sum(s1);
    if (threadIdx.x == 0) {
        double z = mx + log(s0);
        lse[i] = (float)z;
        logp[i] = (float)(l[t] - z);
        if (entropy) entropy[i] = (float)(z - s1 / s0);
    }
}

/* logits (rows, V) = h rows @ W^T from the f32 or the bf16 weights */
static void head_logits(float *logits, const float *h, const float *W, const uint16_t *Wb, int rows, int V, int C) {
    if (Wb) cuda_op_matmul_bf16(1, rows, V, C, 1.0f, h, C, Wb, C, 0.0f, logits, V);
    else cuda_op_matmul(0, 1, rows, V, C, 1.0f, h, C, W, C, 0.0f, logits, V);
}

static void lm_logprob_impl(float *logp, float *lse, float *entropy, const float *h, const float *W,
                            const uint16_t *Wb, const int32_t *target, int n, int V, int C) {
    if (n <= 0) return;
    const int32_t *dt = cuda_dev_i32(target, n, SCRATCH_I32A);
    int R;
    float *logits = chunk_buffer(n, V, &R);
    for (int r0 = 0; r0 < n; r0 += R) {
        int rows = n - r0 < R ? n - r0 : R;
        head_logits(logits, h + (size_t)r0 * C, W, Wb, rows, V, C);
        CU_LAUNCH(head_stats_kernel, rows, RTPB, 0, logp, lse, entropy, logits, dt, r0, V);
        CU_LAUNCHED();
    }
}

/* logits row -> dlogp * (onehot(target) - softmax), in place */
__global__ void head_grad_kernel(float *logits, const float *dlogp, const float *lse, const int32_t *target, int r0,
                                 int V) {
    const int i = r0 + blockIdx.x, t = target[i];
    float *l = logits + (size_t)blockIdx.x * V;
    const float g = t < 0 ? 0.0f : dlogp[i], z = lse[i];
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
        float d = g == 0.0f ? 0.0f : -g * expf(l[j] - z);
        l[j] = j == t ? d + g : d;
    }
}

static void lm_logprob_bwd_impl(float *dh, float *dW, const float *dlogp, const float *lse, const float *h,
                                const float *W, const uint16_t *Wb, const int32_t *target, int n, int V, int C) {
    if (n <= 0) return;
    const int32_t *dt = cuda_dev_i32(target, n, SCRATCH_I32A);
    int R;
    float *logits = chunk_buffer(n, V, &R);
    for (int r0 = 0; r0 < n; r0 += R) {
        int rows = n - r0 < R ? n - r0 : R;
        const float *hb = h + (size_t)r0 * C;
        head_logits(logits, hb, W, Wb, rows, V, C);
        CU_LAUNCH(head_grad_kernel, rows, RTPB, 0, logits, dlogp, lse, dt, r0, V);
        CU_LAUNCHED();
        /* dh overwritten (beta 0), dW accumulated (beta 1) */
        if (Wb) cuda_op_matmul_bf16(0, rows, C, V, 1.0f, logits, V, Wb, C, 0.0f, dh + (size_t)r0 * C, C);
        else cuda_op_matmul(0, 0, rows, C, V, 1.0f, logits, V, W, C, 0.0f, dh + (size_t)r0 * C, C);
        /* the head's gradient from bf16-rounded operands in bf16 training, as the CPU's */
        if (Wb) cuda_op_matmul_bf16_ab(1, 0, V, C, rows, 1.0f, logits, V, hb, C, 1.0f, dW, C);
        else cuda_op_matmul(1, 0, V, C, rows, 1.0f, logits, V, hb, C, 1.0f, dW, C);
    }
}

void cuda_op_lm_logprob(float *logp, float *lse, float *entropy, const float *h, const float *W,
                        const int32_t *target, int n, int V, int C) {
    lm_logprob_impl(logp, lse, entropy, h, W, NULL, target, n, V, C);
}
void cuda_op_lm_logprob_bf16(float *logp, float *lse, float *entropy, const float *h, const uint16_t *W,
                             const int32_t *target, int n, int V, int C) {
    lm_logprob_impl(logp, lse, entropy, h, NULL, W, target, n, V, C);
}
void cuda_op_lm_logprob_bwd(float *dh, float *dW, const float *dlogp, const float *lse, const float *h,
                            const float *W, const int32_t *target, int n, int V, int C) {
    lm_logprob_bwd_impl(dh, dW, dlogp, lse, h, W, NULL, target, n, V, C);
}
void cuda_op_lm_logprob_bwd_bf16(float *dh, float *dW, const float *dlogp, const float *lse, const float *h,
                                 const uint16_t *W, const int32_t *target, int n, int V, int C) {
    lm_logprob_bwd_impl(dh, dW, dlogp, lse, h, NULL, W, target, n, V, C);
}
