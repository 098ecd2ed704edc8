/* exec.c - the run loop: states, input verification, stage execution, the
 * commit protocol, keep_last pruning and metrics.
 *
 * Commit protocol of one instance (RUN/stages/NAME[/ITER]/FP16*):
 *   1. outputs are written into FP16.tmp/ (removed first if a crash left one);
 *   2. after run() returns 0, every output file is hashed and fsynced;
 *   3. FP16.tmp/ is renamed to FP16/ and the parent directory fsynced;
 *   4. FP16.scratch/ is removed: it must go before the instance counts as
 *      done, since nothing revisits a done instance's scratch (losing it to
 *      a crash here only means an interrupted commit is redone from zero);
 *   5. FP16/done.json (identity, file sizes/mtimes/SHA-256, metrics) is
 *      written atomically - the completion record, last;
 *   6. latest.json and the metrics.jsonl line follow; each is redone or
 *      repaired on the next run if a crash cuts it short.
 * A FP16/ without done.json is an interrupted commit: removed and redone.
 * Older runners removed the scratch after step 5, so a run directory may
 * hold the scratch of a done instance: load_states() removes those.
 */
#include "runner/exec.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner/rundir.h"
#include "runner/tboard.h"
#include "stages/stage_host.h"
#include "util/fs.h"
#include "util/log.h"

enum { S_PENDING, S_DONE, S_VERIFIED, S_PRUNED, S_BAD };

typedef struct Runner {
    const Plan *p;
    const RunOpts *o;
    char *state;      /* per instance */
    char *target;     /* per instance: wanted by this run */
    char *force;      /* per instance: recompute even if done */
    cJSON **done;     /* per instance: its done record (NULL when none) */
    int *pruned_upto; /* per stage: iterations below this were considered for keep_last */
    int ran, skipped;
    /* the latest metrics for the progress line: eval accuracy, the process
       reward credit used, rollout steps per response; NAN until seen */
    double acc, reward, steps;
    int acc_iter;
} Runner;

/* Fault-injection points (run, commit, rename, scratch, done, metrics): the
 * hook is NULL in the shipped program; the test build's `pure-test` installs
 * one that kills the process at a chosen point (tests/runner/test_main.c). */
static void crash_point(const Runner *r, const char *point) {
    if (r->o->fault) r->o->fault(point);
}

static const char *label(const Runner *r, int i, char *buf, size_t cap) { return plan_label(r->p, i, buf, cap); }
static int write_json_lazy(const char *path, const cJSON *j);
static cJSON *json_read_file_quiet(const char *path);

/* ---------------------------------------------------------------- selection */

static void mark_ancestors(const Plan *p, int i, char *mask) {
    if (mask[i]) return;
    mask[i] = 1;
    const SpecStage *st = &p->spec->stages[p->insts[i].stage];
    for (int k = 0; k < st->ninputs; k++)
        if (p->insts[i].in[k] >= 0) mark_ancestors(p, p->insts[i].in[k], mask);
}

static int select_target(const Plan *p, const char *target, int with_ancestors, char *mask, PureErr *err) {
    char name[128];
    int iter = -2;
    const char *at = strchr(target, '@');
    snprintf(name, sizeof name, "%.*s", at ? (int)(at - target) : (int)strlen(target), target);
    if (at) {
        char *end;
        iter = (int)strtol(at + 1, &end, 10);
        if (*end || end == at + 1) return err_set(err, "'%s': expected STAGE or STAGE@ITERATION", target);
    }
    int si = spec_stage_index(p->spec, name);
    if (si < 0) {
        const char **names = xcalloc((size_t)p->spec->nstages + 1, sizeof *names);
        for (int i = 0; i < p->spec->nstages; i++) names[i] = p->spec->stages[i].name;
        char hint[128];
        suggest_hint(name, names, hint, sizeof hint);
        free(names);
        return err_set(err, "no stage named '%s' in %s%s", name, p->spec->path, hint);
    }
    int found = 0;
    for (int i = 0; i < p->n; i++) {
        if (p->insts[i].stage != si || (iter != -2 && p->insts[i].iter != iter)) continue;
        found = 1;
        if (with_ancestors) mark_ancestors(p, i, mask);
        else mask[i] = 1;
    }
    if (!found) return err_set(err, "stage '%s' has no run in iteration %d", name, iter);
    return 0;
}

