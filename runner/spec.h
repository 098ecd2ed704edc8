/* spec.h - a validated pipeline spec.
 *
 * spec_load() reads the YAML file, applies `extends:` (deep merge), `--set`
 * overrides and `${var}` interpolation (spec_tree_load), then checks every
 * stage against the registry's tables: reserved keys, typed parameters,
 * input ports and references, `every`, the loop state, cycles. The result is
 * plain data the planner turns into stage instances. Every error names
 * file:line:col and what was expected. The full syntax is docs/pipeline-spec.md.
 */
#ifndef PURE_SPEC_H
#define PURE_SPEC_H

#include <stdint.h>
#include "runner/ydoc.h"
#include "stages/stage.h"

typedef enum { SEC_PRE, SEC_LOOP, SEC_AFTER } Section;
typedef enum { REF_NONE, REF_STAGE, REF_STATE, REF_LOOP } RefKind;

/* One reference "stage.output", "state.X", "loop.X" or null. */
typedef struct SpecRef {
    RefKind kind;
    int stage;      /* REF_STAGE: index into Spec.stages */
    int output;     /* REF_STAGE: index into that kind's outputs */
    int state;      /* REF_STATE / REF_LOOP: index into Spec.states */
    const YMark *mark;
} SpecRef;

typedef struct SpecStage {
    char *name;
    Section sec;
    const StageKind *kind;
    int every;           /* loop stages: run when (i+1) % every == 0 and in the last iteration */
    int keep_last;       /* loop stages: keep outputs of the last N iterations; 0 = all */
    ParamValue *params;  /* one per kind->params entry, same order */
    int nparams;
    SpecRef *inputs;     /* one per kind->inputs entry; kind REF_NONE when unconnected */
    int ninputs;
    char param_hash[65]; /* sha256 of the canonical parameters */
    const YMark *mark;
} SpecStage;

typedef struct SpecState {
    char *name;
    SpecRef init;        /* REF_STAGE (before the loop) or REF_NONE (null) */
    SpecRef update;      /* REF_STAGE of a loop stage */
    const YMark *mark;
} SpecState;

typedef struct Spec {
    char *path;          /* the spec file as given */
    const StageKind *const *kinds; /* the registry it was validated against (borrowed) */
    uint64_t seed;
    int iterations;      /* 0 when there is no loop */
    int has_loop;
    int tensorboard;     /* top-level `tensorboard: true`: write TensorBoard event files (no effect on fingerprints) */
    int sweep_run;       /* loaded as one run of a sweep (spec_load_ex with overrides) */
    SpecStage *stages;   /* sections in order: before the loop, loop, after */
    int nstages;
    int *order;          /* topological order of stage indices, sections in order */
    SpecState *states;
    int nstates;
    YNode *tree;         /* the resolved tree (marks referenced by the structures above) */
} Spec;

/* Loads, resolves and validates against `kinds` (a NULL-terminated table of
 * stage kinds, borrowed for the Spec's life). sets: "key.path=value" strings. */
Spec *spec_load(const char *path, const char *const *sets, int nsets, const StageKind *const *kinds, PureErr *err);
void spec_free(Spec *s);
int spec_stage_index(const Spec *s, const char *name);
const ParamValue *spec_param(const SpecStage *st, const char *name);
/* The typed view of a stage's parameters that its kind's check() and run() see. */
StageParams spec_stage_params(const SpecStage *st);
/* Writes the resolved spec (vars applied, paths absolute) as YAML. */
int spec_write_resolved(const Spec *s, const char *path, PureErr *err);
/* "stage.output", "state.X", "loop.X" or "null" into buf. */
const char *spec_ref_str(const Spec *s, const SpecRef *r, char *buf, size_t cap);

/* spec_tree.c: the YAML tree after extends, --set and vars. */
YNode *spec_tree_load(const char *path, const char *const *sets, int nsets, PureErr *err);
/* One override of a sweep run (runner/sweep.h): dotted key -> value (borrowed). */
typedef struct SpecOverride {
    const char *key;
    const YNode *val;
} SpecOverride;
/* The same with overrides applied after --set and before vars. */
YNode *spec_tree_load_ex(const char *path, const char *const *sets, int nsets, const SpecOverride *ov, int nov,
                         PureErr *err);
/* spec_load with a sweep run's overrides; the resolved spec it writes leaves out the sweep block. */
Spec *spec_load_ex(const char *path, const char *const *sets, int nsets, const SpecOverride *ov, int nov,
                   const StageKind *const *kinds, PureErr *err);

/* suggest.c: the candidate closest to `word` by edit distance, or NULL when
 * none is close enough. cands is NULL-terminated. */
const char *suggest_closest(const char *word, const char *const *cands);
/* Appends " (did you mean 'x'?)" when there is a close candidate, else "". */
const char *suggest_hint(const char *word, const char *const *cands, char *buf, size_t cap);

/* Hash of a file's (or a directory tree's) bytes, cached per process. */
int spec_hash_path(const char *path, char hex[65], PureErr *err);

#endif
