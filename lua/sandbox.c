/* sandbox.c - a Lua state for user scripts: an allow-list of libraries, an
 * allocator with a memory cap and a count hook with an instruction budget.
 * See sandbox.h for what scripts can and cannot reach. */
#include "sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../util/fs.h"

/* The hook fires every HOOK_STEP instructions: counting each one would cost
 * a C call per VM instruction. */
#define HOOK_STEP 1000

struct Sandbox {
    lua_State *L;
    char *name;              /* the script's name as given: prefix of every message */
    size_t mem_used, mem_max;
    int64_t instr_used, instr_max;
    int hook_step;
};

/* ---- budgets ---- */

static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    Sandbox *sb = ud;
    size_t old = ptr ? osize : 0;  /* for new blocks Lua passes the object type in osize */
    if (nsize == 0) {
        free(ptr);
        sb->mem_used -= old;
        return NULL;
    }
    /* Refusing makes Lua collect garbage and retry once, then raise LUA_ERRMEM. */
    if (nsize > old && sb->mem_used + (nsize - old) > sb->mem_max) return NULL;
    void *p = realloc(ptr, nsize);
    if (!p) return NULL;
    sb->mem_used = sb->mem_used - old + nsize;
    return p;
}

static Sandbox *sb_of(lua_State *L) { return *(Sandbox **)lua_getextraspace(L); }

static void sb_hook(lua_State *L, lua_Debug *ar) {
    Sandbox *sb = sb_of(L);
    sb->instr_used += sb->hook_step;
    if (sb->instr_used <= sb->instr_max) return;
    lua_getinfo(L, "Sl", ar);
    lua_pushfstring(L, "%s:%d: instruction budget of %I per call exceeded (a runaway loop? raise the instruction limit)",
                    ar->short_src, ar->currentline, (lua_Integer)sb->instr_max);
    lua_error(L);
}

/* Keeps string messages; turns other error objects into text. */
static int sb_msgh(lua_State *L) {
    if (lua_type(L, 1) == LUA_TSTRING) return 1;
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    return 1;
}

/* ---- the restricted library ---- */

/* load(chunk, chunkname, mode, env) with mode forced to "t": no bytecode. */
static int sb_load(lua_State *L) {
    int n = lua_gettop(L);
    if (n < 3) lua_settop(L, 3);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* print to stderr: stdout may carry a command's JSON output. */
static int sb_print(lua_State *L) {
    int n = lua_gettop(L);
    fputs("[lua] ", stderr);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > 1) fputc('\t', stderr);
        fwrite(s, 1, len, stderr);
        lua_pop(L, 1);
    }
    fputc('\n', stderr);
    return 0;
}

static int sb_open_libs(lua_State *L) {
    static const struct { const char *name; lua_CFunction open; } libs[] = {
        {LUA_GNAME, luaopen_base},
        {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table},
        {LUA_MATHLIBNAME, luaopen_math},
    };
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        luaL_requiref(L, libs[i].name, libs[i].open, 1);
        lua_pop(L, 1);
    }
    static const char *const removed[] = {"dofile", "loadfile", "collectgarbage", NULL};
    for (int i = 0; removed[i]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    lua_getglobal(L, "load");
    lua_pushcclosure(L, sb_load, 1);
    lua_setglobal(L, "load");
    lua_pushcfunction(L, sb_print);
    lua_setglobal(L, "print");
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    /* math.random is seeded from time and addresses by default; runs must repeat. */
    lua_getglobal(L, LUA_MATHLIBNAME);
    lua_getfield(L, -1, "randomseed");
    lua_pushinteger(L, 0);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
    return 0;
}

/* ---- calls ---- */

static void sb_format_error(Sandbox *sb, int status, const char *context, PureErr *err) {
    lua_State *L = sb->L;
    char msg[1024];
    if (status == LUA_ERRMEM)
        snprintf(msg, sizeof msg, "%s: memory limit of %.1f MB exceeded (raise the memory limit)", sb->name,
                 (double)sb->mem_max / (1 << 20));
    else {
        const char *m = lua_tostring(L, -1);
        snprintf(msg, sizeof msg, "%s", m ? m : "(no error message)");
    }
    if (context && *context) err_set(err, "%s (%s)", msg, context);
    else err_set(err, "%s", msg);
}

/* pcall with the message handler under the function and a fresh budget;
 * the function and its nargs arguments are on top. */
static int sb_pcall(Sandbox *sb, int nargs, int nres, const char *context, PureErr *err) {
    lua_State *L = sb->L;
    int fidx = lua_gettop(L) - nargs;
    lua_pushcfunction(L, sb_msgh);
    lua_insert(L, fidx);
    sb->instr_used = 0;
    int status = lua_pcall(L, nargs, nres, fidx);
    if (status != LUA_OK) {
        sb_format_error(sb, status, context, err);
        lua_settop(L, fidx - 1);
        return -1;
    }
    lua_remove(L, fidx);
    return 0;
}

