/* spec_tree.c - the spec's YAML tree after `extends:`, `--set` and `${var}`.
 *
 * Order matters and is documented: extends chains are merged first (the
 * derived file wins), then --set overrides (so `--set vars.lr=...` reaches
 * every ${lr}), then variables are substituted everywhere except inside
 * `vars:` itself (vars may use other vars, resolved on demand).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runner/spec.h"
#include "util/fs.h"

#define MAX_EXTENDS 16

/* ---------------------------------------------------------------- extends */

static YNode *load_with_extends(const char *path, char **chain, int depth, PureErr *err) {
    YNode *root = ydoc_load_file(path, err);
    if (!root) return NULL;
    if (root->kind != YN_MAP) {
        char b[80];
        yerr(err, &root->mark, "expected a map of top-level keys (stages, loop, ...), got %s",
             ynode_describe(root, b, sizeof b));
        ynode_free(root);
        return NULL;
    }
    YNode *ext = ynode_get(root, "extends");
    if (!ext) return root;
    if (ext->kind != YN_SCALAR) {
        char b[80];
        yerr(err, &ext->mark, "extends: expected a file name, got %s", ynode_describe(ext, b, sizeof b));
        goto fail;
    }
    char *dir = fs_dirname(path);
    char *base = ext->str[0] == '/' || !strcmp(dir, ".") ? xstrdup(ext->str) : fs_join(dir, ext->str);
    free(dir);
    char real[PATH_MAX];
    if (!realpath(base, real)) {
        yerr(err, &ext->mark, "extends: file '%s' not found (looked for %s)", ext->str, base);
        free(base);
        goto fail;
    }
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        yerr(err, &ext->mark, "extends: '%s' is not a regular file (%s)", ext->str, real);
        free(base);
        goto fail;
    }
    for (int i = 0; i < depth; i++) {
        if (!strcmp(chain[i], real)) {
            yerr(err, &ext->mark, "extends: cycle, '%s' extends itself through %s", ext->str, path);
            free(base);
            goto fail;
        }
    }
    if (depth + 1 >= MAX_EXTENDS) {
        yerr(err, &ext->mark, "extends: more than %d files deep", MAX_EXTENDS);
        free(base);
        goto fail;
    }
    chain[depth] = real;
    YNode *parent = load_with_extends(base, chain, depth + 1, err);
    free(base);
    if (!parent) goto fail;
    ynode_map_remove(root, "extends");
    ynode_merge(parent, root);
    return parent;
fail:
    ynode_free(root);
    return NULL;
}

/* ---------------------------------------------------------------- --set */

/* Sets the dotted key `path` of root to val (consumed), creating maps on
 * the way; `what` names the override in messages ("--set k=v", "sweep key
 * 'k'"), `where` is its position. */
static int set_path(YNode *root, const char *dotted, YNode *val, const YMark *where, const char *what, PureErr *err) {
    char *path = xstrdup(dotted);
    YNode *cur = root;
    char *save = NULL, *tok = strtok_r(path, ".", &save);
    while (tok) {
        char *next = strtok_r(NULL, ".", &save);
        if (cur->kind != YN_MAP) {
            yerr(err, where, "%s: cannot set '%s' inside a %s", what, tok, cur->kind == YN_SEQ ? "sequence" : "scalar");
            goto fail;
        }
        if (!next) {
            ynode_map_set(cur, tok, where, val);
            val = NULL;
            break;
        }
        YNode *c = ynode_get(cur, tok);
        if (!c) {
            ynode_map_set(cur, tok, where, ynode_new(YN_MAP, where));
            c = ynode_get(cur, tok);
        }
        cur = c;
        tok = next;
    }
    if (val) {
        yerr(err, where, "%s: empty key path", what);
        goto fail;
    }
    free(path);
    return 0;
fail:
    ynode_free(val);
    free(path);
    return -1;
}

static int apply_set(YNode *root, const char *arg, int argi, PureErr *err) {
    YMark where = {"--set", argi, 1};
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) return yerr(err, &where, "'%s': expected key.path=value", arg);
    char *path = xstrdup(arg);
    path[eq - arg] = '\0';
    YNode *val = ydoc_load_string(eq + 1, "--set", argi, (int)(eq - arg) + 2, err);
    if (!val) {
        free(path);
        char msg[sizeof err->msg];
        const char *what = strstr(err->msg, "YAML");
        snprintf(msg, sizeof msg, "%s", what ? what : err->msg);
        return yerr(err, &where, "--set %s: the value is not valid YAML (%s)", arg, msg);
    }
    /* an empty value parses as an empty document (a map): make it null */
    if (!eq[1]) {
        ynode_free(val);
        val = ynode_new(YN_NULL, &where);
    }
    char what[600];
    snprintf(what, sizeof what, "--set %s", arg);
    int rc = set_path(root, path, val, &where, what, err);
    free(path);
    return rc;
}

/* ---------------------------------------------------------------- vars */

typedef struct Vars {
    YNode *map;
    int depth;
} Vars;

static int subst(YNode **np, Vars *v, PureErr *err);

