/* prm_lua.c - PRM mode `lua`: a sandboxed user script (lua/sandbox.h) whose
 * score(problem, steps, reference) returns one number per text step
 * (docs/lua-api.md; example: pipelines/lua/arith_prm.lua). */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>

#include "lua/sandbox.h"
#include "prm.h"

PrmScoreFn prm_lua_score;

static int lua_text(void *state, const PrmText *t, float *rewards, PureErr *err) {
    Sandbox *sb = state;
    lua_State *L = sandbox_state(sb);
    lua_pushstring(L, t->problem);
    lua_createtable(L, t->nt, 0);
    for (int s = 0; s < t->nt; s++) {
        lua_pushlstring(L, t->text + t->starts[s], t->ends[s] - t->starts[s]);
        lua_rawseti(L, -2, s + 1);
    }
    lua_pushstring(L, t->reference);
    char context[64];
    snprintf(context, sizeof context, "response %lld", (long long)t->i);
    double *v = xmalloc(((size_t)t->nt + 1) * sizeof(double));
    int rc = 0;
    if (sandbox_call(sb, PRM_LUA_FUNCTION, 3, 1, context, err)) rc = -1;
    else {
        char what[64];
        snprintf(what, sizeof what, PRM_LUA_FUNCTION "() result for response %lld", (long long)t->i);
        rc = sandbox_read_numbers(L, -1, v, t->nt, what, err);
        lua_pop(L, 1);
        for (int s = 0; s < t->nt; s++) rewards[s] = (float)v[s];
    }
    free(v);
    return rc;
}

int prm_lua_score(StageCtx *ctx, PrmJob *j, PureErr *err) {
    SandboxLimits lim = {stage_param_int(ctx, "max_instructions"), (size_t)stage_param_int(ctx, "max_memory_mb") << 20};
    Sandbox *sb = sandbox_open(stage_param_str(ctx, "script"), &lim, err);
    if (!sb) return -1;
    int rc = 0;
    if (!sandbox_has_function(sb, PRM_LUA_FUNCTION))
        rc = err_set(err, "%s: defines no function " PRM_LUA_FUNCTION "(problem, steps, reference)", sandbox_name(sb));
    else rc = prm_score_text(ctx, j, lua_text, sb, err);
    sandbox_close(sb);
    return rc;
}
