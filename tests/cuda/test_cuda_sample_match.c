/* test_cuda_sample_match.c - the engine has one sampling rule
 * (model/sample_rule.c) with two searches for its cuts: quick-select for the
 * host sampler (model_sample_row) and bisection for the C reference of the
 * device sampler (sample_rows_ref, model/cuda/sample_ref.c, which
 * test_cuda_emu_ops / test_cuda_ops check against the kernel step for step).
 * Both must draw the same token from the same logits and the same uniform
 * (the reference also draws it through the kernel's Philox port): on random
 * logits (with and without ties, vocabularies below and above one chunk per
 * thread) under temperature, top-k, top-p and both; plus hand-worked rows
 * where the id-order walk differs from the old sorted-order walk, and -0/+0
 * at the top. Needs no GPU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/backend.h"
#include "model/cuda/cuda.h"
#include "model/sample_rule.h"
#include "tests/check.h"
#include "util/rng.h"

/* n rows of logits (n, V): normal-ish values, or rounded to quarters when
 * `ties` so that many logits coincide (as bf16 logits do). */
static float *random_logits(int n, int V, uint64_t seed, int ties) {
    float *x = malloc(sizeof(float) * (size_t)n * V);
    for (size_t i = 0; i < (size_t)n * V; i++) {
        double g = 0;
        for (int k = 0; k < 4; k++) g += rng_uniform_double(seed, i, k) - 0.5;
        x[i] = (float)(3.0 * g);
        if (ties) x[i] = roundf(x[i] * 4) / 4;
    }
    return x;
}

static int compare(int n, int V, SampleParams sp, int ties) {
    float *x = random_logits(n, V, 1000 + V + ties, ties), *lp = malloc(sizeof(float) * n);
    uint64_t *streams = malloc(sizeof(uint64_t) * n), *counters = malloc(sizeof(uint64_t) * n);
    int32_t *ref = malloc(sizeof(int32_t) * n), *idx = malloc(sizeof(int32_t) * V);
    double *w = malloc(sizeof(double) * V);
    for (int r = 0; r < n; r++) streams[r] = 500 + r, counters[r] = r % 7;
    sample_rows_ref(ref, lp, x, n, V, &sp, streams, counters);
    int diff = 0, distinct = 0;
    for (int r = 0; r < n; r++) {
        double u = rng_uniform_double(sp.seed, streams[r], counters[r]);
        int32_t t = model_sample_row(x + (size_t)r * V, V, sp.temperature, sp.top_p, sp.top_k, u, idx, w);
        if (t != ref[r] && !diff++) {
            fprintf(stderr, "row %d, u %.17g: host %d, reference %d; logits:", r, u, t, ref[r]);
            for (int j = 0; j < V && j < 64; j++) fprintf(stderr, " %g", x[(size_t)r * V + j]);
            fprintf(stderr, "\n");
        }
        distinct += r > 0 && ref[r] != ref[r - 1];
    }
    printf("V=%d T=%g k=%d p=%g ties=%d: %d of %d rows differ (%d changes of token)\n", V, sp.temperature, sp.top_k,
           sp.top_p, ties, diff, n, distinct);
    CHECK(distinct > n / 10); /* the draws really vary */
    free(x), free(lp), free(streams), free(counters), free(ref), free(idx), free(w);
    return diff;
}

/* One hand-worked row: logits l, uniform u, expected token from both searches. */
static void hand_logits(const float *l, int V, float T, float top_p, int top_k, double u, int want) {
    int32_t idx[8];
    double w[8];
    int32_t got = model_sample_row(l, V, T, top_p, top_k, u, idx, w);
    int32_t bis = sample_rule_row(l, V, T, top_p, top_k, u, SAMPLE_SEARCH_BISECT, NULL, w);
    if (got != want || bis != want)
        fprintf(stderr, "hand row k=%d p=%g u=%g: select %d, bisect %d, want %d\n", top_k, top_p, u, got, bis, want);
    CHECK(got == want);
    CHECK(bis == want);
}

/* The same with logits log(p_j). */
static void hand(const double *p, int V, float T, float top_p, int top_k, double u, int want) {
    float l[8];
    for (int j = 0; j < V; j++) l[j] = (float)log(p[j]);
    hand_logits(l, V, T, top_p, top_k, u, want);
}

int main(void) {
    /* top-k 2 keeps ids 0 (2) and 1 (3): id order gives id 0 [0, 0.4), id 1 [0.4, 1);
     * the old sorted walk gave id 1 for u = 0.3 */
    const double a[4] = {2, 3, 0.5, 1};
    hand(a, 4, 1, 1, 2, 0.3, 0);
    hand(a, 4, 1, 1, 2, 0.41, 1);
    /* top-p 0.6 over masses {1, 4, 2, 3}: 4 + 3 >= 6 keeps ids 1 and 3;
     * id 1 covers [0, 4/7), id 3 [4/7, 1) */
    const double b[4] = {1, 4, 2, 3};
    hand(b, 4, 1, 0.6f, 0, 0.5, 1);
    hand(b, 4, 1, 0.6f, 0, 0.6, 3);
    /* ties at the top-k cut are kept together: k = 1 keeps both ids 0 and 2 */
    const double c[3] = {2, 1, 2};
    hand(c, 3, 1, 1, 1, 0.49, 0);
    hand(c, 3, 1, 1, 1, 0.51, 2);
    /* temperature 0 is the argmax, lowest id among ties */
    hand(c, 3, 0, 0.5f, 2, 0.99, 0);
    /* -0 (id 0) and +0 (id 1) at the top are one tie: top-k 1 and top-p 0.3 keep
     * both (the bisection's upper end is the argmax's key), each half the mass */
    const float z[3] = {-0.0f, 0.0f, -1.0f};
    hand_logits(z, 3, 1, 1, 1, 0.49, 0);
    hand_logits(z, 3, 1, 1, 1, 0.51, 1);
    hand_logits(z, 3, 1, 0.3f, 0, 0.49, 0);
    hand_logits(z, 3, 1, 0.3f, 0, 0.51, 1);

    int bad = 0;
    const int Vs[3] = {50, 1000, 5000}; /* 5000 > SAMPLE_THREADS: several ids per chunk */
    for (int vi = 0; vi < 3; vi++)
        for (int ties = 0; ties < 2; ties++) {
            int V = Vs[vi], n = V > 1000 ? 150 : 400;
            bad += compare(n, V, (SampleParams){1.0f, 1.0f, 0, 3}, ties);
            bad += compare(n, V, (SampleParams){0.7f, 1.0f, 10, 4}, ties);
            bad += compare(n, V, (SampleParams){1.0f, 0.9f, 0, 5}, ties);
            bad += compare(n, V, (SampleParams){1.3f, 0.8f, 40, 6}, ties);
            bad += compare(n, V, (SampleParams){0.6f, 0.5f, 3, 7}, ties);
        }
    CHECK(bad == 0);
    return check_report("test_cuda_sample_match");
}
