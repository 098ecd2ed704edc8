/* verify_extract.c - the final answer of a response: the content of its last \boxed{...} or \fbox{...}. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "verifier/verify.h"
#include "util/err.h"

/* Content of the box whose command ends at p (just after "\boxed"); NULL if it is malformed. */
static char *box_content(const char *p) {
    while (*p == ' ') p++;
    if (*p == '{') {
        int depth = 0;
        for (const char *q = p; *q; q++) {
            if (*q == '\\' && q[1]) { q++; continue; } /* \{ and \} do not count as braces */
            if (*q == '{') depth++;
            else if (*q == '}' && --depth == 0) {
                size_t n = (size_t)(q - p - 1);
                char *s = xmalloc(n + 1);
                memcpy(s, p + 1, n);
                s[n] = 0;
                return s;
            }
        }
        return NULL; /* unbalanced: a truncated response */
    }
    /* "\boxed 5": one token up to a space, '$' or the end */
    const char *q = p;
    while (*q && *q != '$' && !isspace((unsigned char)*q)) q++;
    if (q == p) return NULL;
    size_t n = (size_t)(q - p);
    char *s = xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

char *verify_extract(const char *response) {
    if (!response) return NULL;
    char *best = NULL;
    static const char *const cmds[] = {"\\boxed", "\\fbox"};
    for (const char *p = response; (p = strchr(p, '\\')) != NULL; p++) {
        for (int c = 0; c < 2; c++) {
            size_t k = strlen(cmds[c]);
            if (strncmp(p, cmds[c], k) != 0 || isalpha((unsigned char)p[k])) continue;
            char *s = box_content(p + k);
            if (s) { /* scanning forward: a later box replaces an earlier one */
                free(best);
                best = s;
            }
        }
    }
    return best;
}
