/* shard.h - row sharding for stages that run on every rank (STAGE_ALL_RANKS,
 * docs/distributed.md): each rank computes a contiguous block of rows,
 * packs its per-row results into a byte buffer, and rank 0 gathers the
 * buffers in rank order, which is row order, then writes the artifact as a
 * one-process run would. With per-row random streams and whole batches per
 * rank (shard_rows), the artifact is the same on any number of ranks. */
#ifndef PURE_STAGES_SHARD_H
#define PURE_STAGES_SHARD_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

typedef struct ShardBuf {
    char *p;
    size_t n, cap, pos; /* bytes held; read position (shard_get) */
} ShardBuf;

/* This rank's rows [*lo, *hi) of n, in whole units of `unit` rows counted from row 0 (the last may be short).
 * The unit is the stage's batch: a rank then computes exactly the batches a one-process run would, and the
 * engine's results depend on a batch's composition in the last bits (a padded length, which rows share a
 * kernel call), so this is what makes the artifact the same on any number of ranks. */
void shard_rows(int64_t n, int64_t unit, int64_t *lo, int64_t *hi);
/* The least common multiple of two batch sizes (a block that is whole batches of both), at most n. */
int64_t shard_unit(int64_t a, int64_t b, int64_t n);
void shard_put(ShardBuf *b, const void *data, size_t bytes);
void shard_put_i32(ShardBuf *b, int32_t v);
/* Reads the next `bytes` bytes into out; -1 (err set) past the end (a bug: writer and reader disagree). */
int shard_get(ShardBuf *b, void *out, size_t bytes, PureErr *err);
int shard_get_i32(ShardBuf *b, int32_t *v, PureErr *err);
/* Collective: every rank's buffer, in rank order, into *all on rank 0 (elsewhere all stays empty). */
int shard_gather(const ShardBuf *mine, ShardBuf *all, PureErr *err);
void shard_free(ShardBuf *b);
/* 1 on the rank that writes the outputs. */
int shard_is_writer(void);
/* Processes sharing the stage (1: a plain run). */
int shard_ranks(void);

#endif
