/* tok_fastjson.c - the fast path of loading: model.vocab and model.merges are
 * 95% of a tokenizer.json (300k strings for Qwen), and building a cJSON tree
 * for them costs more than everything else together. This scanner finds the
 * two values in the raw text, reads them straight into flat lists, and blanks
 * them ({} and []) so that cJSON parses only the small rest.
 *
 * It accepts only the plain forms (integer ids, the usual escapes); on
 * anything else it declines and tokenizer_load parses the whole file with
 * cJSON, which also gives the line:column messages for broken files. */
#include <stdlib.h>
#include <string.h>
#include "tok_internal.h"

typedef struct Scan {
    const char *p, *e;
    char *out;       /* unescaped strings, never longer than their source */
    size_t nout;
} Scan;

static void ws(Scan *s) {
    while (s->p < s->e && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t')) s->p++;
}

static int hex4(const char *p, unsigned *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
        if (d > 15) return -1;
        *v = *v * 16 + d;
    }
    return 0;
}

/* Reads a string at s->p (a '"') into s->out; 0 or -1 (decline). */
static int str(Scan *s, TokStr *ts) {
    if (s->p >= s->e || *s->p != '"') return -1;
    s->p++;
    char *o = s->out + s->nout, *start = o;
    while (s->p < s->e && *s->p != '"') {
        unsigned char c = (unsigned char)*s->p;
        if (c < 0x20) return -1;
        if (c != '\\') {
            *o++ = (char)c;
            s->p++;
            continue;
        }
        if (s->e - s->p < 2) return -1;
        char esc = s->p[1];
        s->p += 2;
        switch (esc) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (s->e - s->p < 4 || hex4(s->p, &cp)) return -1;
            s->p += 4;
            if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return -1;
            if (cp >= 0xD800 && cp <= 0xDBFF) {  /* a surrogate pair */
                if (s->e - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' || hex4(s->p + 2, &lo) || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    return -1;
                s->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp < 0x80) *o++ = (char)cp;
            else if (cp < 0x800) { *o++ = (char)(0xC0 | cp >> 6); *o++ = (char)(0x80 | (cp & 0x3F)); }
            else if (cp < 0x10000) {
                *o++ = (char)(0xE0 | cp >> 12);
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (char)(0xF0 | cp >> 18);
                *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: return -1;
        }
    }
    if (s->p >= s->e) return -1;
    s->p++;
    ts->s = start;
    ts->n = (uint32_t)(o - start);
    s->nout += (size_t)(o - start);
    return 0;
}

/* Skips any value (strings need no unescaping here). */
static int skip(Scan *s, int depth) {
    ws(s);
    if (s->p >= s->e || depth > 64) return -1;
    char c = *s->p;
    if (c == '"') {
        for (s->p++; s->p < s->e && *s->p != '"'; s->p++)
            if (*s->p == '\\') s->p++;
        if (s->p >= s->e) return -1;
        s->p++;
        return 0;
    }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        s->p++;
        ws(s);
        if (s->p < s->e && *s->p == close) { s->p++; return 0; }
        for (;;) {
            if (c == '{') {
                if (skip(s, depth + 1)) return -1;  /* the key */
                ws(s);
                if (s->p >= s->e || *s->p != ':') return -1;
                s->p++;
            }
            if (skip(s, depth + 1)) return -1;
            ws(s);
            if (s->p < s->e && *s->p == ',') { s->p++; continue; }
            if (s->p < s->e && *s->p == close) { s->p++; return 0; }
            return -1;
        }
    }
    while (s->p < s->e && (strchr("-+.eE", *s->p) || (*s->p >= '0' && *s->p <= '9') || (*s->p >= 'a' && *s->p <= 'z')))
        s->p++;  /* numbers, true, false, null */
    return 0;
}

static int vocab(Scan *s, ModelLists *m) {
    size_t cap = 1024;
    m->vkey = xmalloc(cap * sizeof *m->vkey);
    m->vid = xmalloc(cap * sizeof *m->vid);
    s->p++;  /* '{' */
    ws(s);
    if (s->p < s->e && *s->p == '}') { s->p++; return 0; }
    for (;;) {
        ws(s);
        if (m->nvocab == cap) {
            cap *= 2;
            m->vkey = xrealloc(m->vkey, cap * sizeof *m->vkey);
            m->vid = xrealloc(m->vid, cap * sizeof *m->vid);
        }
        if (str(s, &m->vkey[m->nvocab])) return -1;
        ws(s);
        if (s->p >= s->e || *s->p != ':') return -1;
        s->p++;
        ws(s);
        int64_t id = 0;
        const char *d = s->p;
        while (s->p < s->e && *s->p >= '0' && *s->p <= '9' && s->p - d < 10) id = id * 10 + (*s->p++ - '0');
        if (s->p == d || (s->p < s->e && strchr("0123456789.eE", *s->p))) return -1;  /* not a plain integer */
        m->vid[m->nvocab++] = id;
        ws(s);
        if (s->p < s->e && *s->p == ',') { s->p++; continue; }
        if (s->p < s->e && *s->p == '}') { s->p++; return 0; }
        return -1;
    }
}

