/* stage_ctx.c - the StageCtx of stage.h: parameters, inputs checked at the
 * port, outputs with provenance, scratch, progress, metrics and logging.
 * Built by a host (stage_host.h) from plain data: nothing here knows the
 * spec, the plan or the run directory. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stages/stage_host.h"
#include "util/fs.h"
#include "util/log.h"

#ifndef PURE_VERSION
#define PURE_VERSION "dev"
#endif

struct StageCtx {
    StageRunInfo info;
    char **in_paths;      /* per input port (NULL when unconnected) */
    char **out_paths;     /* per output port: temporary paths (NULL on ranks that write none) */
    char **shared_paths;  /* per output port: rank 0's temporary paths, on every rank */
    int nin, nout;
    cJSON *metrics;       /* key -> value, in insertion order */
    double t_start, t_last_draw, t_last_log;
    int drew;             /* a progress line is on the terminal */
    char wall_time[32];   /* UTC start time, ISO 8601 */
};

double stage_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- set-up */

static int count_ports(const PortDef *p) {
    int n = 0;
    while (p && p[n].name) n++;
    return n;
}

StageCtx *stage_ctx_new(const StageRunInfo *info) {
    StageCtx *c = xcalloc(1, sizeof *c);
    c->info = *info;
    const StageKind *k = info->kind;
    c->nin = count_ports(k->inputs);
    c->nout = count_ports(k->outputs);
    c->in_paths = xcalloc((size_t)c->nin + 1, sizeof *c->in_paths);
    c->out_paths = xcalloc((size_t)c->nout + 1, sizeof *c->out_paths);
    c->shared_paths = xcalloc((size_t)c->nout + 1, sizeof *c->shared_paths);
    const char *shared = info->shared_out_dir ? info->shared_out_dir : info->out_dir;
    for (int i = 0; i < c->nout && shared; i++) {
        char name[256];
        c->shared_paths[i] = fs_join(shared, port_file_name(&k->outputs[i], name, sizeof name));
    }
    for (int i = 0; i < c->nin; i++)
        if (info->in_paths && info->in_paths[i]) c->in_paths[i] = xstrdup(info->in_paths[i]);
    for (int i = 0; i < c->nout && info->out_dir; i++) { /* no out_dir: a rank that writes nothing */
        char name[256];
        c->out_paths[i] = fs_join(info->out_dir, port_file_name(&k->outputs[i], name, sizeof name));
    }
    c->metrics = cJSON_CreateObject();
    c->t_start = stage_now();
    c->t_last_log = c->t_start;
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(c->wall_time, sizeof c->wall_time, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return c;
}

void stage_ctx_free(StageCtx *c) {
    if (!c) return;
    for (int i = 0; i < c->nin; i++) free(c->in_paths[i]);
    for (int i = 0; i < c->nout; i++) free(c->out_paths[i]), free(c->shared_paths[i]);
    free(c->shared_paths);
    free(c->in_paths);
    free(c->out_paths);
    cJSON_Delete(c->metrics);
    free(c);
}

const cJSON *stage_ctx_metrics(const StageCtx *c) { return c->metrics; }
const char *stage_ctx_wall_time(const StageCtx *c) { return c->wall_time; }
double stage_ctx_started(const StageCtx *c) { return c->t_start; }

/* ---------------------------------------------------------------- port checks */

/* Inputs first, in port order, so that a mismatch is blamed on the later port
 * against the earlier one that bound the symbol. */
int stage_ctx_check_inputs(StageCtx *c, PureErr *err) {
    const PortDef *ports = c->info.kind->inputs;
    StageSymbols *syms = stage_symbols_new();
    int rc = 0;
    for (int i = 0; i < c->nin && !rc; i++) {
        if (!c->in_paths[i] || ports[i].kind != ART_H5 || !ports[i].datasets) continue;
        Artifact *a = artifact_open(c->in_paths[i], err);
        char who[128];
        snprintf(who, sizeof who, "input '%s'", ports[i].name);
        if (!a) rc = err_prefix(err, "%s", who);
        else if (ports[i].own_symbols) {
            StageSymbols *own = stage_symbols_new();
            rc = port_check(a, ports[i].datasets, who, 0, own, err);
            stage_symbols_free(own);
        } else {
            rc = port_check(a, ports[i].datasets, who, 0, syms, err);
        }
        artifact_close(a, NULL);
    }
    stage_symbols_free(syms);
    return rc;
}

/* Outputs one by one: each is its own artifact, so symbols bind per port
 * (data's train and test both hold prompts, of different counts). */
int stage_ctx_check_outputs(StageCtx *c, PureErr *err) {
    const PortDef *ports = c->info.kind->outputs;
    int rc = 0;
    for (int i = 0; i < c->nout && !rc; i++) {
        if (ports[i].kind != ART_H5 || !ports[i].datasets) continue;
        StageSymbols *syms = stage_symbols_new();
        char who[160];
        snprintf(who, sizeof who, "stage kind '%s' output '%s'", c->info.kind->kind, ports[i].name);
        if (access(c->out_paths[i], F_OK) != 0) {
            rc = err_set(err, "%s: the stage wrote no file (a bug in the kind)", who);
            stage_symbols_free(syms);
            break;
        }
        Artifact *a = artifact_open(c->out_paths[i], err);
        if (!a) rc = err_prefix(err, "%s", who);
        else if ((rc = port_check(a, ports[i].datasets, who, 1, syms, err)))
            err_prefix(err, "a bug in the kind, the output does not match its declaration");
        artifact_close(a, NULL);
        stage_symbols_free(syms);
    }
    return rc;
}

/* ---------------------------------------------------------------- identity and parameters */

const char *stage_name(StageCtx *ctx) { return ctx->info.params.stage; }
int stage_iteration(StageCtx *ctx) { return ctx->info.iteration; }
uint64_t stage_seed(StageCtx *ctx) { return ctx->info.seed; }
const StageParams *stage_params(StageCtx *ctx) { return &ctx->info.params; }

int64_t stage_param_int(StageCtx *ctx, const char *name) { return param_int(&ctx->info.params, name); }
double stage_param_float(StageCtx *ctx, const char *name) { return param_float(&ctx->info.params, name); }
int stage_param_bool(StageCtx *ctx, const char *name) { return param_bool(&ctx->info.params, name); }
int stage_param_enum(StageCtx *ctx, const char *name) { return param_enum(&ctx->info.params, name); }
const char *stage_param_str(StageCtx *ctx, const char *name) { return param_str(&ctx->info.params, name); }
int stage_param_list(StageCtx *ctx, const char *name, const char *const **items) {
    return param_list(&ctx->info.params, name, items);
}
int stage_param_is_set(StageCtx *ctx, const char *name) { return param_is_set(&ctx->info.params, name); }

/* ---------------------------------------------------------------- inputs / outputs */

static void bad_port(StageCtx *ctx, const char *dir, const char *port) {
    fprintf(stderr, "pure: bug: stage kind '%s' uses %s port '%s', which it does not declare\n",
            ctx->info.kind->kind, dir, port);
    abort();
}

const char *stage_input_path(StageCtx *ctx, const char *port) {
    int i = stage_port_index(ctx->info.kind->inputs, port);
    if (i < 0) bad_port(ctx, "input", port);
    return ctx->in_paths[i];
}

Artifact *stage_input_open(StageCtx *ctx, const char *port, PureErr *err) {
    const char *path = stage_input_path(ctx, port);
    if (!path) {
        err_set(err, "input '%s' is not connected", port);
        return NULL;
    }
    Artifact *a = artifact_open(path, err);
    if (!a) err_prefix(err, "input '%s'", port);
    return a;
}

const char *stage_output_path(StageCtx *ctx, const char *port) {
    int i = stage_port_index(ctx->info.kind->outputs, port);
    if (i < 0) bad_port(ctx, "output", port);
    return ctx->out_paths[i];
}

const char *stage_output_path_shared(StageCtx *ctx, const char *port) {
    int i = stage_port_index(ctx->info.kind->outputs, port);
    if (i < 0) bad_port(ctx, "output", port);
    return ctx->shared_paths[i];
}

/* Provenance attributes on "/" (docs/artifacts.md). pure_wall_time differs
 * between runs by design; every other attribute is reproducible. */
Artifact *stage_output_create(StageCtx *ctx, const char *port, PureErr *err) {
    const char *path = stage_output_path(ctx, port);
    if (!path) {
        err_set(err, "output '%s': this process writes no outputs (rank 0 of a multi-process run does)", port);
        return NULL;
    }
    Artifact *a = artifact_create(path, err);
    if (!a) return NULL;
    const StageRunInfo *in = &ctx->info;
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)in->seed);
    int rc = artifact_set_attr_str(a, "/", "pure_stage", in->params.stage, err) ||
             artifact_set_attr_i64(a, "/", "pure_iteration", in->iteration, err) ||
             artifact_set_attr_str(a, "/", "pure_kind", in->kind->kind, err) ||
             artifact_set_attr_i64(a, "/", "pure_kind_version", in->kind->version, err) ||
             artifact_set_attr_str(a, "/", "pure_param_hash", in->param_hash ? in->param_hash : "", err) ||
             artifact_set_attr_str(a, "/", "pure_fingerprint", in->fingerprint ? in->fingerprint : "", err) ||
             artifact_set_attr_str(a, "/", "pure_inputs", in->inputs_json ? in->inputs_json : "{}", err) ||
             artifact_set_attr_str(a, "/", "pure_seed", seed, err) ||
             artifact_set_attr_str(a, "/", "pure_version", PURE_VERSION, err) ||
             artifact_set_attr_str(a, "/", "pure_wall_time", ctx->wall_time, err);
    if (rc) {
        artifact_close(a, NULL);
        err_prefix(err, "output '%s': writing provenance", port);
        return NULL;
    }
    return a;
}