static void mark_dependants(const Plan *p, int i, char *mask) {
    mask[i] = 1;
    for (int k = 0; k < p->insts[i].ncons; k++)
        if (!mask[p->insts[i].cons[k]]) mark_dependants(p, p->insts[i].cons[k], mask);
}

int exec_targets(const Plan *p, const char *until, const char *const *force, int nforce, ExecTargets *t,
                 PureErr *err) {
    int n = p->n, rc = 0;
    t->target = xcalloc((size_t)n + 1, 1);
    t->force = xcalloc((size_t)n + 1, 1);
    if (until) rc = select_target(p, until, 1, t->target, err);
    else memset(t->target, 1, (size_t)n);
    for (int f = 0; f < nforce && !rc; f++) {
        char *mask = xcalloc((size_t)n + 1, 1);
        rc = select_target(p, force[f], 0, mask, err);
        for (int i = 0; i < n && !rc; i++)
            if (mask[i]) mark_dependants(p, i, t->force);
        free(mask);
    }
    if (rc) exec_targets_free(t);
    return rc;
}

void exec_targets_free(ExecTargets *t) {
    free(t->target);
    free(t->force);
    t->target = t->force = NULL;
}

/* ---------------------------------------------------------------- states */

/* A scratch directory that cannot be removed is only wasted space: warn, go on. */
static void remove_scratch(const char *scratch) {
    PureErr e;
    err_clear(&e);
    if (fs_remove_all(scratch, &e)) log_warn("cannot remove the scratch directory %s: %s", scratch, e.msg);
}

/* The scratch of a committed instance is never read again; one can be left
 * by a crash in the commit of a runner that removed it after done.json.
 * Called under the run directory's lock, so no stage is using it. */
static void remove_stale_scratch(const Runner *r, int i) {
    char *scratch = rundir_inst_path(r->o->root, &r->p->insts[i], ".scratch");
    remove_scratch(scratch);
    free(scratch);
}

/* The files of a committed instance got new times (a copy, a restore) with
 * the same bytes: record the new times so the next check is quick again. */
static void save_retimed(const Runner *r, int i, const char *dir) {
    char lb[160];
    char *path = fs_join(dir, "done.json");
    PureErr e;
    err_clear(&e);
    char *text = cJSON_Print(r->done[i]);
    if (fs_write_atomic(path, text, strlen(text), &e))
        log_warn("%s: cannot re-record file times: %s", label(r, i, lb, sizeof lb), e.msg);
    else if (!r->o->quiet)
        log_info("%s: files have new times but the committed bytes; re-recorded their times", label(r, i, lb, sizeof lb));
    cJSON_free(text);
    free(path);
}

/* latest.json explains staleness once the spec changes; a crash between
 * done.json and latest.json (or a full disk) leaves it missing or pointing
 * at an older fingerprint: the instance the current spec plans is done, so
 * its record is the latest. */
static void repair_latest(const Runner *r, int i) {
    char *inst_dir = fs_join(r->o->root, r->p->insts[i].dir), *latest = fs_join(inst_dir, "latest.json");
    cJSON *have = json_read_file_quiet(latest);
    const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(have, "fingerprint"));
    if (!fp || strcmp(fp, r->p->insts[i].fp)) write_json_lazy(latest, r->done[i]);
    cJSON_Delete(have);
    free(latest);
    free(inst_dir);
}

static void load_states(Runner *r) {
    const Plan *p = r->p;
    for (int i = 0; i < p->n; i++) {
        r->done[i] = rundir_read_done(r->o->root, &p->insts[i]);
        if (!r->done[i]) {
            r->state[i] = S_PENDING;
            continue;
        }
        remove_stale_scratch(r, i);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r->done[i], "pruned"))) {
            r->state[i] = S_PRUNED;
            continue;
        }
        char *dir = rundir_inst_path(r->o->root, &p->insts[i], NULL), why[512], lb[160];
        int retimed = 0;
        if (rundir_check(dir, r->done[i], !r->o->verify, &retimed, why, sizeof why) == 0) {
            r->state[i] = r->o->verify ? S_VERIFIED : S_DONE;
            if (retimed) save_retimed(r, i, dir);
            repair_latest(r, i);
        } else {
            log_warn("%s: committed artifact is damaged (%s); it will be recomputed", label(r, i, lb, sizeof lb), why);
            r->state[i] = S_BAD;
        }
        free(dir);
    }
}

