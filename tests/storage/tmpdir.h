/* tmpdir.h - a fresh temporary directory for a storage test (header-only). */
#ifndef PURE_TEST_TMPDIR_H
#define PURE_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static inline int tmpdir_make(char *buf, size_t n, const char *tag) {
    const char *base = getenv("TMPDIR");
    snprintf(buf, n, "%s/pure-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(buf)) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

#endif
