/* verify.h - the verifier: final-answer extraction and mathematical equivalence.
 *
 * Used by the `verify` stage kind, by `eval` and by `pure grade`. The rules
 * (what is normalized, what counts as equal) are documented in docs/verifier.md.
 * Everything here is pure string processing: no global state, thread-safe.
 */
#ifndef PURE_VERIFY_H
#define PURE_VERIFY_H

/* Extracts the final answer: content of the last \boxed{...} (balanced braces; also \fbox), else NULL. malloc'd. */
char *verify_extract(const char *response);
/* Mathematical equivalence of two answer strings after normalization (see docs/verifier.md). 1/0. */
int verify_equal(const char *answer, const char *reference);
/* Extract from response and compare with reference; *extracted gets a malloc'd copy or NULL (may pass NULL). */
int verify_grade(const char *response, const char *reference, char **extracted);

/* The normalized form used by verify_equal's string comparison (LaTeX clean-up,
 * units, spaces, ...); malloc'd. Exposed for tests and for debugging graders. */
char *verify_normalize(const char *answer);

#endif
