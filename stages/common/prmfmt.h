/* prmfmt.h - the process-reward-model input format and its classification head.
 *
 * Two input formats (prm `input_format`):
 *   text:   the problem, "\n", then each step with its surrounding whitespace
 *           stripped and inner newlines turned into spaces, followed by a "\n"
 *           marker, re-tokenized as one string (the toy pipelines' format);
 *   tokens: the official PURE code's: no re-tokenization. The policy's
 *           templated prompt ids, then for each step its own response ids
 *           without the step's end token, followed by the single id of "\n"
 *           (each end token is swapped 1:1 for the marker), as
 *           verl/workers/fsdp_workers.py builds it (docs/fidelity.md).
 * The PRM is a token classifier with 2 labels (0 = incorrect, 1 = correct)
 * read at the token holding each marker; the process reward of a step is
 * P(correct) - P(incorrect).
 * PRM800K-style training data (prm_train `jsonl`) is one object per line:
 *   {"problem": "...", "steps": ["...", ...], "labels": [1, 0, ...]}
 * with labels 1 (correct), 0 (incorrect) or -1 (unlabelled, skipped).
 */
#ifndef PURE_COMMON_PRMFMT_H
#define PURE_COMMON_PRMFMT_H

#include <stddef.h>
#include <stdint.h>
#include "model/model.h"
#include "tokenizer/tokenizer.h"

/* The `input_format` parameter's choices (prm, prm_train), in this order. */
enum { PRM_INPUT_TEXT, PRM_INPUT_TOKENS };
extern const char *const prm_input_formats[]; /* "text", "tokens", NULL */

typedef struct PrmInput {
    int32_t *ids;     /* (n) */
    int n;
    int32_t *marker;  /* (n_steps) token index of each step's marker, -1 if truncated away */
    int n_steps;
} PrmInput;

/* steps[s] has step_len[s] bytes. Inputs longer than max_len tokens are cut;
 * markers past the cut are -1. */
int prm_format(const Tokenizer *tok, const char *problem, const char *const *steps, const size_t *step_len,
               int n_steps, int max_len, PrmInput *in, PureErr *err);
/* The tokens format: prompt[0..np), then for step s with end index ends[s]
 * (strictly increasing, < n), tokens[start_s .. ends[s]) + nl with the
 * marker on nl; start_0 = 0, start_{s+1} = ends[s] + 1. Cut at max_len as
 * prm_format. */
void prm_format_tokens(const int32_t *prompt, int np, const int32_t *tokens, int n, const int32_t *ends, int n_steps,
                       int32_t nl, int max_len, PrmInput *in);
/* The tokens format from text (training data): encode(problem) then, per
 * step, encode(step) alone + nl, with the marker on nl (TRL's PRMTrainer
 * layout, the one the official PRM was trained on). */
int prm_format_pieces(const Tokenizer *tok, const char *problem, const char *const *steps, const size_t *step_len,
                      int n_steps, int32_t nl, int max_len, PrmInput *in, PureErr *err);
/* The id of "\n" in tok (encoded without special tokens); an error naming
 * `what` when "\n" is not exactly one token. */
int prm_newline_id(const Tokenizer *tok, const char *what, int32_t *id, PureErr *err);
void prm_input_free(PrmInput *in);

/* Rewards P(correct) - P(incorrect) at each marker of inputs[0..n) (one
 * forward, micro-batch = n). rewards gets sum(n_steps) values; a step whose
 * marker was cut away gets `unscored` (the PRM never saw it: repeating the
 * last seen score would let min-form ignore everything past the cut) and is
 * counted in *n_unscored when it is not NULL. */
int prm_score(Model *m, const PrmInput *inputs, int n, float unscored, float *rewards, int64_t *n_unscored,
              PureErr *err);
/* One forward + backward of the cross-entropy at the markers; labels aligned
 * with the markers (-1 = skip). Gradients are scaled by 1/denom (the number
 * of labelled markers in the whole optimizer batch). Adds the summed loss to
 * *loss_sum and the correct predictions to *n_right. */
int prm_train_micro(Model *m, const PrmInput *inputs, const int8_t *const *labels, int n, double denom,
                    double *loss_sum, int *n_right, PureErr *err);

#endif
