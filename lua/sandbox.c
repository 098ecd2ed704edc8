/* sandbox.c - a Lua state for user scripts: an allow-list of libraries, an
 * allocator with a memory cap, a count hook with an instruction and a
 * wall-clock budget that scripts cannot catch, and protected calls for
 * everything the host does with the state. See sandbox.h for what scripts can
 * and cannot reach. */
#include "sandbox.h"
#include "sandbox_impl.h"

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../util/fs.h"

/* The hook fires every HOOK_STEP instructions: counting each one would cost
 * a C call per VM instruction. */
#define HOOK_STEP 1000
/* Reading the clock costs up to a few hundred ns where it is a system call:
 * the hook reads it every CLOCK_EVERY_HOOKS calls (16,000 instructions, well
 * under a millisecond), the allocator at every block of ALLOC_CLOCK_BYTES or
 * more and every ALLOC_CLOCK_EVERY-th smaller one. */
#define CLOCK_EVERY_HOOKS 16
#define ALLOC_CLOCK_BYTES ((size_t)64 << 10)
#define ALLOC_CLOCK_EVERY 1024

struct Sandbox {
    lua_State *L;
    char *name;              /* the script's name as given: prefix of every message */
    size_t mem_used, mem_max;
    int64_t instr_used, instr_max;
    double max_seconds, t0;  /* t0: when the current call began (monotonic clock), 0 between calls */
    int hook_step;
    int quiet;
    int mem_refused;         /* the allocator refused a block in this call */
    unsigned alloc_ticks;    /* small allocations (the allocator reads the clock every ALLOC_CLOCK_EVERY) */
    unsigned clock_ticks;    /* hook calls (the hook reads the clock every CLOCK_EVERY_HOOKS) */
    int spent;               /* a budget ran out in this call: sticky until the next call */
    char spent_msg[512];     /* "script.lua:LINE: instruction budget of ... exceeded ..." */
    char context[256];       /* what the host is doing ("group 3"), appended to Lua errors */
};

static Sandbox *sb_of(lua_State *L) { return *(Sandbox **)lua_getextraspace(L); }

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- budgets ---- */

static void sb_hook(lua_State *L, lua_Debug *ar);

static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    Sandbox *sb = ud;
    size_t old = ptr ? osize : 0;  /* for new blocks Lua passes the object type in osize */
    if (nsize == 0) {
        free(ptr);
        sb->mem_used -= old;
        return NULL;
    }
    /* Refusing makes Lua collect garbage and retry once, then raise LUA_ERRMEM. */
    if (nsize > old && sb->mem_used + (nsize - old) > sb->mem_max) {
        sb->mem_refused = 1;
        return NULL;
    }
    /* The hook checks the clock between instructions only, and a library
     * call between two hooks may be slow (string.rep of megabytes): such calls
     * allocate, so the clock is also read here. A late call is refused; the
     * hook raises the message at the next instruction. */
    if (nsize > old && !sb->spent && sb->t0 > 0 &&
        (nsize >= ALLOC_CLOCK_BYTES || ++sb->alloc_ticks % ALLOC_CLOCK_EVERY == 0) &&
        now_seconds() - sb->t0 > sb->max_seconds) {
        snprintf(sb->spent_msg, sizeof sb->spent_msg,
                 "%s: time limit of %g s per call exceeded in a library call (raise the time limit)", sb->name,
                 sb->max_seconds);
        sb->spent = 1;
        lua_sethook(sb->L, sb_hook, LUA_MASKCOUNT, 1);
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (!p) {
        sb->mem_refused = 1;
        return NULL;
    }
    sb->mem_used = sb->mem_used - old + nsize;
    return p;
}

/* Raises the spent budget's message: what the hook does at every instruction
 * once a budget is gone, and what pcall, xpcall and load do instead of
 * returning it. */
static int sb_raise_spent(lua_State *L) {
    lua_pushstring(L, sb_of(L)->spent_msg);
    return lua_error(L);
}

/* Marks the call's budget as spent (instructions when `time` is 0), with the
 * script position of `ar` (filled here), and raises. `what` names the library
 * function that spent it, NULL for the script's own code. From then on the
 * hook fires at every instruction. */
