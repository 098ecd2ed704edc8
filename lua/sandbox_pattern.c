/* sandbox_pattern.c - string.find, string.match, string.gmatch and
 * string.gsub for the sandbox: Lua 5.4's pattern language and results, with
 * every step of the matcher counted.
 *
 * The standard library's matcher backtracks inside C without a bound and
 * never returns to the VM while it does: string.find(("a"):rep(30000),
 * ".-.-.-.-b") runs for hours, and neither the count hook nor the clock (read
 * by the hook and by the allocator) ever gets a chance. This matcher does the
 * same search, charges its steps to the call's instruction budget (one step:
 * one pattern item tried at one subject position; scans of sets and plain
 * searches by the byte) and reads the clock as it charges. A spent budget is
 * raised as the sandbox's other budgets are: the error names the script and
 * line that called the function and cannot be caught by pcall.
 * tests/lua/test_lua_patterns.c compares its results and error messages with
 * the standard library's on generated patterns and subjects. */
#include "sandbox_impl.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PAT_MAX_DEPTH 200       /* nested matcher calls, as the library's MAXCCALLS */
#define PAT_MAX_CAPTURES 32     /* as the library's LUA_MAXCAPTURES */
#define PAT_CHARGE_EVERY 4096   /* steps between two charges to the budget */
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define PAT_SPECIALS "^$*+?.([%-"

typedef struct PatCapture {
    const char *init;
    ptrdiff_t len;  /* a length, CAP_UNFINISHED or CAP_POSITION */
} PatCapture;

typedef struct Pat {
    lua_State *L;
    const char *fn;                   /* "string.find", for the budget's message */
    const char *src, *src_end;        /* the subject */
    const char *pat_end;
    int depth_left;
    int level;                        /* captures open or closed so far */
    uint64_t steps;                   /* not yet charged */
    PatCapture cap[PAT_MAX_CAPTURES];
} Pat;

static void pat_init(Pat *m, lua_State *L, const char *fn, const char *s, size_t ls, const char *p, size_t lp) {
    m->L = L;
    m->fn = fn;
    m->src = s;
    m->src_end = s + ls;
    m->pat_end = p + lp;
    m->steps = 0;
    m->level = 0;
    m->depth_left = PAT_MAX_DEPTH;
}

static void pat_flush(Pat *m) {
    if (!m->steps) return;
    uint64_t n = m->steps;
    m->steps = 0;
    char what[96];
    snprintf(what, sizeof what, "%s, matching a pattern against a %zu-byte subject", m->fn,
             (size_t)(m->src_end - m->src));
    sandbox_charge_work(m->L, n, what);
}

static inline void pat_work(Pat *m, uint64_t n) {
    m->steps += n;
    if (m->steps >= PAT_CHARGE_EVERY) pat_flush(m);
}

/* ---- single items ---- */

/* Does byte c belong to class %cl (an upper-case class is the complement;
 * any other character stands for itself)? */
static int pat_class(int c, int cl) {
    int r;
    switch (tolower(cl)) {
    case 'a': r = isalpha(c); break;
    case 'c': r = iscntrl(c); break;
    case 'd': r = isdigit(c); break;
    case 'g': r = isgraph(c); break;
    case 'l': r = islower(c); break;
    case 'p': r = ispunct(c); break;
    case 's': r = isspace(c); break;
    case 'u': r = isupper(c); break;
    case 'w': r = isalnum(c); break;
    case 'x': r = isxdigit(c); break;
    case 'z': r = c == 0; break; /* deprecated in 5.2, still understood */
    default: return cl == c;
    }
    if (isupper(cl)) return !r;
    return r != 0;
}

/* Does c belong to the set [...] from p (its '[') to last (its ']')? */
static int pat_in_set(int c, const char *p, const char *last) {
    int yes = 1;
    if (p[1] == '^') {
        yes = 0;
        p++;
    }
    while (++p < last) {
        if (*p == '%') {
            p++;
            if (pat_class(c, (unsigned char)*p)) return yes;
        } else if (p[1] == '-' && p + 2 < last) {
            p += 2;
            if ((unsigned char)p[-2] <= c && c <= (unsigned char)*p) return yes;
        } else if ((unsigned char)*p == c) {
            return yes;
        }
    }
    return !yes;
}

