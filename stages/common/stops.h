/* stops.h - where generation stops: the tokenizer's eos plus the stage's
 * `stop` list. A stop word that is one special token of the vocabulary
 * (`</s>`, `<|im_end|>`, `<|endoftext|>`: the official recipe's stop words)
 * becomes a stop token id, since special tokens never appear in the decoded
 * text a stop string is matched against; any other stop word stays a string.
 */
#ifndef PURE_COMMON_STOPS_H
#define PURE_COMMON_STOPS_H

#include <stdint.h>
#include "model/model.h"
#include "tokenizer/tokenizer.h"

typedef struct Stops {
    int32_t *ids;          /* (n_ids) eos first when the tokenizer has one */
    int n_ids;
    const char **strings;  /* (n_strings) borrowed from the stage's list */
    int n_strings;
} Stops;

void stops_init(Stops *s, const Tokenizer *tok, const char *const *words, int n);
/* Points cfg's stop fields at s (which must outlive the generation). */
void stops_apply(const Stops *s, SampleConfig *cfg);
void stops_free(Stops *s);

#endif
