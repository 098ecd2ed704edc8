/* test_lua_patterns.c - the sandbox's pattern functions (lua/sandbox_pattern.c).
 *
 * 1. Same results as the standard library: one Lua script generates patterns
 *    and subjects from a fixed seed (every item kind: classes, sets, %b, %f,
 *    captures, back-references, anchors, quantifiers, and malformed ones) and
 *    runs find, match, gmatch and gsub (string, table and function
 *    replacements) on them, results and error messages serialized; it runs in
 *    a stock Lua state (luaL_openlibs: the reference) and in the sandbox, and
 *    the outputs must be equal line for line.
 * 2. Backtracking patterns on long subjects (the library's matcher runs for
 *    hours in C, where neither the count hook nor the clock fires): each of
 *    find, match, gmatch, gsub and a plain find with a long needle fails
 *    within the budget with an error naming the script's line and the
 *    function; pcall cannot swallow it; with a huge instruction budget the
 *    wall-clock limit stops it instead.
 * 3. Heavy but honest use (a gsub with a function over 1 MB) still fits the
 *    default budget and gives the expected text. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lua/sandbox.h"
#include "tests/check.h"

static const char *GEN =
    "local seed = 20261201\n"
    "local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648; return (seed >> 8) % n + 1 end\n"
    "local atoms = {'a','b','c','.','%a','%d','%s','%w','%A','%S','%p','%x','%u','%l','%c','%g','[ab]','[^a]',\n"
    "  '[a-c]','[%d_]','[]]','[^]]','[%a-]','[a-]','%%','%.','%]','%b()','%bab','%f[%w]','%f[%W]','%f[a]',\n"
    "  '(',')','()','%1','%2','%0','^','$','x','-','*','+','?','[','%','%b','%f','%fa',']','(a)','(.-)','(%w+)',\n"
    "  '(()a)','\\0','[\\0-a]','%z','[%]','[^%]]'}\n"
    "local quants = {'','','','*','+','-','?'}\n"
    "local chars = {'a','b','c','(',')',' ','1','_','x','\\0',']','%','A','.','\\n','\\255'}\n"
    "local function gen_pattern()\n"
    "  local t = {}\n"
    "  for i = 1, rnd(6) do t[#t + 1] = atoms[rnd(#atoms)] .. quants[rnd(#quants)] end\n"
    "  return table.concat(t)\n"
    "end\n"
    "local function gen_subject()\n"
    "  local t = {}\n"
    "  for i = 1, rnd(14) - 1 do t[#t + 1] = chars[rnd(#chars)] end\n"
    "  return table.concat(t)\n"
    "end\n"
    "local function ser(ok, ...)\n"
    "  local t = {tostring(ok)}\n"
    "  for i = 1, select('#', ...) do local v = select(i, ...); t[#t + 1] = type(v) .. ':' .. tostring(v) end\n"
    "  return table.concat(t, ',')\n"
    "end\n"
    "local function iterate(s, p, init)\n"
    "  local r = {}\n"
    "  for a, b, c in string.gmatch(s, p, init) do\n"
    "    r[#r + 1] = ser(true, a, b, c)\n"
    "    if #r > 20 then break end\n"
    "  end\n"
    "  return table.concat(r, ';')\n"
    "end\n"
    "local reps = {'<%0>', '%1', '[%2]', '%%', '%', '%a', 'x', 7}\n"
    "local tab = {a = 'A', ab = false, b = 1.5, ['('] = {}}\n"
    "local function fn(a, b) if a == 'b' then return nil end if b then return b end return '{' .. tostring(a) .. '}' end\n"
    "function run(n)\n"
    "  local out = {}\n"
    "  for i = 1, n do\n"
    "    local p, s, init = gen_pattern(), gen_subject(), rnd(7) - 4\n"
    "    if rnd(10) == 1 then init = rnd(20) end\n"
    "    out[#out + 1] = p:gsub('\\0', '\\\\0') .. ' | ' .. s:gsub('\\0', '\\\\0')\n"
    "    out[#out + 1] = ser(pcall(string.find, s, p))\n"
    "    out[#out + 1] = ser(pcall(string.find, s, p, init))\n"
    "    out[#out + 1] = ser(pcall(string.find, s, p, init, true))\n"
    "    out[#out + 1] = ser(pcall(string.match, s, p, init))\n"
    "    out[#out + 1] = ser(pcall(iterate, s, p, init))\n"
    "    out[#out + 1] = ser(pcall(string.gsub, s, p, reps[rnd(#reps)]))\n"
    "    out[#out + 1] = ser(pcall(string.gsub, s, p, tab, rnd(4) - 1))\n"
    "    out[#out + 1] = ser(pcall(string.gsub, s, p, fn))\n"
    "  end\n"
    "  out[#out + 1] = ser(pcall(string.find, nil, 'a'))\n"
    "  out[#out + 1] = ser(pcall(string.gsub, 'a', 'a', true))\n"
    "  out[#out + 1] = ser(pcall(string.rep('(', 40) .. 'a' .. string.rep(')', 40), 'a'))\n"
    "  out[#out + 1] = ser(pcall(string.find, string.rep('a', 300), string.rep('a?', 300)))\n"
    "  out[#out + 1] = ser(('  key = value  '):match('^%s*(%w+)%s*=%s*(.-)%s*$'))\n"
    "  out[#out + 1] = ser(('THE (quick) fox'):find('%f[%a]%a+', 5))\n"
    "  out[#out + 1] = ser(('hello world from Lua'):gsub('(%w+) (%w+)', '%2 %1'))\n"
    "  return table.concat(out, '\\n')\n"
    "end\n";

enum { N_CASES = 6000 };

typedef struct Out {
    char *s;
    size_t n;
} Out;

/* A copy of the string on top (it holds NUL bytes). */
static Out out_copy(lua_State *L) {
    Out o;
    const char *s = lua_tolstring(L, -1, &o.n);
    o.s = malloc(o.n + 1);
    memcpy(o.s, s, o.n + 1);
    return o;
}

