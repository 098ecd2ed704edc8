/* test_param_defaults.c - holds the stage kinds to the fingerprint rule of runner/plan.c: a parameter at its
 * default stays out of a stage's fingerprint, so a kind that changes a default must bump its version (otherwise
 * results computed under the old default would count as current).
 *
 * tests/runner/param_defaults.tsv records kind, version, parameter and default. For every kind whose version is
 * the recorded one, each recorded parameter must still exist with the same default. A new parameter is allowed
 * (its default must keep the old behaviour: that is the reviewer's part). After bumping a version, regenerate:
 *   build/test_param_defaults --update tests/runner/param_defaults.tsv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "stages/stage.h"
#include "tests/check.h"

static void write_table(FILE *f) {
    for (int i = 0; registry_kinds[i]; i++) {
        const StageKind *k = registry_kinds[i];
        for (const ParamDef *p = k->params; p && p->name; p++)
            fprintf(f, "%s\t%d\t%s\t%s\n", k->kind, k->version, p->name, p->def ? p->def : "(required)");
    }
}

static const ParamDef *find(const StageKind *k, const char *name) {
    for (const ParamDef *p = k->params; p && p->name; p++)
        if (!strcmp(p->name, name)) return p;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--update")) {
        FILE *f = fopen(argv[2], "w");
        if (!f) return 1;
        write_table(f);
        return fclose(f) != 0;
    }
    if (argc > 2) {
        fprintf(stderr, "usage: test_param_defaults [TABLE.tsv] | --update TABLE.tsv\n");
        return 2;
    }
    FILE *f = fopen(argc == 2 ? argv[1] : PURE_SOURCE_DIR "/tests/runner/param_defaults.tsv", "r");
    CHECK(f != NULL);
    if (!f) return check_report("test_param_defaults");
    char line[4096];
    int rows = 0, stale = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *kind = strtok(line, "\t"), *ver = strtok(NULL, "\t"), *name = strtok(NULL, "\t"),
             *def = strtok(NULL, "");
        if (!kind || !ver || !name) continue;
        if (!def) def = "";
        rows++;
        const StageKind *k = stage_kind_find(registry_kinds, kind);
        if (!k || k->version != atoi(ver)) {
            stale++; /* a removed kind or a bumped version: the table wants regenerating, nothing is wrong */
            continue;
        }
        const ParamDef *p = find(k, name);
        const char *now = p ? (p->def ? p->def : "(required)") : NULL;
        if (!now || strcmp(now, def)) {
            fprintf(stderr, "  %s (version %d): parameter '%s' %s%s%s; bump the kind's version (results under the "
                    "old default would count as current) and regenerate the table\n", kind, k->version, name,
                    now ? "default changed from " : "was removed", now ? def : "", now ? " to " : "");
            if (now) fprintf(stderr, "    now: %s\n", now);
        }
        CHECK(now && !strcmp(now, def));
    }
    fclose(f);
    CHECK(rows > 50);
    if (stale) printf("test_param_defaults: %d rows of bumped or removed kinds (regenerate with --update)\n", stale);
    return check_report("test_param_defaults");
}
