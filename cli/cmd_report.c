/* cmd_report.c - `pure report RUN_DIR... -o report.html`: options, then
 * report/report.c writes the self-contained HTML page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_util.h"
#include "cli/commands.h"
#include "report/report.h"

static const char *USAGE =
    "usage: pure report RUN_DIR|NAME=RUN_DIR|SWEEP_DIR... -o REPORT.html [--title TEXT]\n"
    "                   [--rollout-iterations K]\n"
    "\n"
    "Writes one self-contained HTML file (inline SVG and CSS, no network, readable offline):\n"
    "the final evaluation per variant, curves over iterations of every metric the runs have\n"
    "(variants overlaid, the spread across seeds shaded, monitor warnings marked), sampled,\n"
    "best, worst and flagged rollouts with their step rewards and credit, and each run's\n"
    "resolved spec and provenance. Runs are grouped into variants as by `pure compare`.\n"
    "  -o FILE                the HTML file to write (required)\n"
    "  --title TEXT           the page title (default: pure report)\n"
    "  --rollout-iterations K iterations shown in the rollout view per variant (default 12)\n"
    "Exit codes: 0 written, 1 the file could not be written, 2 bad usage or a missing run.\n";

int cmd_report(int argc, char **argv) {
    const char *out = NULL;
    ReportOpts o = {NULL, 12};
    RunSet set = {0};
    PureErr err;
    err_clear(&err);
    int rc = PURE_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v;
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(USAGE, stdout);
            rc = PURE_EXIT_OK;
            goto done;
        } else if (!strcmp(s, "-o") || !strcmp(s, "--output") || !strcmp(s, "--title") ||
                   !strcmp(s, "--rollout-iterations")) {
            if (!(v = cmd_value(argc, argv, &i))) goto done;
            if (!strcmp(s, "--title")) o.title = v;
            else if (!strcmp(s, "--rollout-iterations")) {
                long long k;
                if (cmd_int(s, v, &k)) goto done;
                if (k < 1 || k > 1000) {
                    fprintf(stderr, "pure report: --rollout-iterations wants 1..1000, got %s\n", v);
                    goto done;
                }
                o.rollout_iterations = (int)k;
            } else out = v;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "pure report: unknown option '%s'\n\n%s", s, USAGE);
            goto done;
        } else if (runset_add(&set, s, &err)) {
            fprintf(stderr, "pure report: %s\n", err.msg);
            goto done;
        }
    }
    if (!out) {
        fprintf(stderr, "pure report: missing -o REPORT.html\n\n%s", USAGE);
        goto done;
    }
    if (set.n == 0) {
        fprintf(stderr, "pure report: no run directories given\n\n%s", USAGE);
        goto done;
    }
    if (report_write(&set, &o, out, &err)) {
        fprintf(stderr, "pure report: %s\n", err.msg);
        rc = PURE_EXIT_FAIL;
    } else {
        fprintf(stderr, "pure report: wrote %s (%d runs, %d variants)\n", out, set.n, set.nvariants);
        rc = PURE_EXIT_OK;
    }
done:
    runset_free(&set);
    return rc;
}
