/* sandbox.h - a Lua 5.4 state for untrusted user scripts (credit rules, PRM scorers).
 *
 * Only the base, string, table and math libraries are opened. Removed from
 * them: dofile, loadfile, collectgarbage and string.dump; `load` accepts text
 * chunks only (no bytecode); `print` writes to stderr so it never mixes with
 * a command's JSON on stdout; math.random is seeded with 0 so runs repeat.
 * io, os, package/require, debug, coroutine and utf8 are never opened.
 *
 * Two budgets stop runaway scripts: an instruction count (a count hook,
 * reset at every sandbox_call) and a memory cap on the whole state (the
 * allocator refuses past it). Both errors name the limit and how to raise it.
 * Time spent inside one C library call (a huge string.rep, a pathological
 * pattern) is not counted by the instruction budget; memory still is.
 */
#ifndef PURE_SANDBOX_H
#define PURE_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <lua.h>
#include "../util/err.h"

#define SANDBOX_DEFAULT_INSTRUCTIONS 50000000LL   /* per call */
#define SANDBOX_DEFAULT_MEMORY ((size_t)64 << 20) /* bytes, the whole state */

typedef struct SandboxLimits {
    int64_t max_instructions;  /* per call; 0 = default */
    size_t max_memory;         /* bytes for the whole state; 0 = default */
} SandboxLimits;

typedef struct Sandbox Sandbox;

/* Opens a sandboxed state, then loads and runs the script file once (its top
 * level defines functions). limits may be NULL (defaults). Errors:
 * "script.lua:LINE: message" (the chunk is named by script_path as given). */
Sandbox *sandbox_open(const char *script_path, const SandboxLimits *limits, PureErr *err);
/* Same, from a buffer; `name` plays the part of the file name in messages. */
Sandbox *sandbox_open_string(const char *code, size_t len, const char *name, const SandboxLimits *limits,
                             PureErr *err);
lua_State *sandbox_state(Sandbox *sb);
const char *sandbox_name(Sandbox *sb);  /* the script's name as given at open */
/* Calls global function fn with nargs already pushed, leaves nres results on
 * the stack; resets the instruction budget. On error the arguments are popped
 * and err holds "script.lua:LINE: message (context)", context being e.g.
 * "group 3" (NULL for none). Returns 0 or -1. */
int sandbox_call(Sandbox *sb, const char *fn, int nargs, int nres, const char *context, PureErr *err);
int sandbox_has_function(Sandbox *sb, const char *fn);
void sandbox_close(Sandbox *sb);  /* NULL is a no-op */

/* ---- helpers for hosts that exchange arrays with scripts ---- */
/* Pushes a new sequence {v[0], ..., v[n-1]}. */
void sandbox_push_floats(lua_State *L, const float *v, int64_t n);
void sandbox_push_ints(lua_State *L, const int32_t *v, int64_t n);
/* Reads the sequence at stack index idx into out[0..n-1]: it must be a table of
 * exactly n finite numbers, else err says which entry is wrong ("what[3] is
 * nil, expected a number"). `what` names the value in messages. */
int sandbox_read_numbers(lua_State *L, int idx, double *out, int64_t n, const char *what, PureErr *err);

#endif
