/* dist.c - see dist.h. With PURE_HAVE_MPI the collectives are MPI's; without
 * it (or in a process no launcher started) the world is one process and
 * every collective is a copy. Messages are cut into pieces of at most
 * 2^28 elements: MPI counts are ints, a 7B model's ranges are not. */
#include "util/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef PURE_HAVE_MPI
#include <mpi.h>
#endif

static struct {
    int inited, mpi, rank, size, local_rank, local_size;
    const char *launcher;
} g = {0, 0, 0, 1, 0, 1, "none"};

static const char *env(const char *k) {
    const char *v = getenv(k);
    return v && *v ? v : NULL;
}

static int env_int(const char *k, int def) {
    const char *v = env(k);
    if (!v) return def;
    char *end;
    long x = strtol(v, &end, 10);
    return *end || x < 0 || x > 1 << 30 ? -1 : (int)x;
}

/* The launcher whose variables this process carries, or NULL. */
static const char *mpi_launcher(void) {
    if (env("OMPI_COMM_WORLD_SIZE")) return "mpirun";
    if (env("PMIX_RANK")) return env("SLURM_PROCID") ? "srun" : "pmix";
    if (env("PMI_RANK") || env("PMI_SIZE")) return env("SLURM_PROCID") ? "srun" : "pmi";
    return NULL;
}

int dist_init(int *argc, char ***argv, PureErr *err) {
    if (g.inited) return 0;
    const char *l = mpi_launcher();
    int ws = env_int("WORLD_SIZE", 0), rk = env_int("RANK", -2), lr = env_int("LOCAL_RANK", -2);
    if (ws < 0 || rk == -1 || lr == -1)
        return err_set(err, "RANK/WORLD_SIZE/LOCAL_RANK must be non-negative integers (got RANK=%s WORLD_SIZE=%s "
                            "LOCAL_RANK=%s)", env("RANK") ? env("RANK") : "", env("WORLD_SIZE") ? env("WORLD_SIZE") : "",
                       env("LOCAL_RANK") ? env("LOCAL_RANK") : "");
    if (!l) {
        int slurm = env_int("SLURM_NTASKS", 1);
        if (slurm > 1 && env("SLURM_PROCID"))
            return err_set(err, "srun started %d tasks without an MPI plugin, so they cannot reach each other: run "
                                "`srun --mpi=pmix ...` (or pmi2)", slurm);
        if (ws > 1)
            return err_set(err, "WORLD_SIZE=%d but no MPI launcher started this process: pure's collectives run over "
                                "MPI, so start the ranks with `mpirun -np %d` or `srun --mpi=pmix` (RANK, WORLD_SIZE "
                                "and LOCAL_RANK are then only checked against MPI's world)", ws, ws);
        g.inited = 1;
        return 0;
    }
#ifdef PURE_HAVE_MPI
    /* a rank that waits in a collective yields its core instead of spinning on it: ranks often share cores with
     * each other's threads here (unless the user set it otherwise) */
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return err_set(err, "MPI_Init failed (launcher %s)", l);
    g.mpi = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g.size);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g.rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &g.local_rank);
    MPI_Comm_size(node, &g.local_size);
    MPI_Comm_free(&node);
    g.launcher = l;
    g.inited = 1;
    if (ws > 0 || rk >= 0) {
        g.launcher = "torchrun+mpi";
        if ((ws > 0 && ws != g.size) || (rk >= 0 && rk != g.rank) || (lr >= 0 && lr != g.local_rank))
            return err_set(err, "RANK=%d WORLD_SIZE=%d LOCAL_RANK=%d disagree with MPI's world (rank %d of %d, local "
                                "rank %d): unset them or launch with matching values", rk, ws, lr, g.rank, g.size,
                           g.local_rank);
    }
    return 0;
#else
    (void)argc, (void)argv;
    int n = env_int("OMPI_COMM_WORLD_SIZE", env_int("PMI_SIZE", 0));
    if (n > 1 || (n == 0 && env("PMIX_RANK")))
        return err_set(err, "%s started this process as one of several ranks, but this pure was built without MPI: "
                            "install libopenmpi-dev and rebuild (cmake -DPURE_MPI=ON)", l);
    g.inited = 1;
    return 0;
#endif
}

void dist_finalize(void) {
#ifdef PURE_HAVE_MPI
    if (g.mpi) MPI_Finalize();
#endif
    g.mpi = 0;
}

