/* emu.cpp - the CPU emulator behind cuda_runtime.h and cublas_v2.h (see
 * there): block-by-block kernel execution with coroutine threads, a device
 * memory registry (so host and device pointers can be told apart), and a
 * reference GEMM. */
#undef _FORTIFY_SOURCE /* longjmp between coroutine stacks is intended here */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ucontext.h>

#include <map>
#include <vector>

#include "cublas_v2.h"
#include "cuda_runtime.h"

EmuIdx threadIdx, blockIdx;
dim3 blockDim, gridDim;

/* ---- coroutine threads ---- */

enum { RUN, AT_BLOCK_BAR, AT_WARP_BAR, DONE };
enum { STACK_BYTES = 256 * 1024, MAX_THREADS = 1024 };

struct Thr {
    ucontext_t uc; /* first entry only */
    jmp_buf jb;    /* later switches: _setjmp/_longjmp, no signal-mask syscalls */
    int state, started;
};

static Thr g_thr[MAX_THREADS];
static char *g_stacks;
static jmp_buf g_sched_jb;
static ucontext_t g_sched_uc;
static int g_cur, g_nthr;
static const std::function<void()> *g_body;
static std::vector<char> g_smem;
static uint64_t g_xchg[MAX_THREADS / 32][32];

static void set_idx(int i) {
    threadIdx.x = i % blockDim.x;
    threadIdx.y = (i / blockDim.x) % blockDim.y;
    threadIdx.z = i / (blockDim.x * blockDim.y);
}

static void yield_state(int st) {
    Thr *t = &g_thr[g_cur];
    t->state = st;
    if (!_setjmp(t->jb)) _longjmp(g_sched_jb, 1);
    set_idx(g_cur); /* resumed: the scheduler set g_cur to us */
}

static void thread_entry(void) {
    (*g_body)();
    yield_state(DONE);
}

void __syncthreads(void) { yield_state(AT_BLOCK_BAR); }
void emu_warp_barrier(void) { yield_state(AT_WARP_BAR); }
unsigned emu_lane(void) { return (unsigned)g_cur & 31u; }
void *emu_xchg_slot(unsigned lane) { return &g_xchg[g_cur / 32][lane]; }
void *emu_dyn_smem(void) { return g_smem.data(); }

/* ---- tensor-core mma ---- */

struct MmaFrag {
    uint32_t a[4], b[2];
};
static MmaFrag g_mma[MAX_THREADS / 32][32];

