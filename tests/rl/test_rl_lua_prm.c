/* test_rl_lua_prm.c - the shipped Lua PRM (pipelines/lua/arith_prm.lua) scores
 * toy steps as documented: true arithmetic is +1 (filler steps included, the
 * flaw it is meant to have), wrong arithmetic -1, the boxed answer +1 only
 * when it equals the last computed result; hand-worked expectations. */
#include <lua.h>
#include <stdio.h>

#include "lua/sandbox.h"
#include "tests/check.h"

/* score(problem, steps, reference) on the toy problem, as stages/prm/prm_lua.c
 * calls it: arguments, call and result inside one protected call. */
typedef struct Score {
    const char *const *steps;
    int n;
    double got[8];
} Score;

static int call_score(Sandbox *sb, void *ud, PureErr *err) {
    Score *s = ud;
    lua_State *L = sandbox_state(sb);
    if (sandbox_push_function(sb, "score", err) < 0) return -1;
    lua_pushstring(L, "23+45-12=?");
    lua_createtable(L, s->n, 0);
    for (int i = 0; i < s->n; i++) {
        lua_pushstring(L, s->steps[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushstring(L, "56");
    lua_call(L, 3, 1);
    return sandbox_read_numbers(L, -1, s->got, s->n, "score()", err);
}

static void score(Sandbox *sb, const char *const *steps, int n, const double *want) {
    PureErr err = {0};
    Score s = {steps, n, {0}};
    int rc = sandbox_run(sb, call_score, &s, &err);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    for (int i = 0; i < n; i++) CHECK_NEAR(s.got[i], want[i], 0);
}

int main(void) {
    PureErr err = {0};
    Sandbox *sb = sandbox_open(PURE_SOURCE_DIR "/pipelines/lua/arith_prm.lua", NULL, &err);
    CHECK(sb != NULL);
    if (!sb) {
        fprintf(stderr, "%s\n", err.msg);
        return check_report("test_rl_lua_prm");
    }
    const char *good[] = {"23+45=68\n\n", "68-12=56\n\n", "The answer is \\boxed{56}."};
    score(sb, good, 3, (const double[]){1, 1, 1});
    const char *filler[] = {"23+45=68\n\n", "68+0=68\n\n", "68-0=68\n\n", "The answer is \\boxed{68}."};
    score(sb, filler, 4, (const double[]){1, 1, 1, 1}); /* filler passes; the answer matches the last result */
    const char *wrong[] = {"23+45=67\n\n", "67-12=55\n\n", "The answer is \\boxed{56}.", "I think so\n\n"};
    score(sb, wrong, 4, (const double[]){-1, 1, -1, -1});
    score(sb, NULL, 0, NULL);
    sandbox_close(sb);
    return check_report("test_rl_lua_prm");
}
