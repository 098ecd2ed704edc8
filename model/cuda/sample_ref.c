/* sample_ref.c - the plain C reference of the device sampling kernel
 * (sample.cu): the engine's one rule (model/sample_rule.c) with the cut
 * search the kernel uses (bisection over the keys, SAMPLE_SEARCH_BISECT),
 * the kernel's Philox port for the uniform and its T = 1 log-prob. The kernel
 * is checked against it token for token (tests/cuda/test_cuda_ops.c). */
#include "cuda.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "model/sample_rule.h"
#include "philox.h"
#include "util/err.h"

void sample_rows_ref(int32_t *tokens, float *logprobs, const float *logits, int n, int V, const SampleParams *sp,
                     const uint64_t *streams, const uint64_t *counters) {
    double *w = xmalloc(sizeof(double) * (size_t)V);
    for (int r = 0; r < n; r++) {
        const float *x = logits + (size_t)r * V;
        double u = philox_uniform_double(sp->seed, streams[r], counters[r]);
        int tok = sample_rule_row(x, V, sp->temperature, sp->top_p, sp->top_k, u, SAMPLE_SEARCH_BISECT, NULL, w);
        float mx = x[0];
        for (int i = 1; i < V; i++) mx = x[i] > mx ? x[i] : mx;
        double s = 0;
        for (int i = 0; i < V; i++) s += expf(x[i] - mx);
        tokens[r] = tok;
        logprobs[r] = x[tok] - (mx + (float)log(s));
    }
    free(w);
}
