/* cmd_grade.c - `pure grade`: grades JSONL pairs from stdin with the verify stage's own verifier.
 * In:  {"response": "...", "reference": "..."} per line.
 * Out: {"extracted": "..."|null, "correct": true|false} per line, in order.
 *
 * Strings are byte strings with a length: "\u0000" in a response is a NUL byte that the grader sees (cJSON
 * would cut the string there, so the two fields are decoded here from the line cJSON validated), and an
 * extracted answer that holds one is printed back as "\u0000" (docs/verifier.md, "NUL bytes"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cli/commands.h"
#include "util/sbuf.h"
#include "verifier/verify.h"
#include "util/err.h"

static const char usage[] =
    "usage: pure grade < pairs.jsonl\n"
    "  reads {\"response\": \"...\", \"reference\": \"...\"} per line and prints\n"
    "  {\"extracted\": \"...\", \"correct\": true|false} per line (docs/verifier.md)\n";

/* ---- the line's own bytes (already validated by cJSON, so the walk can be simple) ---- */

/* JSON white space as cJSON skips it: every byte up to ' '. */
static size_t skip_ws(const char *s, size_t n, size_t i) {
    while (i < n && (unsigned char)s[i] <= ' ') i++;
    return i;
}

static unsigned hex4(const char *s, size_t n, size_t i) {
    unsigned v = 0;
    for (size_t k = i; k < i + 4; k++) {
        char c = k < n ? s[k] : '0';
        v = v * 16 + (unsigned)(c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 0);
    }
    return v;
}

static void add_utf8(SBuf *b, unsigned cp) {
    char u[4];
    size_t k;
    if (cp < 0x80) u[0] = (char)cp, k = 1;
    else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), k = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)), k = 3;
    else
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F)), u[2] = (char)(0x80 | (cp >> 6 & 0x3F)),
        u[3] = (char)(0x80 | (cp & 0x3F)), k = 4;
    sbuf_addn(b, u, k);
}

/* The string that starts at s[i] == '"': decoded into *out (when out is not NULL), NUL bytes included.
   Returns the index just past its closing quote. */
static size_t json_string(const char *s, size_t n, size_t i, SBuf *out) {
    for (i++; i < n && s[i] != '"'; i++) {
        if (s[i] != '\\') {
            if (out) sbuf_addc(out, s[i]);
            continue;
        }
        if (++i >= n) break;
        char c = s[i];
        if (c == 'u') {
            unsigned cp = hex4(s, n, i + 1);
            i += 4;
            /* a surrogate pair is one code point (cJSON rejected lone surrogates) */
            if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < n && s[i + 1] == '\\' && s[i + 2] == 'u') {
                unsigned lo = hex4(s, n, i + 3);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            if (out) add_utf8(out, cp);
        } else if (out) { /* \" \\ \/ stand for themselves */
            sbuf_addc(out, c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c);
        }
    }
    return i + 1;
}

/* Index just past the value that starts at s[i]. */
static size_t json_skip(const char *s, size_t n, size_t i) {
    if (i < n && s[i] == '"') return json_string(s, n, i, NULL);
    int depth = 0;
    for (; i < n; i++) {
        if (s[i] == '"') {
            i = json_string(s, n, i, NULL) - 1;
        } else if (s[i] == '{' || s[i] == '[') {
            depth++;
        } else if (s[i] == '}' || s[i] == ']') {
            if (depth == 0) break;
            if (--depth == 0) return i + 1;
        } else if (depth == 0 && (s[i] == ',' || (unsigned char)s[i] <= ' ')) {
            break;
        }
    }
    return i;
}

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Offset of the first "\u" escape in s[0..n) without four hex digits, or n if there is none. cJSON reads
   "\u12zz" as a NUL (it stops at the bad digit and yields 0), which would now reach the grader as a character
   nobody wrote: such a line is not JSON. */
static size_t bad_unicode_escape(const char *s, size_t n) {
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in_string) {
            in_string = s[i] == '"';
        } else if (s[i] == '"') {
            in_string = 0;
        } else if (s[i] == '\\' && i + 1 < n) {
            if (s[++i] != 'u') continue;
            for (size_t k = i + 1; k < i + 5; k++)
                if (k >= n || !is_hex(s[k])) return i - 1;
            i += 4;
        }
    }
    return n;
}

/* The bytes of the object's first member named key (exactly: "response\u0000x" is another name) when it is a
   string: 1 and *out; 0 when there is no such member or it is not a string. */
