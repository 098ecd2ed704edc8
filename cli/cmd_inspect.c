/* cmd_inspect.c - `pure inspect FILE.h5 [DATASET]`: options, then
 * storage/inspect_tree.c prints the tree or one dataset (nothing at all when
 * the file cannot be read whole: the error goes to stderr, exit 2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "storage/inspect.h"

static const char *USAGE =
    "usage: pure inspect [--json] [--all] [--head N] FILE.h5 [DATASET]\n"
    "\n"
    "Without DATASET: every group and dataset with dtype, shape, attributes and\n"
    "statistics (min, max, mean, std, NaN and Inf counts; ragged groups as rows x\n"
    "lengths). With DATASET (a dataset, a ragged group or a string dataset): also\n"
    "its values, the first N (--head, default 10) or all of them (--all).\n"
    "  --json   one JSON object on stdout instead of text (always valid UTF-8:\n"
    "           bytes that are not are replaced by U+FFFD)\n"
    "Soft and external links are listed, never followed. A file that cannot be\n"
    "read whole (damaged, or beyond the reader's limits) prints nothing on stdout.\n"
    "Exit codes: 0 ok, 2 bad usage, missing or damaged file or dataset.\n";

int cmd_inspect(int argc, char **argv) {
    InspectOpts o = {0, 10};
    const char *file = NULL, *dataset = NULL;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(USAGE, stdout);
            return PURE_EXIT_OK;
        } else if (!strcmp(s, "--json")) o.json = 1;
        else if (!strcmp(s, "--all")) o.head = -1;
        else if (!strcmp(s, "--head") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 0) {
                fprintf(stderr, "pure inspect: --head wants a count >= 0, got '%s'\n", argv[i]);
                return PURE_EXIT_USAGE;
            }
            o.head = v;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "pure inspect: unknown option '%s'\n%s", s, USAGE);
            return PURE_EXIT_USAGE;
        } else if (!file) file = s;
        else if (!dataset) dataset = s;
        else {
            fprintf(stderr, "pure inspect: unexpected argument '%s'\n%s", s, USAGE);
            return PURE_EXIT_USAGE;
        }
    }
    if (!file) {
        fprintf(stderr, "pure inspect: no file given\n%s", USAGE);
        return PURE_EXIT_USAGE;
    }
    PureErr err = {0};
    Artifact *a = artifact_open(file, &err);
    if (!a) {
        fprintf(stderr, "pure inspect: %s\n", err.msg);
        return PURE_EXIT_USAGE;
    }
    int rc;
    if (dataset) {
        if (!artifact_has(a, dataset)) rc = err_set(&err, "%s: no dataset '%s'", file, dataset);
        else rc = inspect_object(a, dataset, &o, stdout, &err);
    } else rc = inspect_file(a, &o, stdout, &err);
    fflush(stdout);
    artifact_close(a, NULL);
    if (rc) {
        fprintf(stderr, "pure inspect: %s\n", err.msg);
        return PURE_EXIT_USAGE;
    }
    return PURE_EXIT_OK;
}
