/* STUB: replaced by the module owner. */
#include <stdio.h>
#include "runner/commands.h"
int cmd_generate(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pure generate: not implemented yet\n"); return 1; }
int cmd_score(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pure score: not implemented yet\n"); return 1; }