/* The generator's output from a stock state: the reference. */
static Out run_stock(void) {
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    Out out = {0};
    if (luaL_loadbuffer(L, GEN, strlen(GEN), "@gen.lua") != LUA_OK || lua_pcall(L, 0, 0, 0) != LUA_OK) {
        fprintf(stderr, "stock: %s\n", lua_tostring(L, -1));
    } else {
        lua_getglobal(L, "run");
        lua_pushinteger(L, N_CASES);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK) fprintf(stderr, "stock: %s\n", lua_tostring(L, -1));
        else out = out_copy(L);
    }
    lua_close(L);
    return out;
}

static Out run_sandbox(void) {
    PureErr e = {0};
    SandboxLimits lim = {0};
    lim.max_instructions = 4000000000LL; /* the comparison is the test here, not the budget */
    lim.max_seconds = 600;
    Sandbox *sb = sandbox_open_string(GEN, strlen(GEN), "gen.lua", &lim, &e);
    CHECK(sb != NULL);
    Out out = {0};
    if (!sb) {
        fprintf(stderr, "%s\n", e.msg);
        return out;
    }
    lua_State *L = sandbox_state(sb);
    lua_pushinteger(L, N_CASES);
    if (sandbox_call(sb, "run", 1, 1, NULL, &e) == 0) {
        out = out_copy(L);
        lua_pop(L, 1);
    } else {
        fprintf(stderr, "sandbox: %s\n", e.msg);
    }
    sandbox_close(sb);
    return out;
}

static void test_same_as_library(void) {
    Out want = run_stock(), got = run_sandbox();
    CHECK(want.s && got.s);
    if (!want.s || !got.s) goto out;
    size_t lines = 0, errors = 0;
    for (size_t i = 0; i < want.n; i++) {
        lines += want.s[i] == '\n';
        errors += want.n - i > 13 && !memcmp(want.s + i, "false,string:", 13);
    }
    CHECK(lines > N_CASES * 9 && errors > N_CASES / 4); /* the cases include many malformed patterns */
    if (want.n != got.n || memcmp(want.s, got.s, want.n)) {
        const char *a = want.s, *b = got.s, *ea = a + want.n, *eb = b + got.n;
        int line = 1, shown = 0;
        while (a < ea && b < eb && shown < 3) {
            const char *na = memchr(a, '\n', (size_t)(ea - a)), *nb = memchr(b, '\n', (size_t)(eb - b));
            size_t la = (size_t)((na ? na : ea) - a), lb = (size_t)((nb ? nb : eb) - b);
            if (la != lb || memcmp(a, b, la)) {
                fprintf(stderr, "line %d differs:\n  library: %.*s\n  sandbox: %.*s\n", line, (int)la, a, (int)lb, b);
                shown++;
            }
            if (!na || !nb) break;
            a = na + 1, b = nb + 1, line++;
        }
        CHECK(!"the sandbox's pattern functions agree with the library");
        FILE *f = fopen("test_lua_patterns.library.txt", "wb"), *g = fopen("test_lua_patterns.sandbox.txt", "wb");
        if (f) fwrite(want.s, 1, want.n, f), fclose(f);
        if (g) fwrite(got.s, 1, got.n, g), fclose(g);
        fprintf(stderr, "both outputs: test_lua_patterns.{library,sandbox}.txt\n");
    }
    printf("patterns: %zu result lines (%zu errors) equal to the standard library's\n", lines, errors);
out:
    free(want.s);
    free(got.s);
}

