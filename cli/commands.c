/* commands.c - the command table of `pure` and its dispatch.
 *
 * To add a subcommand: write cli/cmd_<name>.c with `int cmd_<name>(int argc,
 * char **argv)` (argv[0] = the subcommand), declare it in cli/commands.h and
 * add a row below. Front ends parse options and print; the work lives in the
 * libraries below cli/ (docs/architecture.md). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "model/model.h"
#include "util/err.h"

#ifndef PURE_VERSION
#define PURE_VERSION "dev"
#endif

typedef struct Command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *usage;
} Command;

static const Command commands[] = {
    {"run", cmd_run, "run PIPELINE.yaml [--run-dir DIR] [--set k.p=v]... [--force STAGE] [--until STAGE] [--quiet]"},
    {"status", cmd_status, "status PIPELINE.yaml [--run-dir DIR] [--set k.p=v]..."},
    {"validate", cmd_validate, "validate PIPELINE.yaml [--set k.p=v]..."},
    {"dag", cmd_dag, "dag PIPELINE.yaml"},
    {"plan", cmd_plan, "plan PIPELINE.yaml [--set k.p=v]... [--device cpu|cuda] [--gpu NAME] [--gpu-memory GB]"},
    {"stages", cmd_stages, "stages [KIND] [--markdown | --artifacts]"},
    {"inspect", cmd_inspect, "inspect FILE.h5 [DATASET]"},
    {"gc", cmd_gc, "gc [--run-dir DIR]"},
    {"credit", cmd_credit, "credit [--rule RULE|FILE.lua] [options] < batch.json > result.json"},
    {"tokenize", cmd_tokenize, "tokenize --tokenizer FILE [--decode] [--special] < text"},
    {"generate", cmd_generate, "generate --model DIR [--prompt TEXT | --prompts FILE.jsonl] [options]"},
    {"score", cmd_score, "score --model DIR --input FILE.jsonl --output FILE.h5"},
    {"grade", cmd_grade, "grade < pairs.jsonl"},
    {"show", cmd_show, "show rollouts RUN_DIR [--iteration N] [--sort advantage|reward|length] [--filter wrong|flagged]"},
    {"compare", cmd_compare, "compare RUN_DIR... [--metrics M,...] [--baseline NAME] [--json | --csv]"},
    {"report", cmd_report, "report RUN_DIR... -o REPORT.html [--title TEXT]"},
    {NULL, NULL, NULL},
};

static const CliConfig *config;

const CliConfig *cli_config(void) { return config; }

static void usage(FILE *f) {
    fprintf(f, "pure %s - process-supervised RL pipelines\n\nusage:\n", PURE_VERSION);
    for (const Command *c = commands; c->name; c++) fprintf(f, "  pure %s\n", c->usage);
    fprintf(f, "\n`pure COMMAND --help` for details. Exit codes: 0 ok, 1 a stage failed, 2 bad usage or spec.\n");
}

int cli_main(int argc, char **argv, const CliConfig *cfg) {
    config = cfg;
    model_runtime_init(argc, argv); /* may re-exec once so OpenBLAS loads its fast kernels */
    if (argc < 2) {
        usage(stderr);
        return PURE_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return PURE_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("pure %s\n", PURE_VERSION);
        return PURE_EXIT_OK;
    }
    for (const Command *c = commands; c->name; c++)
        if (!strcmp(argv[1], c->name)) return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "pure: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return PURE_EXIT_USAGE;
}
