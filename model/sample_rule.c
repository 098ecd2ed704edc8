/* sample_rule.c - the token-choice rule (see sample_rule.h): greedy,
 * temperature, top-k, top-p and the inverse-CDF draw, with the two searches
 * for the cuts (quick-select for the host, bisection as the device kernel
 * does it). Everything but the cut search is shared, so the host sampler and
 * the device reference cannot drift apart. */
#include "model/sample_rule.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/backend.h"

uint32_t sample_key(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return (b & 0x80000000u) ? ~b : b | 0x80000000u;
}

/* Kept mass (sample_key(l_j) >= cut) in the kernel's order; the chunk sums
 * go to part (SAMPLE_CHUNKS) when given. Reads w only where kept. */
static double kept_mass(const float *l, const double *w, int V, uint32_t cut, double *part) {
    int chunk = (V + SAMPLE_CHUNKS - 1) / SAMPLE_CHUNKS;
    double total = 0;
    for (int t = 0; t < SAMPLE_CHUNKS; t++) {
        double s = 0;
        for (int i = t * chunk; i < (t + 1) * chunk && i < V; i++)
            if (sample_key(l[i]) >= cut) s += w[i];
        if (part) part[t] = s;
        total += s;
    }
    return total;
}

/* ---- SAMPLE_SEARCH_SELECT: quick-select and a partial sort (host) ---- */

static _Thread_local const float *g_sort_logits; /* qsort's comparator context */
static int by_logit_desc(const void *a, const void *b) {
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    uint32_t ki = sample_key(g_sort_logits[i]), kj = sample_key(g_sort_logits[j]);
    if (ki != kj) return ki > kj ? -1 : 1;
    return i < j ? -1 : i > j;
}

/* The k-th largest key: moves the k largest (ties to the lower id) to idx[0..k). */
static uint32_t top_k_cut_select(const float *l, int V, int k, int32_t *idx) {
    for (int j = 0; j < V; j++) idx[j] = j;
    int lo = 0, hi = V - 1;
    g_sort_logits = l;
    while (lo < hi) {
        int32_t pivot = idx[(lo + hi) / 2], i = lo, j = hi;
        while (i <= j) {
            while (by_logit_desc(&idx[i], &pivot) < 0) i++;
            while (by_logit_desc(&idx[j], &pivot) > 0) j--;
            if (i <= j) {
                int32_t t = idx[i];
                idx[i++] = idx[j];
                idx[j--] = t;
            }
        }
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else break;
    }
    uint32_t cut = sample_key(l[idx[0]]);
    for (int r = 1; r < k; r++) cut = sample_key(l[idx[r]]) < cut ? sample_key(l[idx[r]]) : cut;
    return cut;
}

/* The top-p cut among the kept tokens (key >= cut, total mass Z). Only the
 * tokens with weight >= tau * Z can be in the nucleus once they carry `need`
 * of the mass, so only those are sorted. The cut is then settled on the
 * bisection's test (chunked kept mass >= need) so that rounding at the
 * boundary goes the same way for both searches. */
static uint32_t top_p_cut_select(const float *l, const double *w, int V, uint32_t cut, double Z, double need,
                                 int32_t *idx) {
    int n = 0;
    for (int j = 0; j < V; j++)
        if (sample_key(l[j]) >= cut) idx[n++] = j;
    double tau = 1e-4;
    for (;;) {
        double mass = 0;
        for (int r = 0; r < n; r++)
            if (w[idx[r]] >= tau * Z) mass += w[idx[r]];
        if (mass >= need || tau == 0) break;
        tau = tau > 1e-30 ? tau * 1e-3 : 0;
    }
    int m = 0;
    for (int r = 0; r < n; r++)
        if (w[idx[r]] >= tau * Z) idx[m++] = idx[r];
    g_sort_logits = l;
    qsort(idx, m, sizeof(int32_t), by_logit_desc);
    double cum = 0;
    int k = 0;
    while (k < m && cum < need) cum += w[idx[k++]];
    k = k > 0 ? k - 1 : 0;
    while (k + 1 < m && kept_mass(l, w, V, sample_key(l[idx[k]]), NULL) < need) k++;
    while (k > 0 && kept_mass(l, w, V, sample_key(l[idx[k - 1]]), NULL) >= need) k--;
    return sample_key(l[idx[k]]);
}

