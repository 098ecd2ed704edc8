/* credit_cli_main.c - `pure credit` as a stand-alone test binary: the same
 * cmd_credit() without linking every module of the `pure` executable. */
#include "cli/commands.h"

int main(int argc, char **argv) { return cmd_credit(argc, argv); }
