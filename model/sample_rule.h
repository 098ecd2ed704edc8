/* sample_rule.h - the one token-choice rule of the engine: the host sampler
 * (model_sample_row, used by model/sample.c) and the C reference of the
 * device sampler (sample_rows_ref, model/cuda/sample_ref.c) are this code;
 * the CUDA kernel (model/cuda/sample.cu) is its block-parallel port and is
 * checked against it token for token (tests/cuda/test_cuda_ops.c).
 *
 * The rule, for a row of logits l (V) and a uniform u in [0, 1):
 *  - temperature <= 0: the argmax, lowest id among ties;
 *  - else w_j = exp((l_j - max) / T) in double; a token is kept when
 *    sample_key(l_j) >= cut (an order-preserving map of floats onto uint32,
 *    -0 below +0, so cuts are exact logit values and ties are never split);
 *  - top-k: cut = the k-th largest key (ties at the cut kept together, as
 *    Hugging Face's top-k does);
 *  - top-p: cut = the largest key whose kept mass is still >= top_p times the
 *    kept mass after top-k;
 *  - no cut exceeds the key of the argmax (so -0 and +0 tie at the top);
 *  - the token is the first id, ascending, at which the running kept mass
 *    exceeds u times the total kept mass.
 * Masses are summed over SAMPLE_CHUNKS contiguous id chunks, each in id
 * order, then the chunk sums in order: the kernel's order (one thread per
 * chunk), so every implementation rounds alike.
 *
 * Two searches find the same cuts: SAMPLE_SEARCH_SELECT (quick-select and a
 * partial sort, O(V); the host's) and SAMPLE_SEARCH_BISECT (bisection over
 * the keys, the kernel's algorithm step for step; the device reference's).
 * tests/cuda/test_cuda_sample_match.c checks that both draw the same tokens.
 */
#ifndef PURE_MODEL_SAMPLE_RULE_H
#define PURE_MODEL_SAMPLE_RULE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SAMPLE_CHUNKS 1024 /* chunks of the mass sums = threads of the device kernel */

enum { SAMPLE_SEARCH_SELECT = 0, SAMPLE_SEARCH_BISECT = 1 };

/* The order-preserving map of a logit onto uint32 that cuts compare. */
uint32_t sample_key(float f);

/* One token from a row of logits (V) by the rule above. w (V) is scratch;
 * idx (V) is scratch for SAMPLE_SEARCH_SELECT and may be NULL for BISECT. */
int32_t sample_rule_row(const float *logits, int V, float temperature, float top_p, int top_k, double u, int search,
                        int32_t *idx, double *w);

#ifdef __cplusplus
}
#endif

#endif
