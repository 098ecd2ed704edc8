/* stage_host.h - the host's side of stage.h: building the context one stage
 * run sees, checking its artifacts at the ports, and reading back what it
 * reported. The runner (runner/exec.c) is the host; tests that drive one
 * stage kind directly are hosts too. Kinds never include this file. */
#ifndef PURE_STAGE_HOST_H
#define PURE_STAGE_HOST_H

#include <cjson/cJSON.h>
#include "stages/stage.h"

/* Everything one stage run needs; strings are borrowed for the context's life. */
typedef struct StageRunInfo {
    const StageKind *kind;
    StageParams params;
    int iteration;                /* -1 outside the loop */
    uint64_t seed;
    const char *const *in_paths;  /* per input port: committed path, NULL when unconnected */
    const char *out_dir;          /* outputs are written to out_dir/port_file_name(); NULL: none (ranks > 0) */
    const char *shared_out_dir;   /* rank 0's out_dir, seen from every rank (stage_output_path_shared); NULL = out_dir */
    const char *scratch_dir;
    /* provenance attributes written on every H5 output (docs/artifacts.md) */
    const char *param_hash, *fingerprint, *inputs_json;
    int quiet;
    const char *status;           /* the host's one-line summary shown after the progress (latest metrics), or NULL */
} StageRunInfo;

StageCtx *stage_ctx_new(const StageRunInfo *info);
void stage_ctx_free(StageCtx *c);

/* Checks every connected H5 input against its port's datasets, with shape
 * symbols shared across the ports (call before run()). */
int stage_ctx_check_inputs(StageCtx *c, PureErr *err);
/* Checks every H5 output the run wrote against its port's datasets (call
 * after run() returns 0, before committing): a mismatch is a bug in the kind. */
int stage_ctx_check_outputs(StageCtx *c, PureErr *err);

/* Erases a progress line drawn on the terminal, if any. */
void stage_ctx_end_progress(StageCtx *c);
/* What the run reported: key -> value in insertion order. */
const cJSON *stage_ctx_metrics(const StageCtx *c);
/* UTC start time (ISO 8601) and monotonic start (seconds). */
const char *stage_ctx_wall_time(const StageCtx *c);
double stage_ctx_started(const StageCtx *c);

/* Monotonic clock, seconds. */
double stage_now(void);

#endif
