/* commands.h - the program's top: the `pure` subcommands, the command table
 * (commands.c) and the stage-kind registry (registry.c). Each cmd_* takes
 * (argc, argv) with argv[0] = the subcommand name and returns an exit code
 * (PURE_EXIT_*). Nothing below cli/ includes this file. */
#ifndef PURE_COMMANDS_H
#define PURE_COMMANDS_H

#include "stages/stage.h"

/* What a `pure` binary is made of: the shipped program passes the registry
 * and no fault hook; the test build's `pure-test` adds its test-only kinds
 * and a fault-injection hook (tests/runner/test_main.c). */
typedef struct CliConfig {
    const StageKind *const *kinds;     /* NULL-terminated */
    void (*fault)(const char *point);  /* runner fault-injection hook, NULL = none */
} CliConfig;

/* The shipped stage kinds, in the order `pure stages` lists them. */
extern const StageKind *const registry_kinds[];

int cli_main(int argc, char **argv, const CliConfig *cfg);
const CliConfig *cli_config(void);

int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_dag(int argc, char **argv);
int cmd_stages(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_credit(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_grade(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