static int sb_spend(lua_State *L, lua_Debug *ar, int time, const char *what) {
    Sandbox *sb = sb_of(L);
    const char *src = "?";
    int line = 0;
    if (ar && lua_getinfo(L, "Sl", ar)) {
        src = ar->short_src;
        line = ar->currentline;
    }
    char in[160] = "";
    if (what) snprintf(in, sizeof in, " in %s", what);
    if (time)
        snprintf(sb->spent_msg, sizeof sb->spent_msg,
                 "%s:%d: time limit of %g s per call exceeded%s (%s? raise the time limit)", src, line,
                 sb->max_seconds, in, what ? "a backtracking pattern" : "a runaway loop");
    else
        snprintf(sb->spent_msg, sizeof sb->spent_msg,
                 "%s:%d: instruction budget of %lld per call exceeded%s (%s? raise the instruction limit)", src,
                 line, (long long)sb->instr_max, in, what ? "a backtracking pattern" : "a runaway loop");
    sb->spent = 1;
    lua_sethook(L, sb_hook, LUA_MASKCOUNT, 1);
    return sb_raise_spent(L);
}

static void sb_hook(lua_State *L, lua_Debug *ar) {
    Sandbox *sb = sb_of(L);
    if (sb->spent) {
        sb_raise_spent(L);
        return;
    }
    sb->instr_used += sb->hook_step;
    if (sb->instr_used > sb->instr_max) sb_spend(L, ar, 0, NULL);
    else if (++sb->clock_ticks % CLOCK_EVERY_HOOKS == 0 && now_seconds() - sb->t0 > sb->max_seconds)
        sb_spend(L, ar, 1, NULL);
}

/* The innermost frame that is the script's code (a library function may be
 * called through pcall, another C function): where the budget's message
 * points. 0 when there is none. */
static int sb_script_frame(lua_State *L, lua_Debug *ar) {
    for (int level = 1; lua_getstack(L, level, ar); level++)
        if (lua_getinfo(L, "S", ar) && strcmp(ar->what, "C") != 0) return 1;
    return 0;
}

/* Charges `count` units of work a library function is about to do in one C
 * loop (table.move over a range the script chose) to the instruction budget,
 * so a loop of 2^62 steps fails at once instead of running for centuries. */
static void sb_charge(lua_State *L, lua_Unsigned count) {
    Sandbox *sb = sb_of(L);
    if (sb->spent) sb_raise_spent(L);
    lua_Unsigned left = sb->instr_used < sb->instr_max ? (lua_Unsigned)(sb->instr_max - sb->instr_used) : 0;
    if (count > left) {
        lua_Debug ar;
        sb_spend(L, sb_script_frame(L, &ar) ? &ar : NULL, 0, NULL);
    }
    sb->instr_used += (int64_t)count;
}

/* sandbox_pattern.c's charges: the work is done already (in steps of a few
 * thousand), so this only checks both budgets. */
void sandbox_charge_work(lua_State *L, uint64_t units, const char *what) {
    Sandbox *sb = sb_of(L);
    if (sb->spent) sb_raise_spent(L);
    int64_t left = sb->instr_max - sb->instr_used;
    sb->instr_used = units > (uint64_t)(left > 0 ? left : 0) ? sb->instr_max + 1 : sb->instr_used + (int64_t)units;
    int over = sb->instr_used > sb->instr_max;
    if (over || (sb->t0 > 0 && now_seconds() - sb->t0 > sb->max_seconds)) {
        lua_Debug ar;
        sb_spend(L, sb_script_frame(L, &ar) ? &ar : NULL, !over, what);
    }
}

/* Starts a call: a fresh budget, no context. */
static void sb_begin(Sandbox *sb, const char *context) {
    sb->instr_used = 0;
    sb->spent = 0;
    sb->mem_refused = 0;
    sb->spent_msg[0] = '\0';
    snprintf(sb->context, sizeof sb->context, "%s", context ? context : "");
    sb->t0 = now_seconds();
    lua_sethook(sb->L, sb_hook, LUA_MASKCOUNT, sb->hook_step);
}

/* Keeps string messages; turns other error objects into text. */
static int sb_msgh(lua_State *L) {
    if (lua_type(L, 1) == LUA_TSTRING) return 1;
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    return 1;
}

/* A Lua error that escaped every protected call: a bug in a host, never a
 * script's doing. Say so instead of a bare abort. */
static int sb_panic(lua_State *L) {
    const char *m = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    fprintf(stderr, "pure: internal error: a Lua error outside a protected call: %s\n", m ? m : "(no message)");
    fflush(stderr);
    abort();
}

/* ---- the restricted library ---- */

/* load(chunk, chunkname, mode, env) with mode forced to "t": no bytecode. The
 * parser runs protected, so a budget spent in a reader function would come
 * back as load's (nil, message): hand it on instead. */
