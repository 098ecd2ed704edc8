/* backend.h - the compute interface between the model core and a device.
 *
 * The core (the .c files in model/) owns the graph: which op runs on which buffer, in
 * which order, and what is kept for backward. A backend owns memory and
 * kernels. Every tensor the core hands to an op lives in backend memory
 * (alloc/upload/download), so a CUDA backend in model/cuda/ slots in by
 * filling this struct; CPU and CUDA code never share a file (ggml style).
 *
 * Layout conventions: row-major, activations packed over the valid tokens of
 * a batch (N rows, no padding), weights in Hugging Face (out, in) order.
 * Ops that produce gradients ACCUMULATE into parameter gradients (dw += ...)
 * and OVERWRITE activation gradients unless their comment says otherwise.
 * Every op must give the same result for any thread count: fixed partitions,
 * reductions in a fixed order.
 * Memory: float tensors and token data (ids, positions, targets) are backend
 * buffers; arrays that describe structure (AttnSeqs, decode slots and
 * lengths) are small host arrays the backend copies if it needs to.
 */
#ifndef PURE_MODEL_BACKEND_H
#define PURE_MODEL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Packed sequences for causal attention: sequence s occupies rows
 * [start[s], start[s] + len[s]) of q/k/v. */
typedef struct AttnSeqs {
    int n;
    const int32_t *start; /* (n) */
    const int32_t *len;   /* (n) */
} AttnSeqs;

/* Shapes shared by the attention ops. */
typedef struct AttnDims {
    int n_heads, n_kv_heads, head_dim;
    float scale; /* 1 / sqrt(head_dim) */
} AttnDims;