/* Appends metrics lines that a crash kept out of metrics.jsonl. */
static int repair_metrics(Runner *r, PureErr *err) {
    cJSON *have = rundir_metrics_load(r->o->root);
    int rc = 0;
    for (int i = 0; i < r->p->n && !rc; i++) {
        const cJSON *line = cJSON_GetObjectItemCaseSensitive(r->done[i], "metrics_line");
        if (line && !cJSON_GetObjectItemCaseSensitive(have, r->p->insts[i].fp))
            rc = rundir_metrics_append(r->o->root, line, err);
    }
    cJSON_Delete(have);
    return rc;
}

/* ---------------------------------------------------------------- latest metrics */

static double metric_of(const cJSON *done, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(done, "metrics"), key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Takes what instance i (committed, in plan order) says about the policy:
 * the accuracy of an eval, the steps of a rollout, and for a credit stage the
 * mean step reward of the PRM stage it read (a pipeline may score with
 * several PRMs; this one is the reward being optimized). */
static void latest_note(Runner *r, int i) {
    const Inst *in = &r->p->insts[i];
    const SpecStage *st = &r->p->spec->stages[in->stage];
    const char *kind = st->kind->kind;
    double v;
    if (!strcmp(kind, "eval") && !isnan(v = metric_of(r->done[i], "accuracy"))) {
        r->acc = v;
        r->acc_iter = in->iter;
    } else if (!strcmp(kind, "rollout") && !isnan(v = metric_of(r->done[i], "steps"))) r->steps = v;
    else if (!strcmp(kind, "credit"))
        for (int k = 0; k < st->ninputs; k++)
            if (!strcmp(st->kind->inputs[k].name, "rewards") && in->in[k] >= 0 && r->done[in->in[k]] &&
                !isnan(v = metric_of(r->done[in->in[k]], "step_reward")))
                r->reward = v;
}

/* "iteration 3/20 | accuracy 0.420 (it 2) | reward 0.310 | steps 3.20", what is known so far. */
static const char *latest_line(const Runner *r, int iter, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    if (r->o->label) n += (size_t)snprintf(buf + n, cap - n, "%s", r->o->label);
    if (iter >= 0 && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%siteration %d/%d", n ? " | " : "", iter, r->p->spec->iterations);
    if (!isnan(r->acc) && n < cap) {
        n += (size_t)snprintf(buf + n, cap - n, "%saccuracy %.3f", n ? " | " : "", r->acc);
        if (r->acc_iter >= 0 && n < cap) n += (size_t)snprintf(buf + n, cap - n, " (it %d)", r->acc_iter);
    }
    if (!isnan(r->reward) && n < cap) n += (size_t)snprintf(buf + n, cap - n, "%sreward %.3f", n ? " | " : "", r->reward);
    if (!isnan(r->steps) && n < cap) snprintf(buf + n, cap - n, "%ssteps %.2f", n ? " | " : "", r->steps);
    return buf;
}

/* ---------------------------------------------------------------- TensorBoard */

/* The event file is derived from the done records: a failure to write it
 * (a full disk) is a warning, and the next run rewrites it whole. */
static void tensorboard_rebuild(Runner *r) {
    if (!r->o->tensorboard) return;
    PureErr e;
    err_clear(&e);
    /* only what stays: damaged and forced instances are appended when they rerun */
    cJSON **keep = xcalloc((size_t)r->p->n + 1, sizeof *keep);
    for (int i = 0; i < r->p->n; i++) {
        int s = r->state[i];
        int done = s == S_DONE || s == S_VERIFIED || s == S_PRUNED;
        if (done && !(r->force[i] && r->target[i])) keep[i] = r->done[i];
    }
    if (tboard_rebuild(r->o->tensorboard, r->p, keep, &e)) log_warn("TensorBoard event file: %s", e.msg);
    free(keep);
}

static void tensorboard_add(Runner *r, int i) {
    if (!r->o->tensorboard) return;
    PureErr e;
    err_clear(&e);
    if (tboard_append(r->o->tensorboard, r->p, i, r->done[i], &e)) log_warn("TensorBoard event file: %s", e.msg);
}

/* ---------------------------------------------------------------- one instance */

static cJSON *metrics_line(const Runner *r, int i, const cJSON *metrics) {
    const Inst *in = &r->p->insts[i];
    cJSON *line = cJSON_CreateObject();
    cJSON_AddStringToObject(line, "stage", r->p->spec->stages[in->stage].name);
    if (in->iter >= 0) cJSON_AddNumberToObject(line, "iteration", in->iter);
    else cJSON_AddNullToObject(line, "iteration");
    const cJSON *m;
    cJSON_ArrayForEach(m, metrics) cJSON_AddItemToObject(line, m->string, cJSON_Duplicate(m, 1));
    cJSON_AddStringToObject(line, "fingerprint", in->fp);
    return line;
}

static cJSON *done_record(const Runner *r, int i, cJSON *outputs, const StageCtx *c, double wall) {
    const cJSON *metrics = stage_ctx_metrics(c);
    const Inst *in = &r->p->insts[i];
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "fingerprint", in->fp);
    cJSON_AddStringToObject(d, "stage", r->p->spec->stages[in->stage].name);
    cJSON_AddNumberToObject(d, "iteration", in->iter);
    cJSON_AddItemToObject(d, "identity", cJSON_Duplicate(in->identity, 1));
    cJSON_AddItemToObject(d, "outputs", outputs);
    cJSON_AddItemToObject(d, "metrics", cJSON_Duplicate(metrics, 1));
    if (cJSON_GetArraySize(metrics) > 0) cJSON_AddItemToObject(d, "metrics_line", metrics_line(r, i, metrics));
    cJSON_AddStringToObject(d, "started", stage_ctx_wall_time(c));
    cJSON_AddNumberToObject(d, "wall_s", wall);
    return d;
}

static int write_json(const char *path, const cJSON *j, PureErr *err) {
    char *text = cJSON_Print(j);
    int rc = fs_write_atomic(path, text, strlen(text), err);
    cJSON_free(text);
    return rc;
}

/* latest.json only explains staleness: atomic (rename) but not fsynced, and
 * repaired from done.json by the next run (repair_latest) if it is lost.
 * Returns -1 when it could not be written (a full disk). */
static int write_json_lazy(const char *path, const cJSON *j) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    char *text = cJSON_Print(j);
    FILE *f = fopen(tmp, "wb");
    int ok = f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        ok = 0;
    }
    cJSON_free(text);
    return ok ? 0 : -1;
}

