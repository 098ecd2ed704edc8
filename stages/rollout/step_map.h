/* step_map.h - mapping "\n\n" steps found in decoded text onto response tokens.
 *
 * Steps are found in the text (stages/common/steps.h gives byte ends); a token
 * may hold several bytes, and a "\n\n" may be merged into a larger token such
 * as ".\n\n" or "\n\nThe". A step therefore ends at the first token whose byte
 * span reaches the step's last byte. Two steps that end inside the same token
 * are merged (the token cannot be split). The last step always ends at the
 * last token (eos included), and a non-empty response has at least one step.
 */
#ifndef PURE_ROLLOUT_STEP_MAP_H
#define PURE_ROLLOUT_STEP_MAP_H

#include <stddef.h>
#include <stdint.h>

/* tok_end[j]: byte offset one past token j's bytes in the text (cumulative,
 * non-decreasing; 0-byte special tokens repeat the previous value).
 * step_end[s]: byte offset one past step s. Writes up to max(n_steps, 1)
 * entries to out_tok (token index) and out_byte (byte end); returns the count. */
int step_map_tokens(const size_t *tok_end, int n_tokens, const size_t *step_end, int n_steps, int32_t *out_tok,
                    int32_t *out_byte);

/* The official PURE code's rule (rollout `step_rule: token`): every token
 * whose own decoded text ends with "\n\n" ends a step, empty steps included
 * (a response that starts with one, two in a row), and the last token always
 * ends one, once even when it is itself a separator. is_sep[j] flags the
 * separator tokens. Writes up to n_tokens entries (out_byte from tok_end, as
 * step_map_tokens); returns the count (0 for an empty response). */
int step_map_separators(const size_t *tok_end, const unsigned char *is_sep, int n_tokens, int32_t *out_tok,
                        int32_t *out_byte);
/* 1 when a token's bytes end with "\n\n" (the official split_step_char). */
int step_is_separator(const char *bytes, size_t len);

#endif
