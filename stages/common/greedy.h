/* greedy.h - greedy pass@1 on a prompts artifact, for decisions made inside
 * a stage (SFT's early stopping on a dev split). The eval stage reports the
 * same quantity with lengths, steps and the monitor; this is the bare number.
 */
#ifndef PURE_COMMON_GREEDY_H
#define PURE_COMMON_GREEDY_H

#include "stages/common/io.h"
#include "stages/common/lm.h"

/* Share of the first n rows of pr (n <= pr->n) whose greedy response
 * (max_new tokens, stopped at eos, batches of `batch`) the verifier grades
 * equal to the row's reference; rows without a reference count as wrong. */
int greedy_accuracy(const Policy *p, const Prompts *pr, int64_t n, int max_new, int batch, int chat, double *acc,
                    PureErr *err);

#endif
