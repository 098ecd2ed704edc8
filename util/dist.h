/* dist.h - the processes of one run: who this process is and the few
 * collectives pure needs, over MPI (docs/distributed.md).
 *
 * A run over N processes is started by an MPI launcher (mpirun, srun, or
 * any launcher that sets PMI/PMIx variables); torchrun-style RANK,
 * WORLD_SIZE and LOCAL_RANK are read too, and must agree with the MPI world
 * (pure's collectives are MPI's: there is no transport of pure's own). A
 * process started without a launcher is rank 0 of 1 and never touches MPI,
 * so every collective below is then a copy or a no-op: callers write one
 * code path for any world size.
 *
 * Determinism: nothing here reduces floating-point values. Callers move
 * bytes (gathers, all-to-all of ranges) and add them in an order they fix
 * themselves, so a result does not depend on MPI's reduction algorithm, and
 * where the caller's order does not depend on the world size (the optimize
 * stage's, stages/common/dp.h) neither does the result.
 *
 * Failure: one rank's error ends the whole job with that rank's message
 * (dist_fail), never a hang in a collective the failed rank will not reach.
 */
#ifndef PURE_DIST_H
#define PURE_DIST_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

/* Detects the launcher, starts MPI when one started this process, and checks
 * the torchrun variables against the world. Fails (err set) when the world
 * has several processes and this build has no MPI, or when the variables
 * disagree. Idempotent. */
int dist_init(int *argc, char ***argv, PureErr *err);
void dist_finalize(void);
int dist_rank(void);
int dist_size(void);
int dist_local_rank(void);  /* rank among the processes on this node (the GPU a rank takes) */
int dist_local_size(void);
const char *dist_launcher(void); /* "none", "mpirun", "srun", "pmi", "pmix", "torchrun+mpi" */

/* Rows [*lo, *hi) of n that `rank` of `size` owns: contiguous blocks in rank
 * order, sizes differing by at most one. */
void dist_block(int64_t n, int rank, int size, int64_t *lo, int64_t *hi);

/* Broadcast from rank 0. */
void dist_bcast(void *buf, size_t bytes);
/* The same, for ranks that wait for a command: the waiting ranks sleep
 * between polls instead of spinning a core that rank 0's stage needs. */
void dist_bcast_idle(void *buf, size_t bytes);

/* Every rank's `bytes` bytes, in rank order, into all (size * bytes). */
void dist_allgather(const void *mine, size_t bytes, void *all);
/* Variable-size byte blobs to rank 0, in rank order: on rank 0 *out is a
 * malloc'd concatenation and lens[k] rank k's size (lens has size entries);
 * elsewhere *out is NULL. */
int dist_gather_bytes(const void *buf, size_t len, void **out, size_t *lens, PureErr *err);
/* Ranges of a float vector: rank k owns [bounds[k], bounds[k+1]).
 * all-to-all: every rank sends src[bounds[k] .. bounds[k+1]) to rank k; the
 * copies of this rank's range (mylen = bounds[rank+1] - bounds[rank]) arrive
 * one source rank at a time, in rank order, into tmp (mylen floats), and
 * take(ctx, j, slice, off, len) consumes rank j's copy of elements
 * [off, off + len) of the range before the next is received (this rank's
 * own is handed over without a copy). A backend may hand a range over in
 * pieces (off > 0), each piece from every rank in rank order.
 * all-gather: every rank's range of buf, from its owner, into every rank's buf. */
void dist_alltoall_ranges_f32_each(const float *src, const int64_t *bounds, float *tmp,
                                   void (*take)(void *ctx, int from, const float *slice, int64_t off, int64_t len),
                                   void *ctx);
void dist_allgather_ranges_f32(float *buf, const int64_t *bounds);
/* The same for doubles: each rank's range of buf to everyone. */
void dist_allgather_ranges_f64(double *buf, const int64_t *bounds);

/* 1 when any rank passes nonzero (a vote, for errors before the ranks split up). */
int dist_any(int mine);
/* Rank 0 learns the message of the lowest rank whose `failed` is set (all ranks call). */
void dist_first_error(int failed, const char *msg, char *out, size_t cap);

/* Ends the job from this rank: prints "pure: rank R of N: MSG" on stderr and
 * aborts every rank (MPI_Abort) with exit status `code`. In a single-process
 * run, prints "pure: MSG" and exits. */
_Noreturn void dist_fail(int code, const char *msg);

#endif