typedef struct Backend {
    const char *name;
    int host_memory; /* 1: buffers are plain host pointers (the core may read them directly) */

    /* ---- memory ---- */
    void *(*alloc)(size_t bytes); /* zero-filled; aborts on failure */
    void (*free)(void *p);
    void (*upload)(void *dst, const void *host_src, size_t bytes);
    void (*download)(void *host_dst, const void *src, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes);
    void (*zero)(void *p, size_t bytes);

    /* ---- dense ---- */
    /* C (M, N) = alpha * op(A) @ op(B) + beta * C; op = transpose when trans_* = 1.
     * A is (M, K) or (K, M) when transposed; B is (K, N) or (N, K). */
    void (*matmul)(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc);
    void (*add)(float *y, const float *x, size_t n);                   /* y += x */
    void (*add_bias)(float *y, const float *bias, int rows, int cols); /* y (rows, cols) += bias */
    void (*bias_grad)(float *dbias, const float *dy, int rows, int cols); /* dbias += sum over rows */

    /* ---- transformer ops ---- */
    void (*embedding)(float *out, const float *wte, const int32_t *ids, int n, int C);
    void (*embedding_bwd)(float *dwte, const float *dout, const int32_t *ids, int n, int C); /* accumulates */
    /* out = x * rstd * w, rstd (n) kept for backward */
    void (*rmsnorm)(float *out, float *rstd, const float *x, const float *w, int n, int C, float eps);
    /* dx += d/dx, dw += d/dw */
    void (*rmsnorm_bwd)(float *dx, float *dw, const float *dout, const float *x, const float *w, const float *rstd,
                        int n, int C);
    /* Rotates x (n, heads, head_dim) in place by pos[i] * theta^(-2d/hd) (rotate-half
     * convention); inverse = 1 rotates by the negative angle (the backward). */
    void (*rope)(float *x, const int32_t *pos, int n, int heads, int head_dim, double theta, int inverse);
    /* Causal attention over packed sequences. q (N, NH*hd), k/v (N, NKV*hd),
     * out (N, NH*hd), lse (N, NH) = log-sum-exp of the scaled scores (kept for backward). */
    void (*attention)(float *out, float *lse, const float *q, const float *k, const float *v, const AttnSeqs *s,
                      const AttnDims *d);
    /* Gradients of attention; dq, dk, dv overwritten. */
    void (*attention_bwd)(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                          const float *q, const float *k, const float *v, const AttnSeqs *s, const AttnDims *d);
    /* Writes the n rows of k and v (n, kd) into the caches (slots, max_t, kd) at
     * row slot[i] * max_t + pos[i]. slot and pos live in backend memory (alloc),
     * so a decode step needs no transfer per layer. */
    void (*kv_append)(float *kcache, float *vcache, const float *k, const float *v, const int32_t *slot,
                      const int32_t *pos, int n, int max_t, int kd);
    /* One query row per sequence against a KV cache: row i attends to
     * kcache/vcache rows slot[i]*max_t + [0, kv_len[i]); caches (slots, max_t, NKV*hd).
     * slot and kv_len live in backend memory; max_kv (host) is at least every
     * kv_len[i] and sizes the launch (rows beyond it are not read). */
    void (*attention_decode)(float *out, const float *q, const float *kcache, const float *vcache,
                             const int32_t *slot, const int32_t *kv_len, int n, int max_t, int max_kv,
                             const AttnDims *d);
    /* h = silu(g) * u */
    void (*swiglu)(float *h, const float *g, const float *u, size_t n);
    void (*swiglu_bwd)(float *dg, float *du, const float *dh, const float *g, const float *u, size_t n);

    /* ---- heads ---- */
    /* Causal-LM head in vocabulary chunks: for rows with target[i] >= 0,
     * logp[i] = log softmax(h[i] @ W^T)[target[i]], lse[i] kept; entropy (optional)
     * = entropy of that softmax. Rows with target < 0 get 0. W (V, C). */
    void (*lm_logprob)(float *logp, float *lse, float *entropy, const float *h, const float *W, const int32_t *target,
                       int n, int V, int C);
    /* dh (n, C) overwritten, dW (V, C) accumulated, for d loss / d logp = dlogp. */
    void (*lm_logprob_bwd)(float *dh, float *dW, const float *dlogp, const float *lse, const float *h, const float *W,
                           const int32_t *target, int n, int V, int C);

    /* ---- optimizer ---- */
    double (*sumsq)(const float *x, size_t n); /* in double, fixed order */
    /* PyTorch AdamW on n elements, gradient scaled by gscale first (clipping). pb: NULL, or where the updated
     * weights' bf16 copy goes (round to nearest even, as to_bf16), written in the same pass: the step is
     * memory-bound, and a to_bf16 afterwards would read all of p again. */
    void (*adamw)(float *p, const float *g, float *m, float *v, uint16_t *pb, size_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, float bias_corr1, float bias_corr2, float gscale);

    /* ---- sampling ---- */
    /* For each row of logits (n, V): logz[i] = logsumexp(logits[i]), the T=1 normaliser
     * used for the log-prob of a sampled token. */
    void (*logsumexp_rows)(float *logz, const float *logits, int n, int V);

    /* Threads for the backend's kernels (0 = all cores). */
    void (*set_threads)(int n);
    /* CPU only (NULL elsewhere): the bf16 product kernel by name; -1 with msg filled when unknown or unsupported */
    int (*set_bf16_kernel)(const char *name, char *msg, size_t msg_size);
    /* CPU only (NULL elsewhere): bytes per value of a bf16 product's packed activation operand with the kernel
       in use (2: the AMX and vdpbf16ps kernels pack bf16; 4: the widening ones round in f32), for the memory plan */
    size_t (*bf16_operand_bytes)(void);
    const char *(*kernel_info)(void);

    /* ---- optional (NULL when a backend does not provide them) ---- */
    /* Data-parallel training (stages/common/dp.h). out[c] (host) = sum of squares of x's chunk c (`chunk`
     * elements, the last may be short) in double, in a fixed order per chunk. */
    void (*sumsq_chunks)(double *out, const float *x, size_t n, size_t chunk);
    /* The run's processes (util/dist.h) on this backend's memory: the CPU's through MPI, CUDA's through NCCL.
     * dist_exchange and dist_allgather are util/dist's dist_alltoall_ranges_f32_each and
     * dist_allgather_ranges_f32 on backend buffers (tmp too); dist_init sets up the communicator once. */
    int (*dist_init)(PureErr *err);
    void (*dist_exchange)(const float *src, const int64_t *bounds, float *tmp,
                          void (*take)(void *ctx, int from, const float *slice, int64_t off, int64_t len), void *ctx);
    void (*dist_allgather)(float *buf, const int64_t *bounds);

    /* Draws one token per row of logits (n, V) (backend memory) with
     * temperature / top-k / top-p and uniforms rng_uniform_double(seed,
     * streams[i], counters[i]); tokens and logprobs (the T=1 log-prob of the
     * drawn token) are host arrays, as are streams and counters. The rule is
     * model_sample_row's (below), so a backend draws the same tokens as the
     * host from the same logits. NULL: the core downloads the logits and
     * samples on the host. Returns 0, or -1 with err set. */
    int (*sample_rows)(int32_t *tokens, float *logprobs, const float *logits, int n, int V, float temperature,
                       float top_p, int top_k, uint64_t seed, const uint64_t *streams, const uint64_t *counters,
                       PureErr *err);

    /* ---- bf16 weights (optional as a group: all NULL, or all set) ----
     * Weights stored as bf16 (model/bf16.h); the activation operand is rounded
     * to bf16 at the product's input; products and sums in f32 (autocast).
     * matmul_bf16: C (M, N) = alpha * bf16(A) (M, K) @ op(W) + beta * C, with
     * op(W) = W^T for W (N, K) when trans_w (x @ W^T, the forward), else W (K, N)
     * (dy @ W, the input gradient). The head ops are lm_logprob / lm_logprob_bwd
     * with a bf16 W (the gradient dW stays f32). */
    void (*matmul_bf16)(int trans_w, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W,
                        int ldw, float beta, float *C, int ldc);
    /* Both operands f32, rounded to bf16 at the product's input, f32 sums: C = alpha * op(A) @ op(B) + beta * C
     * (bf16 training's weight gradients; NULL: the f32 matmul does them). */
    void (*matmul_bf16_ab)(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                           const float *B, int ldb, float beta, float *C, int ldc);
    /* A linear layer's backward in bf16 training, the two products that read its output gradient dY (n, out):
     * dW (out, in) += bf16(dY)^T @ bf16(X) (X (n, in)), then dX (n, in) = bf16(dY) @ W + beta_dx * dX for W
     * (out, in) bf16; the same values as matmul_bf16_ab followed by matmul_bf16, with dY rounded once for both
     * (optional: NULL, and the model makes those two calls; the CPU's kernels pack per call anyway). */
    void (*linear_bwd_bf16)(int n, int out, int in, const float *dY, const float *X, const uint16_t *W, float *dX,
                            float beta_dx, float *dW);
    void (*to_bf16)(uint16_t *dst, const float *src, size_t n); /* round to nearest even */
    void (*embedding_bf16)(float *out, const uint16_t *wte, const int32_t *ids, int n, int C);
    void (*lm_logprob_bf16)(float *logp, float *lse, float *entropy, const float *h, const uint16_t *W,
                            const int32_t *target, int n, int V, int C);
    void (*lm_logprob_bwd_bf16)(float *dh, float *dW, const float *dlogp, const float *lse, const float *h,
                                const uint16_t *W, const int32_t *target, int n, int V, int C);
    /* The KV cache of a bf16 model is bf16 too (half the bytes a decode step
     * reads): kv_append rounding k and v, attention_decode widening each cached
     * value back to f32 (every product and sum f32), with the contracts of the
     * f32 ops above. */
    void (*kv_append_bf16)(uint16_t *kcache, uint16_t *vcache, const float *k, const float *v, const int32_t *slot,
                           const int32_t *pos, int n, int max_t, int kd);
    void (*attention_decode_bf16)(float *out, const float *q, const uint16_t *kcache, const uint16_t *vcache,
                                  const int32_t *slot, const int32_t *kv_len, int n, int max_t, int max_kv,
                                  const AttnDims *d);
} Backend;

/* The host sampler (model/sample_rule.c), used when a backend has no
 * sample_rows: one token from a row of logits (V) at temperature / top-k /
 * top-p with the uniform u in [0, 1), by the rule written out in
 * model/sample_rule.h, which the device sampler (model/cuda/) follows to the
 * rounding: greedy (lowest id among ties) when temperature <= 0; else top-k
 * keeps the logits >= the k-th largest (ties kept), top-p those >= the
 * largest logit whose kept mass still reaches top_p times the top-k mass, and
 * the token is the first id (ascending) at which the running kept mass
 * exceeds u times the total. idx (V) and w (V) are scratch. */
int32_t model_sample_row(const float *logits, int V, float temperature, float top_p, int top_k, double u,
                         int32_t *idx, double *w);

/* The CPU backend (model/cpu/); always available. */
const Backend *backend_cpu(void);
#ifdef PURE_HAVE_CUDA
/* The CUDA backend (model/cuda/); NULL when no device is usable. */
const Backend *backend_cuda(void);
#endif

#endif
