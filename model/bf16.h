/* bf16.h - bfloat16 <-> float32, the one rounding rule every path uses.
 *
 * bf16 is the top 16 bits of an IEEE float32 (8 exponent bits, 7 mantissa
 * bits). Widening is exact. Narrowing rounds to nearest, ties to even (what
 * PyTorch's .to(torch.bfloat16) and CUDA's __float2bfloat16_rn do); NaN stays
 * a (quiet) NaN and infinities stay infinite. A product of two bf16 values is
 * exact in float32 (8 + 8 significant bits <= 24), so a matmul over bf16
 * inputs with float32 accumulation differs from the exact sum only by the
 * accumulation's rounding.
 */
#ifndef PURE_MODEL_BF16_H
#define PURE_MODEL_BF16_H

#include <stdint.h>
#include <string.h>

static inline float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* NaN: keep it quiet */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* f rounded to the nearest bf16, as a float */
static inline float bf16_round(float f) { return bf16_to_f32(f32_to_bf16(f)); }

#endif
