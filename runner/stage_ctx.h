/* stage_ctx.h - the runner's side of stages/stage.h: what a StageCtx holds.
 * Private to runner/ (stage kinds only see the opaque type). */
#ifndef PURE_STAGE_CTX_H
#define PURE_STAGE_CTX_H

#include <cjson/cJSON.h>
#include "runner/plan.h"
#include "runner/spec.h"

struct StageCtx {
    const Spec *spec;
    const Plan *plan;     /* NULL at validate time (check callbacks) */
    int stage;            /* index into spec->stages */
    int inst;             /* index into plan->insts, -1 at validate time */
    char **in_paths;      /* per input port (NULL when unconnected) */
    char **out_paths;     /* per output port: temporary paths */
    char *tmp_dir, *scratch_dir;
    cJSON *metrics;       /* key -> value, in insertion order */
    double t_start, t_last_draw, t_last_log;
    int drew;             /* a progress line is on the terminal */
    int quiet;
    char wall_time[32];   /* UTC start time, ISO 8601 */
};

/* Runs the kind's check() with a parameters-only context. */
int stage_ctx_check(const Spec *s, int stage, PureErr *err);
/* Sets up a context for instance `inst` whose outputs go to tmp_dir. */
void stage_ctx_init(StageCtx *c, const Plan *p, int inst, const char *run_root, const char *tmp_dir,
                    const char *scratch_dir, int quiet);
void stage_ctx_free(StageCtx *c);
/* Erases a progress line drawn on the terminal, if any. */
void stage_ctx_end_progress(StageCtx *c);
/* Committed path of output `out` of instance `inst` (caller frees). */
char *stage_ctx_output_path(const Plan *p, int inst, int out, const char *run_root);
/* Name of the committed directory of an instance: the first 16 hex digits of its fingerprint. */
void stage_ctx_commit_name(const Inst *in, char name[17]);

double now_seconds(void);

#endif
