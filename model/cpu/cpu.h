/* cpu.h - internals shared by the CPU backend's files (not for the core).
 *
 * Threading: cpu_parallel_for runs n independent tasks on a fixed pool of
 * pthreads. Tasks never share outputs, and every reduction is done inside one
 * task in a fixed order, so results do not depend on the thread count.
 */
#ifndef PURE_MODEL_CPU_H
#define PURE_MODEL_CPU_H

#include <stddef.h>
#include <stdint.h>
#include "model/backend.h"

typedef void (*CpuTaskFn)(void *ctx, int task);
/* Runs fn(ctx, 0..n_tasks-1) across the pool; returns when all are done.
 * Called from inside a task it runs serially. */
void cpu_parallel_for(int n_tasks, CpuTaskFn fn, void *ctx);
void cpu_set_threads(int n); /* 0 = all cores; also sets OpenBLAS's count */
int cpu_threads(void);

/* Split [0, n) into blocks of `block` (the last may be shorter). */
static inline int cpu_nblocks(int n, int block) { return (n + block - 1) / block; }

void cpu_matmul(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                int ldb, float beta, float *C, int ldc);
/* The plain triple loop (double accumulation): the reference the BLAS path is checked against. */
void cpu_matmul_ref(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc);
const char *cpu_kernel_info(void);

void cpu_attention(float *out, float *lse, const float *q, const float *k, const float *v, const AttnSeqs *s,
                   const AttnDims *d);
void cpu_attention_bwd(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                       const float *q, const float *k, const float *v, const AttnSeqs *s, const AttnDims *d);
void cpu_attention_decode(float *out, const float *q, const float *kcache, const float *vcache, const int32_t *slot,
                          const int32_t *kv_len, int n, int max_t, int max_kv, const AttnDims *d);
void cpu_kv_append(float *kcache, float *vcache, const float *k, const float *v, const int32_t *slot,
                   const int32_t *pos, int n, int max_t, int kd);
void cpu_attention_decode_bf16(float *out, const float *q, const uint16_t *kcache, const uint16_t *vcache,
                               const int32_t *slot, const int32_t *kv_len, int n, int max_t, int max_kv,
                               const AttnDims *d);
void cpu_kv_append_bf16(uint16_t *kcache, uint16_t *vcache, const float *k, const float *v, const int32_t *slot,
                        const int32_t *pos, int n, int max_t, int kd);

void cpu_lm_logprob(float *logp, float *lse, float *entropy, const float *h, const float *W, const int32_t *target,
                    int n, int V, int C);
void cpu_lm_logprob_bwd(float *dh, float *dW, const float *dlogp, const float *lse, const float *h, const float *W,
                        const int32_t *target, int n, int V, int C);

/* cpu_bf16.c: bf16 weights (model/bf16.h), A rounded to bf16, f32 sums.
 * C (M, N) = alpha * bf16(A) (M, K) @ op(B) + beta * C, op(B) = B^T for B (N, K) when trans_b, else B (K, N). */
void cpu_matmul_bf16(int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *B,
                     int ldb, float beta, float *C, int ldc);
/* C (M, N) = alpha * bf16(op(A)) @ bf16(op(B)) + beta * C for two f32 operands (op(X) = X^T when trans_x):
 * the weight gradients of bf16 training. */
void cpu_matmul_bf16_ab(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc);
void cpu_to_bf16(uint16_t *dst, const float *src, size_t n);
void cpu_embedding_bf16(float *out, const uint16_t *wte, const int32_t *ids, int n, int C);
void cpu_lm_logprob_bf16(float *logp, float *lse, float *entropy, const float *h, const uint16_t *W,
                         const int32_t *target, int n, int V, int C);
void cpu_lm_logprob_bwd_bf16(float *dh, float *dW, const float *dlogp, const float *lse, const float *h,
                             const uint16_t *W, const int32_t *target, int n, int V, int C);
const char *cpu_bf16_info(void);
/* Selects the bf16 product kernel by name (widen, avx512, amx: cpu_bf16.c), at most the best this CPU has;
 * -1 with a message in msg when name is unknown or beyond this CPU. For benchmarks and tests, before any work. */
size_t cpu_bf16_operand_bytes(void);
int cpu_bf16_set_kernel(const char *name, char *msg, size_t msg_size);
/* The kernel chosen (cpu_x86.h's CPU_BF16_*). At avx512 and above, f32 decoding products take the hand-written
 * AVX-512 kernel too (cpu_blas.c), so `widen` is also the way back to the compiler's loop for f32. */
int cpu_bf16_kernel(void);

/* cpu_dist.c: data-parallel training's chunked norm and the run's collectives (MPI, util/dist.h). */
void cpu_sumsq_chunks(double *out, const float *x, size_t n, size_t chunk);
int cpu_dist_init(PureErr *err);
void cpu_dist_exchange(const float *src, const int64_t *bounds, float *tmp,
                       void (*take)(void *ctx, int from, const float *slice, int64_t off, int64_t len), void *ctx);
void cpu_dist_allgather(float *buf, const int64_t *bounds);

#endif
