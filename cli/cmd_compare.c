/* cmd_compare.c - `pure compare RUN_DIR...`: options, then report/compare.c
 * builds the table of metrics per variant and prints it as text, JSON or CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_util.h"
#include "cli/commands.h"
#include "report/compare.h"

static const char *USAGE =
    "usage: pure compare RUN_DIR|NAME=RUN_DIR|SWEEP_DIR... [--metrics M,M,...] [--baseline NAME]\n"
    "                    [--json | --csv] [-o FILE]\n"
    "\n"
    "A table of metrics per variant: mean +- sample standard deviation across seeds and the\n"
    "difference of the means against the baseline variant.\n"
    "  RUN_DIR        a run directory; its variant is the directory name without a seed\n"
    "                 suffix (runs/min-seed1 and runs/min-seed2 are two seeds of 'min')\n"
    "  NAME=RUN_DIR   the same with an explicit variant name\n"
    "  SWEEP_DIR      a sweep's run directory (sweep.json): every variant and seed it ran\n"
    "  --metrics M,.. STAGE.KEY from metrics.jsonl (a loop stage: its last iteration;\n"
    "                 STAGE.KEY@N: iteration N). Default: the final eval's accuracy,\n"
    "                 sampled_accuracy, steps, length, repetition and hack_flag\n"
    "  --baseline V   the variant deltas are taken against (default: the sweep's baseline,\n"
    "                 else the first variant)\n"
    "  --json, --csv  machine-readable output (CSV: one row per variant and metric)\n"
    "  -o FILE        write to FILE instead of stdout\n"
    "Exit codes: 0 ok, 2 bad usage, a missing run, an unknown metric or baseline.\n";

int cmd_compare(int argc, char **argv) {
    const char *metrics_arg = NULL, *baseline = NULL, *out_path = NULL;
    int json = 0, csv = 0, rc = PURE_EXIT_USAGE;
    RunSet set = {0};
    PureErr err;
    err_clear(&err);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(USAGE, stdout);
            runset_free(&set);
            return PURE_EXIT_OK;
        } else if (!strcmp(s, "--json")) json = 1;
        else if (!strcmp(s, "--csv")) csv = 1;
        else if (!strcmp(s, "--metrics") || !strcmp(s, "--baseline") || !strcmp(s, "-o")) {
            const char *v = cmd_value(argc, argv, &i);
            if (!v) goto done;
            if (!strcmp(s, "--metrics")) metrics_arg = v;
            else if (!strcmp(s, "--baseline")) baseline = v;
            else out_path = v;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "pure compare: unknown option '%s'\n\n%s", s, USAGE);
            goto done;
        } else if (runset_add(&set, s, &err)) {
            fprintf(stderr, "pure compare: %s\n", err.msg);
            goto done;
        }
    }
    if (json && csv) {
        fprintf(stderr, "pure compare: --json and --csv exclude each other\n");
        goto done;
    }
    if (set.n == 0) {
        fprintf(stderr, "pure compare: no run directories given\n\n%s", USAGE);
        goto done;
    }
    char **metrics = NULL;
    int nm = 0;
    if (metrics_arg) {
        char *copy = xstrdup(metrics_arg), *save = NULL;
        metrics = xcalloc(strlen(metrics_arg) + 1, sizeof *metrics);
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) metrics[nm++] = xstrdup(tok);
        free(copy);
    } else nm = compare_default_metrics(&set, &metrics);
    CmpTable t;
    if (nm == 0) fprintf(stderr, "pure compare: the runs have no final eval metrics; name some with --metrics\n");
    else if (compare_build(&set, (const char *const *)metrics, nm, baseline, &t, &err))
        fprintf(stderr, "pure compare: %s\n", err.msg);
    else {
        FILE *f = out_path ? fopen(out_path, "wb") : stdout;
        if (!f) perror(out_path);
        else {
            if (json) {
                char *s = compare_json(&t);
                fprintf(f, "%s\n", s);
                free(s);
            } else if (csv) compare_csv(f, &t);
            else compare_print(f, &t);
            int bad = out_path ? fclose(f) != 0 : fflush(stdout) != 0;
            if (bad) fprintf(stderr, "pure compare: cannot write %s\n", out_path ? out_path : "stdout");
            rc = bad ? PURE_EXIT_FAIL : PURE_EXIT_OK;
        }
        compare_free(&t);
    }
    for (int m = 0; m < nm; m++) free(metrics[m]);
    free(metrics);
done:
    runset_free(&set);
    return rc;
}
