/* STUB: replaced by the module owner. */
#include <stdio.h>
#include "runner/commands.h"
int cmd_run(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pure run: not implemented yet\n"); return 1; }
int cmd_status(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pure status: not implemented yet\n"); return 1; }
int cmd_validate(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pure validate: not implemented yet\n"); return 1; }
int cmd_dag(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pure dag: not implemented yet\n"); return 1; }
int cmd_stages(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pure stages: not implemented yet\n"); return 1; }
int cmd_gc(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pure gc: not implemented yet\n"); return 1; }
