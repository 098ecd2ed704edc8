/* verify_extract.c - the final answer of a response: the content of its last \boxed{...} or \fbox{...}.
 *
 * One pass: the brace table (verify_scan.h) gives every group's end, so each box is checked in O(1) and only
 * the winner is copied; work is linear in the response (a response of 80,000 unclosed "\boxed{" was
 * quadratic when each box scanned on to the end for its closing brace). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "verifier/verify.h"
#include "verifier/verify_scan.h"
#include "util/err.h"

static char *copy_n(const char *s, size_t n, size_t *len) {
    char *x = xmalloc(n + 1);
    memcpy(x, s, n);
    x[n] = 0;
    if (len) *len = n;
    VERIFY_STEP(n);
    return x;
}

char *verify_extract_n(const char *response, size_t len, size_t *answer_len) {
    if (answer_len) *answer_len = 0;
    if (!response) return NULL;
    static const char *const cmds[] = {"\\boxed", "\\fbox"};
    static const size_t cmd_len[] = {6, 5};
    size_t *ends = verify_brace_ends(response, len);
    size_t best = 0, best_end = 0; /* content [best, best_end) of the last good box so far */
    int found = 0, best_token = 0; /* best_token: "\boxed 5", whose end is found once, for the winner only */
    for (size_t i = 0; i < len; i++) {
        VERIFY_STEP(1);
        if (response[i] != '\\') continue;
        for (int c = 0; c < 2; c++) {
            size_t k = cmd_len[c];
            if (len - i < k || memcmp(response + i, cmds[c], k) != 0) continue;
            if (i + k < len && isalpha((unsigned char)response[i + k])) continue; /* \boxedx is another command */
            size_t p = i + k;
            while (p < len && response[p] == ' ') p++, VERIFY_STEP(1);
            if (p < len && response[p] == '{') {
                if (ends[p]) best = p + 1, best_end = ends[p] - 1, best_token = 0, found = 1; /* unbalanced: truncated, skipped */
            } else if (p < len && response[p] != '$' && !isspace((unsigned char)response[p])) {
                best = p, best_end = p + 1, best_token = 1, found = 1; /* one token up to a space, '$' or the end */
            }
        }
    }
    free(ends);
    if (!found) return NULL;
    if (best_token)
        while (best_end < len && response[best_end] != '$' && !isspace((unsigned char)response[best_end]))
            best_end++, VERIFY_STEP(1);
    return copy_n(response + best, best_end - best, answer_len);
}

char *verify_extract(const char *response) {
    return response ? verify_extract_n(response, strlen(response), NULL) : NULL;
}
