/* cmd_show.c - `pure show rollouts RUN_DIR`: options, then report/rollview.c
 * reads one iteration's stored artifacts and prints them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/cmd_util.h"
#include "report/rollview.h"
#include "report/runset.h"

static const char *USAGE =
    "usage: pure show rollouts RUN_DIR [--iteration N] [--sort advantage|reward|length]\n"
    "                 [--filter wrong|flagged] [--limit K] [--stage CREDIT_STAGE] [--plan FILE]\n"
    "                 [--variant NAME [--seed S]] [--color | --no-color]\n"
    "\n"
    "One iteration's rollouts as the run stored them: each response's prompt, its steps\n"
    "with their process reward (the lowest marked '<- min'), the return and advantage at\n"
    "each step's first token, and the verifiable result. Read from the artifacts the\n"
    "credit stage run read; nothing is recomputed.\n"
    "  --iteration N  loop iteration (default: the last one with a committed credit stage)\n"
    "  --sort KEY     advantage (first-token advantage), reward (first-token return) or\n"
    "                 length, highest first (default: stored order)\n"
    "  --filter F     wrong: the verifier rejected the answer; flagged: wrong but reinforced\n"
    "                 (positive advantage), or a step repeated verbatim\n"
    "  --limit K      show at most K responses\n"
    "  --stage NAME   the credit stage, when the pipeline has several\n"
    "  --plan FILE    the plan file naming the run's stage runs (default RUN_DIR/plan.json,\n"
    "                 else the newest commit of each stage)\n"
    "  --variant NAME --seed S   in a sweep's directory: which run (default: the variant's first seed)\n"
    "  --color        colour even when stdout is not a terminal; --no-color never (NO_COLOR\n"
    "                 in the environment also turns it off)\n"
    "Exit codes: 0 ok, 2 bad usage or a missing run, iteration, stage or dataset.\n";

static int pick(const char *opt, const char *val, const char *const *names, int *out) {
    for (int i = 0; names[i]; i++)
        if (!strcmp(val, names[i])) {
            *out = i;
            return 0;
        }
    fprintf(stderr, "pure show: %s: expected one of", opt);
    for (int i = 0; names[i]; i++) fprintf(stderr, "%s%s", i ? "|" : " ", names[i]);
    fprintf(stderr, ", got '%s'\n", val);
    return -1;
}

int cmd_show(int argc, char **argv) {
    static const char *const sorts[] = {"none", "advantage", "reward", "length", NULL};
    static const char *const filters[] = {"none", "wrong", "flagged", NULL};
    const char *what = NULL, *dir = NULL, *stage = NULL, *plan = NULL, *variant = NULL, *v;
    long long seed = -1;
    int sort = RV_SORT_NONE, filter = RV_FILTER_NONE, color = -1;
    long long iter = -1, limit = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(USAGE, stdout);
            return PURE_EXIT_OK;
        } else if (!strcmp(s, "--color")) color = 1;
        else if (!strcmp(s, "--no-color")) color = 0;
        else if (!strcmp(s, "--iteration") || !strcmp(s, "--sort") || !strcmp(s, "--filter") || !strcmp(s, "--limit") ||
                 !strcmp(s, "--stage") || !strcmp(s, "--plan") || !strcmp(s, "--variant") || !strcmp(s, "--seed")) {
            if (!(v = cmd_value(argc, argv, &i))) return PURE_EXIT_USAGE;
            int bad = 0, is_iter = !strcmp(s, "--iteration");
            if (!strcmp(s, "--seed")) {
                if (cmd_int(s, v, &seed)) return PURE_EXIT_USAGE;
            } else if (!strcmp(s, "--variant")) variant = v;
            else if (is_iter || !strcmp(s, "--limit")) {
                long long *dst = is_iter ? &iter : &limit;
                if (cmd_int(s, v, dst)) return PURE_EXIT_USAGE;
                if (*dst < !is_iter) {
                    fprintf(stderr, "pure show: %s wants a number >= %d, got %s\n", s, !is_iter, v);
                    return PURE_EXIT_USAGE;
                }
            } else if (!strcmp(s, "--sort")) bad = pick(s, v, sorts, &sort);
            else if (!strcmp(s, "--filter")) bad = pick(s, v, filters, &filter);
            else if (!strcmp(s, "--stage")) stage = v;
            else plan = v;
            if (bad) return PURE_EXIT_USAGE;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "pure show: unknown option '%s'\n\n%s", s, USAGE);
            return PURE_EXIT_USAGE;
        } else if (!what) what = s;
        else if (!dir) dir = s;
        else {
            fprintf(stderr, "pure show: unexpected argument '%s'\n\n%s", s, USAGE);
            return PURE_EXIT_USAGE;
        }
    }
    if (!what || strcmp(what, "rollouts")) {
        fprintf(stderr, "pure show: %s%s%s\n\n%s", what ? "unknown view '" : "what to show? (rollouts)",
                what ? what : "", what ? "' (expected: rollouts)" : "", USAGE);
        return PURE_EXIT_USAGE;
    }
    if (!dir) {
        fprintf(stderr, "pure show rollouts: missing RUN_DIR\n\n%s", USAGE);
        return PURE_EXIT_USAGE;
    }
    if (color < 0) {
        const char *nc = getenv("NO_COLOR");
        color = isatty(1) && !(nc && *nc);
    }
    PureErr err;
    err_clear(&err);
    RunView rv;
    RollView view;
    char *sweep_plan = plan ? NULL : runset_sweep_plan(dir, variant, seed, &err);
    if (err.set) {
        fprintf(stderr, "pure show: %s\n", err.msg);
        return PURE_EXIT_USAGE;
    }
    if (!sweep_plan && variant) {
        fprintf(stderr, "pure show: --variant: %s is not a sweep's run directory (no sweep.json)\n", dir);
        return PURE_EXIT_USAGE;
    }
    if (sweep_plan) plan = sweep_plan;
    int orc = runview_open(dir, plan, &rv, &err);
    free(sweep_plan);
    if (orc) {
        fprintf(stderr, "pure show: %s\n", err.msg);
        return PURE_EXIT_USAGE;
    }
    if (rollview_load(&rv, (int)iter, stage, &view, &err)) {
        fprintf(stderr, "pure show: %s\n", err.msg);
        runview_free(&rv);
        return PURE_EXIT_USAGE;
    }
    int *idx, matched;
    int n = rollview_select(&view, (RvSort)sort, (RvFilter)filter, (int)limit, &idx, &matched);
    if (filter == RV_FILTER_WRONG && !view.has_verify)
        fprintf(stderr, "pure show: iteration %d has no verifiable result (no verify stage graded these rollouts): "
                        "--filter wrong matches nothing\n", view.iteration);
    rollview_print(stdout, &view, idx, n, matched, color);
    free(idx);
    rollview_free(&view);
    runview_free(&rv);
    return PURE_EXIT_OK;
}
