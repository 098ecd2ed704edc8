/* stops.c - eos and stop words to stop ids and stop strings (see stops.h). */
#include "stages/common/stops.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"

void stops_init(Stops *s, const Tokenizer *tok, const char *const *words, int n) {
    memset(s, 0, sizeof *s);
    s->ids = xmalloc(((size_t)n + 1) * sizeof *s->ids);
    s->strings = xmalloc(((size_t)n + 1) * sizeof *s->strings);
    int32_t eos = tokenizer_eos_id(tok);
    if (eos >= 0) s->ids[s->n_ids++] = eos;
    for (int k = 0; k < n; k++) {
        int32_t id = tokenizer_token_id(tok, words[k]);
        if (id >= 0 && tokenizer_is_special(tok, id)) {
            int dup = 0;
            for (int j = 0; j < s->n_ids; j++) dup |= s->ids[j] == id;
            if (!dup) s->ids[s->n_ids++] = id;
        } else if (words[k][0]) {
            s->strings[s->n_strings++] = words[k];
        }
    }
}

void stops_apply(const Stops *s, SampleConfig *cfg) {
    cfg->stop_ids = s->n_ids ? s->ids : NULL;
    cfg->n_stop_ids = s->n_ids;
    cfg->stop_strings = s->n_strings ? s->strings : NULL;
    cfg->n_stop_strings = s->n_strings;
}

void stops_free(Stops *s) {
    free(s->ids);
    free(s->strings);
    memset(s, 0, sizeof *s);
}
