/* steps.c - the step splitter shared by every stage that counts reasoning steps (see steps.h). */
#include <stdlib.h>
#include "stages/common/steps.h"
#include "util/err.h"

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static int has_content(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_space(s[i])) return 1;
    return 0;
}

int steps_split(const char *text, size_t len, size_t **ends, size_t **starts) {
    size_t cap = 8, n = 0, pos = 0;
    size_t *e = xmalloc(cap * sizeof *e);
    for (size_t i = 0; i < len;) {
        if (text[i] == '\n' && i + 1 < len && text[i + 1] == '\n') {
            size_t j = i;
            while (j < len && text[j] == '\n') j++;
            /* a delimiter right after whitespace only would make an empty step: it joins the next one */
            if (has_content(text + pos, i - pos)) {
                if (n == cap) e = xrealloc(e, (cap *= 2) * sizeof *e);
                e[n++] = j;
                pos = j;
            }
            i = j;
        } else {
            i++;
        }
    }
    if (has_content(text + pos, len - pos)) {
        if (n == cap) e = xrealloc(e, (cap *= 2) * sizeof *e);
        e[n++] = len;
    } else if (n > 0) {
        e[n - 1] = len; /* trailing whitespace belongs to the last step */
    }
    if (n == 0) {
        free(e);
        e = NULL;
    }
    if (starts) {
        size_t *s = NULL;
        if (n) {
            s = xmalloc(n * sizeof *s);
            for (size_t k = 0; k < n; k++) s[k] = k ? e[k - 1] : 0;
        }
        *starts = s;
    }
    *ends = e;
    return (int)n;
}
