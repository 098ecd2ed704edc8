/* loaders.h - reading the benchmark and training files into rows (internal to the data stage).
 *
 * One loader per file layout in ../shared/data (see /work/shared/README.md) plus a generic JSONL
 * loader with field mapping. Reference answers come from an answer field, or from the last \boxed{}
 * of the solution when a source has no answer field.
 */
#ifndef PURE_DATA_LOADERS_H
#define PURE_DATA_LOADERS_H

#include <stdint.h>
#include "util/err.h"

/* The data sources: the table is also the `source` parameter's choices
 * (stage.h, PT_ENUM), so a new source is one row here plus its loader.
 * answer: a string, number or array (first element) field; NULL: the
 * reference is the last \boxed{} of the solution. toy and jsonl have no file. */
typedef struct DataSourceDef {
    const char *name, *file, *problem, *answer, *solution;
    int hashes;           /* GSM8K: the reference is the text after "####" of the answer field */
    const char *fallback; /* math_train: ref_answer is "null" where `answer` holds the reference */
} DataSourceDef;
extern const DataSourceDef data_sources[]; /* ends with name == NULL */

typedef struct DataRow {
    int64_t id;          /* the row's index in its source file (0-based line or array element) */
    char *benchmark;     /* the source name: "math500", ..., "toy", or the file stem for jsonl */
    char *problem;
    char *reference;     /* "" if none */
    char *solution;      /* "" if none */
    int answer_given;    /* math_train: the file's `answer` field is not "null" (the 10% setting) */
} DataRow;

typedef struct DataSet {
    DataRow *rows;       /* (n) */
    int64_t n, cap;
} DataSet;

/* Field names for the generic jsonl source ("" = absent). */
typedef struct DataFields {
    const char *problem, *answer, *solution;
} DataFields;

/* Known sources: "math_train", "math500", "minerva_math", "olympiadbench", "aime24", "amc23", "gsm8k",
   "jsonl". Appends the rows of `path` to out. */
int data_load(const char *source, const char *path, const DataFields *fields, DataSet *out, PureErr *err);
/* The file of a known source under a data folder laid out like ../shared/data (malloc'd); NULL for jsonl. */
char *data_default_path(const char *data_dir, const char *source);
int data_source_known(const char *source);
void dataset_push(DataSet *d, DataRow row);
void datarow_free(DataRow *r);
void dataset_free(DataSet *d);

#endif