/* ---- SAMPLE_SEARCH_BISECT: bisection over the keys (the device kernel's steps) ---- */

/* The largest key with count(key_i >= key) >= k: the k-th largest logit. */
static uint32_t top_k_cut_bisect(const float *l, int V, int k, uint32_t kmax) {
    uint32_t lo = 0, hi = kmax;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2 + 1, c = 0;
        for (int i = 0; i < V; i++) c += sample_key(l[i]) >= mid;
        if (c >= (uint32_t)k) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* The largest key >= lo whose kept mass still reaches need. */
static uint32_t top_p_cut_bisect(const float *l, const double *w, int V, uint32_t lo, uint32_t kmax, double need) {
    uint32_t hi = kmax;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2 + 1;
        if (kept_mass(l, w, V, mid, NULL) >= need) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* ---- the rule ---- */

int32_t sample_rule_row(const float *l, int V, float temperature, float top_p, int top_k, double u, int search,
                        int32_t *idx, double *w) {
    int best = 0;
    for (int j = 1; j < V; j++)
        if (l[j] > l[best]) best = j;
    if (temperature <= 0) return best;
    const int bisect = search == SAMPLE_SEARCH_BISECT;
    const uint32_t kmax = sample_key(l[best]);
    double invT = 1.0 / temperature, mx = l[best], part[SAMPLE_CHUNKS];
    uint32_t cut = 0; /* kept: sample_key(l_j) >= cut */
    /* A cut never exceeds the argmax's key: the bisection's upper end (the
     * kernel's), which makes -0 and +0 one tie at the top. */
    if (top_k > 0 && top_k < V) {
        cut = bisect ? top_k_cut_bisect(l, V, top_k, kmax) : top_k_cut_select(l, V, top_k, idx);
        cut = cut < kmax ? cut : kmax;
    }
    for (int j = 0; j < V; j++)
        if (sample_key(l[j]) >= cut) w[j] = exp((l[j] - mx) * invT);
    if (top_p > 0 && top_p < 1) {
        double Z = kept_mass(l, w, V, cut, NULL), need = top_p * Z;
        cut = bisect ? top_p_cut_bisect(l, w, V, cut, kmax, need) : top_p_cut_select(l, w, V, cut, Z, need, idx);
        cut = cut < kmax ? cut : kmax;
    }
    /* inverse CDF over the kept tokens in id order, skipping whole chunks */
    double target = u * kept_mass(l, w, V, cut, part), acc = 0;
    int chunk = (V + SAMPLE_CHUNKS - 1) / SAMPLE_CHUNKS, last = best;
    for (int t = 0; t < SAMPLE_CHUNKS; t++) {
        if (target >= acc + part[t]) {
            acc += part[t];
            continue;
        }
        for (int i = t * chunk; i < (t + 1) * chunk && i < V; i++)
            if (sample_key(l[i]) >= cut) {
                acc += w[i];
                if (target < acc) return i;
                last = i;
            }
        return last; /* rounding inside the chunk: its last kept id */
    }
    for (int i = V - 1; i >= 0; i--) /* rounding at the end: the last kept id */
        if (sample_key(l[i]) >= cut) return i;
    return last;
}

int32_t model_sample_row(const float *l, int V, float temperature, float top_p, int top_k, double u, int32_t *idx,
                         double *w) {
    return sample_rule_row(l, V, temperature, top_p, top_k, u, SAMPLE_SEARCH_SELECT, idx, w);
}
