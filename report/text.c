/* text.c - escaping stored text for terminals and HTML (see text.h). */
#include "report/text.h"

#include <ctype.h>

int text_utf8_len(const unsigned char *s, size_t n) {
    if (n == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!len || (size_t)len > n) return 0;
    for (int i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    /* overlong forms, surrogates and code points past U+10FFFF */
    if (c == 0xE0 && s[1] < 0xA0) return 0;
    if (c == 0xED && s[1] > 0x9F) return 0;
    if (c == 0xF0 && s[1] < 0x90) return 0;
    if (c == 0xF4 && s[1] > 0x8F) return 0;
    return len;
}

void text_trim(const char **s, size_t *n) {
    if (!*s) return;
    while (*n && isspace((unsigned char)**s)) (*s)++, (*n)--;
    while (*n && isspace((unsigned char)(*s)[*n - 1])) (*n)--;
}

void text_put_terminal(FILE *f, const char *s, size_t n, const char *indent) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (u[i] == '\n') {
            if (indent) fprintf(f, "\n%s", indent);
            else fputs("\\n", f);
            i++;
            continue;
        }
        int l = text_utf8_len(u + i, n - i);
        /* C0 controls, DEL and C1 controls (U+0080..U+009F, which some terminals obey) */
        int ctrl = l == 1 ? (u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f : l == 2 && u[i] == 0xC2 && u[i + 1] < 0xA0;
        if (!l || ctrl) {
            for (int k = 0; k < (l ? l : 1); k++) fprintf(f, "\\x%02x", u[i + k]);
            i += l ? (size_t)l : 1;
            continue;
        }
        fwrite(u + i, 1, (size_t)l, f);
        i += (size_t)l;
    }
}

void text_html(SBuf *b, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        int l = text_utf8_len(u + i, n - i);
        if (!l) {
            sbuf_add(b, "\xEF\xBF\xBD");
            i++;
            continue;
        }
        if (l == 1) {
            unsigned char c = u[i];
            if (c == '&') sbuf_add(b, "&amp;");
            else if (c == '<') sbuf_add(b, "&lt;");
            else if (c == '>') sbuf_add(b, "&gt;");
            else if (c == '"') sbuf_add(b, "&quot;");
            else if (c == '\'') sbuf_add(b, "&#39;");
            else if (c >= 0x20 || c == '\n' || c == '\t') sbuf_addc(b, (char)(c == 0x7f ? '?' : c));
        } else sbuf_addn(b, s + i, (size_t)l);
        i += (size_t)l;
    }
}

void text_json_in_html(SBuf *b, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        int l = text_utf8_len(u + i, n - i);
        if (!l) {
            sbuf_add(b, "\\ufffd");
            i++;
            continue;
        }
        unsigned char c = u[i];
        if (l > 1) sbuf_addn(b, s + i, (size_t)l);
        else if (c == '"' || c == '\\') sbuf_printf(b, "\\%c", c);
        else if (c == '\n') sbuf_add(b, "\\n");
        else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f) sbuf_printf(b, "\\u%04x", c);
        else sbuf_addc(b, (char)c);
        i += (size_t)l;
    }
}
