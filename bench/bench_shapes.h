/* bench_shapes.h - the model shapes the benchmarks compare against PyTorch
 * (the quickstart's toy policy and Qwen2.5-0.5B), and their FLOP count.
 * Shared by bench/model_bench.c (CPU) and bench/cuda_bench.c (GPU) so both
 * measure the same models. Header-only: each bench is one translation unit. */
#ifndef PURE_BENCH_SHAPES_H
#define PURE_BENCH_SHAPES_H

#include <string.h>
#include "model/model.h"

/* size: "0.5b" for the Qwen2.5-0.5B shape, anything else for the toy policy */
static inline void bench_config_for(const char *size, ModelConfig *c) {
    model_config_default(c);
    if (!strcmp(size, "0.5b")) { /* Qwen2.5-0.5B */
        c->vocab_size = 151936, c->hidden_size = 896, c->intermediate_size = 4864, c->num_layers = 24;
        c->num_heads = 14, c->num_kv_heads = 2, c->head_dim = 64, c->max_position = 32768, c->rope_theta = 1e6;
    } else { /* the quickstart's toy policy */
        c->vocab_size = 260, c->hidden_size = 64, c->intermediate_size = 192, c->num_layers = 2;
        c->num_heads = 4, c->num_kv_heads = 2, c->head_dim = 16, c->max_position = 2048;
    }
}

/* matmul FLOPs of a forward over one token that attends to ctx tokens (attention included) */
static inline double bench_flops_per_token(const ModelConfig *c, double ctx) {
    double C = c->hidden_size, QD = c->num_heads * c->head_dim, KD = c->num_kv_heads * c->head_dim;
    double layer = 2 * (C * QD + 2 * C * KD + QD * C + 3 * C * c->intermediate_size) + 4 * ctx * QD;
    return c->num_layers * layer + 2 * C * c->vocab_size;
}

#endif
