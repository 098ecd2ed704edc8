/* test_emu.cpp - the CUDA emulator's own checks: barriers order shared-memory
 * traffic, a missing barrier shows up as wrong values, shuffles exchange lane
 * values, a barrier some threads never reach aborts, device pointers are told
 * from host pointers. */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "cuda_runtime.h"

static int failures, checks;
#define EXPECT(c)                                                            \
    do {                                                                     \
        checks++;                                                            \
        if (!(c)) failures++, fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); \
    } while (0)

/* thread 0 publishes a value; everyone reads it, with or without a barrier */
__global__ void publish(int *out, int with_barrier) {
    __shared__ int v;
    if (threadIdx.x == 0) v = 1000 + (int)blockIdx.x;
    if (with_barrier) __syncthreads();
    out[blockIdx.x * blockDim.x + threadIdx.x] = v;
}

__global__ void rotate_lanes(int *out) {
    int lane = threadIdx.x & 31;
    out[threadIdx.x] = __shfl_sync(0xffffffffu, (int)threadIdx.x * 10, (lane + 1) & 31) +
                       __shfl_xor_sync(0xffffffffu, lane, 1) * 0;
}

/* half a warp at __syncthreads, the other half in a shuffle: can never complete */
__global__ void divergent_barrier(int *out) {
    if (threadIdx.x < 16) __syncthreads();
    else out[threadIdx.x] = __shfl_sync(0xffffffffu, 1, 0);
}

int main() {
    const int B = 8, T = 128;
    std::vector<int> out(B * T);
    CU_LAUNCH(publish, B, T, 0, out.data(), 1);
    int wrong = 0;
    for (int i = 0; i < B * T; i++) wrong += out[i] != 1000 + i / T;
    EXPECT(wrong == 0);
    CU_LAUNCH(publish, B, T, 0, out.data(), 0);
    wrong = 0;
    for (int i = 0; i < B * T; i++) wrong += out[i] != 1000 + i / T;
    EXPECT(wrong > 0); /* the race is visible */
    printf("missing barrier: %d of %d reads saw a stale value\n", wrong, B * T);

    std::vector<int> r(64);
    CU_LAUNCH(rotate_lanes, 1, 64, 0, r.data());
    for (int t = 0; t < 64; t++) EXPECT(r[t] == ((t & ~31) + (((t & 31) + 1) & 31)) * 10);

    void *d = NULL;
    int host = 0;
    EXPECT(cudaMalloc(&d, 256) == cudaSuccess);
    cudaPointerAttributes a;
    cudaPointerGetAttributes(&a, (char *)d + 100);
    EXPECT(a.type == cudaMemoryTypeDevice);
    cudaPointerGetAttributes(&a, &host);
    EXPECT(a.type == cudaMemoryTypeUnregistered);
    cudaFree(d);
    emu_set_memory_budget(1 << 20);
    EXPECT(cudaMalloc(&d, 2 << 20) == cudaErrorMemoryAllocation);

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        CU_LAUNCH(divergent_barrier, 1, 64, 0, r.data());
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    EXPECT(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT); /* the deadlock is reported, not hung */

    if (failures) {
        fprintf(stderr, "test_cuda_emu: %d of %d checks FAILED\n", failures, checks);
        return 1;
    }
    printf("test_cuda_emu: all %d checks passed\n", checks);
    return 0;
}
