/* verify.h - the verifier: final-answer extraction and mathematical equivalence.
 *
 * Used by the `verify` stage kind, by `eval` and by `pure grade`. The rules
 * (what is normalized, what counts as equal) are documented in docs/verifier.md.
 * Everything here is pure string processing: no global state (but a thread-local
 * work counter for tests), thread-safe, and linear in the input's length.
 *
 * The C-string functions read up to the first NUL. The _n functions take byte
 * strings with a length, where a NUL byte is an ordinary character: it never
 * truncates a response, and an answer or reference containing one is equal only
 * to the same bytes (docs/verifier.md, "NUL bytes").
 */
#ifndef PURE_VERIFY_H
#define PURE_VERIFY_H

#include <stddef.h>

/* Extracts the final answer: content of the last \boxed{...} (balanced braces; also \fbox), else NULL. malloc'd. */
char *verify_extract(const char *response);
/* Mathematical equivalence of two answer strings after normalization (see docs/verifier.md). 1/0. Symmetric. */
int verify_equal(const char *answer, const char *reference);
/* Extract from response and compare with reference; *extracted gets a malloc'd copy or NULL (may pass NULL). */
int verify_grade(const char *response, const char *reference, char **extracted);

/* The same on byte strings with a length (NUL bytes included). *answer_len / *extracted_len get the length of
 * the malloc'd, NUL-terminated answer (may pass NULL). */
char *verify_extract_n(const char *response, size_t len, size_t *answer_len);
int verify_equal_n(const char *answer, size_t answer_len, const char *reference, size_t reference_len);
int verify_grade_n(const char *response, size_t response_len, const char *reference, size_t reference_len,
                   char **extracted, size_t *extracted_len);

/* The normalized form used by verify_equal's string comparison (LaTeX clean-up,
 * units, spaces, ...); malloc'd. Exposed for tests and for debugging graders. */
char *verify_normalize(const char *answer);

/* Test hook: the steps over text the verifier has taken on this thread so far (verify_scan.h); tests check
 * that it grows linearly with the input. */
unsigned long long verify_work(void);

#endif
