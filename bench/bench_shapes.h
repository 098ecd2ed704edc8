/* bench_shapes.h - the model shapes the benchmarks compare against PyTorch
 * (the quickstart's toy policy, Qwen2.5-0.5B and Qwen2.5-Math-1.5B, the
 * paper's policy), and their FLOP count. Shared by bench/model_bench.c (CPU)
 * and bench/cuda_bench.c (GPU) so both measure the same models; the PyTorch
 * side (bench/cuda_bench_torch.py, bench/model_bench_torch.py) repeats them.
 * Header-only: each bench is one translation unit. */
#ifndef PURE_BENCH_SHAPES_H
#define PURE_BENCH_SHAPES_H

#include <string.h>
#include "model/model.h"

/* The sizes bench_config_for knows, for usage messages. */
#define BENCH_SIZES "toy|0.5b|1.5b"

/* size: "0.5b" for the Qwen2.5-0.5B shape, "1.5b" for Qwen2.5-Math-1.5B's
 * (tests/model/shapes/qwen2.5-math-1.5b/config.json), "toy" for the toy policy.
 * Returns 0, or -1 for an unknown size (c is then the toy policy, as before, so
 * callers that ignore the result keep working). */
static inline int bench_config_for(const char *size, ModelConfig *c) {
    model_config_default(c); /* qwen2, tied embeddings, q/k/v biases, eps 1e-6 */
    if (!strcmp(size, "0.5b")) { /* Qwen2.5-0.5B */
        c->vocab_size = 151936, c->hidden_size = 896, c->intermediate_size = 4864, c->num_layers = 24;
        c->num_heads = 14, c->num_kv_heads = 2, c->head_dim = 64, c->max_position = 32768, c->rope_theta = 1e6;
        return 0;
    }
    if (!strcmp(size, "1.5b")) { /* Qwen2.5-Math-1.5B (tie_word_embeddings: true) */
        c->vocab_size = 151936, c->hidden_size = 1536, c->intermediate_size = 8960, c->num_layers = 28;
        c->num_heads = 12, c->num_kv_heads = 2, c->head_dim = 128, c->max_position = 4096, c->rope_theta = 1e4;
        c->tie_embeddings = 1, c->rms_eps = 1e-6;
        return 0;
    }
    /* the quickstart's toy policy */
    c->vocab_size = 260, c->hidden_size = 64, c->intermediate_size = 192, c->num_layers = 2;
    c->num_heads = 4, c->num_kv_heads = 2, c->head_dim = 16, c->max_position = 2048;
    return strcmp(size, "toy") ? -1 : 0;
}

/* matmul FLOPs of a forward over one token that attends to ctx tokens (attention included) */
static inline double bench_flops_per_token(const ModelConfig *c, double ctx) {
    double C = c->hidden_size, QD = c->num_heads * c->head_dim, KD = c->num_kv_heads * c->head_dim;
    double layer = 2 * (C * QD + 2 * C * KD + QD * C + 3 * C * c->intermediate_size) + 4 * ctx * QD;
    return c->num_layers * layer + 2 * C * c->vocab_size;
}

/* Causal attention FLOPs over one sequence of T tokens, all heads: Q K^T and P V, each 2 * hd multiply-adds per
 * (query, key) pair with key <= query, counted as T^2 / 2 pairs (the FlashAttention papers' count):
 * 2 * 2 * T^2 / 2 * hd * NH. The backward counts 2.5 times that (five products: S = Q K^T recomputed,
 * dP = dO V^T, dV = P^T dO, dQ = dS K, dK = dS^T Q). */
static inline double bench_attention_flops(double T, int n_heads, int head_dim) {
    return 2.0 * 2.0 * T * T / 2.0 * head_dim * n_heads;
}

#endif
