/* stage_api.c - the StageCtx API of stages/stage.h: parameters, inputs,
 * outputs with provenance, scratch, progress, metrics and logging. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runner/stage_ctx.h"
#include "util/fs.h"
#include "util/log.h"

#ifndef PURE_VERSION
#define PURE_VERSION "dev"
#endif

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void stage_ctx_commit_name(const Inst *in, char name[17]) {
    memcpy(name, in->fp, 16);
    name[16] = '\0';
}

static const char *out_suffix(ArtKind k) { return k == ART_H5 ? ".h5" : ""; }

char *stage_ctx_output_path(const Plan *p, int inst, int out, const char *root) {
    const Inst *in = &p->insts[inst];
    const PortDef *port = &p->spec->stages[in->stage].kind->outputs[out];
    char name[17], buf[4096];
    stage_ctx_commit_name(in, name);
    snprintf(buf, sizeof buf, "%s/%s/%s/%s%s", root, in->dir, name, port->name, out_suffix(port->kind));
    return xstrdup(buf);
}

/* ---------------------------------------------------------------- set-up */

static int count_ports(const PortDef *p) {
    int n = 0;
    while (p && p[n].name) n++;
    return n;
}

void stage_ctx_init(StageCtx *c, const Plan *p, int inst, const char *root, const char *tmp_dir,
                    const char *scratch_dir, int quiet) {
    memset(c, 0, sizeof *c);
    c->spec = p->spec;
    c->plan = p;
    c->inst = inst;
    c->stage = p->insts[inst].stage;
    c->quiet = quiet;
    const StageKind *k = p->spec->stages[c->stage].kind;
    int ni = count_ports(k->inputs), no = count_ports(k->outputs);
    c->in_paths = xcalloc((size_t)ni + 1, sizeof *c->in_paths);
    c->out_paths = xcalloc((size_t)no + 1, sizeof *c->out_paths);
    const Inst *in = &p->insts[inst];
    for (int i = 0; i < ni; i++)
        if (in->in[i] >= 0) c->in_paths[i] = stage_ctx_output_path(p, in->in[i], in->in_out[i], root);
    for (int i = 0; i < no; i++) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s/%s%s", tmp_dir, k->outputs[i].name, out_suffix(k->outputs[i].kind));
        c->out_paths[i] = xstrdup(buf);
    }
    c->tmp_dir = xstrdup(tmp_dir);
    c->scratch_dir = xstrdup(scratch_dir);
    c->metrics = cJSON_CreateObject();
    c->t_start = now_seconds();
    c->t_last_log = c->t_start;
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(c->wall_time, sizeof c->wall_time, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void stage_ctx_free(StageCtx *c) {
    const StageKind *k = c->spec->stages[c->stage].kind;
    for (int i = 0; c->in_paths && i < count_ports(k->inputs); i++) free(c->in_paths[i]);
    for (int i = 0; c->out_paths && i < count_ports(k->outputs); i++) free(c->out_paths[i]);
    free(c->in_paths);
    free(c->out_paths);
    free(c->tmp_dir);
    free(c->scratch_dir);
    cJSON_Delete(c->metrics);
}

int stage_ctx_check(const Spec *s, int stage, PureErr *err) {
    StageCtx c;
    memset(&c, 0, sizeof c);
    c.spec = s;
    c.stage = stage;
    c.inst = -1;
    c.quiet = 1;
    c.metrics = cJSON_CreateObject();
    int rc = s->stages[stage].kind->check(&c, err);
    cJSON_Delete(c.metrics);
    return rc;
}

/* ---------------------------------------------------------------- identity */

const char *stage_name(StageCtx *ctx) { return ctx->spec->stages[ctx->stage].name; }

int stage_iteration(StageCtx *ctx) { return ctx->inst >= 0 ? ctx->plan->insts[ctx->inst].iter : -1; }

uint64_t stage_seed(StageCtx *ctx) { return ctx->inst >= 0 ? ctx->plan->insts[ctx->inst].seed : 0; }

/* ---------------------------------------------------------------- parameters */

/* A kind asking for a parameter it did not declare (or as another type) is a
 * bug in the kind: fail fast with the names involved. */
#define T(t) (1u << (t))
static const SpecParam *param(StageCtx *ctx, const char *name, unsigned types) {
    const SpecStage *st = &ctx->spec->stages[ctx->stage];
    const SpecParam *p = spec_param(st, name);
    if (!p) {
        fprintf(stderr, "pure: bug: stage kind '%s' reads parameter '%s', which it does not declare\n", st->kind->kind,
                name);
        abort();
    }
    if (types && !(types & T(p->def->type))) {
        fprintf(stderr, "pure: bug: stage kind '%s' reads parameter '%s' as the wrong type\n", st->kind->kind, name);
        abort();
    }
    return p;
}

int64_t stage_param_int(StageCtx *ctx, const char *name) { return param(ctx, name, T(PT_INT))->i; }

double stage_param_float(StageCtx *ctx, const char *name) {
    const SpecParam *p = param(ctx, name, T(PT_FLOAT) | T(PT_INT));
    return p->def->type == PT_INT ? (double)p->i : p->f;
}

int stage_param_bool(StageCtx *ctx, const char *name) { return param(ctx, name, T(PT_BOOL))->b; }

const char *stage_param_str(StageCtx *ctx, const char *name) {
    const SpecParam *p = param(ctx, name, T(PT_STRING) | T(PT_ENUM) | T(PT_PATH));
    return p->s ? p->s : "";
}

int stage_param_list(StageCtx *ctx, const char *name, const char *const **items) {
    const SpecParam *p = param(ctx, name, T(PT_LIST));
    static const char *const empty[] = {NULL};
    *items = p->list ? (const char *const *)p->list : empty;
    return p->nlist;
}

int stage_param_is_set(StageCtx *ctx, const char *name) {
    const SpecParam *p = param(ctx, name, 0);
    return p->set;
}

/* ---------------------------------------------------------------- inputs / outputs */

static int port_index(const PortDef *ports, const char *name) {
    for (int i = 0; ports && ports[i].name; i++)
        if (!strcmp(ports[i].name, name)) return i;
    return -1;
}

static void bad_port(StageCtx *ctx, const char *dir, const char *port) {
    fprintf(stderr, "pure: bug: stage kind '%s' uses %s port '%s', which it does not declare\n",
            ctx->spec->stages[ctx->stage].kind->kind, dir, port);
    abort();
}

const char *stage_input_path(StageCtx *ctx, const char *port) {
    int i = port_index(ctx->spec->stages[ctx->stage].kind->inputs, port);
    if (i < 0) bad_port(ctx, "input", port);
    return ctx->in_paths ? ctx->in_paths[i] : NULL;
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
    int i = port_index(ctx->spec->stages[ctx->stage].kind->outputs, port);
    if (i < 0) bad_port(ctx, "output", port);
    return ctx->out_paths ? ctx->out_paths[i] : NULL;
}

/* Provenance attributes on "/" (docs/artifacts.md). pure_wall_time differs
 * between runs by design; every other attribute is reproducible. */
Artifact *stage_output_create(StageCtx *ctx, const char *port, PureErr *err) {
    const char *path = stage_output_path(ctx, port);
    if (!path) {
        err_set(err, "output '%s': no output paths at validate time", port);
        return NULL;
    }
    Artifact *a = artifact_create(path, err);
    if (!a) return NULL;
    const SpecStage *st = &ctx->spec->stages[ctx->stage];
    const Inst *in = &ctx->plan->insts[ctx->inst];
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)in->seed);
    char *inputs = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(in->identity, "inputs"));
    int rc = artifact_set_attr_str(a, "/", "pure_stage", st->name, err) ||
             artifact_set_attr_i64(a, "/", "pure_iteration", in->iter, err) ||
             artifact_set_attr_str(a, "/", "pure_kind", st->kind->kind, err) ||
             artifact_set_attr_i64(a, "/", "pure_kind_version", st->kind->version, err) ||
             artifact_set_attr_str(a, "/", "pure_param_hash", st->param_hash, err) ||
             artifact_set_attr_str(a, "/", "pure_fingerprint", in->fp, err) ||
             artifact_set_attr_str(a, "/", "pure_inputs", inputs, err) ||
             artifact_set_attr_str(a, "/", "pure_seed", seed, err) ||
             artifact_set_attr_str(a, "/", "pure_version", PURE_VERSION, err) ||
             artifact_set_attr_str(a, "/", "pure_wall_time", ctx->wall_time, err);
    cJSON_free(inputs);
    if (rc) {
        artifact_close(a, NULL);
        err_prefix(err, "output '%s': writing provenance", port);
        return NULL;
    }
    return a;
}

const char *stage_scratch_dir(StageCtx *ctx) { return ctx->scratch_dir ? ctx->scratch_dir : "."; }

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
    if (ctx->quiet || ctx->inst < 0) return;
    double t = now_seconds(), el = t - ctx->t_start;
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
    else if (!ctx->quiet) log_info("%s: %s", label(ctx, lb, sizeof lb), msg);
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
