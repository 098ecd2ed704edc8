/* credit_rules.c - the table of credit rules: name, doc, what the rule needs
 * and its function. The `rule` parameter of the credit stage (credit.c) and
 * `pure credit --rule` (cli/cmd_credit.c) take their choices, usage text and
 * error messages from this table.
 *
 * To add a built-in rule: write credit_NAME.c defining its CreditRuleFn
 * (credit.h says what it writes), declare it below and add its row. */
#include "credit.h"

/* Each rule's functions, defined in its own file. */
CreditRuleFn credit_min, credit_min_exact, credit_sum, credit_lua;
CreditRulePrepareFn credit_lua_prepare;

const CreditRule credit_rules[] = {
    {"min", "the method: step rewards weighted by softmax(-r/T) over the steps, then a discounted sum",
     CREDIT_NEEDS_STEP_REWARDS | CREDIT_NEEDS_TEMPERATURE, credit_min, NULL},
    {"min-exact", "process return: the lowest reward of the steps ending at or after the token",
     CREDIT_NEEDS_STEP_REWARDS, credit_min_exact, NULL},
    {"sum", "the canonical sum form: step rewards on the step ends, then a discounted sum",
     CREDIT_NEEDS_STEP_REWARDS, credit_sum, NULL},
    {"lua", "the function credit() of a Lua script, once per group (docs/lua-api.md)", CREDIT_NEEDS_SCRIPT, credit_lua,
     credit_lua_prepare},
    {NULL},
};
