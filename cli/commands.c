/* commands.c - the command table of `pure` and its dispatch.
 *
 * To add a subcommand: write cli/cmd_<name>.c with `int cmd_<name>(int argc,
 * char **argv)` (argv[0] = the subcommand), declare it in cli/commands.h and
 * add a row below. Front ends parse options and print; the work lives in the
 * libraries below cli/ (docs/architecture.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "model/model.h"
#include "util/dist.h"
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

/* Threads per process: PURE_THREADS, else the cores shared by the ranks on this node. */
static int threads_setup(void) {
    const char *t = getenv("PURE_THREADS");
    if (t && *t) {
        char *end;
        long n = strtol(t, &end, 10);
        if (*end || n < 1 || n > 1024) {
            fprintf(stderr, "pure: PURE_THREADS='%s': expected a thread count from 1 to 1024\n", t);
            return -1;
        }
        model_set_threads((int)n);
    } else if (dist_local_size() > 1) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        int n = (int)(cores / dist_local_size());
        model_set_threads(n > 0 ? n : 1);
    }
    /* PURE_BF16_KERNEL: a slower bf16 kernel than the CPU's best, for comparisons (docs/performance.md) */
    const char *k = getenv("PURE_BF16_KERNEL");
    if (k && *k) {
        PureErr err;
        err_clear(&err);
        if (model_set_bf16_kernel(k, &err)) {
            fprintf(stderr, "pure: PURE_BF16_KERNEL: %s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

static int dispatch(int argc, char **argv);

int cli_main(int argc, char **argv, const CliConfig *cfg) {
    config = cfg;
    model_runtime_init(argc, argv); /* may re-exec once so OpenBLAS loads its fast kernels */
    PureErr err;
    err_clear(&err);
    if (dist_init(&argc, &argv, &err)) {
        fprintf(stderr, "pure: %s\n", err.msg);
        return PURE_EXIT_USAGE;
    }
    int rc;
    if (dist_size() > 1 && (argc < 2 || strcmp(argv[1], "run"))) {
        /* only `pure run` shares its work; anything else would run N times over the same files */
        if (dist_rank() == 0)
            fprintf(stderr, "pure: %d processes started `pure %s`: only `pure run` runs over several processes "
                            "(start other commands without mpirun/srun)\n", dist_size(), argc > 1 ? argv[1] : "");
        rc = PURE_EXIT_USAGE;
    } else rc = threads_setup() ? PURE_EXIT_USAGE : dispatch(argc, argv);
    dist_finalize();
    return rc;
}

static int dispatch(int argc, char **argv) {
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
