/* test_sandbox.c - lua/sandbox: the allow-list (no io, os, require, dofile,
 * loadfile, debug, bytecode), the instruction budget, the memory cap, and
 * error messages that carry script:line and the caller's context. */
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

int main(void) {
    test_allow_list();
    test_errors();
    test_budgets();
    test_arrays();
    return check_report("test_sandbox");
}
