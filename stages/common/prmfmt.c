/* prmfmt.c - PRM input format, scoring and the marker cross-entropy (see prmfmt.h). */
#include "stages/common/prmfmt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const prm_input_formats[] = {"text", "tokens", NULL};

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

/* Output buffers for n ids and n_steps markers. */
static void input_alloc(PrmInput *in, size_t n, int n_steps) {
    memset(in, 0, sizeof *in);
    in->ids = xmalloc((n + 1) * sizeof(int32_t));
    in->marker = xmalloc(((size_t)n_steps + 1) * sizeof(int32_t));
    in->n_steps = n_steps;
}

/* Appends ids[0..k) then, with mark, the marker nl for step s; ids past max_len are dropped. */
static void input_push(PrmInput *in, const int32_t *ids, int k, int mark, int s, int32_t nl, int max_len) {
    for (int t = 0; t < k; t++)
        if (in->n < max_len) in->ids[in->n++] = ids[t];
    if (!mark) return;
    in->marker[s] = in->n < max_len ? in->n : -1;
    if (in->n < max_len) in->ids[in->n++] = nl;
}

void prm_format_tokens(const int32_t *prompt, int np, const int32_t *tokens, int n, const int32_t *ends, int n_steps,
                       int32_t nl, int max_len, PrmInput *in) {
    input_alloc(in, (size_t)np + (size_t)n + (size_t)n_steps, n_steps);
    input_push(in, prompt, np, 0, 0, nl, max_len);
    int start = 0;
    for (int s = 0; s < n_steps; s++) {
        int e = ends[s] < n ? ends[s] : n; /* the caller's step_ends lie within the response (rollouts_read) */
        input_push(in, tokens + start, e > start ? e - start : 0, 1, s, nl, max_len);
        start = e + 1;
    }
}

int prm_format_pieces(const Tokenizer *tok, const char *problem, const char *const *steps, const size_t *step_len,
                      int n_steps, int32_t nl, int max_len, PrmInput *in, PureErr *err) {
    int32_t **ids = xcalloc((size_t)n_steps + 1, sizeof *ids);
    size_t *n = xcalloc((size_t)n_steps + 1, sizeof *n), total = (size_t)n_steps;
    int rc = 0;
    /* piece 0 is the problem, piece s + 1 step s, each encoded alone */
    for (int s = 0; s <= n_steps && !rc; s++) {
        const char *text = s ? steps[s - 1] : problem;
        if (tokenizer_encode(tok, text, s ? step_len[s - 1] : strlen(problem), 0, &ids[s], &n[s], NULL, err))
            rc = s ? err_prefix(err, "PRM input, step %d", s - 1) : err_prefix(err, "PRM input, problem");
        total += n[s];
    }
    if (!rc) {
        input_alloc(in, total, n_steps);
        for (int s = 0; s <= n_steps; s++) input_push(in, ids[s], (int)n[s], s > 0, s - 1, nl, max_len);
    }
    for (int s = 0; s <= n_steps; s++) free(ids[s]);
    free(ids), free(n);
    return rc;
}

int prm_newline_id(const Tokenizer *tok, const char *what, int32_t *id, PureErr *err) {
    int32_t *ids = NULL;
    size_t n = 0;
    if (tokenizer_encode(tok, "\n", 1, 0, &ids, &n, NULL, err)) return err_prefix(err, "%s: encoding \"\\n\"", what);
    int ok = n == 1;
    if (ok) *id = ids[0];
    free(ids);
    if (!ok)
        return err_set(err, "%s: \"\\n\" encodes to %zu tokens; input_format tokens puts one \"\\n\" token after "
                       "each step and needs a tokenizer where it is a single token", what, n);
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
