/* cmd_run.c - `pure run`: validate, lock the run directory, run what is not done. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "runner/exec.h"
#include "runner/rundir.h"
#include "runner/sweep.h"
#include "runner/tboard.h"
#include "util/dist.h"
#include "util/fs.h"
#include "util/log.h"

static const char *help =
    "usage: pure run PIPELINE.yaml [--run-dir DIR] [--set key.path=value]... [--force STAGE]...\n"
    "                [--until STAGE[@ITER]] [--verify] [--quiet]\n"
    "\n"
    "Runs the pipeline, skipping every stage run whose committed artifact is up to date\n"
    "(same fingerprint: kind, version, parameters, input fingerprints, files read, seed).\n"
    "After a crash or kill, run the same command again: it resumes.\n"
    "\n"
    "  --run-dir DIR   run directory (default: runs/<pipeline file stem>)\n"
    "  --set K=V       override a spec value by dotted path, e.g. --set loop.iterations=3\n"
    "  --force STAGE   recompute STAGE (all its iterations) and everything that reads it\n"
    "  --until STAGE   run only STAGE (or STAGE@ITER) and what it needs\n"
    "  --verify        check the SHA-256 of every committed artifact first (default: sizes and\n"
    "                  mtimes, and SHA-256 of each artifact a running stage reads)\n"
    "  --quiet, -q     only warnings and errors\n"
    "A spec with a `sweep:` block runs every variant and seed into the one run directory,\n"
    "sharing what they have in common (docs/reports.md, \"Sweeps\").\n"
    "TensorBoard: `tensorboard: true` in the spec (or --set tensorboard=true) writes every\n"
    "metric to RUN/tensorboard/<spec name>/ (docs/reports.md).\n"
    "\n"
    "Exit codes: 0 done, 1 a stage failed (or the run directory is locked/unwritable),\n"
    "2 bad usage or bad spec (nothing run, run directory untouched).\n";

/* Ctrl-C / SIGTERM: say how to resume, then die of the same signal (the run
 * directory is consistent at every instant; nothing needs cleaning up). */
static void on_signal(int sig) {
    static const char msg[] = "\n[pure] interrupted: run the same command again to resume\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signals(void) {
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    /* a file-size limit (ulimit -f) must fail the write with EFBIG and a
       message, not kill the run silently */
    signal(SIGXFSZ, SIG_IGN);
}

/* ---------------------------------------------------------------- several ranks
 * Every rank loads and plans the pipeline (docs/distributed.md). Ranks > 0
 * do it with stderr held in a temporary file, so a bad spec is reported
 * once, by rank 0; when only some rank fails (a file its node lacks), rank 0
 * prints that rank's message. Then rank 0 runs and the others serve. */
typedef struct Hold {
    int saved;
    FILE *f;
} Hold;

static void hold_begin(Hold *h) {
    h->saved = -1;
    h->f = NULL;
    if (dist_rank() == 0) return;
    fflush(stderr);
    if (!(h->f = tmpfile())) return;
    h->saved = dup(2);
    dup2(fileno(h->f), 2);
}

static void hold_end(Hold *h, char *buf, size_t cap) {
    buf[0] = 0;
    if (!h->f) return;
    fflush(stderr);
    dup2(h->saved, 2);
    close(h->saved);
    rewind(h->f);
    size_t n = fread(buf, 1, cap - 1, h->f);
    while (n > 0 && buf[n - 1] == '\n') n--;
    buf[n] = 0;
    fclose(h->f);
    h->f = NULL;
}

/* Collective: 0 when no rank failed to load; else 1 on every rank, the first failing rank's message printed by
 * rank 0 (unless rank 0 failed itself and printed its own). Each rank calls it exactly once. */
static int ranks_agree(int failed, Hold *h) {
    char mine[2048], first[2400];
    hold_end(h, mine, sizeof mine);
    if (dist_size() == 1) return failed;
    if (!dist_any(failed)) return 0;
    dist_first_error(failed, mine[0] ? mine : "could not load the pipeline", first, sizeof first);
    if (dist_rank() == 0 && !failed && first[0]) fprintf(stderr, "pure: %s\n", first);
    return 1;
}

/* A spec with a `sweep:` block: every run is validated and planned before
 * the run directory is touched, then they run one after the other into the
 * one directory (shared stage runs are computed once). */
