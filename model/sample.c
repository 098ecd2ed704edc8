/* sample.c - batched sampling with a KV cache (model_generate).
 *
 * Prompts are prefilled together as one packed batch that also fills the
 * cache; then every step decodes one token for each unfinished sequence.
 * Sequence i draws its uniforms from rng (cfg->seed, stream_ids[i], step), so
 * its tokens depend only on its prompt, its stream id and the model, never on
 * which other sequences share the batch or on the thread count. Token
 * selection follows Hugging Face's order: temperature, top-k, top-p. A
 * backend with sample_rows (CUDA) samples on the device by the same rule;
 * otherwise the logits are downloaded and model_sample_row (the rule of
 * model/sample_rule.h) draws here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "tokenizer/tokenizer.h"
#include "util/rng.h"


/* ---- per-sequence state ---- */

typedef struct Seq {
    int32_t *tokens;
    float *logprobs;
    int n, done, finish, plen;
    char *text;
    size_t text_len, text_cap;
    TokenizerStream ts;
} Seq;

static int hit_stop_string(Seq *s, const SampleConfig *c, const char *piece, size_t len) {
    if (s->text_len + len + 1 > s->text_cap) {
        s->text_cap = (s->text_len + len + 1) * 2;
        s->text = xrealloc(s->text, s->text_cap);
    }
    size_t old = s->text_len;
    memcpy(s->text + old, piece, len);
    s->text_len += len;
    s->text[s->text_len] = 0;
    for (int k = 0; k < c->n_stop_strings; k++) {
        size_t sl = strlen(c->stop_strings[k]);
        if (!sl || s->text_len < sl) continue;
        size_t from = old + 1 > sl ? old + 1 - sl : 0;
        if (strstr(s->text + from, c->stop_strings[k])) return 1;
    }
    return 0;
}

/* Appends token t (log-prob lp) to sequence s and updates its finish state. */
static void push_token(Seq *s, int32_t t, float lp, const SampleConfig *c, const Tokenizer *tok, int max_t) {
    s->tokens[s->n] = t;
    s->logprobs[s->n] = lp;
    s->n++;
    for (int k = 0; k < c->n_stop_ids; k++)
        if (t == c->stop_ids[k]) s->done = 1, s->finish = FINISH_EOS;
    if (!s->done && c->n_stop_strings > 0) {
        size_t cap = 3 * tokenizer_max_token_bytes(tok) + 16; /* enough for any push (tokenizer.h) */
        char stack[1024], *piece = cap <= sizeof stack ? stack : xmalloc(cap);
        size_t len = tokenizer_stream_push(&s->ts, t, piece, cap);
        if (hit_stop_string(s, c, piece, len)) s->done = 1, s->finish = FINISH_STOP;
        if (piece != stack) free(piece);
    }
    if (!s->done && (s->n >= c->max_new_tokens || s->plen + s->n >= max_t)) s->done = 1, s->finish = FINISH_LENGTH;
}

/* ---- one sub-batch of prompts ---- */

/* Logits of the lnf rows `rows`, then one token per row: on the backend when
 * it samples (sample_rows), else on the host from downloaded logits. */
typedef struct Picker {
    float *d_h, *d_logits, *h_logits, *logz;
    int32_t *idx, *tok;
    double *w;
    float *lp;
    uint64_t *streams, *counters;
} Picker;

static int pick_tokens(Model *m, const int32_t *rows, int n, const SampleConfig *c, Picker *pk, PureErr *err) {
    const Backend *be = m->be;
    int C = m->cfg.hidden_size, V = m->cfg.vocab_size, contiguous = 1;
    for (int i = 0; i < n; i++) contiguous &= rows[i] == i;
    /* a decode step's rows are lnf's first n: used in place, no copy per row */
    const float *h = contiguous ? m->acts.lnf : pk->d_h;
    if (!contiguous)
        for (int i = 0; i < n; i++)
            be->copy(pk->d_h + (size_t)i * C, m->acts.lnf + (size_t)rows[i] * C, sizeof(float) * C);
    model_matmul_w(be, 1, n, V, C, 1.0f, h, C, m->w.lm_head, m->wbv.lm_head, C, 0.0f, pk->d_logits, V);
    if (be->sample_rows)
        return be->sample_rows(pk->tok, pk->lp, pk->d_logits, n, V, c->temperature, c->top_p, c->top_k, c->seed,
                               pk->streams, pk->counters, err);
    be->logsumexp_rows(pk->d_h, pk->d_logits, n, V); /* d_h reused: n <= its rows */
    be->download(pk->logz, pk->d_h, sizeof(float) * n);
    be->download(pk->h_logits, pk->d_logits, sizeof(float) * (size_t)n * V);
    for (int i = 0; i < n; i++) {
        const float *row = pk->h_logits + (size_t)i * V;
        double u = rng_uniform_double(c->seed, pk->streams[i], pk->counters[i]);
        pk->tok[i] = model_sample_row(row, V, c->temperature, c->top_p, c->top_k, u, pk->idx, pk->w);
        pk->lp[i] = row[pk->tok[i]] - pk->logz[i];
    }
    return 0;
}