static cJSON *json_read_file_quiet(const char *path) {
    char *text = fs_read_file(path, NULL, NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    return j;
}

static int commit(Runner *r, int i, StageCtx *c, const char *tmp, const char *dest, const char *scratch,
                  PureErr *err) {
    const Inst *in = &r->p->insts[i];
    const StageKind *k = r->p->spec->stages[in->stage].kind;
    cJSON *outs = rundir_describe_outputs(tmp, k, err);
    if (!outs) return -1;
    crash_point(r, "commit");
    if (fs_remove_all(dest, err) || fs_rename_durable(tmp, dest, err)) {
        cJSON_Delete(outs);
        return -1;
    }
    crash_point(r, "rename");
    remove_scratch(scratch);
    crash_point(r, "scratch");
    cJSON *d = done_record(r, i, outs, c, stage_now() - stage_ctx_started(c));
    char *done_path = fs_join(dest, "done.json");
    int rc = write_json(done_path, d, err);
    free(done_path);
    if (rc) {
        cJSON_Delete(d);
        return -1;
    }
    crash_point(r, "done");
    char *inst_dir = fs_join(r->o->root, in->dir), *latest = fs_join(inst_dir, "latest.json");
    if (write_json_lazy(latest, d)) {
        /* the commit stands (done.json is written); the next run repairs latest.json */
        char lb[160];
        log_warn("%s: cannot write %s: %s", label(r, i, lb, sizeof lb), latest, strerror(errno));
    }
    free(latest);
    free(inst_dir);
    const cJSON *line = cJSON_GetObjectItemCaseSensitive(d, "metrics_line");
    if (!rc && line) rc = rundir_metrics_append(r->o->root, line, err);
    crash_point(r, "metrics");
    cJSON_Delete(r->done[i]);
    r->done[i] = d;
    tensorboard_add(r, i);
    latest_note(r, i);
    return rc;
}

enum { CMD_EXIT = 0, CMD_RUN = 1 };

/* What one stage run's context is built from (shared by rank 0 and the
 * ranks that serve it, so both see the same inputs, parameters and seed). */
typedef struct InstCtx {
    char **in_paths;
    int nin;
    char *inputs_json;
} InstCtx;

static StageCtx *inst_ctx_new(InstCtx *ic, const Plan *p, const char *root, int i, const char *out_dir,
                              const char *shared_out_dir, const char *scratch, int quiet, const char *status) {
    const Inst *in = &p->insts[i];
    const SpecStage *st = &p->spec->stages[in->stage];
    ic->nin = st->ninputs;
    ic->in_paths = xcalloc((size_t)ic->nin + 1, sizeof *ic->in_paths);
    ic->inputs_json = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(in->identity, "inputs"));
    for (int k = 0; k < ic->nin; k++)
        if (in->in[k] >= 0) ic->in_paths[k] = rundir_output_path(root, p, in->in[k], in->in_out[k]);
    StageRunInfo info = {
        .kind = st->kind, .params = spec_stage_params(st), .iteration = in->iter, .seed = in->seed,
        .in_paths = (const char *const *)ic->in_paths, .out_dir = out_dir, .shared_out_dir = shared_out_dir,
        .scratch_dir = scratch,
        .param_hash = st->param_hash, .fingerprint = in->fp, .inputs_json = ic->inputs_json, .quiet = quiet,
        .status = status,
    };
    return stage_ctx_new(&info);
}

