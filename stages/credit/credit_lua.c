/* credit_lua.c - the `lua` credit rule: prepare() calls the script's
 * credit(responses, params) once per group and turns what it returns into
 * per-token process values; the rule's function then hands each response's
 * values on as token rewards or as process returns. Everything done with
 * the Lua state for one group (its arguments, the call, reading the results)
 * is one protected call (sandbox_run), so a raising metamethod or a full
 * memory budget is an error naming the group, never an abort. The Lua side of
 * the contract is documented in docs/lua-api.md. */
#include "credit.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pushes the table a rule sees for response i. */
static void push_response(lua_State *L, const CreditBatch *b, int64_t i) {
    int64_t s0 = b->step_off[i], ns = b->step_off[i + 1] - s0;
    lua_createtable(L, 0, 7);
    lua_pushinteger(L, i);
    lua_setfield(L, -2, "index");
    lua_pushinteger(L, b->group[i]);
    lua_setfield(L, -2, "group");
    lua_pushinteger(L, b->length[i]);
    lua_setfield(L, -2, "length");
    lua_pushboolean(L, b->truncated && b->truncated[i]);
    lua_setfield(L, -2, "truncated");
    sandbox_push_ints(L, b->step_ends + s0, ns);
    lua_setfield(L, -2, "step_ends");
    if (b->step_rewards) {
        sandbox_push_floats(L, b->step_rewards + s0, ns);
        lua_setfield(L, -2, "step_rewards");
    }
    if (b->verifiable && (!b->has_verifiable || b->has_verifiable[i])) {
        lua_pushnumber(L, b->verifiable[i]);
        lua_setfield(L, -2, "verifiable");
    }
}

static void push_params(lua_State *L, const CreditConfig *cfg, int64_t group) {
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, group);
    lua_setfield(L, -2, "group");
    lua_pushnumber(L, cfg->temperature);
    lua_setfield(L, -2, "temperature");
    lua_pushnumber(L, cfg->gamma);
    lua_setfield(L, -2, "gamma");
    lua_pushinteger(L, cfg->max_length);
    lua_setfield(L, -2, "max_length");
}

/* Reads the entry on top of the stack (the rule's value for response i) into
 * proc[0..L). Kinds: {returns = ...} and {tokens = ...} hold L values,
 * {steps = ...} or a plain sequence hold one value per step. */
static int read_entry(lua_State *L, const CreditBatch *b, int64_t i, double *proc, uint8_t *is_return,
                      double *steps, PureErr *err) {
    static const char *const kinds[] = {"returns", "tokens", "steps"};
    int32_t len = b->length[i];
    int64_t s0 = b->step_off[i], ns = b->step_off[i + 1] - s0;
    if (lua_type(L, -1) != LUA_TTABLE)
        return err_set(err, "the value is a %s, expected a table (see docs/lua-api.md)", luaL_typename(L, -1));
    int kind = -1;
    for (int k = 0; k < 3; k++) {
        int present = lua_getfield(L, -1, kinds[k]) != LUA_TNIL;
        lua_pop(L, 1);
        if (present && kind >= 0)
            return err_set(err, "the value has both '%s' and '%s'; give one", kinds[kind], kinds[k]);
        if (present) kind = k;
    }
    int plain = kind < 0;
    if (plain) kind = 2;
    if (!plain) lua_getfield(L, -1, kinds[kind]);
    int rc = kind == 2 ? sandbox_read_numbers(L, -1, steps, ns, kinds[kind], err)
                       : sandbox_read_numbers(L, -1, proc, len, kinds[kind], err);
    if (!plain) lua_pop(L, 1);
    if (rc < 0) return -1;
    is_return[i] = kind == 0;
    if (kind == 2)
        for (int64_t k = 0; k < ns; k++) proc[b->step_ends[s0 + k]] += steps[k];
    return 0;
}

CreditRulePrepareFn credit_lua_prepare;
CreditRuleFn credit_lua;

/* One group's call, run inside the sandbox's protected call (sandbox_run):
 * arguments, the script's credit(), its results. Nothing here is malloc'd: a
 * Lua error unwinds straight out. */