static int merges(Scan *s, ModelLists *m) {
    size_t cap = 1024;
    m->merges = xmalloc(cap * sizeof *m->merges);
    s->p++;  /* '[' */
    ws(s);
    if (s->p < s->e && *s->p == ']') { s->p++; return 0; }
    for (;;) {
        ws(s);
        if (m->nmerges == cap) m->merges = xrealloc(m->merges, (cap *= 2) * sizeof *m->merges);
        MergeItem *it = &m->merges[m->nmerges++];
        memset(it, 0, sizeof *it);
        if (s->p < s->e && *s->p == '"') {
            it->form = MERGE_STRING;
            if (str(s, &it->a)) return -1;
        } else if (s->p < s->e && *s->p == '[') {
            it->form = MERGE_PAIR;
            s->p++;
            ws(s);
            if (str(s, &it->a)) return -1;
            ws(s);
            if (s->p >= s->e || *s->p++ != ',') return -1;
            ws(s);
            if (str(s, &it->b)) return -1;
            ws(s);
            if (s->p >= s->e || *s->p++ != ']') return -1;
        } else {
            return -1;
        }
        ws(s);
        if (s->p < s->e && *s->p == ',') { s->p++; continue; }
        if (s->p < s->e && *s->p == ']') { s->p++; return 0; }
        return -1;
    }
}

static int key_is(const char *p, const char *e, const char *k) {
    size_t n = strlen(k);
    return (size_t)(e - p) > n + 1 && p[0] == '"' && memcmp(p + 1, k, n) == 0 && p[n + 1] == '"';
}

char *fastjson_model(const char *text, size_t len, ModelLists *m) {
    memset(m, 0, sizeof *m);
    m->strings = xmalloc(len + 1);
    Scan s = {text, text + len, m->strings, 0};
    const char *vs = NULL, *ve = NULL, *ms = NULL, *me = NULL;
    ws(&s);
    if (s.p >= s.e || *s.p != '{') goto decline;
    s.p++;
    for (int first = 1;; first = 0) {  /* top-level members */
        ws(&s);
        if (first && s.p < s.e && *s.p == '}') goto decline;
        int is_model = key_is(s.p, s.e, "model");
        if (skip(&s, 1)) goto decline;
        ws(&s);
        if (s.p >= s.e || *s.p++ != ':') goto decline;
        ws(&s);
        if (is_model && s.p < s.e && *s.p == '{' && !vs) {
            s.p++;
            for (int mfirst = 1;; mfirst = 0) {
                ws(&s);
                if (mfirst && s.p < s.e && *s.p == '}') { s.p++; break; }
                int is_vocab = key_is(s.p, s.e, "vocab"), is_merges = key_is(s.p, s.e, "merges");
                if (skip(&s, 2)) goto decline;
                ws(&s);
                if (s.p >= s.e || *s.p++ != ':') goto decline;
                ws(&s);
                if (is_vocab && !vs && s.p < s.e && *s.p == '{') {
                    vs = s.p;
                    if (vocab(&s, m)) goto decline;
                    ve = s.p;
                } else if (is_merges && !ms && s.p < s.e && *s.p == '[') {
                    ms = s.p;
                    if (merges(&s, m)) goto decline;
                    me = s.p;
                } else if (is_vocab || is_merges) {
                    goto decline;  /* another type, or twice: cJSON's rules and messages apply */
                } else if (skip(&s, 2)) {
                    goto decline;
                }
                ws(&s);
                if (s.p < s.e && *s.p == ',') { s.p++; continue; }
                if (s.p < s.e && *s.p == '}') { s.p++; break; }
                goto decline;
            }
        } else if (is_model && vs) {
            goto decline;  /* a second "model" */
        } else if (skip(&s, 1)) {
            goto decline;
        }
        ws(&s);
        if (s.p < s.e && *s.p == ',') { s.p++; continue; }
        if (s.p < s.e && *s.p == '}') break;
        goto decline;
    }
    if (!vs) goto decline;
    m->have_merges = ms != NULL;
    /* the text without the two values */
    char *rest = xmalloc(len + 8), *o = rest;
    const char *cut[2][2] = {{vs, ve}, {ms, me}};
    if (ms && ms < vs) {
        cut[0][0] = ms; cut[0][1] = me;
        cut[1][0] = vs; cut[1][1] = ve;
    }
    const char *p = text;
    for (int i = 0; i < 2; i++) {
        if (!cut[i][0]) continue;
        memcpy(o, p, (size_t)(cut[i][0] - p));
        o += cut[i][0] - p;
        memcpy(o, cut[i][0] == vs ? "{}" : "[]", 2);
        o += 2;
        p = cut[i][1];
    }
    memcpy(o, p, (size_t)(text + len - p));
    o += text + len - p;
    *o = 0;
    m->rest_len = (size_t)(o - rest);
    return rest;
decline:
    modellists_free(m);
    return NULL;
}

void modellists_free(ModelLists *m) {
    free(m->strings);
    free(m->vkey);
    free(m->vid);
    free(m->merges);
    memset(m, 0, sizeof *m);
}
