/* cli.h - option parsing and spec loading shared by the pipeline subcommands (run, status, validate, dag, stages, gc). */
#ifndef PURE_CLI_H
#define PURE_CLI_H

#include "runner/plan.h"

#define CLI_MAX_LIST 64

typedef struct CliOpts {
    const char *spec;                    /* the positional PIPELINE.yaml (or KIND for `pure stages`) */
    const char *run_dir;
    const char *sets[CLI_MAX_LIST];
    int nsets;
    const char *force[CLI_MAX_LIST];
    int nforce;
    const char *until;
    int quiet, verify, markdown, artifacts, all, dry_run, dot;
} CliOpts;

/* Parses argv (argv[0] = subcommand). `allowed` lists the accepted long
 * options without dashes, space separated ("run-dir set force until quiet").
 * Returns 0 to go on, 1 when --help was printed (exit 0), -1 on bad usage
 * (message printed, exit 2). need_spec: the positional argument is required. */
int cli_parse(int argc, char **argv, const char *allowed, int need_spec, const char *help, CliOpts *o);
/* runs/<spec file stem> under the current directory, or --run-dir (caller frees). */
char *cli_run_dir(const CliOpts *o);
/* For commands where PIPELINE.yaml is optional given --run-dir: falls back on
 * the run directory's spec.yaml (the resolved spec of its last run). Sets
 * o->spec (to *saved, which the caller frees); prints the error and returns
 * -1 when there is neither. */
int cli_spec_or_saved(CliOpts *o, const char *cmd, const char *help, char **saved);
/* Loads and validates the spec and builds the plan; prints the error and
 * returns NULL on failure (exit 2). */
Plan *cli_load(const CliOpts *o, Spec **spec);
void cli_unload(Plan *p, Spec *s);
/* The spec's `sweep:` block (runner/sweep.h): 0 and *sw (NULL when the spec
 * has none), or -1 with the error printed (exit 2). */
struct Sweep;
int cli_sweep(const CliOpts *o, struct Sweep **sw);
/* cmd_plan.c: 0 when every stage that loads a model fits its device's memory, else -1 with err saying
 * which stage, how much, and what to change (what `pure run` checks before it starts). wanted: per plan
 * instance, 1 when this run may execute it (exec_targets' mask), NULL = every stage. */
int cli_plan_check(const Spec *spec, const Plan *plan, const char *wanted, PureErr *err);

#endif