static void inst_ctx_free(InstCtx *ic, StageCtx *c) {
    stage_ctx_free(c);
    for (int k = 0; k < ic->nin; k++) free(ic->in_paths[k]);
    free(ic->in_paths);
    cJSON_free(ic->inputs_json);
}

static int run_inst(Runner *r, int i, PureErr *err) {
    const Plan *p = r->p;
    const Inst *in = &p->insts[i];
    const SpecStage *st = &p->spec->stages[in->stage];
    char lb[160];
    label(r, i, lb, sizeof lb);
    char *inst_dir = fs_join(r->o->root, in->dir);
    char *dest = rundir_inst_path(r->o->root, in, NULL);
    char *tmp = rundir_inst_path(r->o->root, in, ".tmp");
    char *scratch = rundir_inst_path(r->o->root, in, ".scratch");
    int rc = fs_mkdir_p(inst_dir, err) || fs_remove_all(tmp, err) || fs_mkdir_p(tmp, err) ||
             fs_mkdir_p(scratch, err);
    for (int k = 0; !rc && st->kind->outputs[k].name; k++) {
        if (st->kind->outputs[k].kind != ART_DIR) continue;
        char *d = fs_join(tmp, st->kind->outputs[k].name);
        rc = fs_mkdir_p(d, err);
        free(d);
    }
    StageCtx *c = NULL;
    char status[512];
    latest_line(r, in->iter, status, sizeof status);
    InstCtx ic;
    if (!rc) {
        c = inst_ctx_new(&ic, p, r->o->root, i, tmp, tmp, scratch, r->o->quiet, status);
        if (!r->o->quiet) log_info("%s (%s) running", lb, st->kind->kind);
        int all = st->kind->ranks == STAGE_ALL_RANKS && dist_size() > 1;
        if (all) {
            int64_t cmd[3] = {CMD_RUN, r->o->plan_id, i};
            dist_bcast_idle(cmd, sizeof cmd);
        }
        crash_point(r, "run");
        rc = stage_ctx_check_inputs(c, err);
        if (!rc) rc = st->kind->run(c, err);
        stage_ctx_end_progress(c);
        if (rc && !err->set) err_set(err, "failed without a message");
        if (!rc) rc = stage_ctx_check_outputs(c, err);
        if (rc) err_prefix(err, "stage %s failed", lb);
        /* the other ranks may wait in a collective this rank will not reach */
        if (rc && all) dist_fail(PURE_EXIT_FAIL, err->msg);
    }
    if (!rc) rc = commit(r, i, c, tmp, dest, scratch, err);
    if (rc) {
        fs_remove_all(tmp, NULL); /* earlier artifacts and the scratch stay */
        if (!strstr(err->msg, lb)) err_prefix(err, "%s", lb);
    } else {
        r->state[i] = S_VERIFIED;
        r->ran++;
        if (!r->o->quiet) {
            /* the summary after this commit, when it says anything new */
            char after[512];
            latest_line(r, -1, after, sizeof after);
            log_info("%s done in %.2fs%s%s", lb, stage_now() - stage_ctx_started(c), after[0] ? "  |  " : "", after);
        }
    }
    if (c) inst_ctx_free(&ic, c);
    free(inst_dir);
    free(dest);
    free(tmp);
    free(scratch);
    return rc;
}

