/* ydoc.c - YAML to a position-carrying tree (libyaml event API), deep merge, emitter. */
#include "ydoc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/fs.h"

/* ---------------------------------------------------------------- nodes */

static YMark mark_copy(const YMark *m) {
    YMark r = {xstrdup(m && m->file ? m->file : "?"), m ? m->line : 0, m ? m->col : 0};
    return r;
}

YNode *ynode_new(YKind kind, const YMark *mark) {
    YNode *n = xcalloc(1, sizeof *n);
    n->kind = kind;
    n->mark = mark_copy(mark);
    return n;
}

YNode *ynode_scalar(const char *s, const YMark *mark) {
    YNode *n = ynode_new(YN_SCALAR, mark);
    n->str = xstrdup(s);
    return n;
}

void ynode_free(YNode *n) {
    if (!n) return;
    for (int i = 0; i < n->n; i++) {
        ynode_free(n->items[i]);
        if (n->kind == YN_MAP) {
            free(n->keys[i]);
            free(n->kmarks[i].file);
        }
    }
    free(n->items);
    free(n->keys);
    free(n->kmarks);
    free(n->str);
    free(n->mark.file);
    free(n);
}

static void grow(YNode *n) {
    if (n->n < n->cap) return;
    n->cap = n->cap ? n->cap * 2 : 4;
    n->items = xrealloc(n->items, (size_t)n->cap * sizeof *n->items);
    if (n->kind == YN_MAP) {
        n->keys = xrealloc(n->keys, (size_t)n->cap * sizeof *n->keys);
        n->kmarks = xrealloc(n->kmarks, (size_t)n->cap * sizeof *n->kmarks);
    }
}

void ynode_seq_push(YNode *seq, YNode *item) {
    grow(seq);
    seq->items[seq->n++] = item;
}

YNode *ynode_clone(const YNode *n) {
    if (!n) return NULL;
    YNode *c = ynode_new(n->kind, &n->mark);
    c->quoted = n->quoted;
    if (n->str) c->str = xstrdup(n->str);
    for (int i = 0; i < n->n; i++) {
        if (n->kind == YN_MAP) ynode_map_set(c, n->keys[i], &n->kmarks[i], ynode_clone(n->items[i]));
        else ynode_seq_push(c, ynode_clone(n->items[i]));
    }
    return c;
}

int ynode_find(const YNode *map, const char *key) {
    if (!map || map->kind != YN_MAP) return -1;
    for (int i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i], key)) return i;
    return -1;
}

YNode *ynode_get(const YNode *map, const char *key) {
    int i = ynode_find(map, key);
    return i < 0 ? NULL : map->items[i];
}

void ynode_map_set(YNode *map, const char *key, const YMark *kmark, YNode *val) {
    int i = ynode_find(map, key);
    if (i >= 0) {
        ynode_free(map->items[i]);
        map->items[i] = val;
        return;
    }
    grow(map);
    map->keys[map->n] = xstrdup(key);
    map->kmarks[map->n] = mark_copy(kmark);
    map->items[map->n++] = val;
}

void ynode_map_remove(YNode *map, const char *key) {
    int i = ynode_find(map, key);
    if (i < 0) return;
    ynode_free(map->items[i]);
    free(map->keys[i]);
    free(map->kmarks[i].file);
    for (int j = i + 1; j < map->n; j++) {
        map->items[j - 1] = map->items[j];
        map->keys[j - 1] = map->keys[j];
        map->kmarks[j - 1] = map->kmarks[j];
    }
    map->n--;
}

void ynode_merge(YNode *base, YNode *over) {
    if (base->kind != YN_MAP || over->kind != YN_MAP) {
        /* replace base's content by over's, keeping the base pointer valid */
        YNode tmp = *base;
        *base = *over;
        *over = tmp;
        ynode_free(over);
        return;
    }
    for (int i = 0; i < over->n; i++) {
        YNode *b = ynode_get(base, over->keys[i]);
        if (b && b->kind == YN_MAP && over->items[i]->kind == YN_MAP) {
            ynode_merge(b, over->items[i]);
        } else {
            ynode_map_set(base, over->keys[i], &over->kmarks[i], over->items[i]);
        }
        over->items[i] = NULL;
    }
    ynode_free(over);
}