static int generate_batch(Model *m, const Tokenizer *tok, int ns, const int32_t *const *prompts, const int *plens,
                          const uint64_t *streams, const SampleConfig *c, int max_t, Seq *seqs, PureErr *err) {
    const Backend *be = m->be;
    const ModelConfig *mc = &m->cfg;
    int L = mc->num_layers, KD = mc->num_kv_heads * mc->head_dim, V = mc->vocab_size, C = mc->hidden_size;
    KvCache kc = {xcalloc(L, sizeof(void *)), xcalloc(L, sizeof(void *)), ns, max_t, m->precision == MODEL_BF16};
    size_t eb = kv_elem_bytes(m->precision);
    for (int l = 0; l < L; l++) {
        kc.k[l] = be->alloc(eb * ns * (size_t)max_t * KD);
        kc.v[l] = be->alloc(eb * ns * (size_t)max_t * KD);
    }
    int N = 0;
    for (int i = 0; i < ns; i++) N += plens[i];
    /* per token: id, position, cache slot (and kv_len when decoding), packed so
       that one upload per step moves them all; a decode step uses 4 n_act of the 3 N */
    int cap = 3 * N > 4 * ns ? 3 * N : 4 * ns;
    int32_t *h_tok = xmalloc(sizeof(int32_t) * cap), *h_ids = h_tok, *h_pos = h_tok + N, *h_slot = h_tok + 2 * N;
    int32_t *start = xmalloc(sizeof(int32_t) * ns * 3), *len = start + ns, *rows = len + ns;
    int32_t *d_tok = be->alloc(sizeof(int32_t) * cap);
    for (int i = 0, at = 0; i < ns; i++) {
        start[i] = at, len[i] = plens[i], rows[i] = at + plens[i] - 1;
        for (int t = 0; t < plens[i]; t++, at++) h_ids[at] = prompts[i][t], h_pos[at] = t, h_slot[at] = i;
    }
    be->upload(d_tok, h_tok, sizeof(int32_t) * 3 * N);
    AttnSeqs as = {ns, start, len};
    TrunkPlan plan = {.seqs = &as, .cache = &kc, .slot = d_tok + 2 * N};
    Picker pk = {be->alloc(sizeof(float) * ns * (size_t)C), be->alloc(sizeof(float) * ns * (size_t)V),
                 xmalloc(sizeof(float) * ns * (size_t)V), xmalloc(sizeof(float) * ns), xmalloc(sizeof(int32_t) * V),
                 xmalloc(sizeof(int32_t) * ns), xmalloc(sizeof(double) * V), xmalloc(sizeof(float) * ns),
                 xmalloc(sizeof(uint64_t) * ns), xmalloc(sizeof(uint64_t) * ns)};
    int32_t *active = xmalloc(sizeof(int32_t) * ns);
    int n_act = ns;
    for (int i = 0; i < ns; i++) active[i] = i;
    int rc = model_trunk(m, N, d_tok, d_tok + N, &plan, 0, err);
    while (!rc && n_act > 0) {
        for (int a = 0; a < n_act; a++) pk.streams[a] = streams[active[a]], pk.counters[a] = (uint64_t)seqs[active[a]].n;
        rc = pick_tokens(m, rows, n_act, c, &pk, err);
        if (rc) break;
        int keep = 0;
        for (int a = 0; a < n_act; a++) {
            Seq *s = &seqs[active[a]];
            push_token(s, pk.tok[a], pk.lp[a], c, tok, max_t);
            if (!s->done) active[keep++] = active[a];
        }
        n_act = keep;
        if (!n_act) break;
        int max_kv = 0;
        for (int a = 0; a < n_act; a++) {
            Seq *s = &seqs[active[a]];
            h_tok[a] = s->tokens[s->n - 1];              /* id */
            h_tok[n_act + a] = s->plen + s->n - 1;       /* position */
            h_tok[2 * n_act + a] = active[a];            /* cache slot */
            h_tok[3 * n_act + a] = s->plen + s->n;       /* kv_len = position + 1 */
            if (s->plen + s->n > max_kv) max_kv = s->plen + s->n;
            rows[a] = a;
        }
        be->upload(d_tok, h_tok, sizeof(int32_t) * 4 * n_act);
        TrunkPlan dp = {.cache = &kc, .decode = 1, .slot = d_tok + 2 * n_act, .kv_len = d_tok + 3 * n_act,
                        .max_kv = max_kv};
        rc = model_trunk(m, n_act, d_tok, d_tok + n_act, &dp, 0, err);
    }
    for (int l = 0; l < L; l++) be->free(kc.k[l]), be->free(kc.v[l]);
    free(kc.k), free(kc.v);
    be->free(d_tok), be->free(pk.d_h), be->free(pk.d_logits);
    free(h_tok), free(start), free(active), free(pk.h_logits), free(pk.logz), free(pk.idx), free(pk.tok), free(pk.w);
    free(pk.lp), free(pk.streams), free(pk.counters);
    return rc;
}

