/* nccl.cu - the CUDA backend's collectives for data-parallel training
 * (stages/common/dp.h) over NCCL: the run's MPI world (util/dist.h) gives
 * every rank NCCL's unique id from rank 0, each rank drives the GPU its node
 * -local rank picked (backend_cuda.cu), and the exchanges move device memory
 * on the default stream, so the adds that follow are ordered after them.
 * Built only with NCCL (PURE_HAVE_NCCL); without it the backend has no
 * collectives and a multi-rank optimize on cuda is refused. */
#ifdef PURE_HAVE_NCCL
#include <nccl.h>
#include <stdio.h>
#include <string.h>

#include "internal.cuh"

extern "C" {
int dist_rank(void);
int dist_size(void);
void dist_bcast(void *buf, size_t bytes);
}

static ncclComm_t g_comm;
static int g_ready;

#define NC_CHECK(call)                                                             \
    do {                                                                           \
        ncclResult_t r_ = (call);                                                  \
        if (r_ != ncclSuccess) cuda_fatal(#call, __FILE__, __LINE__, ncclGetErrorString(r_)); \
    } while (0)

int cuda_dist_init(PureErr *err) {
    if (g_ready) return 0;
    ncclUniqueId id;
    memset(&id, 0, sizeof id);
    ncclResult_t r = ncclSuccess;
    if (dist_rank() == 0) r = ncclGetUniqueId(&id);
    /* every rank must reach the broadcast, so rank 0's failure is reported after it */
    dist_bcast(&id, sizeof id);
    if (r != ncclSuccess) return err_set(err, "ncclGetUniqueId: %s", ncclGetErrorString(r));
    r = ncclCommInitRank(&g_comm, dist_size(), id, dist_rank());
    if (r != ncclSuccess)
        return err_set(err, "ncclCommInitRank (rank %d of %d): %s", dist_rank(), dist_size(), ncclGetErrorString(r));
    g_ready = 1;
    return 0;
}

/* piece p of a range of len elements, when it is cut into `size` pieces */
static void piece(int64_t len, int p, int size, int64_t *off, int64_t *n) {
    int64_t step = (len + size - 1) / size, a = step * p < len ? step * p : len, b = a + step < len ? a + step : len;
    *off = a;
    *n = b - a;
}

/* In `size` steps, each a grouped all-to-all of one piece of every range: rank k's piece p of this rank's range
 * lands in tmp[k * step ...] (tmp holds size pieces: about one range), then take() consumes the copies in rank
 * order before the next step reuses tmp. */
void cuda_dist_exchange(const float *src, const int64_t *bounds, float *tmp,
                        void (*take)(void *ctx, int from, const float *slice, int64_t off, int64_t len), void *ctx) {
    int rank = dist_rank(), size = dist_size();
    int64_t mylen = bounds[rank + 1] - bounds[rank], step = (mylen + size - 1) / size;
    for (int p = 0; p < size; p++) {
        int64_t off, n;
        piece(mylen, p, size, &off, &n);
        NC_CHECK(ncclGroupStart());
        for (int k = 0; k < size; k++) {
            if (k == rank) continue;
            int64_t ko, kn;
            piece(bounds[k + 1] - bounds[k], p, size, &ko, &kn);
            if (kn) NC_CHECK(ncclSend(src + bounds[k] + ko, (size_t)kn, ncclFloat, k, g_comm, 0));
            if (n) NC_CHECK(ncclRecv(tmp + (size_t)k * (size_t)step, (size_t)n, ncclFloat, k, g_comm, 0));
        }
        NC_CHECK(ncclGroupEnd());
        if (!n) continue;
        for (int j = 0; j < size; j++)
            take(ctx, j, j == rank ? src + bounds[rank] + off : tmp + (size_t)j * (size_t)step, off, n);
    }
    CU_CHECK(cudaStreamSynchronize(0));
}

/* every owner's range to every rank: one broadcast per owner, grouped */
void cuda_dist_allgather(float *buf, const int64_t *bounds) {
    int size = dist_size();
    NC_CHECK(ncclGroupStart());
    for (int k = 0; k < size; k++) {
        size_t n = (size_t)(bounds[k + 1] - bounds[k]);
        if (n) NC_CHECK(ncclBroadcast(buf + bounds[k], buf + bounds[k], n, ncclFloat, k, g_comm, 0));
    }
    NC_CHECK(ncclGroupEnd());
    CU_CHECK(cudaStreamSynchronize(0));
}
#endif