const char *ynode_describe(const YNode *n, char *buf, size_t cap) {
    if (!n || n->kind == YN_NULL) return "null";
    if (n->kind == YN_MAP) return "a map";
    if (n->kind == YN_SEQ) return "a sequence";
    snprintf(buf, cap, "'%.60s'", n->str);
    return buf;
}

int yerr(PureErr *err, const YMark *m, const char *fmt, ...) {
    char msg[1800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(err, "%s:%d:%d: %s", m && m->file ? m->file : "?", m ? m->line : 0, m ? m->col : 0, msg);
}

/* ---------------------------------------------------------------- parsing */

typedef struct Anchor {
    char *name;
    YNode *node; /* a private copy */
    int64_t nodes, bytes; /* its size, charged again at every alias */
} Anchor;

/* What one document may grow to. Aliases copy their anchor, so a few hundred
 * bytes of nested aliases ("billion laughs") would expand to gigabytes; every
 * node and scalar byte is charged against these budgets as it is made,
 * aliases and the anchors' own copies included, and the alias that would
 * cross them is the error. A real pipeline spec is a few hundred nodes. */
#define YDOC_MAX_NODES 100000
#define YDOC_MAX_BYTES (16 << 20)

typedef struct Parser {
    yaml_parser_t p;
    const char *file;
    int line0, col0; /* offsets for strings embedded elsewhere (--set values) */
    Anchor *anchors;
    int nanchors;
    int64_t nodes, bytes; /* made so far, against YDOC_MAX_NODES / YDOC_MAX_BYTES */
    PureErr *err;
} Parser;

static void node_size(const YNode *n, int64_t *nodes, int64_t *bytes) {
    (*nodes)++;
    if (n->str) *bytes += (int64_t)strlen(n->str) + 1;
    for (int i = 0; i < n->n; i++) {
        if (n->keys) *bytes += (int64_t)strlen(n->keys[i]) + 1;
        node_size(n->items[i], nodes, bytes);
    }
}

/* Charges a node (or an alias's copy) against the document's budgets. */
/* what: "alias '*x'", "anchor '&x'" or NULL (a plain node). */
static int charge(Parser *ps, int64_t nodes, int64_t bytes, const YMark *m, const char *what) {
    ps->nodes += nodes;
    ps->bytes += bytes;
    if (ps->nodes <= YDOC_MAX_NODES && ps->bytes <= YDOC_MAX_BYTES) return 0;
    if (what)
        return yerr(ps->err, m, "%s would grow the document past %d nodes or %d MB (aliases copy their anchor; "
                    "nested aliases multiply)", what, YDOC_MAX_NODES, YDOC_MAX_BYTES >> 20);
    return yerr(ps->err, m, "the document exceeds %d nodes or %d MB", YDOC_MAX_NODES, YDOC_MAX_BYTES >> 20);
}

static YMark mark_of(Parser *ps, yaml_mark_t m) {
    YMark r = {(char *)ps->file, (int)m.line + 1 + ps->line0, (int)m.column + 1 + (m.line == 0 ? ps->col0 : 0)};
    return r;
}

static int syntax_error(Parser *ps) {
    YMark m = mark_of(ps, ps->p.problem_mark);
    if (ps->p.context)
        return yerr(ps->err, &m, "YAML syntax error: %s %s", ps->p.problem ? ps->p.problem : "", ps->p.context);
    return yerr(ps->err, &m, "YAML syntax error: %s", ps->p.problem ? ps->p.problem : "malformed YAML");
}

static int next_event(Parser *ps, yaml_event_t *ev) {
    if (!yaml_parser_parse(&ps->p, ev)) return syntax_error(ps);
    return 0;
}

static int is_null_text(const char *s) {
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int add_anchor(Parser *ps, const yaml_char_t *name, const YNode *n, const YMark *m) {
    if (!name) return 0;
    int64_t nodes = 0, bytes = 0;
    node_size(n, &nodes, &bytes);
    char what[160];
    snprintf(what, sizeof what, "anchor '&%.100s'", (const char *)name);
    if (charge(ps, nodes, bytes, m, what)) return -1;
    ps->anchors = xrealloc(ps->anchors, (size_t)(ps->nanchors + 1) * sizeof *ps->anchors);
    ps->anchors[ps->nanchors].name = xstrdup((const char *)name);
    ps->anchors[ps->nanchors].node = ynode_clone(n);
    ps->anchors[ps->nanchors].nodes = nodes;
    ps->anchors[ps->nanchors].bytes = bytes;
    ps->nanchors++;
    return 0;
}

static YNode *parse_node(Parser *ps, yaml_event_t *ev, int depth);

/* Parses the children of a sequence or mapping until its end event. */
static int parse_children(Parser *ps, YNode *n, int depth) {
    for (;;) {
        yaml_event_t ev;
        if (next_event(ps, &ev)) return -1;
        if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (n->kind == YN_SEQ) {
            YNode *c = parse_node(ps, &ev, depth + 1);
            yaml_event_delete(&ev);
            if (!c) return -1;
            ynode_seq_push(n, c);
            continue;
        }
        /* mapping: key event then value event */
        YMark km = mark_of(ps, ev.start_mark);
        if (ev.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&ev);
            return yerr(ps->err, &km, "expected a plain key (a name), got a %s",
                        ev.type == YAML_ALIAS_EVENT ? "alias" : "map or sequence");
        }
        char *key = xstrdup((const char *)ev.data.scalar.value);
        yaml_event_delete(&ev);
        if (ynode_find(n, key) >= 0) {
            int i = ynode_find(n, key);
            yerr(ps->err, &km, "duplicate key '%s' (first at line %d)", key, n->kmarks[i].line);
            free(key);
            return -1;
        }
        if (next_event(ps, &ev)) {
            free(key);
            return -1;
        }
        YNode *v = parse_node(ps, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (!v) {
            free(key);
            return -1;
        }
        ynode_map_set(n, key, &km, v);
        free(key);
    }
}

static YNode *parse_node(Parser *ps, yaml_event_t *ev, int depth) {
    YMark m = mark_of(ps, ev->start_mark);
    if (depth > 64) {
        yerr(ps->err, &m, "YAML nested too deeply (more than 64 levels)");
        return NULL;
    }
    YNode *n = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        const char *s = (const char *)ev->data.scalar.value;
        if (charge(ps, 1, (int64_t)ev->data.scalar.length + 1, &m, NULL)) return NULL;
        int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (plain && is_null_text(s)) {
            n = ynode_new(YN_NULL, &m);
        } else {
            n = ynode_scalar(s, &m);
            n->quoted = !plain;
        }
        if (add_anchor(ps, ev->data.scalar.anchor, n, &m)) {
            ynode_free(n);
            return NULL;
        }
        return n;
    }
    case YAML_ALIAS_EVENT:
        for (int i = ps->nanchors - 1; i >= 0; i--)
            if (!strcmp(ps->anchors[i].name, (const char *)ev->data.alias.anchor)) {
                char what[160];
                snprintf(what, sizeof what, "alias '*%.100s'", (const char *)ev->data.alias.anchor);
                if (charge(ps, ps->anchors[i].nodes, ps->anchors[i].bytes, &m, what)) return NULL;
                return ynode_clone(ps->anchors[i].node);
            }
        yerr(ps->err, &m, "unknown alias '*%s'", ev->data.alias.anchor);
        return NULL;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        const yaml_char_t *anchor = ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor
                                                                          : ev->data.mapping_start.anchor;
        if (charge(ps, 1, 0, &m, NULL)) return NULL;
        n = ynode_new(ev->type == YAML_SEQUENCE_START_EVENT ? YN_SEQ : YN_MAP, &m);
        if (parse_children(ps, n, depth)) {
            ynode_free(n);
            return NULL;
        }
        if (add_anchor(ps, anchor, n, &m)) {
            ynode_free(n);
            return NULL;
        }
        return n;
    }
    default:
        yerr(ps->err, &m, "unexpected YAML event");
        return NULL;
    }
}

