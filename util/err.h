/* err.h - error reporting shared by every module.
 *
 * Functions that can fail take a `PureErr *err` as their last argument and
 * return 0 on success, -1 on failure (or NULL for constructors). On failure
 * they fill err->msg with one line that names the input (file:line:col, the
 * tensor, the stage) and what was expected. Callers add context outward with
 * err_prefix(), never overwrite a message they did not write.
 */
#ifndef PURE_ERR_H
#define PURE_ERR_H

#include <stddef.h>

typedef struct PureErr {
    int set;          /* 1 once a message has been written */
    char msg[2048];
} PureErr;

/* Exit codes of the `pure` command (issue: runner). */
enum { PURE_EXIT_OK = 0, PURE_EXIT_FAIL = 1, PURE_EXIT_USAGE = 2 };

void err_clear(PureErr *err);
/* Formats a message; always returns -1 so callers can `return err_set(...)`.
 * err may be NULL (message dropped). */
int err_set(PureErr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "prefix: " to an existing message; returns -1. */
int err_prefix(PureErr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fail-fast allocation wrappers: abort with file:line and the size asked for. */
void *xmalloc_at(size_t n, const char *file, int line);
void *xcalloc_at(size_t n, size_t size, const char *file, int line);
void *xrealloc_at(void *p, size_t n, const char *file, int line);
char *xstrdup_at(const char *s, const char *file, int line);
#define xmalloc(n) xmalloc_at((n), __FILE__, __LINE__)
#define xcalloc(n, s) xcalloc_at((n), (s), __FILE__, __LINE__)
#define xrealloc(p, n) xrealloc_at((p), (n), __FILE__, __LINE__)
#define xstrdup(s) xstrdup_at((s), __FILE__, __LINE__)

#endif
