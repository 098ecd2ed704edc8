/* cuda.h - internals of the CUDA backend shared by its files and its tests
 * (not for the model core, which only sees model/backend.h).
 *
 * Plain C so the tests (C executables) can use it; the .cu files include it
 * inside extern "C". Nothing here needs a GPU except the cuda_* functions.
 */
#ifndef PURE_MODEL_CUDA_H
#define PURE_MODEL_CUDA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model/sample_rule.h"
#include "util/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- device memory arena: a caching allocator over raw device allocations ----
 * Freed blocks are kept and reused (best fit, at most 2x the request), so the
 * core can allocate activations every step without cudaMalloc/cudaFree, which
 * synchronise the device. On a failed raw allocation the cache is released and
 * the allocation retried once; a second failure yields an error naming the
 * bytes asked for, what the arena holds and what the device reports free.
 * Generic over the raw allocator so it is tested on the CPU with malloc. */
typedef struct CuBlock {
    void *p;
    size_t size; /* bytes actually allocated (the request rounded up) */
    int used;
} CuBlock;

typedef struct CuArena {
    void *(*raw_alloc)(size_t bytes);                    /* NULL on failure */
    void (*raw_free)(void *p);
    int (*mem_info)(size_t *free_bytes, size_t *total); /* optional: 0 on success */
    CuBlock *blocks;
    int n, cap;
    size_t in_use, cached, peak; /* bytes: handed out, kept free for reuse, peak in_use + cached */
    size_t peak_in_use;          /* peak of in_use alone: what the memory plan predicts (the cache is
                                    given back when an allocation would fail) */
} CuArena;

void cu_arena_init(CuArena *a, void *(*raw_alloc)(size_t), void (*raw_free)(void *),
                   int (*mem_info)(size_t *, size_t *));
/* Size class of a request: 512-byte granules below 1 MiB, 2 MiB granules above. */
size_t cu_arena_round(size_t bytes);
/* NULL with err set (the out-of-memory message) on failure. */
void *cu_arena_alloc(CuArena *a, size_t bytes, PureErr *err);
/* Returns the block to the cache; -1 if p did not come from this arena. */
int cu_arena_release(CuArena *a, void *p);
/* Gives every cached (unused) block back to the raw allocator. */
void cu_arena_trim(CuArena *a);
void cu_arena_free(CuArena *a);

/* ---- sampling (temperature, top-k, top-p) ----
 * The rule is model/sample_rule.h's, the engine's one definition (greedy
 * argmax, w_i = exp((x_i - max) / T), top-k and top-p cuts on an
 * order-preserving integer map of the logits, inverse CDF in id order over
 * SAMPLE_CHUNKS chunk sums). The kernel (sample.cu) runs one block of
 * SAMPLE_THREADS = SAMPLE_CHUNKS threads per row, one thread per chunk of
 * those sums, and finds the cuts by bisection; sample_rows_ref is the same
 * rule and bisection in plain C (sample_ref.c calls model/sample_rule.c), so
 * the kernel and the host sampler draw the same token from the same logits
 * and uniform. The reported log-prob is logits[tok] - logsumexp(logits)
 * (T = 1). The backend's sample_rows entry is cuda_sample_rows. */
#define SAMPLE_THREADS SAMPLE_CHUNKS
typedef struct SampleParams {
    float temperature, top_p;
    int top_k;
    uint64_t seed;
} SampleParams;
/* logits (n, V) host memory; streams/counters (n); outputs tokens, logprobs (n). */
void sample_rows_ref(int32_t *tokens, float *logprobs, const float *logits, int n, int V, const SampleParams *sp,
                     const uint64_t *streams, const uint64_t *counters);

/* ---- device side (needs a GPU at run time) ---- */
/* Number of usable devices; 0 when the driver or the device is missing. */
int cuda_device_count(void);
/* Same as sample_rows_ref with logits in device memory; results in host memory. */
int cuda_sample_rows(int32_t *tokens, float *logprobs, const float *logits, int n, int V, const SampleParams *sp,
                     const uint64_t *streams, const uint64_t *counters, PureErr *err);
/* Philox on the device for (seed, stream, counter[i]): out (n, 4) host memory.
 * For the test that the device port matches util/rng.c bit for bit. */
int cuda_philox_batch(uint32_t *out, uint64_t seed, uint64_t stream, const uint64_t *counters, int n, PureErr *err);

/* GPU time by kernel, cuBLAS call and copy (profile.cu; env PURE_CUDA_PROFILE=1 turns it on and prints the
 * table to stderr at exit). report: the table to f, returns the number of names in it; reset: zero the sums. */
void cuda_profile_enable(int on);
int cuda_profile_report(FILE *f);
void cuda_profile_reset(void);

/* Matrix-product precision (env PURE_CUDA_MATMUL): bf16 tensor cores with fp32
 * accumulation (default), tf32, or full fp32 (for tight parity tests). */
enum { CUDA_MATMUL_BF16 = 0, CUDA_MATMUL_TF32 = 1, CUDA_MATMUL_FP32 = 2 };
void cuda_set_matmul_mode(int mode);
int cuda_matmul_mode(void);

/* Attention kernels (env PURE_CUDA_ATTENTION=auto|simt|mma): mma runs
 * training and prefill attention on the bf16 tensor cores
 * (attention_mma.cu) for head sizes 16, 32, 64 and 128 on sm_80 and newer;
 * simt runs the f32 CUDA-core kernels (attention.cu); auto (the default)
 * takes mma when the matrix products are bf16 and the head size and device
 * allow it, so the fp32 and tf32 parity modes stay f32 end to end. */
enum { CUDA_ATTN_AUTO = 0, CUDA_ATTN_SIMT = 1, CUDA_ATTN_MMA = 2 };
void cuda_set_attention_mode(int mode);
/* Whether attention with this head size runs on the tensor cores now. */
int cuda_attention_uses_mma(int head_dim);

/* Keys per split of the decode attention (attention_decode.cu): a row's cache
 * is cut into chunks of this many keys, each chunk one block, combined after.
 * Here so the tests can place cache lengths on both sides of a chunk edge. */
#define CUDA_DECODE_CHUNK 256

/* Arena statistics of the backend (bytes). */
void cuda_mem_stats(size_t *in_use, size_t *cached, size_t *peak);
/* The arena's peak of bytes handed out (CuArena.peak_in_use). */
size_t cuda_mem_peak_in_use(void);

#ifdef __cplusplus
}
#endif

#endif