/* ---------------------------------------------------------------- keep_last */

static int all_consumers_done(const Runner *r, int i) {
    const Inst *in = &r->p->insts[i];
    for (int k = 0; k < in->ncons; k++) {
        int s = r->state[in->cons[k]];
        if (s != S_DONE && s != S_VERIFIED && s != S_PRUNED) return 0;
    }
    return 1;
}

/* Deletes the outputs of old iterations of a keep_last stage once everything
 * that reads them is committed; the done record stays, marked pruned. */
static void prune(Runner *r, int stage, int iter) {
    const SpecStage *st = &r->p->spec->stages[stage];
    if (st->sec != SEC_LOOP || st->keep_last <= 0) return;
    int upto = iter - st->keep_last; /* iterations <= upto may go */
    for (int it = r->pruned_upto[stage]; it <= upto; it++) {
        int i = r->p->loop_idx[stage][it];
        if (i < 0) {
            r->pruned_upto[stage] = it + 1;
            continue;
        }
        if (r->state[i] == S_PRUNED) {
            r->pruned_upto[stage] = it + 1;
            continue;
        }
        if ((r->state[i] != S_DONE && r->state[i] != S_VERIFIED) || !all_consumers_done(r, i)) break;
        char *dir = rundir_inst_path(r->o->root, &r->p->insts[i], NULL);
        for (const PortDef *o = st->kind->outputs; o && o->name; o++) {
            char rel[512];
            char *path = fs_join(dir, port_file_name(o, rel, sizeof rel));
            fs_remove_all(path, NULL);
            free(path);
        }
        cJSON_DeleteItemFromObjectCaseSensitive(r->done[i], "pruned");
        cJSON_AddTrueToObject(r->done[i], "pruned");
        char *dp = fs_join(dir, "done.json");
        write_json(dp, r->done[i], NULL);
        free(dp);
        free(dir);
        r->state[i] = S_PRUNED;
        r->pruned_upto[stage] = it + 1;
    }
}

/* ---------------------------------------------------------------- the loop */

static int ensure(Runner *r, int i, PureErr *err);

/* Makes instance i's committed outputs available and verified (SHA-256). */
static int available(Runner *r, int i, PureErr *err) {
    char lb[160], why[512];
    if (r->state[i] == S_VERIFIED && !r->force[i]) return 0;
    if (r->state[i] == S_DONE && !r->force[i]) {
        char *dir = rundir_inst_path(r->o->root, &r->p->insts[i], NULL);
        int ok = rundir_check(dir, r->done[i], 0, NULL, why, sizeof why) == 0;
        free(dir);
        if (ok) {
            r->state[i] = S_VERIFIED;
            return 0;
        }
        log_warn("%s: committed artifact is damaged (%s); recomputing it", label(r, i, lb, sizeof lb), why);
        r->state[i] = S_BAD;
    } else if (r->state[i] == S_PRUNED && !r->o->quiet) {
        log_info("%s: outputs were pruned by keep_last; recomputing them", label(r, i, lb, sizeof lb));
    }
    return ensure(r, i, err);
}

/* Runs instance i after making its inputs available. */
static int ensure(Runner *r, int i, PureErr *err) {
    const Inst *in = &r->p->insts[i];
    const SpecStage *st = &r->p->spec->stages[in->stage];
    for (int k = 0; k < st->ninputs; k++)
        if (in->in[k] >= 0 && available(r, in->in[k], err)) return -1;
    if (run_inst(r, i, err)) return -1;
    r->force[i] = 0;
    prune(r, in->stage, in->iter);
    return 0;
}

