/* cpu_dist.c - the CPU backend's side of data-parallel training: per-chunk
 * sums of squares and the run's collectives on host memory (util/dist.h,
 * MPI). The CUDA backend's are model/cuda/nccl.cu. */
#include "model/cpu/cpu.h"

#include "util/dist.h"

typedef struct {
    const float *x;
    size_t n, chunk;
    double *out;
} ChunkCtx;

/* chunk t in one sequential f64 loop: the reference order the norm is defined by */
static void chunk_task(void *c, int t) {
    ChunkCtx *a = c;
    size_t lo = (size_t)t * a->chunk, hi = lo + a->chunk < a->n ? lo + a->chunk : a->n;
    double s = 0;
    for (size_t i = lo; i < hi; i++) s += (double)a->x[i] * a->x[i];
    a->out[t] = s;
}

void cpu_sumsq_chunks(double *out, const float *x, size_t n, size_t chunk) {
    ChunkCtx c = {x, n, chunk, out};
    cpu_parallel_for((int)((n + chunk - 1) / chunk), chunk_task, &c);
}

int cpu_dist_init(PureErr *err) {
    (void)err;
    return 0;
}

void cpu_dist_exchange(const float *src, const int64_t *bounds, float *tmp,
                       void (*take)(void *ctx, int from, const float *slice, int64_t off, int64_t len), void *ctx) {
    dist_alltoall_ranges_f32_each(src, bounds, tmp, take, ctx);
}

void cpu_dist_allgather(float *buf, const int64_t *bounds) { dist_allgather_ranges_f32(buf, bounds); }
