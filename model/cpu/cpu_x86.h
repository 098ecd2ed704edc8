/* cpu_x86.h - the hand-written x86 kernels of cpu_x86.c, for cpu_bf16.c's and cpu_blas.c's dispatch only. */
#ifndef PURE_MODEL_CPU_X86_H
#define PURE_MODEL_CPU_X86_H

#include <stdint.h>

/* The bf16 product kernels, in cpu_bf16.c's order of preference (highest last). */
enum { CPU_BF16_WIDEN, CPU_BF16_AVX512, CPU_BF16_DPBF16, CPU_BF16_AMX, CPU_BF16_KERNELS };

/* 1 when this CPU (and, for AMX, the OS) allows kernel */
int cpu_bf16x86_supported(int kernel);

/* AVX-512, few rows: C[i][j] = alpha * A row i . W row j + beta * C[i][j] for rows [0, M), columns [j0, j1);
 * Ae from cpu_bf16x86_skinny_pack, W (N, K) bf16 with leading dimension ldw. */
void cpu_bf16x86_skinny(const float *Ae, int M, int K, const uint16_t *W, int ldw, int j0, int j1, float *C,
                        int ldc, float alpha, float beta);
/* Ae (M, K rounded up to 32) = A rounded to bf16 values, each 32-column block as its even then its odd columns,
 * zero past K: the layout cpu_bf16x86_skinny reads (any CPU). */
void cpu_bf16x86_skinny_pack(float *Ae, const float *A, int lda, int M, int K);

/* AMX: C (M, N) = alpha * bf16(A) (M, K) @ op(B) + beta * C, op(B) = B^T for B (N, K) when trans_b, else B (K, N);
 * M, N, K >= 1. Runs its own tasks on the CPU pool. */
void cpu_bf16x86_amx(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *B,
                     int ldb, float beta, float *C, int ldc);

/* AMX: C (M, N) = alpha * bf16(op(A)) @ bf16(op(B)) + beta * C, both operands f32 (op(X) = X^T when trans_x). */
void cpu_bf16x86_amx_ab(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc);

/* AVX-512 BF16, few rows: as cpu_bf16x86_skinny, with A as Ab from cpu_bf16x86_rows_pack. */
void cpu_bf16x86_skinny_dp(const uint16_t *Ab, int M, int K, const uint16_t *W, int ldw, int j0, int j1, float *C,
                           int ldc, float alpha, float beta);
/* Ab (M, K rounded up to 32) = A (M, K) as bf16, zero past K (CPU_BF16_DPBF16 supported). */
void cpu_bf16x86_rows_pack(uint16_t *Ab, const float *A, int lda, int M, int K);

/* AVX-512 BF16 (vdpbf16ps), the same products as cpu_bf16x86_amx and cpu_bf16x86_amx_ab, for CPUs without AMX. */
void cpu_bf16x86_dp(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *B,
                    int ldb, float beta, float *C, int ldc);
void cpu_bf16x86_dp_ab(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc);

/* AVX-512 (CPU_BF16_AVX512 supported), f32: C[i][j] = alpha * A row i . W row j + beta * C[i][j] for rows
 * [0, M), columns [j0, j1); A (M, K) with leading dimension lda, W (N, K) with ldw. */
void cpu_x86_skinny_f32(const float *A, int lda, int M, int K, const float *W, int ldw, int j0, int j1, float *C,
                        int ldc, float alpha, float beta);

#endif