int dist_rank(void) { return g.rank; }
int dist_size(void) { return g.size; }
int dist_local_rank(void) { return g.local_rank; }
int dist_local_size(void) { return g.local_size; }
const char *dist_launcher(void) { return g.launcher; }

void dist_block(int64_t n, int rank, int size, int64_t *lo, int64_t *hi) {
    *lo = n * rank / size;
    *hi = n * (rank + 1) / size;
}

#ifdef PURE_HAVE_MPI
enum { PIECE = 1 << 28 };

/* count elements of `type` (elem bytes each) in pieces */
static void bcast_pieces(void *buf, size_t count, size_t elem, MPI_Datatype type, int root) {
    for (size_t o = 0; o < count; o += PIECE) {
        size_t c = count - o < PIECE ? count - o : PIECE;
        MPI_Bcast((char *)buf + o * elem, (int)c, type, root, MPI_COMM_WORLD);
    }
}
#endif


void dist_bcast(void *buf, size_t bytes) {
#ifdef PURE_HAVE_MPI
    if (g.mpi && g.size > 1) bcast_pieces(buf, bytes, 1, MPI_BYTE, 0);
#else
    (void)buf, (void)bytes;
#endif
}

void dist_bcast_idle(void *buf, size_t bytes) {
#ifdef PURE_HAVE_MPI
    if (!g.mpi || g.size == 1) return;
    MPI_Request rq;
    MPI_Ibcast(buf, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD, &rq);
    int done = 0;
    struct timespec ts = {0, 2000000}; /* 2 ms: a command waits at most that long */
    while (MPI_Test(&rq, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done)
        if (g.rank != 0) nanosleep(&ts, NULL);
#else
    (void)buf, (void)bytes;
#endif
}

void dist_allgather(const void *mine, size_t bytes, void *all) {
#ifdef PURE_HAVE_MPI
    if (g.mpi && g.size > 1) {
        MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, MPI_COMM_WORLD);
        return;
    }
#endif
    memmove(all, mine, bytes);
}

