/* STUB: replaced by the module owner. */
#include <stdio.h>
#include "runner/commands.h"
int cmd_credit(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pure credit: not implemented yet\n"); return 1; }