/* ---- backtracking patterns ---- */

static const char *HOSTILE =
    "local s = string.rep('a', 30000)\n"
    "function find() return s:find('.-.-.-.-b') end\n"
    "function match() return string.match(s, 'a-a-a-a-a-b') end\n"
    "function gmatch() for w in s:gmatch('.-.-.-x') do end end\n"
    "function gsub() return (s:gsub('a*a*a*a*b', '')) end\n"
    "function plain() local h = string.rep('a', 1 << 20) return h:find(string.rep('a', 1 << 19) .. 'b', 1, true) end\n"
    "function swallow()\n"
    "  local n = 0\n"
    "  while true do n = n + 1; pcall(string.find, s, '.-.-.-.-b') end\n"
    "end\n"
    "function honest()\n"
    "  local text = string.rep('word ', 200000)\n"
    "  local up, n = text:gsub('%w+', string.upper)\n"
    "  local k = 0\n"
    "  for w in up:gmatch('%u+') do k = k + 1 end\n"
    "  return #up, n, k, up:match('^(%u+) '), up:find('WORD WORD', 1, true)\n"
    "end\n";

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int has(const char *text, const char *needle) {
    if (strstr(text, needle)) return 1;
    fprintf(stderr, "  message lacks '%s': %s\n", needle, text);
    return 0;
}

/* fn must fail with the budget's error at `line`, naming `what`. */
static void expect_spent(Sandbox *sb, const char *fn, int line, const char *what, const char *limit) {
    PureErr e = {0};
    double t0 = now();
    int rc = sandbox_call(sb, fn, 0, 0, fn, &e);
    double dt = now() - t0;
    CHECK(rc < 0);
    char at[64];
    snprintf(at, sizeof at, "rules.lua:%d: ", line);
    CHECK(has(e.msg, at) && has(e.msg, limit) && has(e.msg, what) && has(e.msg, "a backtracking pattern?"));
    CHECK(dt < 20); /* a few million steps, even under the sanitizers */
    printf("%s: failed after %.2f s: %s\n", fn, dt, e.msg);
}

static void test_backtracking(void) {
    PureErr e = {0};
    SandboxLimits lim = {0};
    lim.max_instructions = 5000000;
    Sandbox *sb = sandbox_open_string(HOSTILE, strlen(HOSTILE), "rules.lua", &lim, &e);
    CHECK(sb != NULL);
    if (!sb) return;
    const char *budget = "instruction budget of 5000000 per call exceeded in ";
    expect_spent(sb, "find", 2, "string.find, matching a pattern against a 30000-byte subject", budget);
    expect_spent(sb, "match", 3, "string.match, matching a pattern against a 30000-byte subject", budget);
    expect_spent(sb, "gmatch", 4, "string.gmatch, matching a pattern against a 30000-byte subject", budget);
    expect_spent(sb, "gsub", 5, "string.gsub, matching a pattern against a 30000-byte subject", budget);
    expect_spent(sb, "plain", 6, "string.find, matching a pattern against a 1048576-byte subject", budget);
    expect_spent(sb, "swallow", 9, "string.find", budget);
    sandbox_close(sb);

    /* a budget too large to matter: the clock stops it */
    lim.max_instructions = 1LL << 60;
    lim.max_seconds = 0.3;
    sb = sandbox_open_string(HOSTILE, strlen(HOSTILE), "rules.lua", &lim, &e);
    CHECK(sb != NULL);
    if (!sb) return;
    expect_spent(sb, "find", 2, "string.find", "time limit of 0.3 s per call exceeded in ");
    sandbox_close(sb);
}

static void test_honest(void) {
    PureErr e = {0};
    Sandbox *sb = sandbox_open_string(HOSTILE, strlen(HOSTILE), "rules.lua", NULL, &e);
    CHECK(sb != NULL);
    if (!sb) return;
    lua_State *L = sandbox_state(sb);
    int rc = sandbox_call(sb, "honest", 0, 6, NULL, &e);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "%s\n", e.msg);
    } else {
        CHECK(lua_tointeger(L, -6) == 1000000 && lua_tointeger(L, -5) == 200000 && lua_tointeger(L, -4) == 200000);
        CHECK(lua_isstring(L, -3) && !strcmp(lua_tostring(L, -3), "WORD"));
        CHECK(lua_tointeger(L, -2) == 1 && lua_tointeger(L, -1) == 9);
        lua_pop(L, 6);
    }
    sandbox_close(sb);
}

int main(void) {
    alarm(300); /* the library's matcher on these patterns would run for hours */
    test_same_as_library();
    test_backtracking();
    test_honest();
    return check_report("test_lua_patterns");
}
