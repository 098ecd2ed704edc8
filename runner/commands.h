/* commands.h - the `pure` subcommands. Each lives with the module it serves
 * and takes (argc, argv) with argv[0] = the subcommand name; returns an exit
 * code (PURE_EXIT_*). The dispatch table is in runner/main.c. */
#ifndef PURE_COMMANDS_H
#define PURE_COMMANDS_H

int cmd_run(int argc, char **argv);       /* runner/ */
int cmd_status(int argc, char **argv);    /* runner/ */
int cmd_validate(int argc, char **argv);  /* runner/ */
int cmd_dag(int argc, char **argv);       /* runner/ */
int cmd_stages(int argc, char **argv);    /* runner/ */
int cmd_gc(int argc, char **argv);        /* runner/ */
int cmd_inspect(int argc, char **argv);   /* storage/ */
int cmd_credit(int argc, char **argv);    /* stages/credit/ */
int cmd_tokenize(int argc, char **argv);  /* tokenizer/ */
int cmd_generate(int argc, char **argv);  /* model/ */
int cmd_score(int argc, char **argv);     /* model/ */
int cmd_grade(int argc, char **argv);     /* stages/verify/ */

#endif