const char *stage_scratch_dir(StageCtx *ctx) { return ctx->info.scratch_dir ? ctx->info.scratch_dir : "."; }

/* ---------------------------------------------------------------- reporting */

static const char *label(StageCtx *ctx, char *buf, size_t cap) {
    int it = stage_iteration(ctx);
    if (it < 0) snprintf(buf, cap, "%s", stage_name(ctx));
    else snprintf(buf, cap, "%s[%d]", stage_name(ctx), it);
    return buf;
}

static void fmt_eta(double s, char *buf, size_t cap) {
    if (s < 0 || s > 1e7) snprintf(buf, cap, "?");
    else if (s < 90) snprintf(buf, cap, "%.0fs", s);
    else if (s < 5400) snprintf(buf, cap, "%.0fm%02.0fs", s / 60 - 0.5, s - 60 * (int)(s / 60));
    else snprintf(buf, cap, "%.1fh", s / 3600);
}

void stage_ctx_end_progress(StageCtx *c) {
    if (c->drew) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        c->drew = 0;
    }
}

/* One line per running stage: redrawn in place on a terminal (at most 10 per
 * second), a plain log line at most every 10 seconds otherwise. Like the
 * metric and log calls, call it from the stage's own thread (not from
 * worker threads): the context is not locked. */