static float bf16_half(uint32_t w, int hi) { /* element 0 of a pair is in the low 16 bits */
    uint32_t u = (hi ? w >> 16 : w & 0xffffu) << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
/* A (16 x 16, row): lane 4g + t holds rows g and g + 8, columns 2t, 2t + 1 and
 * 2t + 8, 2t + 9 (regs: row g low k, row g + 8 low k, row g high k, row g + 8 high k) */
static float mma_a(const MmaFrag *w, int row, int k) {
    int lane = 4 * (row & 7) + (k & 7) / 2, reg = (row >= 8) + 2 * (k >= 8);
    return bf16_half(w[lane].a[reg], k & 1);
}
/* B (16 x 8, col): lane 4n + t holds column n, rows 2t, 2t + 1 (reg 0) and 2t + 8, 2t + 9 (reg 1) */
static float mma_b(const MmaFrag *w, int k, int n) { return bf16_half(w[4 * n + (k & 7) / 2].b[k >= 8], k & 1); }

void emu_mma_bf16_m16n8k16(float d[4], const uint32_t a[4], const uint32_t b[2]) {
    MmaFrag *w = g_mma[g_cur / 32];
    int lane = g_cur & 31, g = lane >> 2, t = lane & 3;
    memcpy(w[lane].a, a, sizeof w[lane].a);
    memcpy(w[lane].b, b, sizeof w[lane].b);
    emu_warp_barrier();
    float r[4];
    for (int i = 0; i < 4; i++) { /* C/D: d0, d1 row g, d2, d3 row g + 8; columns 2t, 2t + 1 */
        int row = g + 8 * (i >= 2), col = 2 * t + (i & 1);
        float s = d[i];
        for (int k = 0; k < 16; k++) s += mma_a(w, row, k) * mma_b(w, k, col);
        r[i] = s;
    }
    emu_warp_barrier(); /* every lane has read the exchange before any lane's next mma writes it */
    memcpy(d, r, sizeof r);
}

static void run_thread(int i) {
    g_cur = i;
    set_idx(i);
    Thr *t = &g_thr[i];
    if (!_setjmp(g_sched_jb)) {
        if (!t->started) {
            t->started = 1;
            swapcontext(&g_sched_uc, &t->uc);
        } else {
            _longjmp(t->jb, 1);
        }
    }
}

/* releases a barrier once every live thread of the group has arrived */
static int release(int lo, int hi, int st) {
    int waiting = 0;
    for (int i = lo; i < hi; i++) {
        if (g_thr[i].state == RUN) return 0;
        if (g_thr[i].state != DONE && g_thr[i].state != st) return 0;
        waiting += g_thr[i].state == st;
    }
    for (int i = lo; i < hi; i++)
        if (g_thr[i].state == st) g_thr[i].state = RUN;
    return waiting;
}

static void run_block(void) {
    for (int i = 0; i < g_nthr; i++) {
        Thr *t = &g_thr[i];
        t->state = RUN, t->started = 0;
        getcontext(&t->uc);
        t->uc.uc_stack.ss_sp = g_stacks + (size_t)i * STACK_BYTES;
        t->uc.uc_stack.ss_size = STACK_BYTES;
        t->uc.uc_link = NULL;
        makecontext(&t->uc, thread_entry, 0);
    }
    static int order[MAX_THREADS];
    static uint32_t seed = 12345;
    for (int pass = 0;; pass++) {
        /* a fresh pseudo-random order of the threads between barriers (fixed seed,
         * so runs repeat): code that reads shared data before a barrier makes it
         * visible gets other threads' old values */
        for (int k = 0; k < g_nthr; k++) order[k] = k;
        for (int k = g_nthr - 1; k > 0; k--) {
            seed = seed * 1664525u + 1013904223u;
            int j = (int)((seed >> 8) % (uint32_t)(k + 1)), t = order[k];
            order[k] = order[j], order[j] = t;
        }
        int ran = 0, done = 0;
        for (int k = 0; k < g_nthr; k++) {
            int i = order[k];
            if (g_thr[i].state == RUN) run_thread(i), ran++;
        }
        for (int i = 0; i < g_nthr; i++) done += g_thr[i].state == DONE;
        if (done == g_nthr) return;
        int freed = release(0, g_nthr, AT_BLOCK_BAR);
        for (int w = 0; w < g_nthr; w += 32) freed += release(w, std::min(g_nthr, w + 32), AT_WARP_BAR);
        if (!freed && !ran) {
            fprintf(stderr, "cuda emulator: deadlock in block (%u,%u,%u): a barrier some threads never reach\n",
                    blockIdx.x, blockIdx.y, blockIdx.z);
            abort();
        }
    }
}

/* sm_90's limits (CUDA C++ Programming Guide, compute capabilities table) */
enum { SMEM_DEFAULT = 48 * 1024, SMEM_OPTIN_MAX = 227 * 1024, GRID_YZ_MAX = 65535, BLOCK_Z_MAX = 64 };
static std::map<const void *, int> g_smem_optin; /* kernel -> cudaFuncAttributeMaxDynamicSharedMemorySize */
static cudaError_t g_last_error = cudaSuccess;

int emu_func_set_smem(const void *kernel, int bytes) {
    if (bytes < 0 || bytes > SMEM_OPTIN_MAX) {
        fprintf(stderr, "cuda emulator: cudaFuncSetAttribute(MaxDynamicSharedMemorySize, %d) above the %d bytes of sm_90\n",
                bytes, (int)SMEM_OPTIN_MAX);
        return cudaErrorInvalidValue;
    }
    g_smem_optin[kernel] = bytes;
    return cudaSuccess;
}

void emu_launch(const void *kernel, dim3 grid, dim3 block, size_t smem, const std::function<void()> &body) {
    long long n = (long long)block.x * block.y * block.z;
    const char *why = NULL;
    auto optin = g_smem_optin.find(kernel);
    size_t smem_max = optin == g_smem_optin.end() ? (size_t)SMEM_DEFAULT : (size_t)std::max(optin->second, (int)SMEM_DEFAULT);
    if (n <= 0 || n > MAX_THREADS || block.z > BLOCK_Z_MAX) why = "block size";
    else if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 0x7fffffffu || grid.y > GRID_YZ_MAX || grid.z > GRID_YZ_MAX)
        why = "grid size (grid.y and grid.z at most 65535)";
    else if (smem > smem_max)
        why = optin == g_smem_optin.end() ? "dynamic shared memory above 48 KiB without cudaFuncSetAttribute's opt-in"
                                          : "dynamic shared memory above the kernel's opt-in";
    if (why) {
        fprintf(stderr, "cuda emulator: launch refused (%s): grid (%u,%u,%u) block (%u,%u,%u) shared %zu bytes\n", why,
                grid.x, grid.y, grid.z, block.x, block.y, block.z, smem);
        g_last_error = cudaErrorInvalidConfiguration;
        return;
    }
    if (!g_stacks) g_stacks = (char *)malloc((size_t)MAX_THREADS * STACK_BYTES);
    g_body = &body;
    g_nthr = (int)n;
    blockDim = block, gridDim = grid;
    g_smem.assign(smem ? smem : 16, (char)0xff); /* NaN-filled: reading before writing shows */
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                blockIdx.x = x, blockIdx.y = y, blockIdx.z = z;
                run_block();
            }
}

/* ---- memory ---- */

static std::map<uintptr_t, size_t> g_allocs; /* device allocations: start -> bytes */
static size_t g_live, g_budget;

extern "C" void emu_set_memory_budget(size_t bytes) { g_budget = bytes; }

