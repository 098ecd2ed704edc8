/* STUB: replaced by the module owner. */
#include <stdio.h>
#include "runner/commands.h"
int cmd_inspect(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pure inspect: not implemented yet\n"); return 1; }
