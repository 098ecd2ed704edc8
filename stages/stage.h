/* stage.h - the stage interface: what a stage kind declares and what it may call.
 *
 * A stage kind is one StageKind value: its name, implementation version,
 * input and output ports (with the datasets each holds), typed parameters
 * and a run function. The program's registry (cli/registry.c) lists the
 * kinds; validation, `pure stages`, the YAML reference (docs/pipeline-spec.md)
 * and the artifact reference (docs/artifacts.md) are generated from these
 * tables. This folder's own files (stages/NAME.c) implement the interface; the
 * runner hosts it (stage_host.h) and never names a kind.
 *
 * Stages talk only through named artifacts: a run function reads its inputs
 * with stage_input_*(), writes its outputs with stage_output_*() and never
 * looks at another stage's files or state. The host checks every input
 * against the port's declared datasets before run() and every output after
 * it, then commits the outputs atomically, so a stage never needs to care
 * about crashes: if it is killed, it re-runs.
 *
 * Determinism contract: with the same parameters, inputs and stage_seed(), a
 * stage must write bit-identical outputs (same machine, same thread count).
 * Use util/rng.h streams derived from stage_seed(); never time or addresses.
 */
#ifndef PURE_STAGE_H
#define PURE_STAGE_H

#include <stddef.h>
#include <stdint.h>
#include "../storage/artifact.h"
#include "../util/err.h"

/* ---------------------------------------------------------------- parameters */

typedef enum {
    PT_INT,    /* int64 */
    PT_FLOAT,  /* double */
    PT_BOOL,
    PT_STRING,
    PT_ENUM,   /* one of ParamDef.choices, handed to the stage as an index */
    PT_PATH,   /* a file path, relative paths resolved against the spec file's folder;
                  the file's bytes enter the stage fingerprint */
    PT_LIST    /* a YAML sequence of scalars, read as strings */
} ParamType;

/* A parameter. For PT_ENUM, `choices` is a table whose rows each begin with
 * the choice's name (a `const char *`), ended by a row whose name is NULL:
 * a plain `const char *const names[]` (choice_stride 0), or a table of
 * structs such as the credit rules (choice_stride = sizeof one row). The
 * index a stage gets is the row's index in that table, so a kind's own table
 * of rules is at the same time the list of names the YAML accepts, the
 * choices `pure stages` prints and the ones an error message lists. */
typedef struct ParamDef {
    const char *name;
    ParamType type;
    const char *def;      /* default as YAML text; NULL = required; "" for PT_PATH/PT_STRING = unset */
    double min, max;      /* numeric range, inclusive; ignored when min > max */
    const void *choices;  /* PT_ENUM only, see above */
    const char *doc;      /* one line for `pure stages` and docs/pipeline-spec.md */
    size_t choice_stride; /* PT_ENUM: bytes per row of choices; 0 = an array of names */
} ParamDef;

/* Name of choice i of an enum parameter, NULL past the end. */
const char *param_choice(const ParamDef *d, int i);
/* Index of `name` among d's choices, -1 if absent. */
int param_choice_index(const ParamDef *d, const char *name);
/* "a|b|c" into buf. */
const char *param_choices_str(const ParamDef *d, char *buf, size_t cap);

/* One parsed parameter value (the runner parses the spec into these). */
typedef struct ParamValue {
    const ParamDef *def;
    int set;             /* given in the spec (not a default) */
    int at_default;      /* its canonical value is the default's (given or not): it stays out of the fingerprint */
    int64_t i;           /* PT_INT; PT_ENUM: the choice's index */
    double f;            /* PT_FLOAT */
    int b;               /* PT_BOOL */
    char *s;             /* STRING, ENUM (the choice's name), PATH (resolved absolute path; "" = unset) */
    char **list;         /* PT_LIST */
    int nlist;
    char *canon;         /* canonical text entering the fingerprint */
} ParamValue;

/* A typed view of one stage's parsed parameters: what check() sees at
 * validate time and stage_params() returns at run time. */
typedef struct StageParams {
    const char *stage;        /* the stage's name in the spec */
    const struct StageKind *kind;
    const ParamValue *v;      /* one per kind->params entry, same order */
    int n;
} StageParams;

/* Accessors; the value was validated against the ParamDef (type, range,
 * choices). Asking for an undeclared parameter, or as another type, is a bug
 * in the kind: it aborts naming both. */
int64_t param_int(const StageParams *p, const char *name);
double param_float(const StageParams *p, const char *name);  /* PT_FLOAT or PT_INT */
int param_bool(const StageParams *p, const char *name);
int param_enum(const StageParams *p, const char *name);      /* index into the choices table */
const char *param_str(const StageParams *p, const char *name); /* STRING, ENUM, PATH; "" if unset */
int param_list(const StageParams *p, const char *name, const char *const **items); /* returns count */
int param_is_set(const StageParams *p, const char *name);

/* ---------------------------------------------------------------- ports and datasets */

typedef enum {
    ART_H5,   /* one HDF5 file written with storage/artifact.h */
    ART_DIR   /* a directory (a Hugging Face model checkpoint: config.json + model.safetensors, ...) */
} ArtKind;