static int run_sweep(const CliOpts *o, Sweep *sw, Hold *h) {
    PureErr err;
    err_clear(&err);
    int n = sw->n, exit_code = PURE_EXIT_OK, fd = -1;
    Spec **specs = xcalloc((size_t)n + 1, sizeof *specs), *base = NULL;
    Plan **plans = xcalloc((size_t)n + 1, sizeof *plans);
    ExecTargets *tg = xcalloc((size_t)n + 1, sizeof *tg);
    int ok = 1;
    for (int k = 0; k < n && ok; k++) {
        specs[k] = sweep_spec(sw, k, o->sets, o->nsets, cli_config()->kinds, &err);
        plans[k] = specs[k] ? plan_build(specs[k], &err) : NULL;
        ok = plans[k] && !exec_targets(plans[k], o->until, o->force, o->nforce, &tg[k], &err) &&
             !cli_plan_check(specs[k], plans[k], tg[k].target, &err); /* model stages fit their device (cmd_plan.c) */
        if (!ok && plans[k]) plans[k] = (plan_free(plans[k]), NULL);
    }
    /* RUN/spec.yaml: the spec as written, sweep block included (pure status --run-dir reads it) */
    if (ok && !(base = spec_load(o->spec, o->sets, o->nsets, cli_config()->kinds, &err)))
        err_prefix(&err, "the spec without the sweep's overrides");
    if (!ok || !base) fprintf(stderr, "pure: %s\n", err.msg);
    if (ranks_agree(!ok || !base, h)) {
        exit_code = PURE_EXIT_USAGE;
        goto done;
    }
    if (dist_rank() != 0) {
        log_set_quiet(1);
        char *wroot = cli_run_dir(o);
        exit_code = exec_serve(plans, n, wroot, 1);
        free(wroot);
        goto done;
    }
    log_set_quiet(o->quiet);
    char *root = cli_run_dir(o), *spec_copy = fs_join(root, "spec.yaml");
    int rc = rundir_lock(root, &fd, &err) || spec_write_resolved(base, spec_copy, &err) ||
             sweep_write_index(sw, root, &err);
    for (int k = 0; k < n && !rc; k++) rc = sweep_write_plan(sw, k, root, plans[k], &err);
    if (rc) {
        log_error("%s", err.msg);
        exit_code = PURE_EXIT_FAIL;
    } else {
        if (!o->quiet)
            log_info("run directory %s: sweep of %d run(s), %d variant(s) x %d seed(s)", root, n, sw->nvariants,
                     sw->nseeds);
        install_signals();
        for (int k = 0; k < n && exit_code == PURE_EXIT_OK; k++) {
            const SweepRun *r = &sw->runs[k];
            if (!o->quiet) log_info("sweep run %d/%d: %s", k + 1, n, r->label);
            char *tb = specs[k]->tensorboard ? tboard_path(root, r->name) : NULL;
            RunOpts ro = {root, o->quiet, &tg[k], o->verify, tb, cli_config()->fault, r->label, k};
            if (exec_run(plans[k], &ro, &err)) {
                log_error("sweep run '%s': %s", r->label, err.msg);
                log_error("the run directory is intact; fix the cause and run the same command again to resume the "
                          "sweep");
                exit_code = PURE_EXIT_FAIL;
            }
            free(tb);
        }
        if (exit_code == PURE_EXIT_OK && !o->quiet) log_info("sweep done: %d run(s) in %s", n, root);
    }
    exec_release(exit_code);
    rundir_unlock(fd);
    free(spec_copy);
    free(root);
done:
    for (int k = 0; k < n; k++) {
        if (plans[k]) exec_targets_free(&tg[k]);
        plan_free(plans[k]);
        spec_free(specs[k]);
    }
    spec_free(base);
    free(tg);
    free(plans);
    free(specs);
    return exit_code;
}

int cmd_run(int argc, char **argv) {
    CliOpts o;
    int rc = cli_parse(argc, argv, "run-dir set force until quiet verify", 1, help, &o);
    if (rc) return rc > 0 ? PURE_EXIT_OK : PURE_EXIT_USAGE;
    Hold h;
    hold_begin(&h);
    Sweep *sw;
    if (cli_sweep(&o, &sw)) return ranks_agree(1, &h), PURE_EXIT_USAGE;
    if (sw) {
        rc = run_sweep(&o, sw, &h);
        sweep_free(sw);
        return rc;
    }
    Spec *spec;
    Plan *plan = cli_load(&o, &spec);
    if (!plan) return ranks_agree(1, &h), PURE_EXIT_USAGE;
    PureErr err;
    err_clear(&err);
    /* --until/--force names are checked before the run directory is touched; a stage whose models will not fit
     * its device is refused before anything runs (cmd_plan.c) */
    ExecTargets targets;
    int bad = exec_targets(plan, o.until, o.force, o.nforce, &targets, &err);
    if (!bad && cli_plan_check(spec, plan, targets.target, &err)) {
        bad = 1;
        exec_targets_free(&targets);
    }
    if (bad) fprintf(stderr, "pure run: %s\n", err.msg);
    if (ranks_agree(bad, &h)) {
        if (!bad) exec_targets_free(&targets);
        cli_unload(plan, spec);
        return PURE_EXIT_USAGE;
    }
    char *root = cli_run_dir(&o);
    int exit_code = PURE_EXIT_OK;
    if (dist_rank() != 0) {
        log_set_quiet(1);
        exit_code = exec_serve(&plan, 1, root, 1);
        exec_targets_free(&targets);
        free(root);
        cli_unload(plan, spec);
        return exit_code;
    }
    log_set_quiet(o.quiet);
    int fd = -1;
    char *spec_copy = fs_join(root, "spec.yaml");
    char *plan_copy = fs_join(root, "plan.json");
    if (rundir_lock(root, &fd, &err) || spec_write_resolved(spec, spec_copy, &err) ||
        plan_write_json(plan, plan_copy, &err)) {
        log_error("%s", err.msg);
        exit_code = PURE_EXIT_FAIL;
    } else {
        if (!o.quiet) {
            log_info("run directory %s", root);
            if (dist_size() > 1)
                log_info("%d processes (%s), %d per node: rank 0 commits, every rank computes the stages that shard",
                         dist_size(), dist_launcher(), dist_local_size());
        }
        char *stem = fs_stem(o.spec), *tb = spec->tensorboard ? tboard_path(root, stem) : NULL;
        RunOpts ro = {root, o.quiet, &targets, o.verify, tb, cli_config()->fault, NULL, 0};
        install_signals();
        if (exec_run(plan, &ro, &err)) {
            log_error("%s", err.msg);
            log_error("the run directory is intact; fix the cause and run the same command again to resume");
            exit_code = PURE_EXIT_FAIL;
        }
        free(stem);
        free(tb);
    }
    exec_release(exit_code);
    rundir_unlock(fd);
    exec_targets_free(&targets);
    free(spec_copy);
    free(plan_copy);
    free(root);
    cli_unload(plan, spec);
    return exit_code;
}
