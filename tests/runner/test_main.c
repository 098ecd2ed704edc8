/* test_main.c - `pure-test`: the `pure` program plus what only tests need:
 * the test-only stage kinds (test_kinds.c) and the runner's fault-injection
 * hook. PURE_CRASH_AT=POINT:N sends the process SIGKILL the N-th time the
 * runner reaches POINT (run, commit, rename, scratch, done, metrics); used by
 * tests/runner/resume.sh and tests/rl/e2e_smoke.sh to cut runs at every step.
 * Adding a test-only kind is one row in test_kinds.c's `extra`. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"

/* test_kinds.c: the shipped kinds followed by the test-only ones */
const StageKind *const *test_kinds_all(void);

static void crash_at(const char *point) {
    static int count;
    const char *env = getenv("PURE_CRASH_AT");
    if (!env) return;
    size_t n = strlen(point);
    if (strncmp(env, point, n) || env[n] != ':') return;
    if (++count == atoi(env + n + 1)) raise(SIGKILL);
}

int main(int argc, char **argv) {
    CliConfig cfg = {test_kinds_all(), crash_at};
    return cli_main(argc, argv, &cfg);
}
