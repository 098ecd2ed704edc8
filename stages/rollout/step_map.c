/* step_map.c - text steps to token indices (see step_map.h). */
#include "stages/rollout/step_map.h"

int step_map_tokens(const size_t *tok_end, int n_tokens, const size_t *step_end, int n_steps, int32_t *out_tok,
                    int32_t *out_byte) {
    if (n_tokens <= 0) return 0;
    size_t total = tok_end[n_tokens - 1];
    if (n_steps <= 0) { /* e.g. only eos: one (empty) step ending at the last token */
        out_tok[0] = n_tokens - 1;
        out_byte[0] = (int32_t)total;
        return 1;
    }
    int count = 0, j = 0;
    for (int s = 0; s < n_steps; s++) {
        int t;
        if (s == n_steps - 1) {
            t = n_tokens - 1;
        } else {
            /* first token whose span reaches byte step_end[s]-1 */
            while (j < n_tokens - 1 && tok_end[j] < step_end[s]) j++;
            t = j;
        }
        if (count > 0 && t <= out_tok[count - 1]) {
            out_byte[count - 1] = (int32_t)step_end[s]; /* merged into the previous step's token */
            continue;
        }
        out_tok[count] = t;
        out_byte[count] = (int32_t)step_end[s];
        count++;
    }
    out_byte[count - 1] = (int32_t)total; /* the last step runs to the end of the text */
    return count;
}

int step_map_separators(const size_t *tok_end, const unsigned char *is_sep, int n_tokens, int32_t *out_tok,
                        int32_t *out_byte) {
    int count = 0;
    for (int j = 0; j < n_tokens; j++)
        if (is_sep[j] || j == n_tokens - 1) {
            out_tok[count] = j;
            out_byte[count++] = (int32_t)tok_end[j];
        }
    return count;
}

int step_is_separator(const char *bytes, size_t len) {
    return bytes && len >= 2 && bytes[len - 1] == '\n' && bytes[len - 2] == '\n';
}