static YNode *parse_all(Parser *ps) {
    YNode *root = NULL;
    yaml_event_t ev;
    int done = 0;
    while (!done) {
        if (next_event(ps, &ev)) goto fail;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = 1; break;
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT: break;
        case YAML_DOCUMENT_START_EVENT:
            if (root) {
                YMark m = mark_of(ps, ev.start_mark);
                yerr(ps->err, &m, "expected one YAML document, found a second one");
                yaml_event_delete(&ev);
                goto fail;
            }
            break;
        default:
            root = parse_node(ps, &ev, 0);
            if (!root) {
                yaml_event_delete(&ev);
                goto fail;
            }
        }
        yaml_event_delete(&ev);
    }
    if (!root) {
        YMark m = {(char *)ps->file, 1, 1};
        root = ynode_new(YN_MAP, &m);
    }
    return root;
fail:
    ynode_free(root);
    return NULL;
}

static void parser_free(Parser *ps) {
    for (int i = 0; i < ps->nanchors; i++) {
        free(ps->anchors[i].name);
        ynode_free(ps->anchors[i].node);
    }
    free(ps->anchors);
    yaml_parser_delete(&ps->p);
}

YNode *ydoc_load_string(const char *text, const char *name, int line, int col, PureErr *err) {
    Parser ps = {.file = name, .line0 = line > 0 ? line - 1 : 0, .col0 = col > 0 ? col - 1 : 0, .err = err};
    yaml_parser_initialize(&ps.p);
    yaml_parser_set_input_string(&ps.p, (const unsigned char *)text, strlen(text));
    YNode *root = parse_all(&ps);
    parser_free(&ps);
    return root;
}

