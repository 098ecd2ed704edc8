/* internal.cuh - helpers shared by the CUDA backend's .cu files: error
 * checks, the op table entries each file provides, scratch and staging
 * buffers. CUDA C++ only; the C-visible internals are in cuda.h. */
#ifndef PURE_MODEL_CUDA_INTERNAL_CUH
#define PURE_MODEL_CUDA_INTERNAL_CUH

#include <cuda_runtime.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "model/backend.h"
#include "model/cuda/cuda.h"
}

/* Kernel launches and dynamic shared memory go through macros so the same
 * sources also build against the CPU emulator of tests/cuda/emu/ (which
 * defines PURE_CUDA_EMU and its own versions) for testing without a GPU. */
#ifndef PURE_CUDA_EMU
#define CU_LAUNCH(kernel, grid, block, smem, ...)                    \
    do {                                                             \
        int prof_ = cuda_prof_begin(#kernel);                        \
        kernel<<<(grid), (block), (smem)>>>(__VA_ARGS__);            \
        cuda_prof_end(prof_);                                        \
    } while (0)
#define CU_DYN_SMEM(T, name) extern __shared__ T name[]
#endif
/* profile.cu: events around a piece of GPU work named by a string literal (-1 and nothing recorded when
 * profiling is off); every CU_LAUNCH, cuBLAS call and generic copy goes through them */
int cuda_prof_begin(const char *name);
void cuda_prof_end(int slot);

/* The Backend contract has no error returns: a failed CUDA call is fatal,
 * reported with the call, file:line and CUDA's message (exit status 1). */
void cuda_fatal(const char *what, const char *file, int line, const char *msg);
#define CU_CHECK(call)                                                                  \
    do {                                                                                \
        cudaError_t e_ = (call);                                                        \
        if (e_ != cudaSuccess) cuda_fatal(#call, __FILE__, __LINE__, cudaGetErrorString(e_)); \
    } while (0)
/* after every kernel launch: catches bad launch configurations at once */
#define CU_LAUNCHED() CU_CHECK(cudaGetLastError())

/* Device memory from the backend's arena (zero-filled), fatal on failure. */
void *cuda_alloc(size_t bytes);
void cuda_free(void *p);
/* A grow-only device buffer per slot, for scratch that lives during one op. */
enum { SCRATCH_MAIN = 0, SCRATCH_AUX, SCRATCH_I32A, SCRATCH_I32B, SCRATCH_I32C, SCRATCH_HOSTCOPY, SCRATCH_BF16,
       SCRATCH_BF16B, SCRATCH_SLOTS }; /* SCRATCH_BF16: the activation operand of matmul_bf16, rounded;
                                          SCRATCH_BF16B: matmul_bf16_ab's second operand */
void *cuda_scratch(int slot, size_t bytes);
/* The core may pass index arrays (ids, positions, targets, sequence starts)
 * in host or device memory: returns a device pointer with the same n values. */
const int32_t *cuda_dev_i32(const int32_t *p, size_t n, int slot);
/* The same values in host memory (into *buf, realloc'd as needed). */
const int32_t *cuda_host_i32(const int32_t *p, size_t n, int32_t **buf);

static inline unsigned cuda_blocks(size_t n, unsigned threads) {
    size_t b = (n + threads - 1) / threads;
    return (unsigned)(b < 1 ? 1 : (b > 65535u * 32u ? 65535u * 32u : b));
}

/* ---- op table entries, one group per file ---- */
/* gemm.cu */
void cuda_op_matmul(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc);
void cuda_gemm_shutdown(void);
/* bf16 weights (backend.h's matmul_bf16): A rounded to bf16 on the device, cuBLAS bf16 x bf16 -> f32 */
void cuda_op_matmul_bf16(int trans_w, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W,
                         int ldw, float beta, float *C, int ldc);
/* backend.h's linear_bwd_bf16: the weight and input gradients of a bf16 linear layer, dY rounded once */
void cuda_op_linear_bwd_bf16(int n, int out, int in, const float *dY, const float *X, const uint16_t *W, float *dX,
                             float beta_dx, float *dW);
/* both operands f32, rounded to bf16 on the device (backend.h's matmul_bf16_ab: bf16 training's weight gradients) */
void cuda_op_matmul_bf16_ab(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                            const float *B, int ldb, float beta, float *C, int ldc);
void cuda_op_to_bf16(uint16_t *dst, const float *src, size_t n);
void cuda_op_embedding_bf16(float *out, const uint16_t *wte, const int32_t *ids, int n, int C);
const char *cuda_matmul_mode_name(void);
/* elementwise.cu */
void cuda_op_add(float *y, const float *x, size_t n);
void cuda_op_add_bias(float *y, const float *bias, int rows, int cols);
void cuda_op_bias_grad(float *dbias, const float *dy, int rows, int cols);
void cuda_op_embedding(float *out, const float *wte, const int32_t *ids, int n, int C);
void cuda_op_embedding_bwd(float *dwte, const float *dout, const int32_t *ids, int n, int C);
void cuda_op_rmsnorm(float *out, float *rstd, const float *x, const float *w, int n, int C, float eps);
void cuda_op_rmsnorm_bwd(float *dx, float *dw, const float *dout, const float *x, const float *w, const float *rstd,
                         int n, int C);
void cuda_op_rope(float *x, const int32_t *pos, int n, int heads, int head_dim, double theta, int inverse);
void cuda_op_swiglu(float *h, const float *g, const float *u, size_t n);
void cuda_op_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u, size_t n);
double cuda_op_sumsq(const float *x, size_t n);
void cuda_op_sumsq_chunks(double *out, const float *x, size_t n, size_t chunk);
/* nccl.cu (builds with NCCL): the run's collectives on device memory */
int cuda_dist_init(PureErr *err);
void cuda_dist_exchange(const float *src, const int64_t *bounds, float *tmp,
                        void (*take)(void *ctx, int from, const float *slice, int64_t off, int64_t len), void *ctx);
void cuda_dist_allgather(float *buf, const int64_t *bounds);
void cuda_op_adamw(float *p, const float *g, float *m, float *v, uint16_t *pb, size_t n, float lr, float beta1,
                   float beta2, float eps, float weight_decay, float bias_corr1, float bias_corr2, float gscale);
void cuda_op_logsumexp_rows(float *logz, const float *logits, int n, int V);
/* attention.cu */
void cuda_op_attention(float *out, float *lse, const float *q, const float *k, const float *v, const AttnSeqs *s,
                       const AttnDims *d);
void cuda_op_attention_bwd(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                           const float *q, const float *k, const float *v, const AttnSeqs *s, const AttnDims *d);
/* attention_decode.cu */
void cuda_op_kv_append(float *kcache, float *vcache, const float *k, const float *v, const int32_t *slot,
                       const int32_t *pos, int n, int max_t, int kd);
void cuda_op_attention_decode(float *out, const float *q, const float *kcache, const float *vcache,
                              const int32_t *slot, const int32_t *kv_len, int n, int max_t, int max_kv,
                              const AttnDims *d);
void cuda_op_kv_append_bf16(uint16_t *kcache, uint16_t *vcache, const float *k, const float *v, const int32_t *slot,
                            const int32_t *pos, int n, int max_t, int kd);
void cuda_op_attention_decode_bf16(float *out, const float *q, const uint16_t *kcache, const uint16_t *vcache,
                                   const int32_t *slot, const int32_t *kv_len, int n, int max_t, int max_kv,
                                   const AttnDims *d);
/* attention_mma.cu: the tensor-core path of cuda_op_attention / _bwd (start/len on the device) */
int cuda_attention_mma_supports(int hd);
void cuda_attention_mma_fwd(float *out, float *lse, const float *q, const float *k, const float *v,
                            const int32_t *dstart, const int32_t *dlen, int nseq, int max_len, const AttnDims *d);
void cuda_attention_mma_bwd(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                            const float *q, const float *k, const float *v, const int32_t *dstart,
                            const int32_t *dlen, int nseq, int max_len, int N, const AttnDims *d);
const char *cuda_attention_mode_name(void);
/* vocab.cu */
void cuda_op_lm_logprob(float *logp, float *lse, float *entropy, const float *h, const float *W,
                        const int32_t *target, int n, int V, int C);
void cuda_op_lm_logprob_bwd(float *dh, float *dW, const float *dlogp, const float *lse, const float *h,
                            const float *W, const int32_t *target, int n, int V, int C);
void cuda_op_lm_logprob_bf16(float *logp, float *lse, float *entropy, const float *h, const uint16_t *W,
                             const int32_t *target, int n, int V, int C);
void cuda_op_lm_logprob_bwd_bf16(float *dh, float *dW, const float *dlogp, const float *lse, const float *h,
                                 const uint16_t *W, const int32_t *target, int n, int V, int C);

/* bf16 bits <-> float in device code, the rule of model/bf16.h (round to nearest even, NaN kept quiet) */
__device__ __forceinline__ float dev_bf16_to_f32(uint16_t h) { return __uint_as_float((uint32_t)h << 16); }
__device__ __forceinline__ uint16_t dev_f32_to_bf16(float f) {
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* Dynamic shared memory above 48 KiB must be opted into per kernel. */
template <typename K> static inline void cuda_smem_optin(K kernel, size_t bytes) {
    if (bytes > 48 * 1024) CU_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
}

/* Registers per lane of the f32 attention kernels (attention.cu,
 * attention_decode.cu) for the head dimensions a lane owns (d = lane + 32 i),
 * and the dispatch over them (NRV, a compile-time constant, in the body). */
static inline int cuda_attn_regs(int hd) {
    if (hd <= 32) return 1;
    if (hd <= 64) return 2;
    if (hd <= 128) return 4;
    if (hd <= 256) return 8;
    cuda_fatal("attention", __FILE__, __LINE__, "head_dim > 256 is not supported by the CUDA attention kernels");
    return 0;
}
#define DISPATCH_NR(hd, ...)                             \
    switch (cuda_attn_regs(hd)) {                        \
    case 1: { const int NRV = 1; __VA_ARGS__; } break;  \
    case 2: { const int NRV = 2; __VA_ARGS__; } break;  \
    case 4: { const int NRV = 4; __VA_ARGS__; } break;  \
    default: { const int NRV = 8; __VA_ARGS__; } break; \
    }

/* One 32-key tile of a warp's online softmax over keys (attention.cu's
 * forward, attention_decode.cu): lane j holds key j's scaled score sc (-inf
 * when masked or past the tile), rows 0..jn-1 of Vs (pitch hd) are the tile's
 * values. Updates the running max m, the sum l and the lane's head dimensions
 * acc[i] (d = lane + 32 i). A tile masked for the whole row changes nothing. */
template <int NR>
__device__ __forceinline__ void warp_softmax_tile(float sc, float &m, float &l, float acc[NR], const float *Vs,
                                                  int jn, int hd);

/* ---- block reductions (blockDim.x a multiple of 32, at most 1024) ---- */
template <typename T> __device__ __forceinline__ T warp_sum(T v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
/* Every thread gets the block's sum; fixed tree order, so deterministic. */
template <typename T> __device__ T block_sum(T v) {
    __shared__ T part[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads(); /* part[] may still be read by a previous call */
    if (lane == 0) part[w] = v;
    __syncthreads();
    T t = lane < nw ? part[lane] : (T)0;
    return warp_sum(t);
}
__device__ __forceinline__ float block_max(float v) {
    __shared__ float part[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) part[w] = v;
    __syncthreads();
    float t = lane < nw ? part[lane] : -INFINITY;
    return warp_max(t);
}

template <int NR>
__device__ __forceinline__ void warp_softmax_tile(float sc, float &m, float &l, float acc[NR], const float *Vs,
                                                  int jn, int hd) {
    const float tmax = warp_max(sc);
    if (tmax == -INFINITY) return; /* keeps m - mnew defined */
    const int lane = threadIdx.x & 31;
    const float mnew = fmaxf(m, tmax), corr = expf(m - mnew);
    const float p = sc == -INFINITY ? 0.0f : expf(sc - mnew);
    l = l * corr + warp_sum(p);
#pragma unroll
    for (int i = 0; i < NR; i++) acc[i] *= corr;
    for (int jj = 0; jj < jn; jj++) {
        const float pj = __shfl_sync(0xffffffffu, p, jj);
#pragma unroll
        for (int i = 0; i < NR; i++) {
            const int d = lane + 32 * i;
            if (d < hd) acc[i] += pj * Vs[jj * hd + d];
        }
    }
    m = mnew;
}

#endif
