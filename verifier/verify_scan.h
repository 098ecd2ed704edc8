/* verify_scan.h - what the verifier's files share (internal): the work counter and the brace table.
 *
 * Work counter: every loop of verifier/ that walks answer or response text adds its iterations with
 * VERIFY_STEP (calls into libc that scan, such as strstr or strlen, add the length they may scan). The count
 * is a test hook, read through verify_work() (verify.h): tests/verify/test_verify_linear.c checks that the
 * work on hostile inputs grows linearly with their size, without timing anything. A new loop over text must
 * count its steps, or that test cannot see it. Thread-local, so the verifier stays thread-safe.
 */
#ifndef PURE_VERIFY_SCAN_H
#define PURE_VERIFY_SCAN_H

#include <stddef.h>

extern _Thread_local unsigned long long verify_steps;
#define VERIFY_STEP(n) (verify_steps += (unsigned long long)(n))

/* One pass over s[0..n): for each '{' that opens a balanced group, ends[i] is the index one past its
 * matching '}'; 0 for every other byte (an unbalanced '{', or one escaped as "\{": a backslash escapes the
 * byte after it, pairing backslashes from s[0]). Looking a group up is then O(1) instead of a scan to its
 * end, which made repeated unclosed groups ("\boxed{\boxed{...") quadratic. malloc'd, n + 1 entries. */
size_t *verify_brace_ends(const char *s, size_t n);

#endif