static int json_member_string(const char *s, size_t n, const char *key, SBuf *out) {
    size_t i = skip_ws(s, n, 0);
    if (n - i >= 3 && memcmp(s + i, "\xEF\xBB\xBF", 3) == 0) i = skip_ws(s, n, i + 3); /* cJSON skips a BOM */
    if (i >= n || s[i] != '{') return 0;
    size_t klen = strlen(key);
    for (i = skip_ws(s, n, i + 1); i < n && s[i] == '"';) {
        SBuf name = {0};
        i = skip_ws(s, n, json_string(s, n, i, &name));
        int match = name.n == klen && memcmp(name.s ? name.s : "", key, klen) == 0;
        free(name.s);
        i = skip_ws(s, n, i + 1); /* the ':' */
        if (match) {
            if (i >= n || s[i] != '"') return 0;
            json_string(s, n, i, out);
            if (!out->s) sbuf_addn(out, "", 0);
            return 1;
        }
        i = skip_ws(s, n, json_skip(s, n, i));
        if (i >= n || s[i] != ',') break;
        i = skip_ws(s, n, i + 1);
    }
    return 0;
}

/* s[0..n) as a JSON string, escaped as cJSON prints strings (and a NUL byte as \u0000). */
static void print_json_string(FILE *out, const char *s, size_t n) {
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f"
                        : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
        if (esc) fputs(esc, out);
        else if (c < 0x20) fprintf(out, "\\u%04x", c);
        else fputc(c, out);
    }
    fputc('"', out);
}

/* Grades one line; 0 ok (output printed to out), -1 with a message on errs. */
static int grade_line(const char *line, size_t len, int lineno, FILE *out, FILE *errs) {
    const char *stop = NULL;
    cJSON *obj = cJSON_ParseWithLengthOpts(line, len, &stop, 0);
    if (!obj) {
        size_t col = stop && stop >= line ? (size_t)(stop - line) + 1 : 1;
        fprintf(errs, "pure grade: <stdin>:%d:%zu: invalid JSON line\n", lineno, col);
        return -1;
    }
    size_t parsed = stop && stop >= line && stop <= line + len ? (size_t)(stop - line) : len;
    size_t bad = bad_unicode_escape(line, parsed);
    if (bad < parsed) {
        fprintf(errs, "pure grade: <stdin>:%d:%zu: invalid JSON line (\\u needs four hex digits)\n", lineno, bad + 1);
        cJSON_Delete(obj);
        return -1;
    }
    SBuf resp = {0}, ref = {0};
    int has_resp = cJSON_IsObject(obj) && json_member_string(line, len, "response", &resp);
    int has_ref = cJSON_IsObject(obj) && json_member_string(line, len, "reference", &ref);
    const cJSON *num = cJSON_GetObjectItemCaseSensitive(obj, "reference");
    if (!has_ref && cJSON_IsNumber(num)) { /* a number reference, in its shortest exact spelling */
        sbuf_printf(&ref, "%.17g", num->valuedouble);
        has_ref = 1;
    }
    const char *missing = !has_resp ? "response" : !has_ref ? "reference" : NULL;
    if (missing) {
        fprintf(errs, "pure grade: <stdin>:%d: missing string field '%s'\n", lineno, missing);
        free(resp.s);
        free(ref.s);
        cJSON_Delete(obj);
        return -1;
    }
    char *extracted = NULL;
    size_t extracted_len = 0;
    int correct = verify_grade_n(resp.s, resp.n, ref.s, ref.n, &extracted, &extracted_len);
    fputs("{\"extracted\":", out);
    if (extracted) print_json_string(out, extracted, extracted_len);
    else fputs("null", out);
    fprintf(out, ",\"correct\":%s}\n", correct ? "true" : "false");
    free(extracted);
    free(resp.s);
    free(ref.s);
    cJSON_Delete(obj);
    return 0;
}

int cmd_grade(int argc, char **argv) {
    if (argc > 1) {
        int help = !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help");
        fputs(usage, help ? stdout : stderr);
        return help ? PURE_EXIT_OK : PURE_EXIT_USAGE;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = PURE_EXIT_OK;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        ssize_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\n' || line[k] == '\r')) k++;
        if (k == len) continue; /* blank lines */
        if (grade_line(line, (size_t)len, lineno, stdout, stderr) < 0) {
            rc = PURE_EXIT_FAIL;
            break;
        }
    }
    free(line);
    fflush(stdout);
    return rc;
}
