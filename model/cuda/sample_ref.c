/* sample_ref.c - the plain C reference of the device sampling kernel
 * (sample.cu): the same rule, the same chunked summation order, so the two
 * pick the same token for the same logits (see the rule in cuda.h). */
#include "cuda.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "philox.h"

/* Logit thresholds are searched over an order-preserving map of floats to
 * uint32 (negative floats reversed), so bisection finds exact logit values. */
static uint32_t float_key(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return (b & 0x80000000u) ? ~b : b | 0x80000000u;
}

/* kept mass: per chunk in id order, then the chunks in order */
static double kept_mass(const float *x, const double *w, int V, uint32_t key, double *part) {
    int chunk = (V + SAMPLE_THREADS - 1) / SAMPLE_THREADS;
    double total = 0;
    for (int t = 0; t < SAMPLE_THREADS; t++) {
        double s = 0;
        for (int i = t * chunk; i < (t + 1) * chunk && i < V; i++)
            if (float_key(x[i]) >= key) s += w[i];
        if (part) part[t] = s;
        total += s;
    }
    return total;
}

static int sample_one(const float *x, int V, const SampleParams *sp, uint64_t stream, uint64_t counter, double *w,
                      double *part) {
    int arg = 0;
    for (int i = 1; i < V; i++)
        if (x[i] > x[arg]) arg = i;
    if (sp->temperature <= 0) return arg;
    double invT = 1.0 / sp->temperature, mx = x[arg];
    for (int i = 0; i < V; i++) w[i] = exp((x[i] - mx) * invT);
    uint32_t lo = 0; /* x_i is kept when float_key(x_i) >= lo */
    if (sp->top_k > 0 && sp->top_k < V) {
        uint32_t hi = float_key(x[arg]);
        while (lo < hi) { /* the largest key with count(key_i >= key) >= k: the k-th largest logit */
            uint32_t mid = lo + (hi - lo) / 2 + 1, c = 0;
            for (int i = 0; i < V; i++) c += float_key(x[i]) >= mid;
            if (c >= (uint32_t)sp->top_k) lo = mid;
            else hi = mid - 1;
        }
    }
    if (sp->top_p > 0 && sp->top_p < 1) {
        double need = sp->top_p * kept_mass(x, w, V, lo, NULL);
        uint32_t hi = float_key(x[arg]);
        while (lo < hi) { /* the largest key whose kept mass still reaches need */
            uint32_t mid = lo + (hi - lo) / 2 + 1;
            if (kept_mass(x, w, V, mid, NULL) >= need) lo = mid;
            else hi = mid - 1;
        }
    }
    double total = kept_mass(x, w, V, lo, part);
    double target = philox_uniform_double(sp->seed, stream, counter) * total;
    int chunk = (V + SAMPLE_THREADS - 1) / SAMPLE_THREADS, last = arg;
    double acc = 0;
    for (int t = 0; t < SAMPLE_THREADS; t++) {
        if (target >= acc + part[t]) {
            acc += part[t];
            continue;
        }
        for (int i = t * chunk; i < (t + 1) * chunk && i < V; i++)
            if (float_key(x[i]) >= lo) {
                acc += w[i];
                if (target < acc) return i;
                last = i;
            }
        return last; /* rounding inside the chunk: its last kept id */
    }
    for (int i = V - 1; i >= 0; i--) /* rounding at the end: the last kept id */
        if (float_key(x[i]) >= lo) return i;
    return last;
}

void sample_rows_ref(int32_t *tokens, float *logprobs, const float *logits, int n, int V, const SampleParams *sp,
                     const uint64_t *streams, const uint64_t *counters) {
    double *w = malloc(sizeof(double) * (size_t)V), part[SAMPLE_THREADS];
    for (int r = 0; r < n; r++) {
        const float *x = logits + (size_t)r * V;
        int tok = sample_one(x, V, sp, streams[r], counters[r], w, part);
        float mx = x[0];
        for (int i = 1; i < V; i++) mx = x[i] > mx ? x[i] : mx;
        double s = 0;
        for (int i = 0; i < V; i++) s += expf(x[i] - mx);
        tokens[r] = tok;
        logprobs[r] = x[tok] - (mx + (float)log(s));
    }
    free(w);
}
