/* suggest.c - "did you mean" for unknown keys, kinds, stages and ports (edit distance). */
#include <stdio.h>
#include <string.h>

#include "runner/spec.h"

/* Levenshtein distance, case-sensitive, on the first 63 bytes of each word. */
static int distance(const char *a, const char *b) {
    int na = (int)strlen(a), nb = (int)strlen(b);
    if (na > 63) na = 63;
    if (nb > 63) nb = 63;
    int prev[64], cur[64];
    for (int j = 0; j <= nb; j++) prev[j] = j;
    for (int i = 1; i <= na; i++) {
        cur[0] = i;
        for (int j = 1; j <= nb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (size_t)(nb + 1));
    }
    return prev[nb];
}

const char *suggest_closest(const char *word, const char *const *cands) {
    const char *best = NULL;
    int best_d = 1 << 30;
    int len = (int)strlen(word);
    /* allow about one edit in three characters, at least two */
    int limit = len / 3 > 2 ? len / 3 : 2;
    for (int i = 0; cands && cands[i]; i++) {
        int d = distance(word, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best && best_d <= limit && best_d < len ? best : NULL;
}

const char *suggest_hint(const char *word, const char *const *cands, char *buf, size_t cap) {
    const char *s = suggest_closest(word, cands);
    if (s) snprintf(buf, cap, " (did you mean '%s'?)", s);
    else buf[0] = '\0';
    return buf;
}
