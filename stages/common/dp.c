/* dp.c - see dp.h. Every vector lives in the model's backend memory (host
 * for the cpu, the device for cuda) and is touched only through model_dp_*;
 * what crosses to the host is the per-chunk sums of squares and, at a save or
 * load, the moments. */
#include "stages/common/dp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/dist.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int dp_init(DpState *d, Model *m, PureErr *err) {
    memset(d, 0, sizeof *d);
    if (!model_dp_params(m)) return err_set(err, "data-parallel training needs a model loaded for training");
    d->rank = dist_rank();
    d->size = dist_size();
    if (model_dp_comm(m, d->size, err)) return -1;
    d->m = m;
    d->n = model_num_params(m);
    d->bounds = xmalloc(((size_t)d->size + 1) * sizeof(int64_t));
    int64_t chunks = (d->n + DP_CHUNK - 1) / DP_CHUNK;
    for (int k = 0; k <= d->size; k++) {
        int64_t c = chunks * k / d->size * DP_CHUNK;
        d->bounds[k] = c < d->n ? c : d->n;
    }
    d->lo = d->bounds[d->rank];
    d->hi = d->bounds[d->rank + 1];
    size_t len = (size_t)(d->hi - d->lo);
    d->sum = model_dp_alloc(m, len);
    d->mom_m = model_dp_alloc(m, len);
    d->mom_v = model_dp_alloc(m, len);
    /* a backend may exchange in `size` pieces, one from each rank at a time: len + size floats hold them */
    if (d->size > 1) d->recv = model_dp_alloc(m, len + (size_t)d->size);
    return 0;
}

void dp_free(DpState *d) {
    if (d->m) {
        model_dp_free(d->m, d->sum), model_dp_free(d->m, d->recv), model_dp_free(d->m, d->zeros);
        model_dp_free(d->m, d->mom_m), model_dp_free(d->m, d->mom_v);
    }
    free(d->bounds);
    memset(d, 0, sizeof *d);
}

int dp_load_optimizer(DpState *d, Model *m, const char *path, PureErr *err) {
    size_t len = (size_t)(d->hi - d->lo);
    float *hm = xmalloc((len + 1) * sizeof(float)), *hv = xmalloc((len + 1) * sizeof(float));
    int rc = model_optimizer_load_range(m, path, d->lo, d->hi, hm, hv, err);
    if (!rc) model_dp_upload(m, d->mom_m, hm, len), model_dp_upload(m, d->mom_v, hv, len);
    free(hm), free(hv);
    return rc;
}

void dp_begin(DpState *d) {
    model_dp_zero(d->m, d->sum, (size_t)(d->hi - d->lo));
    d->units = 0;
}

/* unit u's copy of elements [off, off + len) of this rank's range into the sum */
static void add_unit(DpState *d, int64_t u, const float *g, int64_t off, int64_t len) {
    /* the first unit is copied, not added to zero: -0 + 0 would give +0 */
    if (u == 0) model_dp_copy(d->m, d->sum + off, g, (size_t)len);
    else model_dp_add(d->m, d->sum + off, g, (size_t)len);
}

typedef struct Take {
    DpState *d;
    int64_t first, total;
} Take;

/* rank j's copy of this rank's range: unit first + j, added in rank (= unit) order */
static void take_unit(void *ctx, int j, const float *slice, int64_t off, int64_t len) {
    Take *t = ctx;
    if (t->first + j < t->total) add_unit(t->d, t->first + j, slice, off, len);
}

void dp_round(DpState *d, Model *m, int64_t first, int64_t total) {
    const float *g = model_dp_grads(m);
    if (d->size == 1) {
        if (first < total && g) add_unit(d, first, g + d->lo, 0, d->hi - d->lo);
        d->units += first < total && g;
        return;
    }
    /* a rank without a unit this round sends zeros that nobody adds (the all-to-all needs every rank) */
    if (first + d->rank >= total || !g) {
        if (!d->zeros) d->zeros = model_dp_alloc(m, (size_t)d->n);
        g = d->zeros;
    }
    double t0 = now();
    Take t = {d, first, total};
    model_dp_exchange(m, g, d->bounds, d->recv, take_unit, &t);
    d->comm_s += now() - t0;
    for (int s = 0; s < d->size; s++) d->units += first + s < total;
}

int dp_step(DpState *d, Model *m, const AdamWConfig *c, double *grad_norm, double *lr, PureErr *err) {
    /* per-chunk sums of squares in f64, every chunk's from its owner, added in chunk order */
    int64_t chunks = (d->n + DP_CHUNK - 1) / DP_CHUNK;
    double *sq = xcalloc((size_t)chunks + 1, sizeof(double));
    int64_t *cb = xmalloc(((size_t)d->size + 1) * sizeof(int64_t));
    for (int k = 0; k <= d->size; k++) cb[k] = (d->bounds[k] + DP_CHUNK - 1) / DP_CHUNK;
    model_dp_sumsq_chunks(m, sq + cb[d->rank], d->sum, (size_t)(d->hi - d->lo), DP_CHUNK);
    dist_allgather_ranges_f64(sq, cb);
    double total = 0;
    for (int64_t ch = 0; ch < chunks; ch++) total += sq[ch];
    free(sq), free(cb);
    double norm = sqrt(total);
    if (grad_norm) *grad_norm = norm;
    /* every rank sees the same norm, so all fail together or none does */
    if (model_adamw_range(m, c, d->lo, d->hi, d->sum, d->mom_m, d->mom_v, norm, lr, err)) return -1;
    double t0 = now();
    if (d->size > 1) model_dp_allgather(m, model_dp_params(m), d->bounds);
    d->comm_s += now() - t0;
    model_params_changed(m);
    return 0;
}

int dp_save_optimizer(DpState *d, Model *m, const char *path, PureErr *err) {
    size_t len = (size_t)(d->hi - d->lo), bytes = len * sizeof(float);
    float *hm = xmalloc(bytes + sizeof(float)), *hv = xmalloc(bytes + sizeof(float));
    model_dp_download(m, hm, d->mom_m, len);
    model_dp_download(m, hv, d->mom_v, len);
    /* one rank writes the file whole; several write their ranges into it, each at its offsets */
    int rc = d->size == 1 ? model_optimizer_save_moments(m, path, hm, hv, err)
                          : model_optimizer_save_range(m, path, d->lo, d->hi, hm, hv, err);
    free(hm), free(hv);
    return rc;
}