typedef enum {
    DS_VEC,      /* a rank-1 numeric dataset, one value per row */
    DS_RAGGED,   /* a ragged group (NAME/values + NAME/offsets): one variable-length row per row */
    DS_STRINGS,  /* a rank-1 UTF-8 string dataset */
    DS_ATTR,     /* a numeric attribute on "/" (a scalar summary) */
    DS_ATTR_STR  /* a string attribute on "/" */
} DatasetForm;

/* One dataset an H5 port holds. Shape rules are symbols: every dataset with
 * the same `rows` symbol, across all ports of one stage run, has the same
 * number of rows ("N": responses, "P": prompts); ragged datasets with the
 * same rows and `inner` symbol ("tokens", "steps") have identical row
 * lengths. The host checks inputs before run() and outputs after it. */
typedef struct DatasetDef {
    const char *name;
    DatasetForm form;
    DType dtype;          /* DS_VEC, DS_RAGGED values, DS_ATTR; ignored for DS_STRINGS */
    const char *rows;     /* row symbol (NULL for DS_ATTR) */
    const char *inner;    /* DS_RAGGED: row-length symbol, NULL = free */
    int optional;         /* may be absent */
    const char *doc;
} DatasetDef;

typedef struct PortDef {
    const char *name;
    ArtKind kind;
    int optional;         /* inputs only: may be left unconnected */
    const char *doc;
    const DatasetDef *datasets; /* ART_H5: terminated by name == NULL; NULL = not declared (not checked) */
    int own_symbols;      /* inputs: 1 = its shape symbols are its own, not shared with the other inputs
                             (sft's dev prompts are P rows like its train prompts, of another count) */
} PortDef;

/* File name of a port's artifact inside an instance directory: "NAME.h5" or "NAME". */
const char *port_file_name(const PortDef *p, char *buf, size_t cap);
/* Checks one open H5 artifact against `defs` (presence, form, dtype, rank)
 * and binds or checks the shape symbols in `syms` (a small table shared by
 * all the ports of one stage run: see stage_symbols_*). `who` names the port
 * in messages. Strict: a dataset the port does not declare is an error. */
typedef struct StageSymbols StageSymbols;
StageSymbols *stage_symbols_new(void);
void stage_symbols_free(StageSymbols *s);
int port_check(Artifact *a, const DatasetDef *defs, const char *who, int strict, StageSymbols *syms, PureErr *err);

/* ---------------------------------------------------------------- kinds */

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
    /* Optional: cross-parameter checks at validate time (no inputs exist yet), NULL if none. */
    int (*check)(const StageParams *params, PureErr *err);
    /* Over several processes (docs/distributed.md): STAGE_RANK0, run() runs on rank 0 alone while the others
     * wait; STAGE_ALL_RANKS, run() runs on every rank (util/dist.h tells it which), each computing its share;
     * rank 0 alone writes the outputs (stage_output_* fail elsewhere) and its metrics are the stage's. */
    int ranks;
} StageKind;
enum { STAGE_RANK0 = 0, STAGE_ALL_RANKS = 1 };

/* The kind named `kind` in a NULL-terminated table, or NULL. */
const StageKind *stage_kind_find(const StageKind *const *kinds, const char *kind);
int stage_port_index(const PortDef *ports, const char *name);

/* ---------------------------------------------------------------- what a running stage may call */

const char *stage_name(StageCtx *ctx);        /* the stage's name in the spec */
int stage_iteration(StageCtx *ctx);           /* loop iteration (0-based), -1 outside the loop */
uint64_t stage_seed(StageCtx *ctx);           /* derived from the spec seed, stage name and iteration */
const StageParams *stage_params(StageCtx *ctx);

/* Shorthands for param_*(stage_params(ctx), name). */
int64_t stage_param_int(StageCtx *ctx, const char *name);
double stage_param_float(StageCtx *ctx, const char *name);
int stage_param_bool(StageCtx *ctx, const char *name);
int stage_param_enum(StageCtx *ctx, const char *name);
const char *stage_param_str(StageCtx *ctx, const char *name);
int stage_param_list(StageCtx *ctx, const char *name, const char *const **items);
int stage_param_is_set(StageCtx *ctx, const char *name);

/* Inputs: committed artifacts of upstream stages, already checked against
 * the port's datasets. NULL when an optional port is unconnected. */
const char *stage_input_path(StageCtx *ctx, const char *port);
Artifact *stage_input_open(StageCtx *ctx, const char *port, PureErr *err);  /* ART_H5 ports */

/* Outputs: temporary paths the runner commits after run() returns 0.
 * For ART_DIR ports the directory exists and is empty; for ART_H5 ports use
 * stage_output_create(), which also writes the provenance attributes. */
const char *stage_output_path(StageCtx *ctx, const char *port);
/* Rank 0's temporary path of an output, on every rank (docs/distributed.md): for an output that several ranks
 * write parts of, on the filesystem they share (optimize's optimizer state, each rank its range). Rank 0 alone
 * creates files there. On one rank it is stage_output_path. */
const char *stage_output_path_shared(StageCtx *ctx, const char *port);
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