int dist_gather_bytes(const void *buf, size_t len, void **out, size_t *lens, PureErr *err) {
    *out = NULL;
    if (g.size == 1) {
        lens[0] = len;
        *out = xmalloc(len + 1);
        memcpy(*out, buf, len);
        return 0;
    }
#ifdef PURE_HAVE_MPI
    uint64_t mine = len, *all = xmalloc((size_t)g.size * sizeof *all);
    MPI_Gather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (g.rank == 0) {
        size_t total = 0;
        for (int k = 0; k < g.size; k++) total += (lens[k] = (size_t)all[k]);
        char *o = xmalloc(total + 1), *p = o;
        memcpy(p, buf, len);
        p += len;
        for (int k = 1; k < g.size; k++) {
            for (size_t off = 0; off < lens[k]; off += PIECE) {
                size_t c = lens[k] - off < PIECE ? lens[k] - off : PIECE;
                MPI_Recv(p + off, (int)c, MPI_BYTE, k, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            }
            p += lens[k];
        }
        *out = o;
    } else {
        for (size_t off = 0; off < len; off += PIECE) {
            size_t c = len - off < PIECE ? len - off : PIECE;
            MPI_Send((const char *)buf + off, (int)c, MPI_BYTE, 0, 7, MPI_COMM_WORLD);
        }
    }
    free(all);
    return 0;
#else
    return err_set(err, "dist: several ranks without MPI");
#endif
}

void dist_alltoall_ranges_f32_each(const float *src, const int64_t *bounds, float *tmp,
                                   void (*take)(void *ctx, int from, const float *slice, int64_t off, int64_t len),
                                   void *ctx) {
    int64_t mylo = bounds[g.rank], mylen = bounds[g.rank + 1] - mylo;
    if (g.size == 1) {
        take(ctx, 0, src + mylo, 0, mylen);
        return;
    }
#ifdef PURE_HAVE_MPI
    int nsend = 0;
    for (int k = 0; k < g.size; k++) nsend += (int)((bounds[k + 1] - bounds[k] + PIECE - 1) / PIECE);
    MPI_Request *rq = xmalloc((size_t)(nsend + 1) * sizeof *rq);
    int n = 0;
    for (int k = 0; k < g.size; k++) {
        if (k == g.rank) continue;
        int64_t len = bounds[k + 1] - bounds[k];
        for (int64_t o = 0; o < len; o += PIECE) {
            int c = (int)(len - o < PIECE ? len - o : PIECE);
            MPI_Isend(src + bounds[k] + o, c, MPI_FLOAT, k, 12, MPI_COMM_WORLD, &rq[n++]);
        }
    }
    for (int j = 0; j < g.size; j++) {
        if (j == g.rank) {
            take(ctx, j, src + mylo, 0, mylen);
            continue;
        }
        for (int64_t o = 0; o < mylen; o += PIECE) {
            int c = (int)(mylen - o < PIECE ? mylen - o : PIECE);
            MPI_Recv(tmp + o, c, MPI_FLOAT, j, 12, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
        take(ctx, j, tmp, 0, mylen);
    }
    MPI_Waitall(n, rq, MPI_STATUSES_IGNORE);
    free(rq);
#else
    (void)tmp;
#endif
}

#ifdef PURE_HAVE_MPI
static void allgather_ranges(void *buf, const int64_t *bounds, size_t elem, MPI_Datatype type) {
    int fits = 1;
    for (int k = 0; k < g.size; k++) fits &= bounds[k + 1] < (int64_t)PIECE;
    if (fits) {
        int *counts = xmalloc((size_t)g.size * sizeof(int)), *displs = xmalloc((size_t)g.size * sizeof(int));
        for (int k = 0; k < g.size; k++) counts[k] = (int)(bounds[k + 1] - bounds[k]), displs[k] = (int)bounds[k];
        MPI_Allgatherv(MPI_IN_PLACE, 0, type, buf, counts, displs, type, MPI_COMM_WORLD);
        free(counts), free(displs);
        return;
    }
    for (int k = 0; k < g.size; k++)
        bcast_pieces((char *)buf + (size_t)bounds[k] * elem, (size_t)(bounds[k + 1] - bounds[k]), elem, type, k);
}
#endif

void dist_allgather_ranges_f32(float *buf, const int64_t *bounds) {
#ifdef PURE_HAVE_MPI
    if (g.mpi && g.size > 1) allgather_ranges(buf, bounds, sizeof(float), MPI_FLOAT);
#else
    (void)buf, (void)bounds;
#endif
}

void dist_allgather_ranges_f64(double *buf, const int64_t *bounds) {
#ifdef PURE_HAVE_MPI
    if (g.mpi && g.size > 1) allgather_ranges(buf, bounds, sizeof(double), MPI_DOUBLE);
#else
    (void)buf, (void)bounds;
#endif
}

int dist_any(int mine) {
#ifdef PURE_HAVE_MPI
    if (g.mpi && g.size > 1) {
        int in = mine != 0, out = 0;
        MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        return out;
    }
#endif
    return mine != 0;
}

void dist_first_error(int failed, const char *msg, char *out, size_t cap) {
    out[0] = 0;
    if (g.size == 1) {
        if (failed) snprintf(out, cap, "%s", msg);
        return;
    }
#ifdef PURE_HAVE_MPI
    int in = failed ? g.rank : g.size, first = g.size;
    MPI_Allreduce(&in, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == g.size) return;
    if (first == 0) {
        if (g.rank == 0) snprintf(out, cap, "%s", msg);
        return;
    }
    if (g.rank == first) {
        int n = (int)strlen(msg) + 1;
        MPI_Send(&n, 1, MPI_INT, 0, 13, MPI_COMM_WORLD);
        MPI_Send(msg, n, MPI_CHAR, 0, 13, MPI_COMM_WORLD);
    } else if (g.rank == 0) {
        int n = 0;
        MPI_Recv(&n, 1, MPI_INT, first, 13, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        char *m = xmalloc((size_t)n + 1);
        MPI_Recv(m, n, MPI_CHAR, first, 13, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        m[n] = 0;
        snprintf(out, cap, "rank %d of %d: %s", first, g.size, m);
        free(m);
    }
#endif
}

_Noreturn void dist_fail(int code, const char *msg) {
    if (g.size > 1) fprintf(stderr, "pure: rank %d of %d: %s\n", g.rank, g.size, msg);
    else fprintf(stderr, "pure: %s\n", msg);
    fflush(stderr);
#ifdef PURE_HAVE_MPI
    if (g.mpi) MPI_Abort(MPI_COMM_WORLD, code);
#endif
    exit(code);
}