int exec_run(const Plan *p, const RunOpts *o, PureErr *err) {
    Runner r = {.p = p, .o = o, .acc = NAN, .reward = NAN, .steps = NAN, .acc_iter = -1};
    int n = p->n;
    r.state = xcalloc((size_t)n + 1, 1);
    r.target = xcalloc((size_t)n + 1, 1);
    r.force = xcalloc((size_t)n + 1, 1);
    /* the runner's own copies: the force mask is cleared as instances rerun */
    memcpy(r.target, o->targets->target, (size_t)n);
    memcpy(r.force, o->targets->force, (size_t)n);
    r.done = xcalloc((size_t)n + 1, sizeof *r.done);
    r.pruned_upto = xcalloc((size_t)p->spec->nstages + 1, sizeof *r.pruned_upto);
    int rc = 0;
    {
        load_states(&r);
        for (int i = 0; i < n; i++)
            if (r.state[i] == S_DONE || r.state[i] == S_VERIFIED || r.state[i] == S_PRUNED) latest_note(&r, i);
        rc = repair_metrics(&r, err);
        tensorboard_rebuild(&r);
        int todo = 0, wanted = 0;
        for (int i = 0; i < n; i++) {
            wanted += r.target[i];
            todo += r.target[i] && (r.force[i] || r.state[i] == S_PENDING || r.state[i] == S_BAD);
        }
        if (!o->quiet)
            log_info("%s%s%d of %d stage run(s) to run, the others are up to date", o->label ? o->label : "",
                     o->label ? ": " : "", todo, wanted);
    }
    for (int i = 0; i < n && !rc; i++) {
        if (!r.target[i]) continue;
        int done = r.state[i] == S_DONE || r.state[i] == S_VERIFIED || r.state[i] == S_PRUNED;
        if (done && !r.force[i]) {
            r.skipped++;
            prune(&r, p->insts[i].stage, p->insts[i].iter);
            continue;
        }
        rc = ensure(&r, i, err);
    }
    if (!o->quiet && !rc) log_info("%d stage run(s) done, %d already up to date", r.ran, r.skipped);
    for (int i = 0; i < n; i++) cJSON_Delete(r.done[i]);
    free(r.done);
    free(r.state);
    free(r.target);
    free(r.force);
    free(r.pruned_upto);
    return rc;
}

/* ---------------------------------------------------------------- the other ranks */

int exec_serve(Plan *const *plans, int nplans, const char *root, int quiet) {
    (void)quiet;
    for (;;) {
        int64_t cmd[3] = {0};
        dist_bcast_idle(cmd, sizeof cmd);
        if (cmd[0] == CMD_EXIT) return (int)cmd[1];
        if (cmd[1] < 0 || cmd[1] >= nplans || cmd[2] < 0 || cmd[2] >= plans[cmd[1]]->n)
            dist_fail(PURE_EXIT_FAIL, "runner: a command for a stage run this rank does not plan (the ranks were "
                                      "given different pipelines?)");
        const Plan *p = plans[cmd[1]];
        int i = (int)cmd[2];
        char lb[160];
        plan_label(p, i, lb, sizeof lb);
        InstCtx ic;
        /* rank 0's temporary directory (it made it before handing the run over): for outputs written in parts */
        char *shared = rundir_inst_path(root, &p->insts[i], ".tmp");
        StageCtx *c = inst_ctx_new(&ic, p, root, i, NULL, shared, NULL, 1, NULL);
        PureErr err;
        err_clear(&err);
        int rc = stage_ctx_check_inputs(c, &err);
        if (!rc) rc = p->spec->stages[p->insts[i].stage].kind->run(c, &err);
        if (rc && !err.set) err_set(&err, "failed without a message");
        if (rc) {
            err_prefix(&err, "stage %s failed", lb);
            dist_fail(PURE_EXIT_FAIL, err.msg);
        }
        inst_ctx_free(&ic, c);
        free(shared);
    }
}

void exec_release(int exit_code) {
    if (dist_size() == 1 || dist_rank() != 0) return;
    int64_t cmd[3] = {CMD_EXIT, exit_code, 0};
    dist_bcast_idle(cmd, sizeof cmd);
}
