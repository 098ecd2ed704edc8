/* verify_expr.h - a small evaluator for normalized answer expressions (internal to the verifier).
 *
 * Grammar (after verify_normalize): numbers, + - * / ^ !, implicit multiplication, ( ) and { } grouping,
 * \frac{a}{b}, \sqrt{a}, \sqrt[n]{a}, \pi, \infty, \sin \cos \tan \ln \log \log_b \exp (also without the
 * backslash), mixed numbers "2\frac{1}{2}", and variables (one letter, optional subscript, or a Greek
 * command). A variable's value is a deterministic function of its name and `point`, so two expressions
 * evaluated at the same point see the same values: equal functions give equal numbers.
 */
#ifndef PURE_VERIFY_EXPR_H
#define PURE_VERIFY_EXPR_H

/* Evaluates s. Returns 0 and *v (possibly NaN for a domain error); 1 if the value left the range of doubles on
 * the way (an overflow, a division by zero, a nonzero value lost to underflow: *v then means nothing); -1 if
 * s is not an expression. *n_vars gets the number of variable occurrences (0: a constant). */
int expr_eval(const char *s, int point, double *v, int *n_vars);

#endif
