/* dp.c - see dp.h. */
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
    if (!model_param_data(m))
        return err_set(err, "data-parallel training needs the cpu backend (the NCCL path for cuda is not built yet)");
    d->rank = dist_rank();
    d->size = dist_size();
    d->n = model_num_params(m);
    d->bounds = xmalloc(((size_t)d->size + 1) * sizeof(int64_t));
    int64_t chunks = (d->n + DP_CHUNK - 1) / DP_CHUNK;
    for (int k = 0; k <= d->size; k++) {
        int64_t c = chunks * k / d->size * DP_CHUNK;
        d->bounds[k] = c < d->n ? c : d->n;
    }
    d->lo = d->bounds[d->rank];
    d->hi = d->bounds[d->rank + 1];
    size_t len = (size_t)(d->hi - d->lo) + 1;
    d->sum = xcalloc(len, sizeof(float));
    d->mom_m = xcalloc(len, sizeof(float));
    d->mom_v = xcalloc(len, sizeof(float));
    if (d->size > 1) d->recv = xmalloc(len * sizeof(float));
    return 0;
}

void dp_free(DpState *d) {
    free(d->bounds), free(d->sum), free(d->recv), free(d->mom_m), free(d->mom_v);
    memset(d, 0, sizeof *d);
}

int dp_load_optimizer(DpState *d, Model *m, const char *path, PureErr *err) {
    return model_optimizer_load_range(m, path, d->lo, d->hi, d->mom_m, d->mom_v, err);
}

void dp_begin(DpState *d) {
    memset(d->sum, 0, (size_t)(d->hi - d->lo) * sizeof(float));
    d->units = 0;
}

static void add_unit(DpState *d, const float *g) {
    int64_t len = d->hi - d->lo;
    /* the first unit is copied, not added to zero: -0 + 0 would give +0 */
    if (d->units++ == 0) memcpy(d->sum, g, (size_t)len * sizeof(float));
    else
        for (int64_t i = 0; i < len; i++) d->sum[i] += g[i];
}

typedef struct Take {
    DpState *d;
    int64_t first, total;
} Take;

/* rank j's copy of this rank's range: unit first + j, added in rank (= unit) order */
static void take_unit(void *ctx, int j, const float *slice) {
    Take *t = ctx;
    if (t->first + j < t->total) add_unit(t->d, slice);
}

void dp_round(DpState *d, Model *m, int64_t first, int64_t total) {
    const float *g = model_grad_data(m);
    if (d->size == 1) {
        if (first < total && g) add_unit(d, g + d->lo);
        return;
    }
    /* a rank without a unit this round sends zeros that nobody adds (the all-to-all needs every rank) */
    float *zeros = NULL;
    if (first + d->rank >= total || !g) g = zeros = xcalloc((size_t)d->n + 1, sizeof(float));
    double t0 = now();
    Take t = {d, first, total};
    dist_alltoall_ranges_f32_each(g, d->bounds, d->recv, take_unit, &t);
    d->comm_s += now() - t0;
    free(zeros);
}

int dp_step(DpState *d, Model *m, const AdamWConfig *c, double *grad_norm, double *lr, PureErr *err) {
    /* per-chunk sums of squares in f64, every chunk's from its owner, added in chunk order */
    int64_t chunks = (d->n + DP_CHUNK - 1) / DP_CHUNK;
    double *sq = xcalloc((size_t)chunks + 1, sizeof(double));
    int64_t *cb = xmalloc(((size_t)d->size + 1) * sizeof(int64_t));
    for (int k = 0; k <= d->size; k++) cb[k] = (d->bounds[k] + DP_CHUNK - 1) / DP_CHUNK;
    for (int64_t ch = cb[d->rank]; ch < cb[d->rank + 1]; ch++) {
        int64_t a = ch * DP_CHUNK, b = a + DP_CHUNK < d->n ? a + DP_CHUNK : d->n;
        double s = 0;
        for (int64_t i = a; i < b; i++) s += (double)d->sum[i - d->lo] * d->sum[i - d->lo];
        sq[ch] = s;
    }
    dist_allgather_ranges_f64(sq, cb);
    double total = 0;
    for (int64_t ch = 0; ch < chunks; ch++) total += sq[ch];
    free(sq), free(cb);
    double norm = sqrt(total);
    if (grad_norm) *grad_norm = norm;
    /* every rank sees the same norm, so all fail together or none does */
    if (model_adamw_range(m, c, d->lo, d->hi, d->sum, d->mom_m, d->mom_v, norm, lr, err)) return -1;
    double t0 = now();
    dist_allgather_ranges_f32(model_param_data(m), d->bounds);
    d->comm_s += now() - t0;
    model_params_changed(m);
    return 0;
}

int dp_save_optimizer(DpState *d, Model *m, const char *path, PureErr *err) {
    if (d->size == 1) return model_optimizer_save_moments(m, path, d->mom_m, d->mom_v, err);
    size_t *lens = xcalloc((size_t)d->size, sizeof *lens), bytes = (size_t)(d->hi - d->lo) * sizeof(float);
    void *am = NULL, *av = NULL;
    int rc = dist_gather_bytes(d->mom_m, bytes, &am, lens, err) || dist_gather_bytes(d->mom_v, bytes, &av, lens, err);
    if (!rc && dist_rank() == 0) rc = model_optimizer_save_moments(m, path, am, av, err);
    free(am), free(av), free(lens);
    return rc;
}
