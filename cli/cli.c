/* cli.c - option parsing shared by pure run/status/validate/dag/stages/gc. */
#include "cli/cli.h"
#include "cli/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/sweep.h"
#include "util/fs.h"

static int allowed_opt(const char *allowed, const char *name) {
    size_t n = strlen(name);
    for (const char *p = allowed; (p = strstr(p, name)); p += n)
        if ((p == allowed || p[-1] == ' ') && (p[n] == ' ' || !p[n])) return 1;
    return 0;
}

static int add(const char **list, int *n, const char *v, const char *opt) {
    if (*n >= CLI_MAX_LIST) {
        fprintf(stderr, "pure: too many %s options (at most %d)\n", opt, CLI_MAX_LIST);
        return -1;
    }
    list[(*n)++] = v;
    return 0;
}

int cli_parse(int argc, char **argv, const char *allowed, int need_spec, const char *help, CliOpts *o) {
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(help, stdout);
            return 1;
        }
        if (a[0] != '-' || !a[1]) {
            if (o->spec) {
                fprintf(stderr, "pure %s: unexpected argument '%s' (one file expected)\n\n%s", argv[0], a, help);
                return -1;
            }
            o->spec = a;
            continue;
        }
        const char *name = a[1] == '-' ? a + 2 : a + 1;
        char key[64];
        const char *eq = strchr(name, '=');
        snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - name) : (int)strlen(name), name);
        if (!strcmp(key, "q")) strcpy(key, "quiet");
        if (!allowed_opt(allowed, key)) {
            fprintf(stderr, "pure %s: unknown option '%s'\n\n%s", argv[0], a, help);
            return -1;
        }
        int flag = !strcmp(key, "quiet") || !strcmp(key, "verify") || !strcmp(key, "markdown") || !strcmp(key, "artifacts") ||
                   !strcmp(key, "all") || !strcmp(key, "dry-run") || !strcmp(key, "dot");
        if (flag) {
            if (!strcmp(key, "quiet")) o->quiet = 1;
            if (!strcmp(key, "verify")) o->verify = 1;
            if (!strcmp(key, "markdown")) o->markdown = 1;
            if (!strcmp(key, "artifacts")) o->artifacts = 1;
            if (!strcmp(key, "all")) o->all = 1;
            if (!strcmp(key, "dry-run")) o->dry_run = 1;
            if (!strcmp(key, "dot")) o->dot = 1;
            continue;
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!val) {
            fprintf(stderr, "pure %s: option --%s needs a value\n\n%s", argv[0], key, help);
            return -1;
        }
        if (!strcmp(key, "run-dir")) o->run_dir = val;
        else if (!strcmp(key, "until")) o->until = val;
        else if (!strcmp(key, "set") && add(o->sets, &o->nsets, val, "--set")) return -1;
        else if (!strcmp(key, "force") && add(o->force, &o->nforce, val, "--force")) return -1;
    }
    if (need_spec && !o->spec) {
        fprintf(stderr, "pure %s: missing PIPELINE.yaml\n\n%s", argv[0], help);
        return -1;
    }
    return 0;
}

char *cli_run_dir(const CliOpts *o) {
    if (o->run_dir) return xstrdup(o->run_dir);
    char *stem = fs_stem(o->spec), *dir = fs_join("runs", stem);
    free(stem);
    return dir;
}

int cli_spec_or_saved(CliOpts *o, const char *cmd, const char *help, char **saved) {
    *saved = NULL;
    if (o->spec) return 0;
    if (!o->run_dir) {
        fprintf(stderr, "pure %s: give PIPELINE.yaml or --run-dir DIR\n\n%s", cmd, help);
        return -1;
    }
    *saved = fs_join(o->run_dir, "spec.yaml");
    if (!fs_exists(*saved)) {
        fprintf(stderr, "pure %s: %s has no spec.yaml (not a run directory?)\n", cmd, o->run_dir);
        free(*saved);
        *saved = NULL;
        return -1;
    }
    o->spec = *saved;
    return 0;
}

Plan *cli_load(const CliOpts *o, Spec **spec) {
    PureErr err;
    err_clear(&err);
    *spec = spec_load(o->spec, o->sets, o->nsets, cli_config()->kinds, &err);
    if (!*spec) {
        fprintf(stderr, "pure: %s\n", err.msg);
        return NULL;
    }
    Plan *p = plan_build(*spec, &err);
    if (!p) {
        fprintf(stderr, "pure: %s\n", err.msg);
        spec_free(*spec);
        *spec = NULL;
    }
    return p;
}

void cli_unload(Plan *p, Spec *s) {
    plan_free(p);
    spec_free(s);
}

int cli_sweep(const CliOpts *o, Sweep **sw) {
    PureErr err;
    err_clear(&err);
    if (sweep_load(o->spec, o->sets, o->nsets, sw, &err)) {
        fprintf(stderr, "pure: %s\n", err.msg);
        return -1;
    }
    return 0;
}
