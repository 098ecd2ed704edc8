/* tok_utf8.c - UTF-8 well-formedness (Unicode Table 3-7), incomplete tails for
 * streaming, and lossy conversion with U+FFFD per maximal ill-formed subpart. */
#include <string.h>
#include "tok_internal.h"

/* Allowed range of the second byte for each lead byte; 0 = not a lead. */
static int lead_info(unsigned char c, unsigned char *lo, unsigned char *hi) {
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c == 0xE0) { *lo = 0xA0; return 3; }
    if (c >= 0xE1 && c <= 0xEC) return 3;
    if (c == 0xED) { *hi = 0x9F; return 3; }  /* no surrogates */
    if (c >= 0xEE && c <= 0xEF) return 3;
    if (c == 0xF0) { *lo = 0x90; return 4; }
    if (c >= 0xF1 && c <= 0xF3) return 4;
    if (c == 0xF4) { *hi = 0x8F; return 4; }  /* <= U+10FFFF */
    return 0;
}

/* Number of bytes of s that are a valid prefix of a sequence (1 = just the lead). */
static int valid_prefix(const unsigned char *s, size_t n, int *need) {
    unsigned char lo, hi;
    int len = lead_info(s[0], &lo, &hi);
    *need = len;
    if (len == 0) return 0;
    int k = 1;
    if (k < (int)n && k < len) {
        if (s[1] < lo || s[1] > hi) return 1;
        k = 2;
        while (k < (int)n && k < len && (s[k] & 0xC0) == 0x80) k++;
    }
    return k;
}

int utf8_valid_len(const unsigned char *s, size_t n) {
    if (n == 0) return 0;
    if (s[0] < 0x80) return 1;
    int need, k = valid_prefix(s, n, &need);
    return need && k == need ? need : 0;
}

int utf8_incomplete_len(const unsigned char *s, size_t n) {
    if (n == 0 || s[0] < 0x80) return 0;
    int need, k = valid_prefix(s, n, &need);
    return need && k == (int)n && k < need ? k : 0;
}

size_t utf8_lossy(const unsigned char *s, size_t n, char *out) {
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x80) { out[k++] = (char)s[i++]; continue; }
        int need, v = valid_prefix(s + i, n - i, &need);
        if (need && v == need) {
            memcpy(out + k, s + i, (size_t)need);
            k += (size_t)need;
            i += (size_t)need;
        } else {
            memcpy(out + k, "\xEF\xBF\xBD", 3);  /* one U+FFFD for the maximal subpart */
            k += 3;
            i += v ? (size_t)v : 1;
        }
    }
    return k;
}