cudaError_t cudaMalloc(void **p, size_t bytes) {
    if (g_budget && g_live + bytes > g_budget) return cudaErrorMemoryAllocation;
    *p = malloc(bytes ? bytes : 1);
    if (!*p) return cudaErrorMemoryAllocation;
    memset(*p, 0xa5, bytes); /* device memory is not zeroed */
    g_allocs[(uintptr_t)*p] = bytes;
    g_live += bytes;
    return cudaSuccess;
}
cudaError_t cudaFree(void *p) {
    if (!p) return cudaSuccess;
    auto it = g_allocs.find((uintptr_t)p);
    if (it == g_allocs.end()) return cudaErrorInvalidValue;
    g_live -= it->second;
    g_allocs.erase(it);
    free(p);
    return cudaSuccess;
}
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes *a, const void *p) {
    a->type = cudaMemoryTypeUnregistered;
    auto it = g_allocs.upper_bound((uintptr_t)p);
    if (it != g_allocs.begin()) {
        --it;
        if ((uintptr_t)p < it->first + it->second) a->type = cudaMemoryTypeDevice;
    }
    return cudaSuccess;
}
cudaError_t cudaMemset(void *p, int v, size_t bytes) {
    memset(p, v, bytes);
    return cudaSuccess;
}
static size_t g_copies[4]; /* cudaMemcpy calls by kind */
extern "C" size_t emu_copy_count(int kind) { return kind >= 0 && kind < 4 ? g_copies[kind] : 0; }

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    memmove(dst, src, bytes);
    if ((unsigned)kind < 4) g_copies[kind]++;
    return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t *fr, size_t *tot) {
    *tot = g_budget ? g_budget : ((size_t)80 << 30);
    *fr = *tot - g_live;
    return cudaSuccess;
}
cudaError_t cudaGetDeviceCount(int *n) {
    *n = 1;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) { return cudaSuccess; }
cudaError_t cudaGetDevice(int *d) {
    *d = 0;
    return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d) {
    snprintf(p->name, sizeof p->name, "CPU emulator of CUDA");
    p->major = 9, p->minor = 0, p->totalGlobalMem = (size_t)80 << 30;
    p->sharedMemPerBlock = SMEM_DEFAULT, p->sharedMemPerBlockOptin = SMEM_OPTIN_MAX;
    p->maxThreadsPerBlock = MAX_THREADS, p->multiProcessorCount = 132;
    return cudaSuccess;
}
cudaError_t cudaGetLastError(void) {
    cudaError_t e = g_last_error;
    g_last_error = cudaSuccess;
    return e;
}
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }

struct EmuEvent {
    double t;     /* seconds, CLOCK_MONOTONIC */
    int recorded;
};
cudaError_t cudaEventCreate(cudaEvent_t *e) {
    *e = (cudaEvent_t)calloc(1, sizeof(EmuEvent));
    return *e ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    free(e);
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    e->t = ts.tv_sec + ts.tv_nsec * 1e-9, e->recorded = 1;
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) { return e->recorded ? cudaSuccess : cudaErrorInvalidValue; }
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
    if (!a->recorded || !b->recorded) return cudaErrorInvalidValue;
    *ms = (float)((b->t - a->t) * 1e3);
    return cudaSuccess;
}
const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    }
    return "emulated CUDA error";
}

/* ---- cuBLAS ---- */

struct EmuBlas {
    int unused;
};
cublasStatus_t cublasCreate(cublasHandle_t *h) {
    *h = new EmuBlas();
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h) {
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) { return CUBLAS_STATUS_SUCCESS; }

static float to_bf16(float f) { /* round to nearest even, keep 8 bits of mantissa */
    uint32_t b;
    memcpy(&b, &f, 4);
    b = (b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u;
    memcpy(&f, &b, 4);
    return f;
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType at, int lda, const void *B,
                            cudaDataType bt, int ldb, const void *beta, void *C, cudaDataType ct, int ldc,
                            cublasComputeType_t compute, cublasGemmAlgo_t algo) {
    float *c = (float *)C, al = *(const float *)alpha, be = *(const float *)beta;
    int bf = compute == CUBLAS_COMPUTE_32F_FAST_16BF;
    /* element (index) of an operand stored as f32 or as bf16 bits */
    auto get = [](const void *X, cudaDataType t, size_t at) -> float {
        if (t == CUDA_R_16BF) {
            uint32_t u = (uint32_t)((const uint16_t *)X)[at] << 16;
            float f;
            std::memcpy(&f, &u, 4);
            return f;
        }
        return ((const float *)X)[at];
    };
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int p = 0; p < k; p++) {
                float x = get(A, at, ta == CUBLAS_OP_N ? i + (size_t)p * lda : p + (size_t)i * lda);
                float y = get(B, bt, tb == CUBLAS_OP_N ? p + (size_t)j * ldb : j + (size_t)p * ldb);
                s += bf ? (double)to_bf16(x) * to_bf16(y) : (double)x * y;
            }
            float *o = c + i + (size_t)j * ldc;
            *o = (float)(al * s + (be == 0 ? 0.0 : (double)be * *o));
        }
    return CUBLAS_STATUS_SUCCESS;
}
