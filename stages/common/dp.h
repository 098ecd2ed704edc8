/* dp.h - data-parallel training with a reduction order that does not depend
 * on the number of ranks, and AdamW state sharded across them (ZeRO-1).
 * docs/distributed.md has the why; in short:
 *
 * A mini-batch is cut into units (micro-batches, in the order a one-process
 * run takes them). Unit u is computed by rank u % size, each from zeroed
 * gradients. The parameter vector is cut into ranges, one per rank, at
 * multiples of DP_CHUNK. In round j every rank sends its unit's gradient,
 * range by range, to the ranges' owners (an all-to-all, through MPI); each
 * owner adds the received units into its range's sum in unit order
 * (j*size, j*size+1, ...). So every element of the summed gradient is
 * ((g_0 + g_1) + g_2) + ... in f32 on any number of ranks, one included.
 * The global norm is a sum of per-chunk sums of squares (f64), added in
 * chunk order; AdamW is elementwise. Each owner updates its range with its
 * moments (the optimizer state is never whole on any rank), then an
 * all-gather gives every rank the new parameters. One rank pays one extra
 * f32 vector (the sum) for this; several pay the sum and a receive buffer
 * of their range (the units arrive one source at a time), and one plain
 * reduce-scatter's traffic per round: rounds = units / size, rounded up.
 */
#ifndef PURE_STAGES_DP_H
#define PURE_STAGES_DP_H

#include <stdint.h>
#include "model/model.h"
#include "util/err.h"

enum { DP_CHUNK = 4096 };

typedef struct DpState {
    Model *m;
    int rank, size;
    int64_t n;          /* parameters */
    int64_t *bounds;    /* (size + 1) rank k owns [bounds[k], bounds[k+1]) */
    int64_t lo, hi;     /* this rank's range */
    float *sum;         /* (hi - lo) summed gradient of the range */
    float *recv;        /* (hi - lo) one unit's copy of the range, as it arrives; NULL on one rank */
    float *mom_m, *mom_v; /* (hi - lo) AdamW moments of the range */
    float *zeros;       /* (n) what a rank without a unit sends, made at its first idle round */
    int64_t units;      /* units added to sum since dp_begin */
    double comm_s;      /* seconds spent in the collectives (the benchmark reads it; never a metric: timings are
                           not reproducible) */
} DpState;

/* The vectors live in the model's backend memory (model_dp_*): the cpu's, or a GPU's with the collectives
 * through NCCL; a backend without collectives trains on one rank only. */
int dp_init(DpState *d, Model *m, PureErr *err);
void dp_free(DpState *d);
/* Collective, optional: the moments (and step count) from an optimizer state file of any world size. */
int dp_load_optimizer(DpState *d, Model *m, const char *path, PureErr *err);
/* Starts a mini-batch's sum. */
void dp_begin(DpState *d);
/* Collective, one round of `size` units: units first .. first+size-1 are computed by ranks 0 .. size-1, and those
 * at or past `total` do not exist. This rank's unit gradient is in the model's gradients (when it has one);
 * the owners add each existing unit into their sums in unit order. */
void dp_round(DpState *d, Model *m, int64_t first, int64_t total);
/* Collective: the global norm of the sum, AdamW on this rank's range, and the new parameters to every rank.
 * *grad_norm is the pre-clip norm, as model_adamw_step reports it. */
int dp_step(DpState *d, Model *m, const AdamWConfig *c, double *grad_norm, double *lr, PureErr *err);
/* Collective: the optimizer state file (model_optimizer_save's format, whole vectors) at path, which every rank
 * sees (stage_output_path_shared): each rank writes its range of the moments, rank 0 the rest, and commits. */
int dp_save_optimizer(DpState *d, Model *m, const char *path, PureErr *err);

#endif