/* The end of the single-character item at p (where its quantifier would be). */
static const char *pat_item_end(Pat *m, const char *p) {
    char c = *p++;
    if (c == '%') {
        if (p == m->pat_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (*p == '^') p++;
        do { /* the first character is a member even when it is ']' */
            if (p == m->pat_end) luaL_error(m->L, "malformed pattern (missing ']')");
            if (*p++ == '%' && p < m->pat_end) p++;
        } while (*p != ']');
        return p + 1;
    }
    return p;
}

/* Does the item p..ep match the subject byte at s? A set costs by its size. */
static int pat_single(Pat *m, const char *s, const char *p, const char *ep) {
    if (s >= m->src_end) return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case '%': return pat_class(c, (unsigned char)p[1]);
    case '[':
        pat_work(m, (uint64_t)(ep - p) / 8);
        return pat_in_set(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

/* ---- the matcher ---- */

static const char *pat_match(Pat *m, const char *s, const char *p);

/* %bxy at s; p points to x. */
static const char *pat_balance(Pat *m, const char *s, const char *p) {
    if (p >= m->pat_end - 1) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (*s != *p) return NULL;
    char open = p[0], close = p[1];
    const char *start = s;
    int depth = 1;
    while (++s < m->src_end) {
        if (*s == close) {
            if (--depth == 0) {
                pat_work(m, (uint64_t)(s - start) / 8);
                return s + 1;
            }
        } else if (*s == open) {
            depth++;
        }
    }
    pat_work(m, (uint64_t)(s - start) / 8);
    return NULL;
}

/* %1-%9 at s: the text of an earlier closed capture again. */
static const char *pat_backref(Pat *m, const char *s, int digit) {
    int l = digit - '1';
    if (l < 0 || l >= m->level || m->cap[l].len == CAP_UNFINISHED)
        luaL_error(m->L, "invalid capture index %%%d", l + 1);
    size_t len = (size_t)m->cap[l].len; /* a position capture is huge here: never matches */
    if ((size_t)(m->src_end - s) < len) return NULL;
    pat_work(m, len / 8);
    return memcmp(m->cap[l].init, s, len) == 0 ? s + len : NULL;
}

static const char *pat_open_capture(Pat *m, const char *s, const char *p, ptrdiff_t what) {
    if (m->level >= PAT_MAX_CAPTURES) luaL_error(m->L, "too many captures");
    m->cap[m->level].init = s;
    m->cap[m->level].len = what;
    m->level++;
    const char *r = pat_match(m, s, p);
    if (!r) m->level--;
    return r;
}

static const char *pat_close_capture(Pat *m, const char *s, const char *p) {
    int l = m->level - 1;
    while (l >= 0 && m->cap[l].len != CAP_UNFINISHED) l--;
    if (l < 0) luaL_error(m->L, "invalid pattern capture");
    m->cap[l].len = s - m->cap[l].init;
    const char *r = pat_match(m, s, p);
    if (!r) m->cap[l].len = CAP_UNFINISHED;
    return r;
}

/* item* (and item+ after its first match): the longest run first. */
static const char *pat_greedy(Pat *m, const char *s, const char *p, const char *ep) {
    ptrdiff_t i = 0;
    while (pat_single(m, s + i, p, ep)) i++;
    pat_work(m, (uint64_t)i);
    for (; i >= 0; i--) {
        const char *r = pat_match(m, s + i, ep + 1);
        if (r) return r;
    }
    return NULL;
}

/* item-: the shortest run first. */
static const char *pat_lazy(Pat *m, const char *s, const char *p, const char *ep) {
    for (;;) {
        const char *r = pat_match(m, s, ep + 1);
        if (r) return r;
        if (!pat_single(m, s, p, ep)) return NULL;
        s++;
    }
}

/* Matches the pattern from p against the subject from s: the end of the
 * match, or NULL. Tail positions loop instead of recursing, so the depth
 * limit counts what the library's counts. */
static const char *pat_match(Pat *m, const char *s, const char *p) {
    if (m->depth_left-- == 0) luaL_error(m->L, "pattern too complex");
    while (p != m->pat_end) {
        pat_work(m, 1);
        switch (*p) {
        case '(':
            s = p[1] == ')' ? pat_open_capture(m, s, p + 2, CAP_POSITION)
                            : pat_open_capture(m, s, p + 1, CAP_UNFINISHED);
            goto done;
        case ')':
            s = pat_close_capture(m, s, p + 1);
            goto done;
        case '$':
            if (p + 1 == m->pat_end) {
                if (s != m->src_end) s = NULL;
                goto done;
            }
            break; /* elsewhere a '$' is an ordinary character */
        case '%':
            if (p[1] == 'b') {
                s = pat_balance(m, s, p + 2);
                if (!s) goto done;
                p += 4;
                continue;
            }
            if (p[1] == 'f') {
                p += 2;
                if (*p != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
                const char *ep = pat_item_end(m, p);
                int prev = s == m->src ? 0 : (unsigned char)s[-1];
                /* at the end of the subject its terminating NUL is the next byte */
                if (!pat_in_set(prev, p, ep - 1) && pat_in_set((unsigned char)*s, p, ep - 1)) {
                    p = ep;
                    continue;
                }
                s = NULL;
                goto done;
            }
            if (p[1] >= '0' && p[1] <= '9') {
                s = pat_backref(m, s, (unsigned char)p[1]);
                if (!s) goto done;
                p += 2;
                continue;
            }
            break;
        default: break;
        }
        /* a single-character item and its quantifier, if any */
        const char *ep = pat_item_end(m, p);
        if (!pat_single(m, s, p, ep)) {
            if (*ep == '*' || *ep == '?' || *ep == '-') { /* zero repetitions will do */
                p = ep + 1;
                continue;
            }
            s = NULL;
            goto done;
        }
        switch (*ep) {
        case '?': {
            const char *r = pat_match(m, s + 1, ep + 1);
            if (r) {
                s = r;
                goto done;
            }
            p = ep + 1;
            continue;
        }
        case '+': s = pat_greedy(m, s + 1, p, ep); goto done;
        case '*': s = pat_greedy(m, s, p, ep); goto done;
        case '-': s = pat_lazy(m, s, p, ep); goto done;
        default:
            s++;
            p = ep;
            continue;
        }
    }
done:
    m->depth_left++;
    return s;
}

/* ---- captures ---- */

/* Capture i of the match s..e (the whole match when there are none): its
 * text in *cap and its length, or CAP_POSITION with the position pushed. */
static ptrdiff_t pat_get_capture(Pat *m, int i, const char *s, const char *e, const char **cap) {
    if (i >= m->level) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        *cap = s;
        return e - s;
    }
    ptrdiff_t len = m->cap[i].len;
    *cap = m->cap[i].init;
    if (len == CAP_UNFINISHED) luaL_error(m->L, "unfinished capture");
    if (len == CAP_POSITION) lua_pushinteger(m->L, (m->cap[i].init - m->src) + 1);
    return len;
}

static void pat_push_capture(Pat *m, int i, const char *s, const char *e) {
    const char *cap;
    ptrdiff_t len = pat_get_capture(m, i, s, e, &cap);
    if (len != CAP_POSITION) lua_pushlstring(m->L, cap, (size_t)len);
}

/* Pushes the captures (or the whole match s..e; nothing for s NULL). */
static int pat_push_captures(Pat *m, const char *s, const char *e) {
    int n = m->level == 0 && s ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++) pat_push_capture(m, i, s, e);
    return n;
}

/* ---- the library functions ---- */

/* A 1-based, possibly negative start position as an offset + 1. */
static size_t pat_start(lua_Integer pos, size_t len) {
    if (pos > 0) return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len) return 1;
    return len + (size_t)pos + 1;
}

static int pat_has_specials(const char *p, size_t lp) {
    for (size_t i = 0; i < lp; i++)
        if (memchr(PAT_SPECIALS, p[i], sizeof PAT_SPECIALS - 1)) return 1;
    return 0;
}

/* A plain search, charged by the bytes compared (64 at a time). */
static const char *pat_find_plain(Pat *m, const char *s, size_t ls, const char *p, size_t lp) {
    if (lp == 0) return s;
    if (lp > ls) return NULL;
    const char *end = s + (ls - lp) + 1; /* the last start + 1 */
    while (s < end) {
        const char *c = memchr(s, p[0], (size_t)(end - s));
        pat_work(m, (uint64_t)((c ? c : end) - s) / 64 + 1);
        if (!c) return NULL;
        size_t k = 1;
        while (k < lp) {
            size_t n = lp - k < 64 ? lp - k : 64;
            pat_work(m, 1);
            if (memcmp(c + k, p + k, n)) break;
            k += n;
        }
        if (k >= lp) return c;
        s = c + 1;
    }
    return NULL;
}

/* Arguments 1 and 2 of every function here: the subject and the pattern. */
static const char *pat_args(lua_State *L, size_t *ls, const char **p, size_t *lp) {
    const char *s = luaL_checklstring(L, 1, ls);
    *p = luaL_checklstring(L, 2, lp);
    return s;
}

static int pat_find_aux(lua_State *L, int find) {
    size_t ls, lp;
    const char *p, *s = pat_args(L, &ls, &p, &lp);
    size_t init = pat_start(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    Pat m;
    if (find && (lua_toboolean(L, 4) || !pat_has_specials(p, lp))) {
        pat_init(&m, L, "string.find", s, ls, p, lp);
        const char *r = pat_find_plain(&m, s + init, ls - init, p, lp);
        pat_flush(&m);
        if (r) {
            lua_pushinteger(L, (r - s) + 1);
            lua_pushinteger(L, (lua_Integer)((size_t)(r - s) + lp));
            return 2;
        }
        luaL_pushfail(L);
        return 1;
    }
    int anchor = *p == '^';
    if (anchor) p++, lp--;
    pat_init(&m, L, find ? "string.find" : "string.match", s, ls, p, lp);
    const char *s1 = s + init;
    do {
        m.level = 0;
        m.depth_left = PAT_MAX_DEPTH;
        const char *e = pat_match(&m, s1, p);
        if (e) {
            pat_flush(&m);
            if (!find) return pat_push_captures(&m, s1, e);
            lua_pushinteger(L, (s1 - s) + 1);
            lua_pushinteger(L, e - s);
            return pat_push_captures(&m, NULL, NULL) + 2;
        }
    } while (s1++ < m.src_end && !anchor);
    pat_flush(&m);
    luaL_pushfail(L);
    return 1;
}

static int pat_find(lua_State *L) { return pat_find_aux(L, 1); }
static int pat_match_fn(lua_State *L) { return pat_find_aux(L, 0); }

/* gmatch's state (a userdata upvalue of the iterator, the subject and the
 * pattern being the other two, which keeps them alive). Offsets rather than
 * pointers: the start may lie one past the subject's end. */
typedef struct PatIter {
    Pat m;
    const char *p;
    size_t pos;            /* where the next search starts */
    ptrdiff_t last;        /* end offset of the last match, -1 for none */
} PatIter;

static int pat_gmatch_next(lua_State *L) {
    PatIter *it = lua_touserdata(L, lua_upvalueindex(3));
    Pat *m = &it->m;
    m->L = L;
    size_t ls = (size_t)(m->src_end - m->src);
    for (size_t pos = it->pos; pos <= ls; pos++) {
        m->level = 0;
        m->depth_left = PAT_MAX_DEPTH;
        const char *e = pat_match(m, m->src + pos, it->p);
        if (e && e - m->src != it->last) {
            it->pos = (size_t)(e - m->src);
            it->last = e - m->src;
            pat_flush(m);
            return pat_push_captures(m, m->src + pos, e);
        }
    }
    it->pos = ls + 1;
    pat_flush(m);
    return 0;
}

static int pat_gmatch(lua_State *L) {
    size_t ls, lp;
    const char *p, *s = pat_args(L, &ls, &p, &lp);
    size_t init = pat_start(luaL_optinteger(L, 3, 1), ls) - 1;
    lua_settop(L, 2);
    PatIter *it = lua_newuserdatauv(L, sizeof *it, 0);
    pat_init(&it->m, L, "string.gmatch", s, ls, p, lp);
    it->p = p;
    it->pos = init > ls ? ls + 1 : init;
    it->last = -1;
    lua_pushcclosure(L, pat_gmatch_next, 3);
    return 1;
}

/* gsub's replacement string (argument 3) for the match s..e: %0-%9 and %%. */
static void pat_add_string(Pat *m, luaL_Buffer *b, const char *s, const char *e) {
    lua_State *L = m->L;
    size_t l;
    const char *r = lua_tolstring(L, 3, &l), *q;
    while ((q = memchr(r, '%', l)) != NULL) {
        luaL_addlstring(b, r, (size_t)(q - r));
        q++;
        if (*q == '%') {
            luaL_addchar(b, '%');
        } else if (*q == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit((unsigned char)*q)) {
            const char *cap;
            ptrdiff_t len = pat_get_capture(m, *q - '1', s, e, &cap);
            if (len == CAP_POSITION) luaL_addvalue(b);
            else luaL_addlstring(b, cap, (size_t)len);
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", '%');
        }
        l -= (size_t)(q + 1 - r);
        r = q + 1;
    }
    luaL_addlstring(b, r, l);
}

/* Adds the replacement of the match s..e; returns whether it changed the text. */
static int pat_add_value(Pat *m, luaL_Buffer *b, const char *s, const char *e, int tr) {
    lua_State *L = m->L;
    if (tr == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = pat_push_captures(m, s, e);
        pat_flush(m); /* the function runs under the count hook */
        lua_call(L, n, 1);
    } else if (tr == LUA_TTABLE) {
        pat_push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        pat_add_string(m, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) { /* nil or false: keep the match */
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1)) return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int pat_gsub(lua_State *L) {
    size_t ls, lp;
    const char *p, *src = pat_args(L, &ls, &p, &lp), *last = NULL;
    int tr = lua_type(L, 3);
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                     "string/function/table");
    int anchor = *p == '^';
    if (anchor) p++, lp--;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    Pat m;
    pat_init(&m, L, "string.gsub", src, ls, p, lp);
    lua_Integer n = 0;
    int changed = 0;
    while (n < max) {
        m.level = 0;
        m.depth_left = PAT_MAX_DEPTH;
        const char *e = pat_match(&m, src, p);
        if (e && e != last) {
            n++;
            changed |= pat_add_value(&m, &b, src, e, tr);
            src = last = e;
        } else if (src < m.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor) break;
    }
    pat_flush(&m);
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t)(m.src_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

void sandbox_pattern_install(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"find", pat_find}, {"match", pat_match_fn}, {"gmatch", pat_gmatch}, {"gsub", pat_gsub}, {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
}
