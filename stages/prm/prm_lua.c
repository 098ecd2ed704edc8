/* prm_lua.c - PRM mode `lua`: a sandboxed user script (lua/sandbox.h) whose
 * score(problem, steps, reference) returns one number per text step
 * (docs/lua-api.md; example: pipelines/lua/arith_prm.lua). Each response is
 * one protected call (sandbox_run): arguments, the call and reading the
 * result, so a script's error or a full memory budget names the response and
 * never aborts. */
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "lua/sandbox.h"
#include "prm.h"

PrmScoreFn prm_lua_score;

/* One response's call; v (nt doubles) is allocated by the caller, since a Lua
 * error unwinds straight out of here. */
typedef struct ScoreCall {
    const PrmText *t;
    double *v;
} ScoreCall;

static int call_score(Sandbox *sb, void *ud, PureErr *err) {
    const ScoreCall *c = ud;
    const PrmText *t = c->t;
    lua_State *L = sandbox_state(sb);
    sandbox_context(sb, "response %lld", (long long)t->i);
    luaL_checkstack(L, 6, NULL);
    if (sandbox_push_function(sb, PRM_LUA_FUNCTION, err) < 0) return -1;
    lua_pushstring(L, t->problem);
    lua_createtable(L, t->nt, 0);
    for (int s = 0; s < t->nt; s++) {
        lua_pushlstring(L, t->text + t->starts[s], t->ends[s] - t->starts[s]);
        lua_rawseti(L, -2, s + 1);
    }
    lua_pushstring(L, t->reference);
    lua_call(L, 3, 1);
    char what[64];
    snprintf(what, sizeof what, PRM_LUA_FUNCTION "() result for response %lld", (long long)t->i);
    return sandbox_read_numbers(L, -1, c->v, t->nt, what, err);
}

static int lua_text(void *state, const PrmText *t, float *rewards, PureErr *err) {
    double *v = xmalloc(((size_t)t->nt + 1) * sizeof(double));
    ScoreCall c = {t, v};
    int rc = sandbox_run(state, call_score, &c, err);
    for (int s = 0; s < t->nt && rc == 0; s++) {
        rewards[s] = (float)v[s];
        if (!isfinite(rewards[s]))
            rc = err_set(err, "%s: " PRM_LUA_FUNCTION "() result for response %lld: [%d] = %g does not fit a float32 "
                              "(|value| > 3.4e38)", sandbox_name(state), (long long)t->i, s + 1, v[s]);
    }
    free(v);
    return rc;
}

Sandbox *prm_lua_open(const StageParams *p, PureErr *err) {
    SandboxLimits lim = {param_int(p, "max_instructions"), (size_t)param_int(p, "max_memory_mb") << 20,
                         param_float(p, "max_seconds"), 0};
    return sandbox_open_defining(param_str(p, "script"), &lim, PRM_LUA_FUNCTION,
                                 "defines no function " PRM_LUA_FUNCTION "(problem, steps, reference) (docs/lua-api.md)",
                                 err);
}

int prm_lua_score(StageCtx *ctx, PrmJob *j, PureErr *err) {
    Sandbox *sb = prm_lua_open(stage_params(ctx), err);
    if (!sb) return -1;
    int rc = prm_score_text(ctx, j, lua_text, sb, err);
    sandbox_close(sb);
    return rc;
}
