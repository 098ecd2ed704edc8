/* cmd_run.c - `pure run`: validate, lock the run directory, run what is not done. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "runner/exec.h"
#include "runner/rundir.h"
#include "runner/tboard.h"
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

int cmd_run(int argc, char **argv) {
    CliOpts o;
    int rc = cli_parse(argc, argv, "run-dir set force until quiet verify", 1, help, &o);
    if (rc) return rc > 0 ? PURE_EXIT_OK : PURE_EXIT_USAGE;
    Spec *spec;
    Plan *plan = cli_load(&o, &spec);
    if (!plan) return PURE_EXIT_USAGE;
    PureErr err;
    err_clear(&err);
    /* --until/--force names are checked before the run directory is touched */
    ExecTargets targets;
    if (exec_targets(plan, o.until, o.force, o.nforce, &targets, &err)) {
        fprintf(stderr, "pure run: %s\n", err.msg);
        cli_unload(plan, spec);
        return PURE_EXIT_USAGE;
    }
    log_set_quiet(o.quiet);
    char *root = cli_run_dir(&o);
    int fd = -1;
    int exit_code = PURE_EXIT_OK;
    char *spec_copy = fs_join(root, "spec.yaml");
    if (rundir_lock(root, &fd, &err) || spec_write_resolved(spec, spec_copy, &err)) {
        log_error("%s", err.msg);
        exit_code = PURE_EXIT_FAIL;
    } else {
        if (!o.quiet) log_info("run directory %s", root);
        char *stem = fs_stem(o.spec), *tb = spec->tensorboard ? tboard_path(root, stem) : NULL;
        RunOpts ro = {root, o.quiet, &targets, o.verify, tb, cli_config()->fault};
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        /* a file-size limit (ulimit -f) must fail the write with EFBIG and a
           message, not kill the run silently */
        signal(SIGXFSZ, SIG_IGN);
        if (exec_run(plan, &ro, &err)) {
            log_error("%s", err.msg);
            log_error("the run directory is intact; fix the cause and run the same command again to resume");
            exit_code = PURE_EXIT_FAIL;
        }
        free(stem);
        free(tb);
    }
    rundir_unlock(fd);
    exec_targets_free(&targets);
    free(spec_copy);
    free(root);
    cli_unload(plan, spec);
    return exit_code;
}
