/* verify_scan.c - the verifier's work counter and brace table (verify_scan.h). */
#include <stdlib.h>
#include "verifier/verify.h"
#include "verifier/verify_scan.h"
#include "util/err.h"

_Thread_local unsigned long long verify_steps;

unsigned long long verify_work(void) { return verify_steps; }

size_t *verify_brace_ends(const char *s, size_t n) {
    size_t *ends = xcalloc(n + 1, sizeof *ends);
    /* the stack of open braces lives in the same array: ends[open] links to the brace below it (+1) */
    size_t top = 0; /* index of the innermost open brace + 1; 0: none open */
    for (size_t i = 0; i < n; i++) {
        VERIFY_STEP(1);
        if (s[i] == '\\' && i + 1 < n) {
            i++;
        } else if (s[i] == '{') {
            ends[i] = top; /* the link down, replaced by the end once the group closes */
            top = i + 1;
        } else if (s[i] == '}' && top) {
            size_t open = top - 1;
            top = ends[open];
            ends[open] = i + 1;
        }
    }
    while (top) { /* unbalanced: clear the links that are left */
        VERIFY_STEP(1);
        size_t open = top - 1;
        top = ends[open];
        ends[open] = 0;
    }
    return ends;
}
