/* exec.h - running a plan: skip what is done, run the rest, commit atomically.
 *
 * Resume is the normal path: every `pure run` looks up each instance's done
 * record, quick-checks it (sizes, mtimes), fully verifies (SHA-256) every
 * artifact before a running stage reads it, and recomputes anything missing,
 * interrupted or corrupted with a warning. */
#ifndef PURE_EXEC_H
#define PURE_EXEC_H

#include "runner/plan.h"
#include "util/dist.h"

/* Which instances a run wants and which it recomputes: per plan instance, 1 = yes. */
typedef struct ExecTargets {
    char *target;                /* wanted by this run (--until: that instance and what it needs; else all) */
    char *force;                 /* recomputed even when done (--force: those and their dependants) */
} ExecTargets;

/* Parses --until ("NAME" or "NAME@ITER", NULL = everything) and --force stage
 * names into masks; the error names an unknown stage with a suggestion. */
int exec_targets(const Plan *p, const char *until, const char *const *force, int nforce, ExecTargets *t,
                 PureErr *err);
void exec_targets_free(ExecTargets *t);

typedef struct RunOpts {
    const char *root;            /* run directory */
    int quiet;
    const ExecTargets *targets;
    int verify;                  /* hash every committed artifact up front (not only those read) */
    const char *tensorboard;     /* event file to keep (runner/tboard.h), NULL = none */
    /* Fault injection for tests: called at each named point of a stage run
     * and its commit; NULL in the shipped program. */
    void (*fault)(const char *point);
    const char *label;           /* a sweep run's "variant seed S", shown in its progress lines; NULL = none */
    int plan_id;                 /* which of the plans handed to exec_serve() this is (a sweep's run index) */
} RunOpts;

/* Returns 0 when every targeted instance is committed; -1 with err set when a
 * stage failed or the run directory is unusable. */
int exec_run(const Plan *p, const RunOpts *o, PureErr *err);

/* Over several processes (util/dist.h, docs/distributed.md) rank 0 runs
 * exec_run() and owns the run directory: the lock, every commit, metrics and
 * progress. It hands each run of a STAGE_ALL_RANKS kind to the other ranks,
 * which sit in exec_serve() with the same plans: they run that stage on the
 * committed inputs and write nothing. exec_release() (rank 0, once at the
 * end) sends them the exit code that exec_serve() returns. A failure on any
 * rank inside such a stage ends the job with that rank's message (dist_fail). */
int exec_serve(Plan *const *plans, int nplans, const char *root, int quiet);
void exec_release(int exit_code);

#endif