typedef struct GroupCall {
    const CreditRuleRun *run;
    const int64_t *members;  /* (K) the group's responses in batch order */
    int64_t K, gid;
    double *steps;           /* scratch of the longest response's step count */
} GroupCall;

static int call_group(Sandbox *sb, void *ud, PureErr *err) {
    const GroupCall *g = ud;
    const CreditBatch *b = g->run->b;
    lua_State *L = sandbox_state(sb);
    const char *name = sandbox_name(sb);
    sandbox_context(sb, "group %lld", (long long)g->gid);
    luaL_checkstack(L, 8, NULL);
    if (sandbox_push_function(sb, CREDIT_LUA_FUNCTION, err) < 0) return -1;
    lua_createtable(L, (int)g->K, 0);
    for (int64_t k = 0; k < g->K; k++) {
        push_response(L, b, g->members[k]);
        lua_rawseti(L, -2, k + 1);
    }
    push_params(L, g->run->cfg, g->gid);
    lua_call(L, 2, 1);
    if (lua_type(L, -1) != LUA_TTABLE)
        return err_set(err, "%s: " CREDIT_LUA_FUNCTION "() returned a %s for group %lld; expected a table with one "
                            "entry per response", name, luaL_typename(L, -1), (long long)g->gid);
    if ((int64_t)lua_rawlen(L, -1) != g->K)
        return err_set(err, "%s: " CREDIT_LUA_FUNCTION "() returned %lld entries for group %lld of %lld responses; "
                            "expected one per response", name, (long long)lua_rawlen(L, -1), (long long)g->gid,
                       (long long)g->K);
    for (int64_t k = 0; k < g->K; k++) {
        int64_t i = g->members[k];
        /* reading an entry may run its metamethods: their errors name the entry too */
        sandbox_context(sb, CREDIT_LUA_FUNCTION "() result[%lld] for response %lld, group %lld", (long long)(k + 1),
                        (long long)i, (long long)g->gid);
        lua_rawgeti(L, -1, k + 1);
        if (read_entry(L, b, i, g->run->values + g->run->tok_off[i], g->run->flags, g->steps, err) < 0)
            return err_prefix(err, "%s: " CREDIT_LUA_FUNCTION "() result[%lld] for response %lld (group %lld)", name,
                              (long long)(k + 1), (long long)i, (long long)g->gid);
        lua_pop(L, 1);
    }
    return 0;
}

/* Runs the user function group by group. Output per response i: values[tok_off[i] ..]
 * holds L_i values, and flags[i] says whether they are token rewards (0: to be
 * summed with gamma) or process returns (1). */
int credit_lua_prepare(CreditRuleRun *run, PureErr *err) {
    const CreditBatch *b = run->b;
    int64_t n_tokens = run->tok_off[b->n];
    run->values = xcalloc((size_t)(n_tokens ? n_tokens : 1), sizeof *run->values);
    run->flags = xcalloc((size_t)b->n, 1);
    int64_t *order, *starts, max_steps = 1;
    int64_t ng = credit_group_order(b, &order, &starts);
    for (int64_t i = 0; i < b->n; i++)
        if (b->step_off[i + 1] - b->step_off[i] > max_steps) max_steps = b->step_off[i + 1] - b->step_off[i];
    double *steps = xmalloc((size_t)max_steps * sizeof *steps);
    int rc = 0;
    for (int64_t g = 0; g < ng && rc == 0; g++) {
        int64_t a = starts[g];
        GroupCall call = {run, order + a, starts[g + 1] - a, b->group[order[a]], steps};
        rc = sandbox_run(run->cfg->lua, call_group, &call, err);
    }
    free(steps);
    free(order);
    free(starts);
    return rc;
}

int credit_lua(const CreditRuleRun *run, int64_t i, double *tok, double *ret) {
    const double *v = run->values + run->tok_off[i];
    double c = run->cfg->prm_coef;
    int32_t L = run->b->length[i];
    if (run->flags[i]) {
        for (int32_t t = 0; t < L; t++) ret[t] = c * v[t];
        return 1;
    }
    for (int32_t t = 0; t < L; t++) tok[t] += c * v[t];
    return 0;
}
