/* inspect_run.h - runs `pure inspect` (cmd_inspect) in-process with stdout
 * and stderr captured apart, for the storage tests (header-only). */
#ifndef PURE_TEST_INSPECT_RUN_H
#define PURE_TEST_INSPECT_RUN_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/commands.h"
#include "util/fs.h"

typedef struct {
    int rc;
    char *out, *err; /* captured stdout and stderr (never NULL) */
    size_t out_len;
} InspectRun;

/* cmd_inspect(argv...) with its output in dir/out.txt and dir/err.txt; argv ends with NULL. */
static inline InspectRun inspect_run(const char *dir, const char *const *args) {
    char *argv[16] = {"inspect"};
    int argc = 1;
    for (int i = 0; args[i] && argc < 15; i++) argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    char po[512], pe[512];
    snprintf(po, sizeof po, "%s/out.txt", dir);
    snprintf(pe, sizeof pe, "%s/err.txt", dir);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    InspectRun r;
    r.rc = cmd_inspect(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    size_t el = 0;
    r.out = fs_read_file(po, &r.out_len, NULL);
    r.err = fs_read_file(pe, &el, NULL);
    if (!r.out) r.out = calloc(1, 1), r.out_len = 0;
    if (!r.err) r.err = calloc(1, 1);
    return r;
}

static inline void inspect_run_free(InspectRun *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

#endif
