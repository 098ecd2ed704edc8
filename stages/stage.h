/* stage.h - the stage interface: what a stage kind declares and what it may call.
 *
 * A stage kind is one StageKind value: its name, implementation version,
 * input and output ports, typed parameters and a run function. All kinds are
 * listed in stages/registry.c; validation, `pure stages` and the YAML
 * reference in docs/ are all generated from these tables.
 *
 * Stages talk only through named artifacts: a run function reads its inputs
 * with stage_input_*(), writes its outputs with stage_output_*() and never
 * looks at another stage's files or state. The runner writes outputs to
 * temporary paths and commits them atomically after run() returns 0, so a
 * stage never needs to care about crashes: if it is killed, it re-runs.
 *
 * Determinism contract: with the same parameters, inputs and stage_seed(), a
 * stage must write bit-identical outputs (same machine, same thread count).
 * Use util/rng.h streams derived from stage_seed(); never time or addresses.
 */
#ifndef PURE_STAGE_H
#define PURE_STAGE_H

#include <stdint.h>
#include "../storage/artifact.h"
#include "../util/err.h"

typedef enum {
    PT_INT,    /* int64 */
    PT_FLOAT,  /* double */
    PT_BOOL,
    PT_STRING,
    PT_ENUM,   /* one of ParamDef.choices, "a|b|c" */
    PT_PATH,   /* a file path, relative paths resolved against the spec file's folder;
                  the file's bytes enter the stage fingerprint */
    PT_LIST    /* a YAML sequence of scalars, read as strings */
} ParamType;

typedef struct ParamDef {
    const char *name;
    ParamType type;
    const char *def;      /* default as YAML text; NULL = required; "" for PT_PATH/PT_STRING = unset */
    double min, max;      /* numeric range, inclusive; ignored when min > max */
    const char *choices;  /* PT_ENUM only */
    const char *doc;      /* one line for `pure stages` and docs/pipeline-spec.md */
} ParamDef;

typedef enum {
    ART_H5,   /* one HDF5 file written with storage/artifact.h */
    ART_DIR   /* a directory (a Hugging Face model checkpoint: config.json + model.safetensors, ...) */
} ArtKind;

typedef struct PortDef {
    const char *name;
    ArtKind kind;
    int optional;         /* inputs only: may be left unconnected */
    const char *doc;
} PortDef;

typedef struct StageCtx StageCtx;

typedef struct StageKind {
    const char *kind;        /* the YAML `kind:` value */
    int version;             /* bump when outputs change for the same inputs: invalidates old artifacts */
    const char *doc;         /* one paragraph */
    const PortDef *inputs;   /* terminated by an entry with name == NULL */
    const PortDef *outputs;  /* idem */
    const ParamDef *params;  /* idem */
    /* Runs the stage. Returns 0, or -1 with err set (the runner adds stage and iteration). */
    int (*run)(StageCtx *ctx, PureErr *err);
    /* Optional: cross-parameter checks at validate time (no inputs available), NULL if none. */
    int (*check)(StageCtx *ctx, PureErr *err);
} StageKind;

/* ---- registry (stages/registry.c) ---- */
const StageKind *stage_kind_find(const char *kind);
/* NULL-terminated array of all kinds, in registry order. */
const StageKind *const *stage_kind_all(void);
/* Test-only kinds registered at run time (runner tests); up to 32. */
void stage_kind_register(const StageKind *k);

/* ---- what a running stage may call (implemented by the runner) ---- */
const char *stage_name(StageCtx *ctx);        /* the stage's name in the spec */
int stage_iteration(StageCtx *ctx);           /* loop iteration (0-based), -1 outside the loop */
uint64_t stage_seed(StageCtx *ctx);           /* derived from the spec seed, stage name and iteration */

/* Parameters, already validated against the ParamDef (type, range, choices). */
int64_t stage_param_int(StageCtx *ctx, const char *name);
double stage_param_float(StageCtx *ctx, const char *name);
int stage_param_bool(StageCtx *ctx, const char *name);
const char *stage_param_str(StageCtx *ctx, const char *name);  /* STRING, ENUM, PATH (resolved); "" if unset */
int stage_param_list(StageCtx *ctx, const char *name, const char *const **items); /* returns count */
int stage_param_is_set(StageCtx *ctx, const char *name);       /* given in the spec (not a default) */

/* Inputs: committed artifacts of upstream stages. NULL when an optional port is unconnected. */
const char *stage_input_path(StageCtx *ctx, const char *port);
Artifact *stage_input_open(StageCtx *ctx, const char *port, PureErr *err);  /* ART_H5 ports */

/* Outputs: temporary paths the runner commits after run() returns 0.
 * For ART_DIR ports the directory exists and is empty; for ART_H5 ports use
 * stage_output_create(), which also writes the provenance attributes. */
const char *stage_output_path(StageCtx *ctx, const char *port);
Artifact *stage_output_create(StageCtx *ctx, const char *port, PureErr *err);

/* Scratch directory private to this stage run (kept across a crash, removed
 * on commit): for stages that checkpoint within themselves. */
const char *stage_scratch_dir(StageCtx *ctx);

/* Reporting. Progress draws one line per stage on a terminal; metrics go to
 * metrics.jsonl as {"stage":..., "iteration":..., key: value, ...}, one object
 * per stage run, flushed when the stage commits. */
void stage_progress(StageCtx *ctx, int64_t done, int64_t total, const char *unit);
void stage_metric(StageCtx *ctx, const char *key, double value);
void stage_metric_str(StageCtx *ctx, const char *key, const char *value);
void stage_log(StageCtx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void stage_warn(StageCtx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
