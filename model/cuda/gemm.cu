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
    blas_check(cublasGemmEx(handle(), ob, oa, N, M, K, &alpha, B, CUDA_R_32F, ldb, A, CUDA_R_32F, lda, &beta, C,
                            CUDA_R_32F, ldc, ct, CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx", __LINE__);
}
