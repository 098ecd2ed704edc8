/* inspect.h - what `pure inspect` knows about one dataset, ragged group or
 * string dataset, and how it prints it (inspect_values.c), and the whole
 * file's tree (inspect_tree.c). The front end is cli/cmd_inspect.c. */
#ifndef PURE_INSPECT_H
#define PURE_INSPECT_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include "storage/artifact.h"

typedef struct InspectOpts {
    int json;
    long head;  /* values shown: first `head` rows/elements, -1 = all */
} InspectOpts;

typedef enum { INS_DENSE, INS_RAGGED, INS_STRINGS } InspectKind;

typedef struct InspectStats {
    double min, max, mean, std;  /* over finite values */
    int64_t nan, inf, finite;
} InspectStats;

typedef struct InspectInfo {
    const char *name;
    InspectKind kind;
    char dtype[64];       /* stored type, e.g. "f32", "u32", "vlen utf-8 string" */
    int is_int;           /* values held in ivals (exact) rather than fvals */
    int ndim;
    int64_t dims[ARTIFACT_MAX_DIMS];  /* dense shape; ragged: (total values) */
    int64_t n;            /* elements (dense/ragged values) or strings */
    double *fvals;        /* (n) */
    int64_t *ivals;       /* (n) */
    int64_t n_rows;       /* ragged */
    int64_t *offsets;     /* ragged (n_rows + 1) */
    char **strs;          /* strings (n) */
    InspectStats stats;   /* numeric values */
    InspectStats lens;    /* ragged row lengths, or string byte lengths */
} InspectInfo;

/* Reads `name` (dense, ragged or strings) with its stored type and statistics. */
int inspect_load(Artifact *a, const char *name, InspectInfo *info, PureErr *err);
void inspect_info_free(InspectInfo *info);
/* One summary line (+ statistics), then `head` values (0 = none, -1 = all). */
void inspect_info_print(FILE *out, const InspectInfo *info, long head);
cJSON *inspect_info_json(const InspectInfo *info, long head);

/* Prints one object (dense, ragged or strings) with its values (o->head)
 * into out. Writes nothing unless it was read whole: -1 + err instead. */
int inspect_object(Artifact *a, const char *name, const InspectOpts *o, FILE *out, PureErr *err);
/* Prints the whole file: root attributes, then every group, dataset and link.
 * Writes nothing unless every object and attribute was read: -1 + err. */
int inspect_file(Artifact *a, const InspectOpts *o, FILE *out, PureErr *err);

/* Strings from a file are bytes: these keep output valid UTF-8. A copy of s
 * with each byte that is not part of valid UTF-8 replaced by U+FFFD (caller
 * frees); a JSON string of it; s in double quotes with quotes, backslashes
 * and control characters escaped and invalid bytes shown as \xNN. */
char *inspect_utf8_clean(const char *s);
cJSON *inspect_json_string(const char *s);
char *inspect_quote(const char *s);

#endif
