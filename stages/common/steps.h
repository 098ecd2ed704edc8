/* steps.h - splitting a response into reasoning steps at "\n\n".
 *
 * The one definition of a "step" shared by rollout (step_ends), prm, eval and
 * the toy checker, so that every stage counts the same steps.
 */
#ifndef PURE_STEPS_H
#define PURE_STEPS_H

#include <stddef.h>

/* Splits a response into reasoning steps ending at "\n\n". Returns the number of steps and fills *ends (malloc'd)
   with, for each step, the byte offset one past the step's last byte: for every step but the last, the end of the
   "\n\n" delimiter (a run of 3+ newlines counts as one delimiter, ending at its last newline); the last step ends
   at len. Trailing whitespace after the last delimiter does not make an extra step. An empty or all-whitespace
   response has 0 steps. Also returns step start offsets in *starts when non-NULL.
   Steps partition the text: starts[0] = 0 and starts[i] = ends[i-1]. A delimiter preceded only by whitespace
   since the previous step's end does not end a step (no empty steps). With 0 steps, *ends (and *starts) are
   set to NULL. */
int steps_split(const char *text, size_t len, size_t **ends, size_t **starts);

#endif