YNode *ydoc_load_file(const char *path, PureErr *err) {
    char *text = fs_read_file(path, NULL, err);
    if (!text) return NULL;
    YNode *root = ydoc_load_string(text, path, 1, 1, err);
    free(text);
    return root;
}

/* ---------------------------------------------------------------- emitting */

/* A plain scalar must not look like another type or contain YAML syntax. */
static int needs_quotes(const YNode *n) {
    const char *s = n->str;
    if (!*s || is_null_text(s)) return 1;
    if (n->quoted) {
        /* keep strings that would read back as numbers or booleans as strings */
        char *end;
        (void)strtod(s, &end);
        if (*end == '\0') return 1;
        const char *words[] = {"true", "false", "yes", "no", "on", "off", "True", "False", NULL};
        for (int i = 0; words[i]; i++)
            if (!strcmp(s, words[i])) return 1;
    }
    if (strchr("-?:,[]{}#&*!|>'\"%@` ", s[0])) return 1;
    if (isspace((unsigned char)s[strlen(s) - 1])) return 1;
    for (const char *p = s; *p; p++) {
        if (*p == '\n' || *p == '\t' || (unsigned char)*p < 0x20) return 1;
        if ((*p == ':' && (p[1] == ' ' || !p[1])) || (*p == ' ' && p[1] == '#')) return 1;
    }
    return 0;
}

static void emit_scalar(FILE *f, const YNode *n) {
    if (n->kind == YN_NULL) {
        fputs("null", f);
        return;
    }
    if (!needs_quotes(n)) {
        fputs(n->str, f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)n->str; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p < 0x20) fprintf(f, "\\x%02x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static void emit_node(FILE *f, const YNode *n, int indent);

static int is_inline(const YNode *n) {
    return n->kind == YN_NULL || n->kind == YN_SCALAR || n->n == 0;
}

static void emit_inline(FILE *f, const YNode *n) {
    if (n->kind == YN_MAP) fputs("{}", f);
    else if (n->kind == YN_SEQ) fputs("[]", f);
    else emit_scalar(f, n);
}

static void emit_node(FILE *f, const YNode *n, int indent) {
    for (int i = 0; i < n->n; i++) {
        const YNode *c = n->items[i];
        fprintf(f, "%*s", indent, "");
        if (n->kind == YN_MAP) {
            YNode k = {.kind = YN_SCALAR, .str = n->keys[i]};
            emit_scalar(f, &k);
            fputc(':', f);
        } else {
            fputc('-', f);
        }
        if (is_inline(c)) {
            fputc(' ', f);
            emit_inline(f, c);
            fputc('\n', f);
        } else {
            fputc('\n', f);
            emit_node(f, c, indent + 2);
        }
    }
}

void ydoc_emit(FILE *f, const YNode *n) {
    if (is_inline(n)) {
        emit_inline(f, n);
        fputc('\n', f);
        return;
    }
    emit_node(f, n, 0);
}
