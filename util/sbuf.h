/* sbuf.h - a growable NUL-terminated string, header-only, for the verifier and the data loaders. */
#ifndef PURE_SBUF_H
#define PURE_SBUF_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "util/err.h"

typedef struct SBuf {
    char *s;         /* NUL-terminated once anything was added; NULL before */
    size_t n, cap;
} SBuf;

static inline void sbuf_reserve(SBuf *b, size_t extra) {
    if (b->n + extra + 1 > b->cap) {
        b->cap = (b->n + extra + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
}
static inline void sbuf_addn(SBuf *b, const char *s, size_t n) {
    sbuf_reserve(b, n);
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}
static inline void sbuf_add(SBuf *b, const char *s) { sbuf_addn(b, s, strlen(s)); }
static inline void sbuf_addc(SBuf *b, char c) { sbuf_addn(b, &c, 1); }
static inline void sbuf_printf(SBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void sbuf_printf(SBuf *b, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k > 0) {
        sbuf_reserve(b, (size_t)k);
        vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap2);
        b->n += (size_t)k;
    }
    va_end(ap2);
}
/* Returns the string (an empty malloc'd one if nothing was added) and leaves b empty. */
static inline char *sbuf_take(SBuf *b) {
    char *s = b->s ? b->s : xstrdup("");
    b->s = NULL;
    b->n = b->cap = 0;
    return s;
}

#endif