static int sb_load(lua_State *L) {
    int n = lua_gettop(L);
    if (n < 3) lua_settop(L, 3);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    if (sb_of(L)->spent) return sb_raise_spent(L);
    return lua_gettop(L);
}

/* pcall and xpcall as in lbaselib.c, except that a spent budget is raised
 * again instead of returned: a script cannot catch it. */
static int sb_finish_pcall(lua_State *L, int status, int extra) {
    if (sb_of(L)->spent) return sb_raise_spent(L);
    if (status != LUA_OK) {
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;  /* false, the error object */
    }
    return lua_gettop(L) - extra;  /* true, the results */
}

static int sb_pcall_lua(lua_State *L) {
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    int status = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 0);
    return sb_finish_pcall(L, status, 0);
}

/* xpcall's message handler around the script's (upvalue 1). A spent budget
 * is raised from the count hook, and Lua keeps hooks off from there until the
 * error reaches a protected call, so the script's handler would run where
 * nothing can stop it: then it is not called at all. */
static int sb_xpcall_msgh(lua_State *L) {
    if (sb_of(L)->spent) return 1;  /* the error object as it is */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int sb_xpcall_lua(lua_State *L) {
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, sb_xpcall_msgh, 1);
    lua_replace(L, 2);
    lua_pushboolean(L, 1);
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 2);  /* true and the function below its arguments */
    int status = lua_pcall(L, n - 2, LUA_MULTRET, 2);
    return sb_finish_pcall(L, status, 2);
}