/* The value of ${name}, itself substituted (vars may use vars). */
static YNode *var_value(Vars *v, const char *name, const YMark *use, PureErr *err) {
    int i = ynode_find(v->map, name);
    if (i < 0) {
        const char **names = xcalloc((size_t)v->map->n + 1, sizeof *names);
        for (int k = 0; k < v->map->n; k++) names[k] = v->map->keys[k];
        char hint[128];
        suggest_hint(name, names, hint, sizeof hint);
        free(names);
        yerr(err, use, "undefined variable '${%s}'%s; define it under vars:", name, hint);
        return NULL;
    }
    if (v->depth > 16) {
        yerr(err, use, "variable '${%s}' refers to itself (through other vars)", name);
        return NULL;
    }
    YNode *c = ynode_clone(v->map->items[i]);
    v->depth++;
    int rc = subst(&c, v, err);
    v->depth--;
    if (rc) {
        ynode_free(c);
        return NULL;
    }
    return c;
}

static int subst_scalar(YNode **np, Vars *v, PureErr *err) {
    YNode *n = *np;
    if (!strstr(n->str, "${")) return 0;
    const char *s = n->str;
    size_t len = strlen(s);
    /* a whole-scalar reference takes the variable's value with its type */
    if (s[0] == '$' && s[1] == '{' && strchr(s + 2, '}') == s + len - 1) {
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(len - 3), s + 2);
        YNode *val = var_value(v, name, &n->mark, err);
        if (!val) return -1;
        /* errors about the value should point at the use site */
        free(val->mark.file);
        val->mark.file = xstrdup(n->mark.file);
        val->mark.line = n->mark.line;
        val->mark.col = n->mark.col;
        ynode_free(n);
        *np = val;
        return 0;
    }
    size_t cap = len + 64, out = 0;
    char *buf = xmalloc(cap);
    for (const char *p = s; *p;) {
        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            if (!end) {
                free(buf);
                return yerr(err, &n->mark, "unterminated '${' in '%s'", s);
            }
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(end - p - 2), p + 2);
            YNode *val = var_value(v, name, &n->mark, err);
            if (!val) {
                free(buf);
                return -1;
            }
            if (val->kind != YN_SCALAR) {
                char b[80];
                yerr(err, &n->mark, "variable '${%s}' is %s and cannot be pasted into the text '%s'", name,
                     ynode_describe(val, b, sizeof b), s);
                ynode_free(val);
                free(buf);
                return -1;
            }
            size_t vl = strlen(val->str);
            if (out + vl + 1 >= cap) {
                cap = (out + vl + 1) * 2;
                buf = xrealloc(buf, cap);
            }
            memcpy(buf + out, val->str, vl);
            out += vl;
            ynode_free(val);
            p = end + 1;
        } else {
            if (out + 2 >= cap) {
                cap *= 2;
                buf = xrealloc(buf, cap);
            }
            buf[out++] = *p++;
        }
    }
    buf[out] = '\0';
    free(n->str);
    n->str = buf;
    return 0;
}

static int subst(YNode **np, Vars *v, PureErr *err) {
    YNode *n = *np;
    if (n->kind == YN_SCALAR) return subst_scalar(np, v, err);
    for (int i = 0; i < n->n; i++)
        if (subst(&n->items[i], v, err)) return -1;
    return 0;
}

YNode *spec_tree_load(const char *path, const char *const *sets, int nsets, PureErr *err) {
    return spec_tree_load_ex(path, sets, nsets, NULL, 0, err);
}

YNode *spec_tree_load_ex(const char *path, const char *const *sets, int nsets, const SpecOverride *ov, int nov,
                         PureErr *err) {
    char *chain[MAX_EXTENDS];
    if (!fs_exists(path)) {
        err_set(err, "%s: spec file not found", path);
        return NULL;
    }
    YNode *root = load_with_extends(path, chain, 0, err);
    if (!root) return NULL;
    for (int i = 0; i < nsets; i++)
        if (apply_set(root, sets[i], i + 1, err)) goto fail;
    /* a sweep run's overrides: after --set, before vars (so vars.X reaches every ${X}); the
       value keeps its mark, so errors about it point into the sweep block */
    for (int i = 0; i < nov; i++) {
        char what[300];
        snprintf(what, sizeof what, "sweep key '%s'", ov[i].key);
        if (set_path(root, ov[i].key, ynode_clone(ov[i].val), &ov[i].val->mark, what, err)) goto fail;
    }
    YNode *vars = ynode_get(root, "vars");
    YNode empty = {.kind = YN_MAP};
    if (vars && vars->kind != YN_MAP && vars->kind != YN_NULL) {
        char b[80];
        yerr(err, &vars->mark, "vars: expected a map of name: value, got %s", ynode_describe(vars, b, sizeof b));
        goto fail;
    }
    Vars v = {vars && vars->kind == YN_MAP ? vars : &empty, 0};
    for (int i = 0; i < root->n; i++) {
        if (!strcmp(root->keys[i], "vars")) continue;
        if (subst(&root->items[i], &v, err)) goto fail;
    }
    return root;
fail:
    ynode_free(root);
    return NULL;
}
