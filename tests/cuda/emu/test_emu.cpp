/* test_emu.cpp - the CUDA emulator's own checks: barriers order shared-memory
 * traffic, a missing barrier shows up as wrong values, shuffles exchange lane
 * values, a barrier some threads never reach aborts, device pointers are told
 * from host pointers, the emulated mma.sync m16n8k16 multiplies matrices
 * laid out in fragments as the PTX ISA's tables place them, and a launch outside
 * sm_90's limits is refused as a GPU refuses it (nothing runs, cudaGetLastError
 * reports it once). */
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

/* every thread marks its block; a launch refused runs none of it */
__global__ void mark(unsigned *out) {
    CU_DYN_SMEM(int, scratch);
    scratch[threadIdx.x] = 1;
    if (threadIdx.x == 0) atomicAdd(out, (unsigned)scratch[0]);
}

/* half a warp at __syncthreads, the other half in a shuffle: can never complete */
__global__ void divergent_barrier(int *out) {
    if (threadIdx.x < 16) __syncthreads();
    else out[threadIdx.x] = __shfl_sync(0xffffffffu, 1, 0);
}

/* The PTX ISA's fragment tables for mma.m16n8k16 with .bf16 (written out
 * here from the tables, independently of emu.cpp's lookups): row/column of
 * element i of a lane's A, B and C fragments, lane = 4 * groupID + tid. */
static void a_pos(int lane, int i, int *row, int *col) {
    int gid = lane >> 2, tid = lane % 4;
    *row = (i < 2 || (i >= 4 && i < 6)) ? gid : gid + 8;
    *col = tid * 2 + (i & 1) + (i >= 4 ? 8 : 0);
}
static void b_pos(int lane, int i, int *row, int *col) {
    *row = (lane % 4) * 2 + (i & 1) + (i >= 2 ? 8 : 0);
    *col = lane >> 2;
}
static void c_pos(int lane, int i, int *row, int *col) {
    *row = (lane >> 2) + (i >= 2 ? 8 : 0);
    *col = (lane % 4) * 2 + (i & 1);
}
static uint16_t bf16_bits(float f) { /* exact for the small integers used here */
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)(u >> 16);
}
__global__ void mma_tile(float *D, const float *A, const float *B) { /* A 16x16, B 16x8, D 16x8, row-major */
    int lane = threadIdx.x & 31, r, c;
    uint16_t ea[8], eb[4];
    for (int i = 0; i < 8; i++) a_pos(lane, i, &r, &c), ea[i] = bf16_bits(A[r * 16 + c]);
    for (int i = 0; i < 4; i++) b_pos(lane, i, &r, &c), eb[i] = bf16_bits(B[r * 8 + c]);
    uint32_t a[4], b[2];
    for (int i = 0; i < 4; i++) a[i] = ea[2 * i] | (uint32_t)ea[2 * i + 1] << 16; /* lower index in the low half */
    for (int i = 0; i < 2; i++) b[i] = eb[2 * i] | (uint32_t)eb[2 * i + 1] << 16;
    float d[4];
    for (int i = 0; i < 4; i++) c_pos(lane, i, &r, &c), d[i] = D[r * 8 + c];
    emu_mma_bf16_m16n8k16(d, a, b);
    for (int i = 0; i < 4; i++) c_pos(lane, i, &r, &c), D[r * 8 + c] = d[i];
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

    /* mma: integers, so every product and sum is exact in bf16 / f32 */
    std::vector<float> A(256), Bm(128), D(128), want(128);
    for (int i = 0; i < 256; i++) A[i] = (float)((i * 7) % 11 - 5);
    for (int i = 0; i < 128; i++) Bm[i] = (float)((i * 5) % 9 - 4), D[i] = (float)(i % 3);
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 8; c++) {
            float s = D[r * 8 + c];
            for (int k = 0; k < 16; k++) s += A[r * 16 + k] * Bm[k * 8 + c];
            want[r * 8 + c] = s;
        }
    CU_LAUNCH(mma_tile, 1, 32, 0, D.data(), A.data(), Bm.data());
    wrong = 0;
    for (int i = 0; i < 128; i++) wrong += D[i] != want[i];
    EXPECT(wrong == 0);
    printf("mma m16n8k16: %d of 128 outputs differ from the plain product\n", wrong);

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

    /* the hardware's launch limits */
    unsigned marks = 0;
    cudaGetLastError();
    CU_LAUNCH(mark, dim3(1, 65535), 32, 128, &marks);
    EXPECT(cudaGetLastError() == cudaSuccess && marks == 65535);
    marks = 0;
    CU_LAUNCH(mark, dim3(1, 65536), 32, 128, &marks); /* grid.y above 65535 */
    EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration && marks == 0);
    EXPECT(cudaGetLastError() == cudaSuccess); /* reported once */
    CU_LAUNCH(mark, dim3(1, 1, 65536), 32, 128, &marks);
    EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration && marks == 0);
    CU_LAUNCH(mark, 1, 1025, 128 * 64, &marks); /* more than 1024 threads */
    EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration && marks == 0);
    CU_LAUNCH(mark, 1, dim3(1, 1, 65), 4096, &marks); /* block.z above 64 */
    EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration && marks == 0);
    CU_LAUNCH(mark, 1, 64, 48 * 1024, &marks); /* 48 KiB needs no opt-in */
    EXPECT(cudaGetLastError() == cudaSuccess && marks == 1);
    CU_LAUNCH(mark, 1, 64, 48 * 1024 + 4, &marks); /* above it does */
    EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration && marks == 1);
    EXPECT(cudaFuncSetAttribute(mark, cudaFuncAttributeMaxDynamicSharedMemorySize, 100 * 1024) == cudaSuccess);
    CU_LAUNCH(mark, 1, 64, 100 * 1024, &marks);
    EXPECT(cudaGetLastError() == cudaSuccess && marks == 2);
    CU_LAUNCH(mark, 1, 64, 100 * 1024 + 4, &marks); /* above the opt-in */
    EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration && marks == 2);
    EXPECT(cudaFuncSetAttribute(mark, cudaFuncAttributeMaxDynamicSharedMemorySize, 228 * 1024) == cudaErrorInvalidValue);
    CU_LAUNCH(mark, 1, 64, 100 * 1024, &marks); /* the refused attribute left the earlier opt-in */
    EXPECT(cudaGetLastError() == cudaSuccess && marks == 3);

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
