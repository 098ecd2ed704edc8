/* ydoc.h - a YAML document tree that remembers where every node came from.
 *
 * libyaml's event parser gives start marks; we keep them on each node (file,
 * line, column, 1-based) so that every later check (spec validation, --set,
 * vars) can name the exact place in the user's file. The tree is small and
 * plain: null, scalar (text + whether it was quoted), sequence, map (ordered
 * keys). Aliases are expanded into copies.
 */
#ifndef PURE_YDOC_H
#define PURE_YDOC_H

#include <stdio.h>
#include "util/err.h"

typedef enum { YN_NULL, YN_SCALAR, YN_SEQ, YN_MAP } YKind;

typedef struct YMark {
    char *file;  /* owned */
    int line, col;
} YMark;

typedef struct YNode YNode;
struct YNode {
    YKind kind;
    YMark mark;
    char *str;      /* YN_SCALAR text */
    int quoted;     /* scalar was quoted: always a string */
    int n, cap;
    char **keys;    /* YN_MAP keys (n) */
    YMark *kmarks;  /* YN_MAP key positions (n) */
    YNode **items;  /* YN_SEQ items or YN_MAP values (n) */
};

/* Parses a YAML file / string whose single document must exist. An empty
 * document gives an empty map. Syntax errors: "file:L:C: YAML syntax error: ...". */
YNode *ydoc_load_file(const char *path, PureErr *err);
YNode *ydoc_load_string(const char *text, const char *name, int line, int col, PureErr *err);

YNode *ynode_new(YKind kind, const YMark *mark);
YNode *ynode_scalar(const char *s, const YMark *mark);
YNode *ynode_clone(const YNode *n);
void ynode_free(YNode *n);

/* Map access; NULL / -1 when absent (or n is not a map). */
YNode *ynode_get(const YNode *map, const char *key);
int ynode_find(const YNode *map, const char *key);
/* Sets (replacing and freeing an old value) or appends key -> val (val owned). */
void ynode_map_set(YNode *map, const char *key, const YMark *kmark, YNode *val);
void ynode_map_remove(YNode *map, const char *key);
void ynode_seq_push(YNode *seq, YNode *item);
/* Deep merge of `over` into `base` (maps key by key, everything else replaces).
 * Consumes `over`. */
void ynode_merge(YNode *base, YNode *over);

/* "a map", "a sequence", "null" or "'text'" - for "expected X, got Y". */
const char *ynode_describe(const YNode *n, char *buf, size_t cap);

/* Writes the tree as block YAML (strings quoted when needed to round-trip). */
void ydoc_emit(FILE *f, const YNode *n);

/* err_set with a "file:line:col: " prefix from a mark / node. */
int yerr(PureErr *err, const YMark *m, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
