/* sweep.h - a spec's `sweep:` block: a grid over dotted keys, named
 * variants and seeds, expanded into runs that share one run directory.
 *
 *   sweep:
 *     seeds: [1, 2, 3]                      # optional; default: the spec's seed
 *     grid:                                 # optional: key -> values, every combination
 *       loop.stages.credit.rule: [min, sum]
 *     variants:                             # optional: name -> {key: value, ...}, each on its own
 *       verifiable: {loop.stages.credit.vr_coef: 1.0}
 *     baseline: rule=min                    # optional: for pure compare / report
 *
 * The variants are the grid's points (named "rule=min", "rule=min,lr=0.001")
 * followed by the named variants; with neither, one variant "base". Each
 * variant runs once per seed. A run is the spec with its overrides applied
 * after --set and before vars, so its stage runs have ordinary fingerprints:
 * whatever two runs have in common (data, SFT, the PRM of one seed) is
 * computed once and shared, and resuming the sweep resumes every run.
 * Layout added to the run directory (docs/reports.md, "Sweeps"):
 *   RUN/sweep.json         the variants and seeds, each run's plan file
 *   RUN/plans/K.json       run K's stage runs (fingerprints), K = 0, 1, ...
 *   RUN/plans/K.yaml       run K's resolved spec
 */
#ifndef PURE_SWEEP_H
#define PURE_SWEEP_H

#include "runner/plan.h"

typedef struct SweepRun {
    char *variant;      /* "rule=min" or a named variant */
    int64_t seed;       /* -1: the spec's own seed */
    SpecOverride *ov;   /* the variant's keys (+ "seed"); values point into the sweep's tree */
    int nov;
    char *label;        /* "rule=min seed 2" */
    char *name;         /* file-safe: "rule=min-seed2" (TensorBoard folder) */
} SweepRun;

typedef struct Sweep {
    char *path;
    YNode *tree;        /* the spec tree the overrides point into */
    SweepRun *runs;     /* variant-major: every seed of variant 0, then variant 1, ... */
    int n;
    char **variants;
    int nvariants;
    int64_t *seeds;     /* NULL when the sweep names none */
    int nseeds;         /* 1 when it names none */
    char *baseline;     /* NULL when not given */
} Sweep;

/* Reads the sweep block of a spec (extends and --set applied). *out = NULL
 * when the spec has none. Errors name file:line:col of the sweep block. */
int sweep_load(const char *path, const char *const *sets, int nsets, Sweep **out, PureErr *err);
void sweep_free(Sweep *sw);
/* Run k's spec, validated against kinds; errors are prefixed with the run's label. */
Spec *sweep_spec(const Sweep *sw, int k, const char *const *sets, int nsets, const StageKind *const *kinds,
                 PureErr *err);
/* RUN/plans/K.json: run k's stage runs; RUN/plans/K.yaml: its resolved spec. */
int sweep_write_plan(const Sweep *sw, int k, const char *root, const Plan *p, PureErr *err);
/* RUN/sweep.json (the index `pure compare` and `pure report` read). */
int sweep_write_index(const Sweep *sw, const char *root, PureErr *err);

/* Fingerprints collected over a sweep's plans, to count the distinct ones
 * (stage runs the runs share count once). */
typedef struct FpSet {
    char (*fp)[65];
    int n, cap;
} FpSet;
void fpset_add_plan(FpSet *s, const Plan *p);
/* Sorts the set and returns how many distinct fingerprints it holds. */
int fpset_distinct(FpSet *s);
void fpset_free(FpSet *s);

/* RUN/plan.json (or any path) for a plain run: its stage runs and fingerprints. */
int plan_write_json(const Plan *p, const char *path, PureErr *err);

#endif
