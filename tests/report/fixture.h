/* fixture.h - hand-made run directories for the report tests: the files a
 * committed run holds (done.json, latest.json, metrics.jsonl, HDF5 artifacts
 * in the declared layouts), with values chosen so every number a view shows
 * is known in advance. Written the way the runner writes them, without
 * running a stage. */
#ifndef PURE_TEST_REPORT_FIXTURE_H
#define PURE_TEST_REPORT_FIXTURE_H

/* What varies between fixture runs (a variant and a seed). */
typedef struct FixtureRun {
    int iterations;        /* loop iterations */
    int seed;              /* enters every fingerprint */
    const char *rule;      /* credit rule recorded in the credit identity */
    double acc0, acc_step; /* eval accuracy at iteration i: acc0 + acc_step * i; final_eval: the last */
    double reward0;        /* prm step_reward metric at iteration i: reward0 - 0.01 * i */
    int hack_at;           /* iteration whose eval reports hack_flag 1 (-1: none) */
} FixtureRun;

/* Writes the run into root (created; an existing store is added to, and
 * latest.json then names this run). plan_path: also write a plan file
 * listing this run's stage runs (NULL: none). Rollouts of every iteration:
 * the four responses described in fixture.c, whose texts include the hostile
 * strings below. Returns 0, or -1 with a message on stderr. */
int fixture_write(const char *root, const FixtureRun *r, const char *plan_path);

/* A problem text and a response that try to inject markup and terminal escapes. */
extern const char *const fixture_hostile_problem;
extern const char *const fixture_hostile_response;

#endif