Sandbox *sandbox_open_string(const char *code, size_t len, const char *name, const SandboxLimits *limits,
                             PureErr *err) {
    Sandbox *sb = xcalloc(1, sizeof *sb);
    sb->name = xstrdup(name);
    sb->mem_max = limits && limits->max_memory ? limits->max_memory : SANDBOX_DEFAULT_MEMORY;
    sb->instr_max = limits && limits->max_instructions > 0 ? limits->max_instructions : SANDBOX_DEFAULT_INSTRUCTIONS;
    sb->hook_step = sb->instr_max < HOOK_STEP ? (int)sb->instr_max : HOOK_STEP;
    sb->L = lua_newstate(sb_alloc, sb);
    if (!sb->L) {
        err_set(err, "%s: cannot create a Lua state within the memory limit of %zu bytes", name, sb->mem_max);
        sandbox_close(sb);
        return NULL;
    }
    *(Sandbox **)lua_getextraspace(sb->L) = sb;
    lua_State *L = sb->L;
    lua_pushcfunction(L, sb_open_libs);
    if (sb_pcall(sb, 0, 0, "opening the standard libraries", err) < 0) goto fail;
    lua_sethook(L, sb_hook, LUA_MASKCOUNT, sb->hook_step);
    char chunk[1024];
    snprintf(chunk, sizeof chunk, "@%s", name);
    int st = luaL_loadbufferx(L, code, len, chunk, "t");
    if (st != LUA_OK) {
        sb_format_error(sb, st, NULL, err);
        goto fail;
    }
    if (sb_pcall(sb, 0, 0, "running the script's top level", err) < 0) goto fail;
    return sb;
fail:
    sandbox_close(sb);
    return NULL;
}

Sandbox *sandbox_open(const char *script_path, const SandboxLimits *limits, PureErr *err) {
    size_t len;
    char *code = fs_read_file(script_path, &len, err);
    if (!code) {
        err_prefix(err, "Lua script");
        return NULL;
    }
    Sandbox *sb = sandbox_open_string(code, len, script_path, limits, err);
    free(code);
    return sb;
}

lua_State *sandbox_state(Sandbox *sb) { return sb->L; }

const char *sandbox_name(Sandbox *sb) { return sb->name; }

int sandbox_has_function(Sandbox *sb, const char *fn) {
    int t = lua_getglobal(sb->L, fn);
    lua_pop(sb->L, 1);
    return t == LUA_TFUNCTION;
}

int sandbox_call(Sandbox *sb, const char *fn, int nargs, int nres, const char *context, PureErr *err) {
    lua_State *L = sb->L;
    if (!lua_checkstack(L, 2 + (nres > 0 ? nres : 0))) {
        lua_pop(L, nargs);
        return err_set(err, "%s: Lua stack overflow calling '%s'", sb->name, fn);
    }
    if (lua_getglobal(L, fn) != LUA_TFUNCTION) {
        lua_pop(L, nargs + 1);
        return err_set(err, "%s: the script defines no function '%s'", sb->name, fn);
    }
    lua_insert(L, -(nargs + 1));
    return sb_pcall(sb, nargs, nres, context, err);
}

void sandbox_close(Sandbox *sb) {
    if (!sb) return;
    if (sb->L) lua_close(sb->L);
    free(sb->name);
    free(sb);
}

/* ---- arrays ---- */

void sandbox_push_floats(lua_State *L, const float *v, int64_t n) {
    lua_createtable(L, n > INT32_MAX ? INT32_MAX : (int)n, 0);
    for (int64_t i = 0; i < n; i++) {
        lua_pushnumber(L, v[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

void sandbox_push_ints(lua_State *L, const int32_t *v, int64_t n) {
    lua_createtable(L, n > INT32_MAX ? INT32_MAX : (int)n, 0);
    for (int64_t i = 0; i < n; i++) {
        lua_pushinteger(L, v[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

int sandbox_read_numbers(lua_State *L, int idx, double *out, int64_t n, const char *what, PureErr *err) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE)
        return err_set(err, "%s is a %s, expected a table of %lld numbers", what, luaL_typename(L, idx), (long long)n);
    int64_t len = (int64_t)lua_rawlen(L, idx);
    if (len != n) return err_set(err, "%s has %lld entries, expected %lld", what, (long long)len, (long long)n);
    for (int64_t i = 0; i < n; i++) {
        int t = lua_rawgeti(L, idx, i + 1);
        double v = lua_tonumber(L, -1);
        lua_pop(L, 1);
        if (t != LUA_TNUMBER)
            return err_set(err, "%s[%lld] is a %s, expected a number", what, (long long)(i + 1), lua_typename(L, t));
        if (!isfinite(v))
            return err_set(err, "%s[%lld] is %s, expected a finite number", what, (long long)(i + 1),
                           isnan(v) ? "NaN" : "infinite");
        out[i] = v;
    }
    return 0;
}