void stage_progress(StageCtx *ctx, int64_t done, int64_t total, const char *unit) {
    if (ctx->info.quiet) return;
    double t = stage_now(), el = t - ctx->t_start;
    int tty = isatty(2);
    int last = total > 0 && done >= total;
    if (tty && t - ctx->t_last_draw < 0.1 && !last) return;
    if (!tty && t - ctx->t_last_log < 10 && !last) return;
    double rate = el > 0 ? (double)done / el : 0;
    char eta[32], lb[160];
    fmt_eta(rate > 0 && total > 0 ? (double)(total - done) / rate : -1, eta, sizeof eta);
    char line[512];
    if (total > 0)
        snprintf(line, sizeof line, "%s %lld/%lld %s, %.1f/s, ETA %s", label(ctx, lb, sizeof lb), (long long)done,
                 (long long)total, unit ? unit : "", rate, eta);
    else
        snprintf(line, sizeof line, "%s %lld %s, %.1f/s", label(ctx, lb, sizeof lb), (long long)done,
                 unit ? unit : "", rate);
    if (ctx->info.status && ctx->info.status[0]) {
        size_t l = strlen(line);
        snprintf(line + l, sizeof line - l, "  |  %s", ctx->info.status);
    }
    if (tty) {
        fprintf(stderr, "\r\033[K[pure] %s", line);
        fflush(stderr);
        ctx->drew = 1;
        ctx->t_last_draw = t;
    } else if (!last) {
        log_info("%s", line);
        ctx->t_last_log = t;
    }
}

static void metric_set(StageCtx *ctx, const char *key, cJSON *v) {
    if (cJSON_GetObjectItemCaseSensitive(ctx->metrics, key)) cJSON_ReplaceItemInObjectCaseSensitive(ctx->metrics, key, v);
    else cJSON_AddItemToObject(ctx->metrics, key, v);
}

void stage_metric(StageCtx *ctx, const char *key, double value) { metric_set(ctx, key, cJSON_CreateNumber(value)); }

void stage_metric_str(StageCtx *ctx, const char *key, const char *value) {
    metric_set(ctx, key, cJSON_CreateString(value ? value : ""));
}

static void vlog(StageCtx *ctx, int warn, const char *fmt, va_list ap) {
    char msg[1024], lb[160];
    vsnprintf(msg, sizeof msg, fmt, ap);
    stage_ctx_end_progress(ctx);
    if (warn) log_warn("%s: %s", label(ctx, lb, sizeof lb), msg);
    else if (!ctx->info.quiet) log_info("%s: %s", label(ctx, lb, sizeof lb), msg);
}

void stage_log(StageCtx *ctx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(ctx, 0, fmt, ap);
    va_end(ap);
}

void stage_warn(StageCtx *ctx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(ctx, 1, fmt, ap);
    va_end(ap);
}
