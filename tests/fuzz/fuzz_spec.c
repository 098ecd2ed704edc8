/* fuzz_spec.c - libFuzzer target for the spec loader: YAML (anchors,
 * aliases, nesting), extends, --set, typed parameters, references, the plan,
 * and the resolved spec written and loaded back. The input is a spec file;
 * its lines starting with "#set " are --set arguments. Every input must load
 * or fail with a message, never crash, hang or grow without bound. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "runner/plan.h"
#include "util/fs.h"

static char dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        /* tmpfs: the loader writes and fsyncs files, which costs nothing there */
        snprintf(dir, sizeof dir, "/dev/shm/pure_fuzz_spec_%d", (int)getpid());
        fs_mkdir_p(dir, NULL);
    }
    char path[128], out[128];
    snprintf(path, sizeof path, "%s/p.yaml", dir);
    snprintf(out, sizeof out, "%s/resolved.yaml", dir);
    PureErr err;
    err_clear(&err);
    if (fs_write_atomic(path, (const char *)data, size, &err)) return 0;
    char *text = xmalloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    const char *sets[8];
    int nsets = 0;
    for (char *l = strstr(text, "#set "); l && nsets < 8; l = strstr(l + 1, "#set ")) {
        char *end = strchr(l, '\n');
        if (end) *end = '\0';
        sets[nsets++] = l + 5;
        if (!end) break;
        l = end;
    }
    Spec *s = spec_load(path, sets, nsets, registry_kinds, &err);
    if (!s && !err.set) abort(); /* every failure has a message */
    Plan *p = s ? plan_build(s, &err) : NULL;
    if (p && spec_write_resolved(s, out, &err) == 0) {
        /* the resolved spec must load again and plan the same instances */
        PureErr e2;
        err_clear(&e2);
        Spec *s2 = spec_load(out, NULL, 0, registry_kinds, &e2);
        Plan *p2 = s2 ? plan_build(s2, &e2) : NULL;
        if (!p2 || p2->n != p->n) abort();
        for (int i = 0; i < p->n; i++)
            if (strcmp(p->insts[i].fp, p2->insts[i].fp)) abort();
        plan_free(p2);
        spec_free(s2);
    }
    plan_free(p);
    spec_free(s);
    free(text);
    return 0;
}
