/* exec.h - running a plan: skip what is done, run the rest, commit atomically.
 *
 * Resume is the normal path: every `pure run` looks up each instance's done
 * record, quick-checks it (sizes, mtimes), fully verifies (SHA-256) every
 * artifact before a running stage reads it, and recomputes anything missing,
 * interrupted or corrupted with a warning. */
#ifndef PURE_EXEC_H
#define PURE_EXEC_H

#include "runner/plan.h"

typedef struct RunOpts {
    const char *root;            /* run directory */
    int quiet;
    const char *const *force;    /* stage names to recompute (with their dependants) */
    int nforce;
    const char *until;           /* "NAME" or "NAME@ITER": run only that and what it needs; NULL = all */
    int verify;                  /* hash every committed artifact up front (not only those read) */
} RunOpts;

/* Returns 0 when every targeted instance is committed; -1 with err set when a
 * stage failed or the run directory is unusable. */
int exec_run(const Plan *p, const RunOpts *o, PureErr *err);

/* Parses --until / --force targets into a per-instance mask (1 = selected);
 * error names the unknown stage with a suggestion. */
int exec_select(const Plan *p, const char *target, int with_ancestors, char *mask, PureErr *err);

#endif
