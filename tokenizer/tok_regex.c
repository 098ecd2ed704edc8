/* tok_regex.c - Split patterns of tokenizer.json, compiled with PCRE2.
 *
 * Hugging Face runs these patterns with Oniguruma, whose \s is Unicode
 * White_Space. PCRE2's \s (UCP) leaves out U+0085, so \s and \S are rewritten
 * into explicit classes here; \p{L}, \p{N}, look-ahead and (?i:...) need no
 * change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tok_internal.h"

#define WS_RANGES "\\x{9}-\\x{D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

int tok_is_whitespace(uint32_t cp) {
    return (cp >= 0x9 && cp <= 0xD) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

typedef struct Str {
    char *s;
    size_t n, cap;
} Str;

static void str_add(Str *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static char *translate(const char *p) {
    Str o = {0};
    int in_class = 0;
    str_add(&o, "", 0);
    for (size_t i = 0; p[i]; i++) {
        char c = p[i];
        if (c == '\\' && p[i + 1]) {
            char e = p[++i];
            if (e == 's') str_add(&o, in_class ? WS_RANGES : "[" WS_RANGES "]", strlen(in_class ? WS_RANGES : "[" WS_RANGES "]"));
            else if (e == 'S' && !in_class) str_add(&o, "[^" WS_RANGES "]", strlen("[^" WS_RANGES "]"));
            else {
                char esc[2] = {'\\', e};
                str_add(&o, esc, 2);
            }
            continue;
        }
        if (!in_class && c == '[') {
            in_class = 1;
            str_add(&o, "[", 1);
            /* a ']' right after '[' or '[^' is a literal */
            if (p[i + 1] == '^') { str_add(&o, "^", 1); i++; }
            if (p[i + 1] == ']') { str_add(&o, "\\]", 2); i++; }
            continue;
        }
        if (in_class && c == '[' && p[i + 1] == ':') {  /* POSIX class [:name:] */
            const char *end = strstr(p + i + 2, ":]");
            if (end) {
                str_add(&o, p + i, (size_t)(end + 2 - (p + i)));
                i = (size_t)(end + 1 - p);
                continue;
            }
        }
        if (in_class && c == ']') in_class = 0;
        str_add(&o, &c, 1);
    }
    return o.s;
}

/* A String pattern matches literally: escape every ASCII punctuation byte. */
static char *escape_literal(const char *p) {
    Str o = {0};
    str_add(&o, "", 0);
    for (size_t i = 0; p[i]; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            char hex[16];
            int k = snprintf(hex, sizeof hex, "\\x{%X}", c);
            str_add(&o, hex, (size_t)k);
        } else {
            str_add(&o, (const char *)&c, 1);
        }
    }
    return o.s;
}

pcre2_code *tok_regex_compile(const char *pattern, int literal, const char *what, PureErr *err) {
    char *pat = literal ? escape_literal(pattern) : translate(pattern);
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &code, &off, NULL);
    free(pat);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        err_set(err, "%s: cannot compile the pattern '%s': %s", what, pattern, (char *)msg);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);  /* falls back to the interpreter if JIT is unavailable */
    return re;
}
