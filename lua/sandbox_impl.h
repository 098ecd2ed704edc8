/* sandbox_impl.h - what the sandbox's own library replacements
 * (sandbox_pattern.c) need from sandbox.c; not for hosts. */
#ifndef PURE_SANDBOX_IMPL_H
#define PURE_SANDBOX_IMPL_H

#include <stdint.h>
#include <lua.h>

/* Charges `units` steps of work a library function did in C to the current
 * call's instruction budget and checks its clock; raises the budget's error
 * (naming the script's calling line and `what`, e.g. "string.find (...)")
 * once either is spent. Only inside a sandboxed call. */
void sandbox_charge_work(lua_State *L, uint64_t units, const char *what);

/* Sets find, match, gmatch and gsub in the table on top of the stack to the
 * sandbox's counted pattern matcher (sandbox_pattern.c). */
void sandbox_pattern_install(lua_State *L);

#endif
