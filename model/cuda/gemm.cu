/* gemm.cu - matrix products through cuBLAS (cublasGemmEx).
 *
 * The contract is row-major fp32; cuBLAS is column-major, so C = op(A) op(B)
 * is computed as C^T = op(B)^T op(A)^T with the operands swapped. The default
 * compute type CUBLAS_COMPUTE_32F_FAST_16BF rounds the inputs to bf16 for the
 * tensor cores and accumulates in fp32: bf16 matmuls with fp32 compute while
 * the buffers stay fp32 (the backend interface passes float *). PURE_CUDA_MATMUL
 * = tf32 | fp32 selects TF32 or full fp32 (used by the parity tests).
 */
#include <cublas_v2.h>
#include <stdio.h>

#include "internal.cuh"

static cublasHandle_t g_handle;
static int g_mode = CUDA_MATMUL_BF16;

extern "C" void cuda_set_matmul_mode(int mode) { g_mode = mode; }
extern "C" int cuda_matmul_mode(void) { return g_mode; }

const char *cuda_matmul_mode_name(void) {
    return g_mode == CUDA_MATMUL_FP32 ? "fp32" : g_mode == CUDA_MATMUL_TF32 ? "tf32" : "bf16 tensor-core";
}

static void blas_check(cublasStatus_t st, const char *what, int line) {
    if (st != CUBLAS_STATUS_SUCCESS) {
        char msg[64];
        snprintf(msg, sizeof msg, "cuBLAS status %d", (int)st);
        cuda_fatal(what, __FILE__, line, msg);
    }
}

/* a cuBLAS product between the profiler's events (profile.cu), then checked; what: a string literal */
#define BLAS_TIMED(what, call)                        \
    do {                                              \
        int prof_ = cuda_prof_begin(what);            \
        cublasStatus_t st_ = (call);                  \
        cuda_prof_end(prof_);                         \
        blas_check(st_, what, __LINE__);              \
    } while (0)

static cublasHandle_t handle(void) {
    if (!g_handle) {
        blas_check(cublasCreate(&g_handle), "cublasCreate", __LINE__);
        /* the legacy default stream, like every other op of this backend */
        blas_check(cublasSetStream(g_handle, 0), "cublasSetStream", __LINE__);
    }
    return g_handle;
}

void cuda_gemm_shutdown(void) {
    if (g_handle) cublasDestroy(g_handle);
    g_handle = NULL;
}

void cuda_op_matmul(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    cublasComputeType_t ct = g_mode == CUDA_MATMUL_FP32   ? CUBLAS_COMPUTE_32F
                             : g_mode == CUDA_MATMUL_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                          : CUBLAS_COMPUTE_32F_FAST_16BF;
    cublasOperation_t ob = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, oa = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasHandle_t h = handle();
    BLAS_TIMED("cublasGemmEx (f32 operands)", cublasGemmEx(h, ob, oa, N, M, K, &alpha, B, CUDA_R_32F, ldb, A, CUDA_R_32F,
                                                           lda, &beta, C, CUDA_R_32F, ldc, ct, CUBLAS_GEMM_DEFAULT));
}

/* ---- bf16 weights ---- */

/* Ab (M, K) packed = bf16(A (M, K) with leading dimension lda) */
__global__ void pack_bf16_kernel(uint16_t *Ab, const float *A, int M, int K, int lda) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, n = (size_t)M * K;
    for (; i < n; i += (size_t)gridDim.x * blockDim.x) Ab[i] = dev_f32_to_bf16(A[(i / K) * (size_t)lda + i % K]);
}

__global__ void to_bf16_kernel(uint16_t *dst, const float *src, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    for (; i < n; i += (size_t)gridDim.x * blockDim.x) dst[i] = dev_f32_to_bf16(src[i]);
}

/* C (M, N) = alpha * bf16(op(A)) @ bf16(op(B)) + beta * C: each operand rounded into a packed bf16 copy in its
   own layout (rows x cols of what is stored), then cuBLAS bf16 x bf16 -> f32 as cuda_op_matmul_bf16; the CPU's
   cpu_matmul_bf16_ab computes the same */
