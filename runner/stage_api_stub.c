/* STUB: the runner's StageCtx API, replaced by runner/ (lets modules link before it exists). */
#include <stdarg.h>
#include "stages/stage.h"
const char *stage_name(StageCtx *c) { (void)c; return ""; }
int stage_iteration(StageCtx *c) { (void)c; return -1; }
uint64_t stage_seed(StageCtx *c) { (void)c; return 0; }
int64_t stage_param_int(StageCtx *c, const char *n) { (void)c; (void)n; return 0; }
double stage_param_float(StageCtx *c, const char *n) { (void)c; (void)n; return 0; }
int stage_param_bool(StageCtx *c, const char *n) { (void)c; (void)n; return 0; }
const char *stage_param_str(StageCtx *c, const char *n) { (void)c; (void)n; return ""; }
int stage_param_list(StageCtx *c, const char *n, const char *const **it) { (void)c; (void)n; *it = 0; return 0; }
int stage_param_is_set(StageCtx *c, const char *n) { (void)c; (void)n; return 0; }
const char *stage_input_path(StageCtx *c, const char *p) { (void)c; (void)p; return 0; }
Artifact *stage_input_open(StageCtx *c, const char *p, PureErr *e) { (void)c; (void)p; err_set(e, "stub"); return 0; }
const char *stage_output_path(StageCtx *c, const char *p) { (void)c; (void)p; return 0; }
Artifact *stage_output_create(StageCtx *c, const char *p, PureErr *e) { (void)c; (void)p; err_set(e, "stub"); return 0; }
const char *stage_scratch_dir(StageCtx *c) { (void)c; return "."; }
void stage_progress(StageCtx *c, int64_t d, int64_t t, const char *u) { (void)c; (void)d; (void)t; (void)u; }
void stage_metric(StageCtx *c, const char *k, double v) { (void)c; (void)k; (void)v; }
void stage_metric_str(StageCtx *c, const char *k, const char *v) { (void)c; (void)k; (void)v; }
void stage_log(StageCtx *c, const char *f, ...) { (void)c; (void)f; }
void stage_warn(StageCtx *c, const char *f, ...) { (void)c; (void)f; }
