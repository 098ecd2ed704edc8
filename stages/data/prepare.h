/* prepare.h - the data stage's work without the runner: load or generate rows, shuffle, limit, split,
 * choose which train prompts keep their reference, apply the template, write the "prompts" layout.
 * Kept apart from data.c so that tests drive it directly. */
#ifndef PURE_DATA_PREPARE_H
#define PURE_DATA_PREPARE_H

#include <stdint.h>
#include "stages/data/loaders.h"
#include "stages/common/toy.h"
#include "storage/artifact.h"

/* The method's prompt template (the official code's, with real newlines
 * inside the quotes: the model is told to separate steps by a blank line),
 * and the toy task's short one. */
#define DATA_TEMPLATE_METHOD \
    "{problem}\n\nPlease reason step by step with steps separated by \"\n\n\", and put your final answer within \\boxed{}."
#define DATA_TEMPLATE_TOY "{problem}\n\n"

typedef struct DataOptions {
    const char *source;              /* toy | math_train | ... | jsonl; ignored when n_sources > 0 */
    const char *const *sources;      /* benchmark sources concatenated (evaluation sets) */
    int n_sources;
    const char *path;                /* the file for one real source ("" = data_dir's default) */
    const char *data_dir;            /* a folder laid out like ../shared/data */
    DataFields fields;               /* jsonl field names */
    const char *template_;           /* "" = the source's default */
    int shuffle;
    int64_t limit;                   /* rows kept per source after shuffling; 0 = all */
    int64_t test_size;               /* -1: the source's default (benchmarks: all test; train files: none) */
    double test_fraction;            /* > 0: overrides test_size */
    double reference_fraction;       /* share of train rows that keep has_reference */
    int reference_from_answer_field; /* math_train: has_reference = the file's answer field is not "null" */
    int64_t max_prompt_tokens;       /* files: drop rows whose templated prompt has more tokens (0 = keep all) */
    const char *tokenizer;           /* ... counted with this tokenizer.json (or a model folder holding one) */
    ToyConfig toy;
    int64_t n_train, n_test;         /* toy only */
    int64_t n_dev;                   /* toy: dev problems after the test ones, in neither; files: rows moved
                                        from the start of train to dev */
    int64_t n_extra;                 /* toy: more problems, after the dev ones, in none of the three */
    double extra_error_rate;         /* toy: slip rate of extra's demonstrations (< 0: toy.error_rate) */
    uint64_t seed;
} DataOptions;

void data_options_default(DataOptions *o);

typedef struct DataSplit {
    DataSet rows;
    int64_t dropped_long;            /* train only: rows dropped (before the split) by max_prompt_tokens */
    uint8_t *has_reference;          /* (n) */
    char **prompts;                  /* (n) templated */
} DataSplit;

/* dev (may hold 0 rows) is for decisions made during a run (early stopping, PRM quality), so test stays unseen.
 * extra (NULL: not made; toy only, o->n_extra rows) is a pool for training a verifier on more problems than the
 * policy sees, disjoint from test and dev. */
int data_prepare(const DataOptions *o, DataSplit *train, DataSplit *test, DataSplit *dev, DataSplit *extra,
                 PureErr *err);
void data_split_free(DataSplit *s);
/* Writes the "prompts" layout (docs/architecture.md) into an open artifact. */
int data_split_write(Artifact *a, const DataSplit *s, PureErr *err);
/* template with every "{problem}" replaced (malloc'd). */
char *data_apply_template(const char *template_, const char *problem);

#endif