/* Calls upvalue 1 (the original function) with all arguments. */
static int sb_call_original(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* setmetatable refusing __gc: Lua runs finalizers with hooks off, so neither
 * budget could stop a loop inside one. An object is marked for finalization
 * only when a metatable with a __gc field is set, so this check is enough. */
static int sb_setmetatable(lua_State *L) {
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        int t = lua_rawget(L, 2);
        lua_pop(L, 1);
        if (t != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc metamethods are not available in the sandbox (finalizers run "
                                 "outside the instruction budget)");
    }
    return sb_call_original(L);
}

/* string.rep of an empty string and separator is "" whatever the count, but
 * the library would still loop count times (2^63 for math.maxinteger). */
static int sb_str_rep(lua_State *L) {
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || l + lsep == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    return sb_call_original(L);
}

/* table functions whose C loop runs over a range the script chooses: charged
 * to the instruction budget first (upvalue 2 says which). For insert, remove
 * and sort the range is the table's length, which only a __len metamethod can
 * make larger than the memory the table occupies. */
enum { CHARGE_MOVE, CHARGE_CONCAT, CHARGE_LEN };

static lua_Unsigned range_len(lua_Integer f, lua_Integer e) {
    return e >= f ? (lua_Unsigned)e - (lua_Unsigned)f + 1 : 0;
}

static int has_len_meta(lua_State *L, int idx) {
    if (luaL_getmetafield(L, idx, "__len") == LUA_TNIL) return 0;
    lua_pop(L, 1);
    return 1;
}

static int sb_table_charged(lua_State *L) {
    int kind = (int)lua_tointeger(L, lua_upvalueindex(2));
    lua_Unsigned count = 0;
    int ok1, ok2;
    if (kind == CHARGE_MOVE) {  /* move(a1, f, e, t [, a2]) */
        lua_Integer f = lua_tointegerx(L, 2, &ok1), e = lua_tointegerx(L, 3, &ok2);
        if (ok1 && ok2) count = range_len(f, e);
    } else if (kind == CHARGE_CONCAT) {  /* concat(list [, sep [, i [, j]]]) */
        lua_Integer i = 1;
        ok1 = 1;
        if (!lua_isnoneornil(L, 3)) i = lua_tointegerx(L, 3, &ok1);
        if (ok1 && !lua_isnoneornil(L, 4)) {
            lua_Integer j = lua_tointegerx(L, 4, &ok2);
            if (ok2) count = range_len(i, j);
        } else if (ok1 && has_len_meta(L, 1)) {
            count = range_len(i, luaL_len(L, 1));
        }
    } else if (has_len_meta(L, 1)) {  /* insert, remove, sort */
        lua_Integer n = luaL_len(L, 1);
        count = n > 0 ? (lua_Unsigned)n : 0;
    }
    if (count > 0) sb_charge(L, count);
    return sb_call_original(L);
}

/* print to stderr: stdout may carry a command's JSON output. */
static int sb_print(lua_State *L) {
    if (sb_of(L)->quiet) return 0;
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

/* Replaces field `name` of the table on top with fn, the old value as upvalue 1
 * (and `kind` as upvalue 2 when >= 0). */
static void wrap_field(lua_State *L, const char *name, lua_CFunction fn, int kind) {
    lua_getfield(L, -1, name);
    int nup = 1;
    if (kind >= 0) {
        lua_pushinteger(L, kind);
        nup = 2;
    }
    lua_pushcclosure(L, fn, nup);
    lua_setfield(L, -2, name);
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
    lua_pushglobaltable(L);
    wrap_field(L, "load", sb_load, -1);
    wrap_field(L, "setmetatable", sb_setmetatable, -1);
    lua_pushcfunction(L, sb_pcall_lua);
    lua_setfield(L, -2, "pcall");
    lua_pushcfunction(L, sb_xpcall_lua);
    lua_setfield(L, -2, "xpcall");
    lua_pushcfunction(L, sb_print);
    lua_setfield(L, -2, "print");
    lua_pop(L, 1);
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    wrap_field(L, "rep", sb_str_rep, -1);
    sandbox_pattern_install(L); /* find, match, gmatch, gsub: counted steps */
    lua_pop(L, 1);
    lua_getglobal(L, LUA_TABLIBNAME);
    wrap_field(L, "move", sb_table_charged, CHARGE_MOVE);
    wrap_field(L, "concat", sb_table_charged, CHARGE_CONCAT);
    wrap_field(L, "insert", sb_table_charged, CHARGE_LEN);
    wrap_field(L, "remove", sb_table_charged, CHARGE_LEN);
    wrap_field(L, "sort", sb_table_charged, CHARGE_LEN);
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

/* err from a failed call whose error object is on top of the stack. */
static void sb_format_error(Sandbox *sb, int status, PureErr *err) {
    lua_State *L = sb->L;
    char msg[1024];
    if (sb->spent)
        snprintf(msg, sizeof msg, "%s", sb->spent_msg);
    else if (status == LUA_ERRMEM || (status == LUA_ERRERR && sb->mem_refused))
        snprintf(msg, sizeof msg, "%s: memory limit of %.1f MB exceeded (raise the memory limit)", sb->name,
                 (double)sb->mem_max / (1 << 20));
    else
        snprintf(msg, sizeof msg, "%s", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(no error message)");
    if (sb->context[0]) err_set(err, "%s (%s)", msg, sb->context);
    else err_set(err, "%s", msg);
}

/* Calls the function under its nargs arguments on top of the stack in
 * protected mode, with the message handler below it and a fresh budget.
 * nres results are left on success; on failure the stack is cut to below the
 * function. A spent budget fails the call even if the script caught it. */
static int sb_protected(Sandbox *sb, int nargs, int nres, const char *context, PureErr *err) {
    lua_State *L = sb->L;
    int base = lua_gettop(L) - nargs - 1;
    lua_pushcfunction(L, sb_msgh);
    lua_insert(L, base + 1);
    sb_begin(sb, context);
    int status = lua_pcall(L, nargs, nres, base + 1);
    sb->t0 = 0;  /* between calls the allocator does not read the clock */
    if (status != LUA_OK || sb->spent) {
        sb_format_error(sb, status, err);
        lua_settop(L, base);
        return -1;
    }
    lua_remove(L, base + 1);
    return 0;
}

Sandbox *sandbox_open_string(const char *code, size_t len, const char *name, const SandboxLimits *limits,
                             PureErr *err) {
    Sandbox *sb = xcalloc(1, sizeof *sb);
    sb->name = xstrdup(name);
    sb->mem_max = limits && limits->max_memory ? limits->max_memory : SANDBOX_DEFAULT_MEMORY;
    sb->instr_max = limits && limits->max_instructions > 0 ? limits->max_instructions : SANDBOX_DEFAULT_INSTRUCTIONS;
    sb->max_seconds = limits && limits->max_seconds > 0 ? limits->max_seconds : SANDBOX_DEFAULT_SECONDS;
    sb->quiet = limits && limits->quiet;
    sb->hook_step = sb->instr_max < HOOK_STEP ? (int)sb->instr_max : HOOK_STEP;
    sb->L = lua_newstate(sb_alloc, sb);
    if (!sb->L) {
        err_set(err, "%s: cannot create a Lua state within the memory limit of %zu bytes", name, sb->mem_max);
        sandbox_close(sb);
        return NULL;
    }
    *(Sandbox **)lua_getextraspace(sb->L) = sb;
    lua_State *L = sb->L;
    lua_atpanic(L, sb_panic);
    lua_pushcfunction(L, sb_open_libs);
    if (sb_protected(sb, 0, 0, "opening the standard libraries", err) < 0) goto fail;
    char chunk[1024];
    snprintf(chunk, sizeof chunk, "@%s", name);
    sb_begin(sb, NULL);
    int st = luaL_loadbufferx(L, code, len, chunk, "t");  /* the parser runs protected */
    if (st != LUA_OK) {
        sb_format_error(sb, st, err);
        goto fail;
    }
    if (sb_protected(sb, 0, 0, "running the script's top level", err) < 0) goto fail;
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

Sandbox *sandbox_open_defining(const char *script_path, const SandboxLimits *limits, const char *fn,
                               const char *missing, PureErr *err) {
    Sandbox *sb = sandbox_open(script_path, limits, err);
    if (sb && !sandbox_has_function(sb, fn)) {
        err_set(err, "%s: %s", sandbox_name(sb), missing);
        sandbox_close(sb);
        return NULL;
    }
    return sb;
}

void sandbox_context(Sandbox *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sb->context, sizeof sb->context, fmt, ap);
    va_end(ap);
}

int sandbox_push_function(Sandbox *sb, const char *fn, PureErr *err) {
    lua_State *L = sb->L;
    luaL_checkstack(L, 2, NULL);
    lua_pushglobaltable(L);
    lua_pushstring(L, fn);
    int t = lua_rawget(L, -2);
    lua_remove(L, -2);
    if (t == LUA_TFUNCTION) return 0;
    lua_pop(L, 1);
    return err_set(err, "%s: the script defines no function '%s'", sb->name, fn);
}

/* sandbox_run's protected function: (RunCall) on an empty stack. */
typedef struct RunCall {
    SandboxFn *fn;
    void *ud;
    PureErr *err;
    int rc;
} RunCall;

static int sb_run_call(lua_State *L) {
    RunCall *c = lua_touserdata(L, 1);
    lua_settop(L, 0);
    c->rc = c->fn(sb_of(L), c->ud, c->err);
    return 0;
}

int sandbox_run(Sandbox *sb, SandboxFn *fn, void *ud, PureErr *err) {
    lua_State *L = sb->L;
    if (!lua_checkstack(L, 3)) return err_set(err, "%s: Lua stack exhausted", sb->name);
    RunCall c = {fn, ud, err, 0};
    lua_pushcfunction(L, sb_run_call);
    lua_pushlightuserdata(L, &c);
    if (sb_protected(sb, 1, 0, NULL, err) < 0) return -1;
    return c.rc < 0 ? -1 : 0;
}

/* sandbox_call's protected function: (GlobalCall, args...) -> nres results. */
typedef struct GlobalCall {
    const char *fn;
    int nres;
    PureErr *err;
    int rc;
} GlobalCall;

static int sb_call_global(lua_State *L) {
    GlobalCall *c = lua_touserdata(L, 1);
    lua_remove(L, 1);
    if (sandbox_push_function(sb_of(L), c->fn, c->err) < 0) {
        c->rc = -1;
        return 0;
    }
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, c->nres);
    return lua_gettop(L);
}

int sandbox_call(Sandbox *sb, const char *fn, int nargs, int nres, const char *context, PureErr *err) {
    lua_State *L = sb->L;
    int base = lua_gettop(L) - nargs;
    if (!lua_checkstack(L, 3 + (nres > 0 ? nres : 0))) {
        lua_settop(L, base);
        return err_set(err, "%s: Lua stack overflow calling '%s'", sb->name, fn);
    }
    GlobalCall c = {fn, nres, err, 0};
    lua_pushcfunction(L, sb_call_global);
    lua_pushlightuserdata(L, &c);
    lua_rotate(L, base + 1, 2);  /* below the arguments */
    if (sb_protected(sb, nargs + 1, nres, context, err) < 0) return -1;
    if (c.rc < 0) {
        lua_settop(L, base);
        return -1;
    }
    return 0;
}

typedef struct FnQuery {
    const char *fn;
    int found;
} FnQuery;

static int has_function(Sandbox *sb, void *ud, PureErr *err) {
    FnQuery *q = ud;
    (void)err;
    PureErr none;
    q->found = sandbox_push_function(sb, q->fn, &none) == 0;
    return 0;
}

int sandbox_has_function(Sandbox *sb, const char *fn) {
    FnQuery q = {fn, 0};
    PureErr err;
    err_clear(&err);
    return sandbox_run(sb, has_function, &q, &err) == 0 && q.found;
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
