/* greedy.c - greedy pass@1 (see greedy.h). */
#include "stages/common/greedy.h"

#include <stdlib.h>

#include "verifier/verify.h"

int greedy_accuracy(const Policy *p, const Prompts *pr, int64_t n, int max_new, int batch, int chat, double *acc,
                    PureErr *err) {
    int32_t eos = tokenizer_eos_id(p->tok);
    SampleConfig sc = {0};
    sc.max_new_tokens = max_new;
    sc.temperature = 0;
    sc.top_p = 1;
    sc.stop_ids = eos >= 0 ? &eos : NULL;
    sc.n_stop_ids = eos >= 0;
    int32_t **ids = xcalloc((size_t)batch, sizeof *ids);
    int *len = xcalloc((size_t)batch, sizeof *len);
    uint64_t *stream = xcalloc((size_t)batch, sizeof *stream);
    SampleResult *res = xcalloc((size_t)batch, sizeof *res);
    int64_t right = 0;
    int rc = 0;
    for (int64_t s = 0; s < n && !rc; s += batch) {
        int c = (int)(n - s < batch ? n - s : batch);
        for (int i = 0; i < c && !rc; i++) {
            rc = policy_encode_prompt(p->tok, pr->prompt[s + i], chat, &ids[i], &len[i], err);
            stream[i] = (uint64_t)(s + i);
        }
        if (!rc) rc = model_generate(p->m, p->tok, c, (const int32_t *const *)ids, len, stream, &sc, res, err);
        for (int i = 0; i < c && !rc; i++) {
            char *text = tokenizer_decode(p->tok, res[i].tokens, (size_t)res[i].n, 1, NULL);
            right += pr->reference[s + i][0] && verify_grade(text, pr->reference[s + i], NULL);
            free(text);
        }
        for (int i = 0; i < c; i++) sample_result_free(&res[i]), free(ids[i]), ids[i] = NULL;
    }
    free(ids), free(len), free(stream), free(res);
    *acc = n ? (double)right / (double)n : 0;
    return rc;
}
