/* cuda_runtime.h (emulated) - a CPU emulator of the small part of CUDA the
 * backend in model/cuda/ uses, so its kernels and launchers run and are
 * tested on machines without a GPU (tests/cmake/cuda.cmake: test_cuda_emu_*).
 *
 * The .cu files are compiled as C++ with this directory first on the include
 * path. Each kernel launch runs its blocks one after another; the threads of a
 * block are coroutines switched at __syncthreads() and at warp shuffles, which
 * wait until every live thread of the block (or warp) has arrived. A barrier
 * that can never complete (divergent __syncthreads) aborts with a message.
 * Between barriers threads run in a fresh pseudo-random order, which exposes
 * many missing-barrier races. Not emulated: true concurrency, memory-model
 * subtleties, warp-synchronous code without shuffles, performance.
 */
#ifndef PURE_EMU_CUDA_RUNTIME_H
#define PURE_EMU_CUDA_RUNTIME_H

#define PURE_CUDA_EMU 1

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

using std::max;
using std::min;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __shared__ static

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct EmuIdx {
    unsigned x, y, z;
};
extern EmuIdx threadIdx, blockIdx;
extern dim3 blockDim, gridDim;

/* ---- launches, barriers, shuffles ---- */
/* the profiler's events around each launch (model/cuda/profile.cu, built into the emulated backend) */
int cuda_prof_begin(const char *name);
void cuda_prof_end(int slot);
/* kernel: the launched function's address, by which cudaFuncSetAttribute's opt-in is found. A launch outside
 * the hardware's limits (sm_90: block <= 1024 threads, block.z <= 64, grid.y and grid.z <= 65535, dynamic
 * shared memory <= 48 KiB unless the kernel opted in, <= 227 KiB opted in) runs nothing and leaves the error
 * for cudaGetLastError, as a GPU does: what the emulator cannot show about a GPU, it should not hide either. */
void emu_launch(const void *kernel, dim3 grid, dim3 block, size_t smem, const std::function<void()> &body);
template <class K> const void *emu_kernel_id(K kernel) { return (const void *)kernel; }
int emu_func_set_smem(const void *kernel, int bytes); /* a cudaError_t */
void *emu_dyn_smem(void);
void __syncthreads(void);
void emu_warp_barrier(void);
unsigned emu_lane(void);
void *emu_xchg_slot(unsigned lane); /* 8 bytes per lane of the current warp */
#define CU_LAUNCH(kernel, grid, block, smem, ...) \
    do {                                                                                                       \
        int prof_ = cuda_prof_begin(#kernel);                                                                  \
        emu_launch(emu_kernel_id(kernel), dim3(grid), dim3(block), (smem), [&]() { kernel(__VA_ARGS__); });  \
        cuda_prof_end(prof_);                                                                                  \
    } while (0)
#define CU_DYN_SMEM(T, name) T *name = (T *)emu_dyn_smem()

template <class T> T emu_shfl(T v, unsigned src) {
    std::memcpy(emu_xchg_slot(emu_lane()), &v, sizeof(T));
    emu_warp_barrier();
    T r;
    std::memcpy(&r, emu_xchg_slot(src & 31u), sizeof(T));
    emu_warp_barrier();
    return r;
}
template <class T> T __shfl_sync(unsigned mask, T v, int src) { return emu_shfl(v, (unsigned)src); }
template <class T> T __shfl_xor_sync(unsigned mask, T v, int m) { return emu_shfl(v, emu_lane() ^ (unsigned)m); }

/* mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 for the calling warp
 * (every lane of it calls this, as on the GPU): d += a b with the PTX fragment
 * layouts (model/cuda/mma.cuh); the lanes' fragments meet in a per-warp
 * exchange between two warp barriers. Products exact, sums in f32 in k order. */
void emu_mma_bf16_m16n8k16(float d[4], const uint32_t a[4], const uint32_t b[2]);

/* one OS thread runs every coroutine: atomics are plain read-modify-writes */
inline int atomicMin(int *p, int v) { int o = *p; *p = std::min(o, v); return o; }
inline unsigned atomicAdd(unsigned *p, unsigned v) { unsigned o = *p; *p = o + v; return o; }
inline float __uint_as_float(uint32_t b) { float f; std::memcpy(&f, &b, 4); return f; }
inline uint32_t __float_as_uint(float f) { uint32_t b; std::memcpy(&b, &f, 4); return b; }

/* ---- runtime API ---- */
typedef enum {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9
} cudaError_t;
typedef enum { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice } cudaMemcpyKind;
enum cudaMemoryType { cudaMemoryTypeUnregistered = 0, cudaMemoryTypeHost = 1, cudaMemoryTypeDevice = 2, cudaMemoryTypeManaged = 3 };
struct cudaPointerAttributes {
    enum cudaMemoryType type;
};
struct cudaDeviceProp {
    char name[256];
    int major, minor;
    size_t totalGlobalMem;
    size_t sharedMemPerBlock, sharedMemPerBlockOptin;
    int maxThreadsPerBlock, multiProcessorCount;
};
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };

cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaGetDevice(int *d);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d);
cudaError_t cudaMalloc(void **p, size_t bytes);
template <class T> cudaError_t cudaMalloc(T **p, size_t bytes) { return cudaMalloc((void **)p, bytes); }
cudaError_t cudaFree(void *p);
cudaError_t cudaMemset(void *p, int v, size_t bytes);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total);
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes *a, const void *p);
cudaError_t cudaGetLastError(void);
cudaError_t cudaDeviceSynchronize(void);
const char *cudaGetErrorString(cudaError_t e);
/* events: the emulator runs each launch to completion before returning, so an event's time is the host's clock
 * when it is recorded (the stream argument is accepted and ignored: there is one, synchronous stream) */
typedef struct EmuEvent *cudaEvent_t;
typedef void *cudaStream_t;
cudaError_t cudaEventCreate(cudaEvent_t *e);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = 0);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
template <class K> cudaError_t cudaFuncSetAttribute(K kernel, cudaFuncAttribute a, int v) {
    if (a != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaErrorInvalidValue;
    return (cudaError_t)emu_func_set_smem(emu_kernel_id(kernel), v);
}

/* test hooks: a device memory budget in bytes (0 = unlimited); cudaMemcpy
 * calls so far of one cudaMemcpyKind */
extern "C" void emu_set_memory_budget(size_t bytes);
extern "C" size_t emu_copy_count(int kind);

#endif
