/* prmfmt.c - PRM input format, scoring and the marker cross-entropy (see prmfmt.h). */
#include "stages/common/prmfmt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

int prm_format(const Tokenizer *tok, const char *problem, const char *const *steps, const size_t *step_len,
               int n_steps, int max_len, PrmInput *in, PureErr *err) {
    memset(in, 0, sizeof *in);
    size_t cap = strlen(problem) + 2, len = 0;
    for (int s = 0; s < n_steps; s++) cap += step_len[s] + 1;
    char *buf = xmalloc(cap + 1);
    size_t *mbyte = xmalloc(((size_t)n_steps + 1) * sizeof(size_t));
    for (const char *c = problem; *c; c++) buf[len++] = *c == '\n' ? ' ' : *c;
    buf[len++] = '\n';
    for (int s = 0; s < n_steps; s++) {
        const char *b = steps[s], *e = steps[s] + step_len[s];
        while (b < e && is_space(*b)) b++;
        while (e > b && is_space(e[-1])) e--;
        for (; b < e; b++) buf[len++] = (*b == '\n' || *b == '\r') ? ' ' : *b;
        mbyte[s] = len;
        buf[len++] = '\n';
    }
    buf[len] = 0;
    size_t n = 0, *off = NULL;
    int32_t *ids = NULL;
    if (tokenizer_encode(tok, buf, len, 0, &ids, &n, &off, err)) {
        free(buf), free(mbyte);
        return err_prefix(err, "PRM input");
    }
    in->marker = xmalloc(((size_t)n_steps + 1) * sizeof(int32_t));
    size_t j = 0;
    for (int s = 0; s < n_steps; s++) {
        while (j < n && off[2 * j + 1] <= mbyte[s]) j++; /* token whose span holds the marker byte */
        in->marker[s] = (j < n && (int)j < max_len) ? (int32_t)j : -1;
    }
    in->n = (int)n < max_len ? (int)n : max_len;
    in->ids = ids;
    in->n_steps = n_steps;
    free(buf), free(mbyte), free(off);
    return 0;
}

void prm_input_free(PrmInput *in) {
    free(in->ids);
    free(in->marker);
    memset(in, 0, sizeof *in);
}

/* Pads inputs into a batch and runs the classifier: logits (n, T, 2). */
static float *forward(Model *m, const PrmInput *in, int n, int keep, int *T_out, ModelBatch *b, PureErr *err) {
    int T = 1;
    for (int i = 0; i < n; i++)
        if (in[i].n > T) T = in[i].n;
    int32_t *tk = xcalloc((size_t)n * T, sizeof(int32_t)), *ln = xmalloc((size_t)n * sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        memcpy(tk + (size_t)i * T, in[i].ids, in[i].n * sizeof(int32_t));
        ln[i] = in[i].n > 0 ? in[i].n : 1;
    }
    *b = (ModelBatch){n, T, tk, ln};
    float *logits = xmalloc((size_t)n * T * 2 * sizeof(float));
    if (model_forward(m, b, logits, NULL, keep, err)) {
        free(logits), free(tk), free(ln);
        return NULL;
    }
    *T_out = T;
    return logits;
}

static void softmax2(const float *l, double p[2]) {
    double mx = l[0] > l[1] ? l[0] : l[1], e0 = exp(l[0] - mx), e1 = exp(l[1] - mx);
    p[0] = e0 / (e0 + e1);
    p[1] = e1 / (e0 + e1);
}

int prm_score(Model *m, const PrmInput *in, int n, float unscored, float *rewards, int64_t *n_unscored,
              PureErr *err) {
    int T;
    ModelBatch b;
    float *logits = forward(m, in, n, 0, &T, &b, err);
    if (!logits) return -1;
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        for (int s = 0; s < in[i].n_steps; s++) {
            float r = unscored;
            if (in[i].marker[s] >= 0) {
                double p[2];
                softmax2(logits + ((size_t)i * T + in[i].marker[s]) * 2, p);
                r = (float)(p[1] - p[0]);
            } else if (n_unscored) {
                ++*n_unscored;
            }
            rewards[k++] = r;
        }
    }
    free(logits), free((void *)b.tokens), free((void *)b.lengths);
    return 0;
}

int prm_train_micro(Model *m, const PrmInput *in, const int8_t *const *labels, int n, double denom,
                    double *loss_sum, int *n_right, PureErr *err) {
    int T;
    ModelBatch b;
    float *logits = forward(m, in, n, 1, &T, &b, err);
    if (!logits) return -1;
    float *dl = xcalloc((size_t)n * T * 2, sizeof(float));
    for (int i = 0; i < n; i++)
        for (int s = 0; s < in[i].n_steps; s++) {
            int y = labels[i][s], t = in[i].marker[s];
            if (y < 0 || t < 0) continue;
            size_t o = ((size_t)i * T + t) * 2;
            double p[2];
            softmax2(logits + o, p);
            *loss_sum -= log(p[y] > 1e-30 ? p[y] : 1e-30);
            *n_right += (p[1] > p[0]) == (y == 1);
            dl[o] = (float)((p[0] - (y == 0)) / denom); /* d CE / d logits = softmax - onehot */
            dl[o + 1] = (float)((p[1] - (y == 1)) / denom);
        }
    int rc = model_backward(m, &b, dl, err);
    free(dl), free(logits), free((void *)b.tokens), free((void *)b.lengths);
    return rc;
}
