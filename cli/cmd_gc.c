/* cmd_gc.c - `pure gc`: delete committed artifacts, interrupted outputs and
 * scratch directories that the current spec does not reference. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "runner/rundir.h"
#include "runner/sweep.h"
#include "util/fs.h"

static const char *help =
    "usage: pure gc [PIPELINE.yaml] [--run-dir DIR] [--set key.path=value]... [--dry-run]\n"
    "\n"
    "Removes every artifact in the run directory that the spec does not reference\n"
    "(results of old parameters, iterations no longer planned, interrupted outputs,\n"
    "scratch). The spec is PIPELINE.yaml when given, else the run directory's\n"
    "spec.yaml (the resolved spec of its last run). Default run directory:\n"
    "runs/<pipeline file stem>. Takes the run lock. --dry-run only lists.\n";

typedef struct Gc {
    cJSON *keep; /* "stages/NAME[/ITER]/FP16" -> true */
    int dry;
    long files;
    double bytes;
} Gc;

static int is_artifact_dir(const char *name) {
    size_t n = strspn(name, "0123456789abcdef");
    return n == 16 && (!name[16] || !strcmp(name + 16, ".tmp") || !strcmp(name + 16, ".scratch"));
}

static void du(const char *path, Gc *g) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (!S_ISDIR(st.st_mode)) {
        g->bytes += (double)st.st_size;
        return;
    }
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *c = fs_join(path, e->d_name);
        du(c, g);
        free(c);
    }
    if (d) closedir(d);
}

/* Walks RUN/stages; returns 1 when `path` is left empty (and may be removed). */
static int sweep(const char *root, const char *rel, Gc *g) {
    char *path = fs_join(root, rel);
    DIR *d = opendir(path);
    int left = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *crel = fs_join(rel, e->d_name), *cpath = fs_join(root, crel);
        if (is_artifact_dir(e->d_name)) {
            char key[4096];
            snprintf(key, sizeof key, "%s/%.16s", rel, e->d_name);
            int keep = !e->d_name[16] && cJSON_GetObjectItemCaseSensitive(g->keep, key);
            if (keep) {
                left++;
            } else {
                du(cpath, g);
                g->files++;
                printf("%s %s\n", g->dry ? "would remove" : "removed", crel);
                if (!g->dry) fs_remove_all(cpath, NULL);
                else left++;
            }
        } else if (fs_is_dir(cpath)) {
            if (sweep(root, crel, g) && !g->dry) rmdir(cpath);
            else left++;
        } else if (!strcmp(e->d_name, "latest.json")) {
            /* kept only beside something else: it explains why a result is stale */
        } else {
            left++;
        }
        free(crel);
        free(cpath);
    }
    if (d) closedir(d);
    if (!left && !g->dry) {
        char *latest = fs_join(path, "latest.json");
        remove(latest);
        free(latest);
    }
    free(path);
    return !left;
}

int cmd_gc(int argc, char **argv) {
    CliOpts o;
    int rc = cli_parse(argc, argv, "run-dir set dry-run", 0, help, &o);
    if (rc) return rc > 0 ? PURE_EXIT_OK : PURE_EXIT_USAGE;
    char *saved;
    if (cli_spec_or_saved(&o, "gc", help, &saved)) return PURE_EXIT_USAGE;
    char *root = cli_run_dir(&o);
    Spec *s;
    Plan *p = cli_load(&o, &s);
    if (!p) {
        free(saved);
        free(root);
        return PURE_EXIT_USAGE;
    }
    Gc g = {.keep = cJSON_CreateObject(), .dry = o.dry_run};
    for (int i = 0; i < p->n; i++) {
        char key[4096];
        snprintf(key, sizeof key, "%s/%.16s", p->insts[i].dir, p->insts[i].fp);
        cJSON_AddTrueToObject(g.keep, key);
    }
    PureErr err;
    err_clear(&err);
    int fd = -1, code = PURE_EXIT_OK;
    /* a sweep references what every one of its runs plans */
    Sweep *sw = NULL;
    int bad = sweep_load(o.spec, o.sets, o.nsets, &sw, &err);
    for (int k = 0; sw && !bad && k < sw->n; k++) {
        Spec *ks = sweep_spec(sw, k, o.sets, o.nsets, cli_config()->kinds, &err);
        Plan *kp = ks ? plan_build(ks, &err) : NULL;
        bad = !kp;
        for (int i = 0; kp && i < kp->n; i++) {
            char key[4096];
            snprintf(key, sizeof key, "%s/%.16s", kp->insts[i].dir, kp->insts[i].fp);
            if (!cJSON_GetObjectItemCaseSensitive(g.keep, key)) cJSON_AddTrueToObject(g.keep, key);
        }
        plan_free(kp);
        spec_free(ks);
    }
    sweep_free(sw);
    if (bad) {
        fprintf(stderr, "pure gc: %s\n", err.msg);
        code = PURE_EXIT_USAGE;
    } else if (rundir_lock(root, &fd, &err)) {
        fprintf(stderr, "pure gc: %s\n", err.msg);
        code = PURE_EXIT_FAIL;
    } else {
        sweep(root, "stages", &g);
        printf("%s %ld artifact director%s, %.1f MB\n", g.dry ? "would remove" : "removed", g.files,
               g.files == 1 ? "y" : "ies", g.bytes / 1e6);
    }
    rundir_unlock(fd);
    cJSON_Delete(g.keep);
    cli_unload(p, s);
    free(saved);
    free(root);
    return code;
}
