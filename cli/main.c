/* main.c - the `pure` program: the shipped stage kinds (registry.c) handed
 * to the command table (commands.c). Everything below cli/ is a library. */
#include "cli/commands.h"

int main(int argc, char **argv) {
    CliConfig cfg = {registry_kinds, NULL};
    return cli_main(argc, argv, &cfg);
}
