/* sandbox.h - a Lua 5.4 state for untrusted user scripts (credit rules, PRM scorers).
 *
 * Only the base, string, table and math libraries are opened. Removed from
 * them: dofile, loadfile, collectgarbage and string.dump; `load` accepts text
 * chunks only (no bytecode); `print` writes to stderr so it never mixes with
 * a command's JSON on stdout; math.random is seeded with 0 so runs repeat;
 * setmetatable refuses a metatable with a __gc field (Lua runs finalizers
 * with hooks off, so a loop in one could never be stopped).
 * io, os, package/require, debug, coroutine and utf8 are never opened.
 *
 * Three budgets stop runaway scripts, all per call (the script's top level is
 * one call, each sandbox_run/sandbox_call another): an instruction count (a
 * count hook), a wall-clock time (checked in the same hook with a monotonic
 * clock) and a memory cap on the whole state (the allocator refuses past it).
 * The instruction and time budgets cannot be swallowed: once one is spent
 * the hook raises again at every instruction, pcall, xpcall and load hand the
 * error on instead of returning it, and the host fails the call even if the
 * script caught it anyway. Library loops whose length a script chooses
 * (table.move, table.concat, and table.insert/remove/sort on a table whose
 * __len says so) are charged to the instruction budget. string.find, match,
 * gmatch and gsub are the sandbox's own matcher (lua/sandbox_pattern.c, Lua
 * 5.4's patterns and results): the library's backtracks in C without ever
 * returning to the VM, so a pattern like ".-.-.-.-b" on a long subject could
 * run for hours; this one charges every step to the instruction budget and
 * reads the clock as it does. Each error names the script's line, the limit
 * and how to raise it. The clock is also read by the hook and by the
 * allocator, so a slow library call is stopped at its next allocation or
 * instruction.
 *
 * Every call into the state runs inside a protected call (sandbox_run), so a
 * script's error, a metamethod that raises or a full memory budget is a
 * message, never an abort.
 */
#ifndef PURE_SANDBOX_H
#define PURE_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <lua.h>
#include "../util/err.h"

#define SANDBOX_DEFAULT_INSTRUCTIONS 50000000LL   /* per call */
#define SANDBOX_DEFAULT_MEMORY ((size_t)64 << 20) /* bytes, the whole state */
#define SANDBOX_DEFAULT_SECONDS 10.0              /* wall clock, per call */

typedef struct SandboxLimits {
    int64_t max_instructions;  /* per call; 0 = default */
    size_t max_memory;         /* bytes for the whole state; 0 = default */
    double max_seconds;        /* wall clock per call; 0 = default */
    int quiet;                 /* 1: print() writes nothing (fuzzing) */
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
void sandbox_close(Sandbox *sb);  /* NULL is a no-op */

/* ---- calls ---- */

/* The host's side of one call: build the arguments, call the script
 * (sandbox_push_function + lua_call), read the results. It runs inside a
 * protected call on an empty stack with a fresh budget, so any Lua error
 * (the script's, a metamethod's, memory) unwinds out of it: it must not hold
 * malloc'd memory across Lua calls (allocate before sandbox_run). Returns 0,
 * or -1 with err set for what the host itself refuses (a wrong count, ...). */
typedef int SandboxFn(Sandbox *sb, void *ud, PureErr *err);
/* Runs fn protected. A Lua error becomes "script.lua:LINE: message (context)",
 * context being what sandbox_context() last said in this call ("group 3");
 * a spent budget fails the call even when fn returned 0. Returns 0 or -1;
 * the stack is as before either way. */
int sandbox_run(Sandbox *sb, SandboxFn *fn, void *ud, PureErr *err);
/* Inside fn: what the host is doing, for the messages ("group 3"). */
void sandbox_context(Sandbox *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Inside fn: pushes the global function `fn` (a field of the globals table
 * itself, read raw: no metamethod runs); -1 with err set when there is none. */
int sandbox_push_function(Sandbox *sb, const char *fn, PureErr *err);

/* Calls global function fn with nargs already pushed, leaves nres results on
 * the stack; one call as sandbox_run (fresh budget, errors with context).
 * On error the arguments are popped and err holds "script.lua:LINE: message
 * (context)" (context NULL for none). For callers whose arguments are plain
 * values already pushed; a host that builds tables uses sandbox_run. */
int sandbox_call(Sandbox *sb, const char *fn, int nargs, int nres, const char *context, PureErr *err);
int sandbox_has_function(Sandbox *sb, const char *fn);  /* raw global lookup, protected */
/* sandbox_open, then checks the script defines `fn`; if not, the error is "SCRIPT: " + `missing`. What a stage
 * opens at validate time and at run time. */
Sandbox *sandbox_open_defining(const char *script_path, const SandboxLimits *limits, const char *fn,
                               const char *missing, PureErr *err);

/* ---- helpers for hosts that exchange arrays with scripts (inside sandbox_run's fn) ---- */
/* Pushes a new sequence {v[0], ..., v[n-1]}. */
void sandbox_push_floats(lua_State *L, const float *v, int64_t n);
void sandbox_push_ints(lua_State *L, const int32_t *v, int64_t n);
/* Reads the sequence at stack index idx into out[0..n-1]: it must be a table of
 * exactly n finite numbers (read raw), else err says which entry is wrong
 * ("what[3] is nil, expected a number"). `what` names the value in messages. */
int sandbox_read_numbers(lua_State *L, int idx, double *out, int64_t n, const char *what, PureErr *err);

#endif
