/* backend_cuda.cu - the CUDA backend's op table (model/backend.h), device
 * memory through the caching arena, scratch/staging buffers, device
 * detection, the device sampler's entry and the kernel-info line. The
 * kernels live in gemm.cu, elementwise.cu, attention.cu, vocab.cu and
 * sample.cu.
 *
 * Everything runs on the legacy default stream, so the synchronous
 * upload/download of the contract order themselves after the kernels.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.cuh"
#include "philox.h"

extern "C" {
#include "util/log.h"
}

void cuda_fatal(const char *what, const char *file, int line, const char *msg) {
    log_error("CUDA error: %s failed at %s:%d: %s", what, file, line, msg);
    exit(PURE_EXIT_FAIL);
}

/* ---- device detection ---- */

extern "C" int dist_local_rank(void); /* util/dist.h */

extern "C" int cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky "no driver / no device" error */
        return 0;
    }
    return n;
}

/* ---- memory ---- */

static pthread_mutex_t g_mem_lock = PTHREAD_MUTEX_INITIALIZER;
static CuArena g_arena;
static int g_arena_ready;

static void *raw_alloc(size_t bytes) {
    void *p = NULL;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
        cudaGetLastError();
        return NULL;
    }
    return p;
}
static void raw_free(void *p) { CU_CHECK(cudaFree(p)); }
static int raw_info(size_t *fr, size_t *tot) { return cudaMemGetInfo(fr, tot) == cudaSuccess ? 0 : -1; }

void *cuda_alloc(size_t bytes) {
    pthread_mutex_lock(&g_mem_lock);
    if (!g_arena_ready) cu_arena_init(&g_arena, raw_alloc, raw_free, raw_info), g_arena_ready = 1;
    PureErr err;
    err_clear(&err);
    void *p = cu_arena_alloc(&g_arena, bytes, &err);
    pthread_mutex_unlock(&g_mem_lock);
    if (!p) {
        log_error("CUDA backend: %s", err.msg);
        exit(PURE_EXIT_FAIL);
    }
    CU_CHECK(cudaMemset(p, 0, bytes ? bytes : 1));
    return p;
}

void cuda_free(void *p) {
    if (!p) return;
    /* no sync needed: every kernel and copy runs on the one legacy stream, so a
     * reused block's next user is ordered after its previous users */
    pthread_mutex_lock(&g_mem_lock);
    int rc = g_arena_ready ? cu_arena_release(&g_arena, p) : -1;
    pthread_mutex_unlock(&g_mem_lock);
    if (rc != 0) cuda_fatal("cuda_free", __FILE__, __LINE__, "pointer not from the CUDA backend, or freed twice");
}

extern "C" void cuda_mem_stats(size_t *in_use, size_t *cached, size_t *peak) {
    pthread_mutex_lock(&g_mem_lock);
    *in_use = g_arena.in_use, *cached = g_arena.cached, *peak = g_arena.peak;
    pthread_mutex_unlock(&g_mem_lock);
}
extern "C" size_t cuda_mem_peak_in_use(void) {
    pthread_mutex_lock(&g_mem_lock);
    size_t p = g_arena.peak_in_use;
    pthread_mutex_unlock(&g_mem_lock);
    return p;
}

/* a copy between the profiler's events (profile.cu) */
static void timed_copy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, const char *what) {
    if (!bytes) return;
    int prof = cuda_prof_begin(what);
    CU_CHECK(cudaMemcpy(dst, src, bytes, kind));
    cuda_prof_end(prof);
}
static void mem_upload(void *dst, const void *src, size_t bytes) {
    timed_copy(dst, src, bytes, cudaMemcpyHostToDevice, "copy host -> device");
}
static void mem_download(void *dst, const void *src, size_t bytes) {
    timed_copy(dst, src, bytes, cudaMemcpyDeviceToHost, "copy device -> host");
}
static void mem_copy(void *dst, const void *src, size_t bytes) {
    timed_copy(dst, src, bytes, cudaMemcpyDeviceToDevice, "copy device -> device");
}
static void mem_zero(void *p, size_t bytes) {
    if (bytes) CU_CHECK(cudaMemset(p, 0, bytes));
}

/* ---- scratch and staging ---- */

static void *g_scratch[SCRATCH_SLOTS];
static size_t g_scratch_size[SCRATCH_SLOTS];
static unsigned g_scratch_gen[SCRATCH_SLOTS]; /* bumped when a slot's buffer is replaced */