int model_generate(Model *m, const struct Tokenizer *tok, int n_prompts, const int32_t *const *prompts,
                   const int *prompt_lens, const uint64_t *stream_ids, const SampleConfig *cfg, SampleResult *out,
                   PureErr *err) {
    const ModelConfig *mc = &m->cfg;
    if (mc->num_labels > 0) return err_set(err, "model_generate: a token-classification model cannot generate");
    if (cfg->n_stop_strings > 0 && !tok) return err_set(err, "model_generate: stop strings need a tokenizer");
    if (cfg->max_new_tokens < 0) return err_set(err, "model_generate: max_new_tokens must be >= 0");
    for (int i = 0; i < n_prompts; i++) {
        if (prompt_lens[i] < 1) return err_set(err, "model_generate: prompt %d is empty", i);
        if (prompt_lens[i] >= mc->max_position)
            return err_set(err, "model_generate: prompt %d has %d tokens, max_position_embeddings is %d", i,
                           prompt_lens[i], mc->max_position);
        for (int t = 0; t < prompt_lens[i]; t++)
            if (prompts[i][t] < 0 || prompts[i][t] >= mc->vocab_size)
                return err_set(err, "model_generate: prompt %d token %d = %d is outside the vocabulary [0, %d)", i,
                               t, prompts[i][t], mc->vocab_size);
    }
    Seq *seqs = xcalloc(n_prompts > 0 ? n_prompts : 1, sizeof(Seq));
    for (int i = 0; i < n_prompts; i++) {
        Seq *s = &seqs[i];
        s->plen = prompt_lens[i];
        s->tokens = xmalloc(sizeof(int32_t) * (cfg->max_new_tokens + 1));
        s->logprobs = xmalloc(sizeof(float) * (cfg->max_new_tokens + 1));
        s->finish = FINISH_LENGTH;
        s->done = cfg->max_new_tokens == 0;
        if (tok) tokenizer_stream_init(&s->ts, tok, 0);
    }
    size_t per_token = (size_t)2 * mc->num_layers * mc->num_kv_heads * mc->head_dim * kv_elem_bytes(m->precision);
    /* the CPU bounds its cache; a device holds the caller's batch (its
       batch_size, checked against memory by the plan before the run) */
    double budget = m->be->host_memory ? (double)MODEL_KV_BUDGET_HOST : 1e300;
    int rc = 0;
    for (int i0 = 0; i0 < n_prompts && !rc && cfg->max_new_tokens > 0;) {
        /* grow the sub-batch while its cache fits the budget */
        int i1 = i0, max_t = 0;
        while (i1 < n_prompts) {
            int t = prompt_lens[i1] + cfg->max_new_tokens;
            if (t > mc->max_position) t = mc->max_position;
            int mt = t > max_t ? t : max_t;
            if (i1 > i0 && (double)per_token * mt * (i1 - i0 + 1) > budget) break;
            max_t = mt, i1++;
        }
        rc = generate_batch(m, tok, i1 - i0, prompts + i0, prompt_lens + i0, stream_ids + i0, cfg, max_t, seqs + i0,
                            err);
        i0 = i1;
    }
    for (int i = 0; i < n_prompts; i++) {
        Seq *s = &seqs[i];
        out[i].tokens = s->tokens, out[i].logprobs = s->logprobs, out[i].n = s->n, out[i].finish = s->finish;
        free(s->text);
        if (rc) sample_result_free(&out[i]);
    }
    free(seqs);
    return rc;
}

void sample_result_free(SampleResult *r) {
    free(r->tokens), free(r->logprobs);
    r->tokens = NULL, r->logprobs = NULL, r->n = 0;
}
