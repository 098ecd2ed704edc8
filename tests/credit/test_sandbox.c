/* test_sandbox.c - lua/sandbox: the allow-list (no io, os, require, dofile,
 * loadfile, debug, bytecode), the instruction budget, the memory cap, the
 * wall-clock limit, and error messages that carry script:line and the
 * caller's context; the hardening of issue 12: nothing a script does aborts
 * the host (every C->Lua exchange is protected), and neither budget can be
 * swallowed (pcall, xpcall, load, sliced work, __gc finalizers, library loops
 * of a script-chosen length). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "lua/sandbox.h"
#include "tests/check.h"

static Sandbox *open_code(const char *code, const SandboxLimits *lim, PureErr *err) {
    err_clear(err);
    return sandbox_open_string(code, strlen(code), "t.lua", lim, err);
}

/* Runs global `f` (no arguments, one result) and returns its error message ("" when it succeeded). */
static const char *call_f(Sandbox *sb, PureErr *err) {
    err_clear(err);
    if (sandbox_call(sb, "f", 0, 1, "group 3", err) == 0) {
        lua_pop(sandbox_state(sb), 1);
        return "";
    }
    return err->msg;
}

static void test_allow_list(void) {
    PureErr err;
    Sandbox *sb = open_code(
        "function f() return 1 end\n"
        "absent = {io = io == nil, os = os == nil, require = require == nil, dofile = dofile == nil,\n"
        "  loadfile = loadfile == nil, debug = debug == nil, package = package == nil,\n"
        "  dump = string.dump == nil, collect = collectgarbage == nil}\n",
        NULL, &err);
    CHECK(sb != NULL);
    if (!sb) { fprintf(stderr, "%s\n", err.msg); return; }
    lua_State *L = sandbox_state(sb);
    const char *names[] = {"io", "os", "require", "dofile", "loadfile", "debug", "package", "dump", "collect"};
    lua_getglobal(L, "absent");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        lua_getfield(L, -1, names[i]);
        if (!lua_toboolean(L, -1)) fprintf(stderr, "sandbox exposes %s\n", names[i]);
        CHECK(lua_toboolean(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    /* string, table and math are there */
    CHECK(sandbox_has_function(sb, "f"));
    CHECK(!sandbox_has_function(sb, "g"));
    sandbox_close(sb);

    /* load of text works; load of bytecode (even with mode "b" asked) fails */
    sb = open_code("function f() return load('return 2 + 3')() end\n"
                   "function g() return load('\\27Lua\\84\\0', 'x', 'b') end\n",
                   NULL, &err);
    CHECK(sb != NULL);
    lua_State *L2 = sandbox_state(sb);
    CHECK(sandbox_call(sb, "f", 0, 1, NULL, &err) == 0);
    CHECK(lua_tointeger(L2, -1) == 5);
    lua_pop(L2, 1);
    CHECK(sandbox_call(sb, "g", 0, 2, NULL, &err) == 0);
    CHECK(lua_isnil(L2, -2));  /* load returns nil, message */
    CHECK(strstr(lua_tostring(L2, -1), "binary chunk") != NULL);
    lua_pop(L2, 2);
    sandbox_close(sb);

    /* a script that is bytecode is refused at open */
    sb = open_code("\x1bLua\x54", NULL, &err);
    CHECK(sb == NULL);
    CHECK(strstr(err.msg, "binary chunk") != NULL);

    /* calling a removed function is a runtime error with script:line and the context */
    sb = open_code("function f()\n  return os.time()\nend\n", NULL, &err);
    CHECK_STR(call_f(sb, &err), "t.lua:2: attempt to index a nil value (global 'os') (group 3)");
    sandbox_close(sb);
    sb = open_code("function f()\n  require('io')\nend\n", NULL, &err);
    CHECK_STR(call_f(sb, &err), "t.lua:2: attempt to call a nil value (global 'require') (group 3)");
    sandbox_close(sb);
}

static void test_errors(void) {
    PureErr err;
    /* syntax error at open: script:line */
    Sandbox *sb = open_code("function f(\n  x = 1\n", NULL, &err);
    CHECK(sb == NULL);
    CHECK(strncmp(err.msg, "t.lua:2:", 8) == 0);
    /* error at the top level names the line */
    sb = open_code("local x = 1\nerror('boom')\n", NULL, &err);
    CHECK(sb == NULL);
    CHECK(strstr(err.msg, "t.lua:2: boom") == err.msg);
    /* non-string error objects become text */
    sb = open_code("function f() error({}) end\n", NULL, &err);
    CHECK_STR(call_f(sb, &err), "(error object is a table value) (group 3)");
    /* the state survives an error and can be called again */
    CHECK_STR(call_f(sb, &err), "(error object is a table value) (group 3)");
    sandbox_close(sb);
    /* missing function */
    sb = open_code("x = 1\n", NULL, &err);
    err_clear(&err);
    lua_pushinteger(sandbox_state(sb), 7);
    CHECK(sandbox_call(sb, "credit", 1, 1, "group 0", &err) < 0);
    CHECK_STR(err.msg, "t.lua: the script defines no function 'credit'");
    CHECK(lua_gettop(sandbox_state(sb)) == 0);
    sandbox_close(sb);
    /* missing file */
    err_clear(&err);
    CHECK(sandbox_open("/nonexistent/rule.lua", NULL, &err) == NULL);
    CHECK(strstr(err.msg, "/nonexistent/rule.lua") != NULL);
}

static void test_budgets(void) {
    PureErr err;
    SandboxLimits lim = {100000, 0};
    Sandbox *sb = open_code("function f()\n  local i = 0\n  while true do\n    i = i + 1\n  end\nend\n"
                            "function g(n) local s = 0 for i = 1, n do s = s + i end return s end\n",
                            &lim, &err);
    CHECK(sb != NULL);
    const char *m = call_f(sb, &err);
    CHECK(strstr(m, "t.lua:") == m);
    CHECK(strstr(m, "instruction budget of 100000 per call exceeded") != NULL);
    CHECK(strstr(m, "(group 3)") != NULL);
    /* the budget resets per call: a small loop runs after the overrun */
    lua_State *L = sandbox_state(sb);
    lua_pushinteger(L, 1000);
    CHECK(sandbox_call(sb, "g", 1, 1, NULL, &err) == 0);
    CHECK(lua_tointeger(L, -1) == 500500);
    lua_pop(L, 1);
    sandbox_close(sb);

    /* an infinite loop at the top level is stopped at open */
    sb = open_code("while true do end\n", &lim, &err);
    CHECK(sb == NULL);
    CHECK(strstr(err.msg, "instruction budget") != NULL);

    SandboxLimits mem = {0, (size_t)4 << 20};
    sb = open_code("function f()\n  local t = {}\n  for i = 1, 1e9 do t[i] = {i} end\nend\n"
                   "function g() return string.rep('x', 1 << 30) end\n",
                   &mem, &err);
    CHECK(sb != NULL);
    CHECK_STR(call_f(sb, &err), "t.lua: memory limit of 4.0 MB exceeded (raise the memory limit) (group 3)");
    err_clear(&err);
    CHECK(sandbox_call(sb, "g", 0, 1, NULL, &err) < 0);
    CHECK(strstr(err.msg, "memory limit of 4.0 MB") != NULL);
    /* still usable after both */
    CHECK_STR(call_f(sb, &err), "t.lua: memory limit of 4.0 MB exceeded (raise the memory limit) (group 3)");
    sandbox_close(sb);
}

static void test_arrays(void) {
    PureErr err;
    Sandbox *sb = open_code("function f(a, b) local r = {} for i = 1, #a do r[i] = a[i] * b[i] end return r end\n"
                            "function bad() return {1, 'x', 3} end\nfunction short() return {1} end\n"
                            "function inf() return {1, math.huge} end\n",
                            NULL, &err);
    lua_State *L = sandbox_state(sb);
    float a[3] = {1.5f, 2, -3};
    int32_t b[3] = {2, 3, 4};
    sandbox_push_floats(L, a, 3);
    sandbox_push_ints(L, b, 3);
    CHECK(sandbox_call(sb, "f", 2, 1, NULL, &err) == 0);
    double out[3];
    CHECK(sandbox_read_numbers(L, -1, out, 3, "result", &err) == 0);
    CHECK_NEAR(out[0], 3, 0);
    CHECK_NEAR(out[1], 6, 0);
    CHECK_NEAR(out[2], -12, 0);
    lua_pop(L, 1);
    CHECK(sandbox_call(sb, "bad", 0, 1, NULL, &err) == 0);
    CHECK(sandbox_read_numbers(L, -1, out, 3, "r", &err) < 0);
    CHECK_STR(err.msg, "r[2] is a string, expected a number");
    lua_pop(L, 1);
    CHECK(sandbox_call(sb, "short", 0, 1, NULL, &err) == 0);
    CHECK(sandbox_read_numbers(L, -1, out, 3, "r", &err) < 0);
    CHECK_STR(err.msg, "r has 1 entries, expected 3");
    lua_pop(L, 1);
    CHECK(sandbox_call(sb, "inf", 0, 1, NULL, &err) == 0);
    CHECK(sandbox_read_numbers(L, -1, out, 2, "r", &err) < 0);
    CHECK_STR(err.msg, "r[2] is infinite, expected a finite number");
    lua_pop(L, 1);
    /* math.random repeats across states (fixed seed) */
    sandbox_close(sb);
    double r1, r2;
    for (int k = 0; k < 2; k++) {
        sb = open_code("function f() return math.random() end\n", NULL, &err);
        L = sandbox_state(sb);
        sandbox_call(sb, "f", 0, 1, NULL, &err);
        *(k ? &r2 : &r1) = lua_tonumber(L, -1);
        sandbox_close(sb);
    }
    CHECK(r1 == r2);
}


/* ---- issue 12: no abort, whatever the script does ---- */

/* A host step that reads field "x" of global table `t`: runs t's __index. */
static int read_field(Sandbox *sb, void *ud, PureErr *err) {
    (void)ud, (void)err;
    lua_State *L = sandbox_state(sb);
    sandbox_context(sb, "reading t.x");
    lua_getglobal(L, "t");
    lua_getfield(L, -1, "x");
    return 0;
}

/* A host step that builds a table of n entries (what the credit host does per group). */
static int build_table(Sandbox *sb, void *ud, PureErr *err) {
    (void)err;
    lua_State *L = sandbox_state(sb);
    sandbox_context(sb, "group 7");
    int n = *(int *)ud;
    lua_createtable(L, 0, 0);
    for (int i = 1; i <= n; i++) {
        lua_createtable(L, 0, 2);
        lua_pushinteger(L, i);
        lua_setfield(L, -2, "index");
        lua_rawseti(L, -2, i);
    }
    return 0;
}

static int host_refuses(Sandbox *sb, void *ud, PureErr *err) {
    (void)sb, (void)ud;
    return err_set(err, "the host says no");
}

static void test_protected(void) {
    PureErr err;
    /* (a) a metamethod that raises while the host reads: the script's line and the context */
    Sandbox *sb = open_code("t = setmetatable({}, {__index = function(t, k)\n  error('boom ' .. k)\nend})\n", NULL, &err);
    CHECK(sb != NULL);
    err_clear(&err);
    CHECK(sandbox_run(sb, read_field, NULL, &err) < 0);
    CHECK_STR(err.msg, "t.lua:2: boom x (reading t.x)");
    CHECK(lua_gettop(sandbox_state(sb)) == 0);
    /* the host's own refusal comes back as it is */
    err_clear(&err);
    CHECK(sandbox_run(sb, host_refuses, NULL, &err) < 0);
    CHECK_STR(err.msg, "the host says no");
    sandbox_close(sb);

    /* (b) the globals' __index raises: looking a function up runs no script code */
    sb = open_code("setmetatable(_G, {__index = function() error('nope') end})\n", NULL, &err);
    CHECK(sb != NULL);
    CHECK(!sandbox_has_function(sb, "credit"));
    err_clear(&err);
    CHECK(sandbox_call(sb, "credit", 0, 1, "group 0", &err) < 0);
    CHECK_STR(err.msg, "t.lua: the script defines no function 'credit'");
    CHECK(lua_gettop(sandbox_state(sb)) == 0);
    sandbox_close(sb);

    /* (c) the top level fills the memory cap and catches the error: the host's pushes fail cleanly */
    SandboxLimits mem = {0, (size_t)2 << 20, 0, 0};
    sb = open_code("keep = {}\npcall(function() local i = 0 while true do i = i + 1 keep[i] = {i} end end)\n"
                   "function f() return 1 end\n",
                   &mem, &err);
    CHECK(sb != NULL);
    if (!sb) fprintf(stderr, "  %s\n", err.msg);
    int n = 100000;
    err_clear(&err);
    CHECK(sb && sandbox_run(sb, build_table, &n, &err) < 0);
    CHECK_STR(err.msg, "t.lua: memory limit of 2.0 MB exceeded (raise the memory limit) (group 7)");
    CHECK(!sb || lua_gettop(sandbox_state(sb)) == 0);
    CHECK(sb && !sandbox_has_function(sb, "credit"));  /* a lookup that cannot even push its key: no abort */
    sandbox_close(sb);
}

static void test_unswallowable(void) {
    PureErr err;
    SandboxLimits lim = {100000, 0, 0, 0};
    const char *looping_tops[] = {
        "while true do pcall(function() while true do end end) end\n",
        "while true do xpcall(function() while true do end end, function(m) return m end) end\n",
        "while true do xpcall(function() while true do end end, function(m) while true do end end) end\n",
        "while true do xpcall(function() error('x') end, function(m) while true do end end) end\n",
        "while true do pcall(function()\n  local x <close> = setmetatable({}, {__close = function() while true do end "
        "end})\n  while true do end\nend) end\n",
        "while true do load(function() while true do end end) end\n",
        "while true do pcall(error, 'x') end\n",
        "local function f() pcall(f) while true do end end\nwhile true do pcall(f) end\n",
    };
    for (size_t k = 0; k < sizeof looping_tops / sizeof *looping_tops; k++) {
        Sandbox *sb = open_code(looping_tops[k], &lim, &err);
        CHECK(sb == NULL);
        if (sb) fprintf(stderr, "  swallowed: %s", looping_tops[k]);
        CHECK(strstr(err.msg, "instruction budget of 100000 per call exceeded") != NULL);
        sandbox_close(sb);
    }
    /* sliced work: each slice caught, the call returns normally: still a failure */
    Sandbox *sb = open_code("function f()\n  local n = 0\n  for i = 1, 60 do\n"
                            "    pcall(function() for j = 1, 1e9 do n = n + 1 end end)\n  end\n  return n\nend\n",
                            &lim, &err);
    CHECK(sb != NULL);
    const char *m = call_f(sb, &err);
    CHECK(strstr(m, "t.lua:4: instruction budget of 100000 per call exceeded") == m);
    CHECK(strstr(m, "(group 3)") != NULL);
    sandbox_close(sb);
    /* a finalizer would run with hooks off: __gc is refused where it would be armed */
    sb = open_code("setmetatable({}, {__gc = function() while true do end end})\n", &lim, &err);
    CHECK(sb == NULL);
    CHECK(strstr(err.msg, "t.lua:1: setmetatable: __gc metamethods are not available in the sandbox") == err.msg);
    sb = open_code("function f() local mt = {} setmetatable({}, mt) mt.__gc = function() while true do end end "
                   "return getmetatable(setmetatable({}, {__index = mt})) ~= nil end\n",
                   &lim, &err);
    CHECK_STR(call_f(sb, &err), "");
    sandbox_close(sb);  /* the late __gc never runs: closing returns */
    /* library loops of a script-chosen length are charged to the budget */
    const char *long_loops[] = {
        "table.move({}, 1, math.maxinteger - 1, 2)\n",
        "table.move({}, math.mininteger, math.maxinteger - 1, 2)\n",
        "table.concat({}, '', 1, math.maxinteger)\n",
        "table.remove(setmetatable({}, {__len = function() return math.maxinteger end}), 1)\n",
        "table.insert(setmetatable({}, {__len = function() return math.maxinteger - 1 end}), 1, 0)\n",
        "table.concat(setmetatable({}, {__len = function() return math.maxinteger end, __index = function() "
        "return '' end}))\n",
    };
    for (size_t k = 0; k < sizeof long_loops / sizeof *long_loops; k++) {
        sb = open_code(long_loops[k], &lim, &err);
        CHECK(sb == NULL);
        if (sb) fprintf(stderr, "  not charged: %s", long_loops[k]);
        CHECK(strstr(err.msg, "t.lua:1: instruction budget of 100000 per call exceeded") == err.msg);
        sandbox_close(sb);
    }
    /* string.rep of nothing is nothing, at once */
    sb = open_code("function f() return string.rep('', math.maxinteger) .. ('x'):rep(3) .. ('' ):rep(9, '') end\n",
                   &lim, &err);
    lua_State *L = sandbox_state(sb);
    CHECK(sandbox_call(sb, "f", 0, 1, NULL, &err) == 0);
    CHECK_STR(lua_tostring(L, -1), "xxx");
    lua_pop(L, 1);
    sandbox_close(sb);
}

static void test_pcall_still_works(void) {
    PureErr err;
    Sandbox *sb = open_code(
        "function f()\n"
        "  local a, b = pcall(error, 'x', 0)\n"
        "  local c, d, e = pcall(function(u, v) return u + v, u * v end, 2, 3)\n"
        "  local g, h = xpcall(function() error({code = 7}) end, function(o) return o.code end)\n"
        "  local i, j = pcall(pcall)\n"
        "  local k, l = pcall(load('return 1 +'))\n"
        "  return table.concat({tostring(a), b, tostring(c), d, e, tostring(g), h, tostring(i),\n"
        "                       tostring(k)}, ',') .. '|' .. tostring(select(2, load('return 1 +')) ~= nil)\n"
        "end\n",
        NULL, &err);
    CHECK(sb != NULL);
    lua_State *L = sandbox_state(sb);
    CHECK(sandbox_call(sb, "f", 0, 1, NULL, &err) == 0);
    CHECK_STR(lua_tostring(L, -1), "false,x,true,5,6,false,7,false,false|true");
    lua_pop(L, 1);
    sandbox_close(sb);
}

static void test_time_limit(void) {
    PureErr err;
    /* 0.2 s on an infinite loop, with an instruction budget it cannot reach */
    SandboxLimits lim = {(int64_t)1e15, 0, 0.2, 0};
    Sandbox *sb = open_code("function f()\n  while true do end\nend\n"
                            "function g()\n  while true do local s = string.rep('x', 1e7) end\nend\n",
                            &lim, &err);
    CHECK(sb != NULL);
    CHECK_STR(call_f(sb, &err),
              "t.lua:2: time limit of 0.2 s per call exceeded (a runaway loop? raise the time limit) (group 3)");
    /* slow library calls between two hooks: the allocator reads the clock too */
    err_clear(&err);
    CHECK(sandbox_call(sb, "g", 0, 0, "group 5", &err) < 0);
    CHECK(strstr(err.msg, "t.lua") == err.msg && strstr(err.msg, "time limit of 0.2 s per call exceeded") != NULL);
    CHECK(strstr(err.msg, "(group 5)") != NULL);
    /* the limit is per call: a short call runs after */
    sandbox_close(sb);
    sb = open_code("function f() pcall(function() while true do end end) return 1 end\n", &lim, &err);
    CHECK(strstr(call_f(sb, &err), "time limit of 0.2 s per call exceeded") != NULL);
    sandbox_close(sb);
    /* quiet: print writes nothing (checked by eye in the fuzzer; here: it still runs) */
    SandboxLimits q = {0, 0, 0, 1};
    sb = open_code("print('you should not see this')\nfunction f() print('nor this') return 1 end\n", &q, &err);
    CHECK(sb != NULL);
    CHECK_STR(call_f(sb, &err), "");
    sandbox_close(sb);
}

int main(void) {
    test_allow_list();
    test_errors();
    test_budgets();
    test_arrays();
    test_protected();
    test_unswallowable();
    test_pcall_still_works();
    test_time_limit();
    return check_report("test_sandbox");
}