void cuda_op_matmul_bf16_ab(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                            const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    int ar = trans_a ? K : M, ac = trans_a ? M : K, br = trans_b ? N : K, bc = trans_b ? K : N;
    uint16_t *Ab = (uint16_t *)cuda_scratch(SCRATCH_BF16, sizeof(uint16_t) * (size_t)(ar > 0 ? ar : 1) * ac);
    uint16_t *Bb = (uint16_t *)cuda_scratch(SCRATCH_BF16B, sizeof(uint16_t) * (size_t)(br > 0 ? br : 1) * bc);
    if (K > 0) {
        CU_LAUNCH(pack_bf16_kernel, cuda_blocks((size_t)ar * ac, 256), 256, 0, Ab, A, ar, ac, lda);
        CU_LAUNCH(pack_bf16_kernel, cuda_blocks((size_t)br * bc, 256), 256, 0, Bb, B, br, bc, ldb);
        CU_LAUNCHED();
    }
    cublasHandle_t h = handle();
    BLAS_TIMED("cublasGemmEx (bf16 x bf16)",
               cublasGemmEx(h, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K,
                            &alpha, Bb, CUDA_R_16BF, bc, Ab, CUDA_R_16BF, ac, &beta, C, CUDA_R_32F, ldc,
                            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

/* backend.h's linear_bwd_bf16: dY rounded once into SCRATCH_BF16 serves both products, in the layouts
   cuda_op_matmul_bf16_ab and cuda_op_matmul_bf16 give it (n x out, contiguous), so the results are theirs bit for
   bit; one pack of dY fewer per linear layer of the backward (at 1.5B and 4096 tokens, ~0.57 GB a layer less
   to read and write, the MLP's dY being 4096 x 8960) */
void cuda_op_linear_bwd_bf16(int n, int out, int in, const float *dY, const float *X, const uint16_t *W, float *dX,
                             float beta_dx, float *dW) {
    if (in <= 0) return;
    size_t rows = (size_t)(n > 0 ? n : 1);
    uint16_t *Yb = (uint16_t *)cuda_scratch(SCRATCH_BF16, sizeof(uint16_t) * rows * (out > 0 ? out : 1));
    uint16_t *Xb = (uint16_t *)cuda_scratch(SCRATCH_BF16B, sizeof(uint16_t) * rows * in);
    if (n > 0 && out > 0) {
        CU_LAUNCH(pack_bf16_kernel, cuda_blocks((size_t)n * out, 256), 256, 0, Yb, dY, n, out, out);
        CU_LAUNCH(pack_bf16_kernel, cuda_blocks((size_t)n * in, 256), 256, 0, Xb, X, n, in, in);
        CU_LAUNCHED();
    }
    cublasHandle_t h = handle();
    float one = 1.0f;
    /* dW (out, in) += Yb^T Xb: column-major dW^T (in, out) = Xb^T (in, n) Yb (n, out), as matmul_bf16_ab(1, 0) */
    if (out > 0)
        BLAS_TIMED("cublasGemmEx (bf16 x bf16)",
               cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one, Xb, CUDA_R_16BF, in, Yb, CUDA_R_16BF, out,
                            &one, dW, CUDA_R_32F, in, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    if (n <= 0) return; /* out == 0: cuBLAS's K = 0 leaves dX = beta dX, as matmul_bf16 */
    /* dX (n, in) = Yb W + beta dX: column-major dX^T = W^T Yb^T, as matmul_bf16(trans_w = 0) */
    BLAS_TIMED("cublasGemmEx (bf16 weights)",
               cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one, W, CUDA_R_16BF, in, Yb, CUDA_R_16BF, out,
                            &beta_dx, dX, CUDA_R_32F, in, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void cuda_op_to_bf16(uint16_t *dst, const float *src, size_t n) {
    if (!n) return;
    CU_LAUNCH(to_bf16_kernel, cuda_blocks(n, 256), 256, 0, dst, src, n);
    CU_LAUNCHED();
}

/* C (M, N) = alpha * bf16(A) @ op(W) + beta * C with bf16 tensor cores and f32
 * accumulation (CUBLAS_COMPUTE_32F over CUDA_R_16BF inputs): the same rule as
 * the CPU's cpu_matmul_bf16, so the two differ only in summation order. */
void cuda_op_matmul_bf16(int trans_w, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W,
                         int ldw, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    uint16_t *Ab = (uint16_t *)cuda_scratch(SCRATCH_BF16, sizeof(uint16_t) * (size_t)M * (K > 0 ? K : 1));
    if (K > 0) {
        CU_LAUNCH(pack_bf16_kernel, cuda_blocks((size_t)M * K, 256), 256, 0, Ab, A, M, K, lda);
        CU_LAUNCHED();
    }
    /* row-major C = Ab op(W) is column-major C^T = op(W)^T Ab^T */
    cublasHandle_t h = handle();
    BLAS_TIMED("cublasGemmEx (bf16 weights)",
               cublasGemmEx(h, trans_w ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &alpha, W, CUDA_R_16BF, ldw,
                            Ab, CUDA_R_16BF, K, &beta, C, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}
