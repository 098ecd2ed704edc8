/* mma.cuh - the one tensor-core instruction the attention kernels use,
 * mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (sm_80 and newer):
 * D (16 x 8, f32) += A (16 x 16, bf16) B (16 x 8, bf16), for a whole warp.
 *
 * Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16"), lane =
 * 4 g + t (g = lane / 4, t = lane % 4), two bf16 per 32-bit register with the
 * lower-indexed element in the low half:
 *   A: a[0] = A[g][2t, 2t+1]      a[1] = A[g+8][2t, 2t+1]
 *      a[2] = A[g][2t+8, 2t+9]    a[3] = A[g+8][2t+8, 2t+9]
 *   B: b[0] = B[2t, 2t+1][g]      b[1] = B[2t+8, 2t+9][g]
 *   D: d[0], d[1] = D[g][2t, 2t+1]   d[2], d[3] = D[g+8][2t, 2t+1]
 * So the D fragments of two adjacent 8-column tiles are, lane for lane, the A
 * fragment of the 16-column block they form (FlashAttention-2's trick: scores
 * become the next product's operand without leaving registers).
 *
 * Against the CPU emulator (tests/cuda/emu/) the instruction is a warp-collective
 * function with the same layouts, so the kernels' fragment bookkeeping is
 * tested without a GPU. */
#ifndef PURE_MODEL_CUDA_MMA_CUH
#define PURE_MODEL_CUDA_MMA_CUH

#include "model/cuda/internal.cuh"

__device__ __forceinline__ void mma_bf16_16816(float d[4], const uint32_t a[4], const uint32_t b[2]) {
#ifdef PURE_CUDA_EMU
    emu_mma_bf16_m16n8k16(d, a, b);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    __trap(); /* built for an architecture without bf16 mma: the launchers never get here (sm_80+ only) */
#endif
}

/* two floats rounded to bf16 (model/bf16.h's rule) in one register, lo first */
__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
    return (uint32_t)dev_f32_to_bf16(lo) | ((uint32_t)dev_f32_to_bf16(hi) << 16);
}

#endif