void *cuda_scratch(int slot, size_t bytes) {
    if (bytes > g_scratch_size[slot]) {
        cuda_free(g_scratch[slot]);
        /* exactly what is asked (the arena rounds it): headroom would be held
           beyond the memory plan, 64 MiB on the LM head's 256 MiB chunk; a
           slot grows a few times until the sizes settle, and the block it
           leaves goes back to the arena's cache */
        size_t want = bytes;
        g_scratch[slot] = cuda_alloc(want);
        g_scratch_size[slot] = want;
        g_scratch_gen[slot]++;
    }
    return g_scratch[slot];
}

static int is_device_ptr(const void *p) {
    cudaPointerAttributes a;
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged;
}

/* What each index slot holds: the values last uploaded into it. A host array
 * that has not changed since (every layer's sequence starts and lengths, say)
 * is not sent again: a pageable host-to-device copy waits for the GPU to
 * drain, so one per layer would serialise the host's launches with the GPU's
 * work. Only cuda_dev_i32 writes these slots. */
static struct {
    unsigned gen;
    size_t n;
    int32_t *vals;
} g_i32_held[SCRATCH_SLOTS];

const int32_t *cuda_dev_i32(const int32_t *p, size_t n, int slot) {
    if (!p || n == 0 || is_device_ptr(p)) return p;
    const size_t bytes = n * sizeof(int32_t);
    int32_t *d = (int32_t *)cuda_scratch(slot, bytes);
    if (g_i32_held[slot].gen == g_scratch_gen[slot] && g_i32_held[slot].n == n && !memcmp(g_i32_held[slot].vals, p, bytes))
        return d;
    CU_CHECK(cudaMemcpy(d, p, bytes, cudaMemcpyHostToDevice));
    g_i32_held[slot].vals = (int32_t *)xrealloc(g_i32_held[slot].vals, bytes);
    memcpy(g_i32_held[slot].vals, p, bytes);
    g_i32_held[slot].gen = g_scratch_gen[slot], g_i32_held[slot].n = n;
    return d;
}

const int32_t *cuda_host_i32(const int32_t *p, size_t n, int32_t **buf) {
    if (!p || n == 0 || !is_device_ptr(p)) return p;
    *buf = (int32_t *)xrealloc(*buf, n * sizeof(int32_t));
    CU_CHECK(cudaMemcpy(*buf, p, n * sizeof(int32_t), cudaMemcpyDeviceToHost));
    return *buf;
}

/* ---- Philox on the device (the sampling kernel's stream), for the tests ---- */

__global__ void philox_kernel(uint32_t *out, uint64_t seed, uint64_t stream, const uint64_t *counters, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) philox4x32_10(seed, stream, counters[i], out + 4 * (size_t)i);
}

extern "C" int cuda_philox_batch(uint32_t *out, uint64_t seed, uint64_t stream, const uint64_t *counters, int n,
                                 PureErr *err) {
    uint64_t *dc = (uint64_t *)cuda_alloc(sizeof(uint64_t) * n);
    uint32_t *dout = (uint32_t *)cuda_alloc(sizeof(uint32_t) * 4 * n);
    CU_CHECK(cudaMemcpy(dc, counters, sizeof(uint64_t) * n, cudaMemcpyHostToDevice));
    CU_LAUNCH(philox_kernel, cuda_blocks(n, 256), 256, 0, dout, seed, stream, dc, n);
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) e = cudaMemcpy(out, dout, sizeof(uint32_t) * 4 * n, cudaMemcpyDeviceToHost);
    cuda_free(dc), cuda_free(dout);
    if (e != cudaSuccess) return err_set(err, "cuda_philox_batch: %s", cudaGetErrorString(e));
    return 0;
}

/* ---- the op table ---- */

static void op_set_threads(int n) { (void)n; /* the GPU's parallelism is not a thread count */ }

/* The core's sample_rows entry on the device sampler (sample.cu): only the
 * (n) tokens and log-probs come back instead of the (n, V) logits. */
static int op_sample_rows(int32_t *tokens, float *logprobs, const float *logits, int n, int V, float temperature,
                          float top_p, int top_k, uint64_t seed, const uint64_t *streams, const uint64_t *counters,
                          PureErr *err) {
    SampleParams sp = {temperature, top_p, top_k, seed};
    return cuda_sample_rows(tokens, logprobs, logits, n, V, &sp, streams, counters, err);
}

/* Device name and matmul mode; the mode is read each time (tests switch it). */
static char g_info[512];
static const char *op_kernel_info(void) {
    static char dev_info[200];
    if (!dev_info[0]) {
        int dev = 0;
        cudaDeviceProp p;
        if (cudaGetDevice(&dev) == cudaSuccess && cudaGetDeviceProperties(&p, dev) == cudaSuccess)
            snprintf(dev_info, sizeof dev_info, "%s (sm_%d%d, %.0f GiB)", p.name, p.major, p.minor,
                     p.totalGlobalMem / 1073741824.0);
        else
            snprintf(dev_info, sizeof dev_info, "no device");
    }
    snprintf(g_info, sizeof g_info, "cuda: %s, cuBLAS %s matmuls with fp32 accumulation, %s, device sampling",
             dev_info, cuda_matmul_mode_name(), cuda_attention_mode_name());
    return g_info;
}

static Backend g_backend;

/* The index of an environment variable's value in choices (-1 when unset);
 * any other value stops the run naming the variable and what it accepts. */
static int env_choice(const char *name, const char *const *choices) {
    const char *v = getenv(name);
    if (!v || !*v) return -1;
    char list[128] = "";
    for (int i = 0; choices[i]; i++) {
        if (!strcmp(v, choices[i])) return i;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", choices[i]);
    }
    log_error("environment variable %s=\"%s\": expected one of %s", name, v, list);
    exit(PURE_EXIT_USAGE);
}

extern "C" const Backend *backend_cuda(void) {
    static int probed = 0, usable = 0;
    if (!probed) {
        probed = 1;
        /* one GPU per rank on a node (docs/distributed.md): the node-local rank picks it */
        int count = cuda_device_count();
        usable = count > 0 && cudaSetDevice(dist_local_rank() % count) == cudaSuccess;
        if (!usable) cudaGetLastError();
        static const char *const matmul_modes[] = {"bf16", "tf32", "fp32", NULL}; /* CUDA_MATMUL_* order */
        static const char *const attn_modes[] = {"auto", "simt", "mma", NULL};   /* CUDA_ATTN_* order */
        /* unset leaves the modes alone: tests set them before the first probe */
        int m = env_choice("PURE_CUDA_MATMUL", matmul_modes), a = env_choice("PURE_CUDA_ATTENTION", attn_modes);
        if (m >= 0) cuda_set_matmul_mode(m);
        if (a >= 0) cuda_set_attention_mode(a);
        Backend *b = &g_backend;
        b->name = "cuda";
        b->host_memory = 0;
        b->alloc = cuda_alloc;
        b->free = cuda_free;
        b->upload = mem_upload;
        b->download = mem_download;
        b->copy = mem_copy;
        b->zero = mem_zero;
        b->matmul = cuda_op_matmul;
        b->add = cuda_op_add;
        b->add_bias = cuda_op_add_bias;
        b->bias_grad = cuda_op_bias_grad;
        b->embedding = cuda_op_embedding;
        b->embedding_bwd = cuda_op_embedding_bwd;
        b->rmsnorm = cuda_op_rmsnorm;
        b->rmsnorm_bwd = cuda_op_rmsnorm_bwd;
        b->rope = cuda_op_rope;
        b->attention = cuda_op_attention;
        b->attention_bwd = cuda_op_attention_bwd;
        b->kv_append = cuda_op_kv_append;
        b->attention_decode = cuda_op_attention_decode;
        b->swiglu = cuda_op_swiglu;
        b->swiglu_bwd = cuda_op_swiglu_bwd;
        b->lm_logprob = cuda_op_lm_logprob;
        b->lm_logprob_bwd = cuda_op_lm_logprob_bwd;
        b->matmul_bf16 = cuda_op_matmul_bf16;
        b->matmul_bf16_ab = cuda_op_matmul_bf16_ab;
        b->linear_bwd_bf16 = cuda_op_linear_bwd_bf16;
        b->to_bf16 = cuda_op_to_bf16;
        b->embedding_bf16 = cuda_op_embedding_bf16;
        b->lm_logprob_bf16 = cuda_op_lm_logprob_bf16;
        b->lm_logprob_bwd_bf16 = cuda_op_lm_logprob_bwd_bf16;
        b->kv_append_bf16 = cuda_op_kv_append_bf16;
        b->attention_decode_bf16 = cuda_op_attention_decode_bf16;
        b->sumsq = cuda_op_sumsq;
        b->sumsq_chunks = cuda_op_sumsq_chunks;
#ifdef PURE_HAVE_NCCL
        b->dist_init = cuda_dist_init;
        b->dist_exchange = cuda_dist_exchange;
        b->dist_allgather = cuda_dist_allgather;
#endif
        b->adamw = cuda_op_adamw;
        b->logsumexp_rows = cuda_op_logsumexp_rows;
        b->set_threads = op_set_threads;
        b->kernel_info = op_kernel_info;
        b->sample_rows = op_sample_rows;
    }
    return usable ? &g_backend : NULL;
}
