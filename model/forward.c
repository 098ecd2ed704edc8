/* forward.c - forward and backward passes of the transformer over packed
 * tokens, the causal-LM and classification heads, written once against
 * model/backend.h.
 *
 * A right-padded batch (B, T) is packed to its N valid tokens; positions
 * restart at 0 in every row, attention is causal within a row. Per layer:
 *   ln1 = rmsnorm(x); q,k,v = ln1 W^T + b; rope(q,k); a = attn(q,k,v)
 *   mid = x + a Wo^T; ln2 = rmsnorm(mid); x' = mid + (silu(ln2 Wg^T) * ln2 Wu^T) Wd^T
 * then the final rmsnorm and the head.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

/* ---- activations ---- */

void acts_free(const Backend *be, Acts *a) {
    if (a->block) be->free(a->block);
    free(a->res);
    memset(a, 0, sizeof *a);
}

/* Floats of the activation block for N tokens (the layout acts_reserve
 * carves). Without keep, every layer reuses one set and the residual is
 * updated in place; with keep, every layer's set is stored for backward;
 * with keep and recompute, only each layer's input (the residual stream) is
 * stored and one set is refilled by backward (model_set_recompute). The
 * memory plan (memplan.c) sizes activations with this same function. */
size_t acts_floats(const ModelConfig *c, size_t n, int keep, int recompute) {
    size_t C = c->hidden_size, F = c->intermediate_size, NH = c->num_heads, L = c->num_layers;
    size_t QD = NH * c->head_dim, KD = (size_t)c->num_kv_heads * c->head_dim;
    size_t set = n * (C + 1 + QD + 2 * KD + QD + NH + C + 1 + 2 * F); /* one layer's arrays, mid excluded */
    size_t tail = n * (F + C + 1 + 1 + C);                           /* h, lnf, rstdf, head_lse, tmp */
    if (!keep) return set + n * C + tail;                            /* one residual, updated in place */
    if (recompute) return set + (L + 1) * n * C + n * C + tail;      /* res[0..L] kept, one mid */
    return L * set + (L + 1) * n * C + L * n * C + tail;             /* res[0..L] and mid[0..L-1] */
}

/* Carves the activation arrays out of one allocation for N tokens. */
static void acts_reserve(Model *m, int N, int keep) {
    Acts *a = &m->acts;
    const ModelConfig *c = &m->cfg;
    int recompute = keep && m->recompute;
    int Ls = keep && !recompute ? c->num_layers : 1;
    int mode = !keep ? 0 : recompute ? 2 : 1;
    if (a->block && a->cap_N >= N && a->mode == mode) return;
    acts_free(m->be, a);
    size_t n = (size_t)N, C = c->hidden_size, F = c->intermediate_size, NH = c->num_heads;
    size_t QD = NH * c->head_dim, KD = (size_t)c->num_kv_heads * c->head_dim;
    size_t total = acts_floats(c, n, keep, recompute);
    a->block = m->be->alloc(total * sizeof(float));
    a->cap_N = N;
    a->kept = Ls;
    a->mode = mode;
    int L = c->num_layers;
    a->res = xcalloc((size_t)(L + 1) * 14, sizeof(float *));
    float ***arrays[] = {&a->ln1, &a->rstd1, &a->q, &a->k, &a->v, &a->att, &a->lse, &a->mid, &a->ln2, &a->rstd2,
                         &a->g, &a->u};
    const size_t widths[] = {C, 1, QD, KD, KD, QD, NH, C, C, 1, F, F};
    for (int i = 0; i < 12; i++) *arrays[i] = a->res + (size_t)(L + 1) * (i + 1);
    float *p = a->block;
    if (keep) {
        for (int l = 0; l <= L; l++) a->res[l] = p, p += n * C;
        for (int l = 0; l < L; l++) a->mid[l] = p, p += recompute ? 0 : n * C;
        if (recompute) p += n * C;
    } else {
        for (int l = 0; l <= L; l++) a->res[l] = p;
        for (int l = 0; l < L; l++) a->mid[l] = p;
        p += n * C;
    }
    for (int l = 0; l < L; l++)
        for (int i = 0; i < 12; i++) {
            if (arrays[i] == &a->mid) continue;
            if (l < Ls) (*arrays[i])[l] = p, p += n * widths[i];
            else (*arrays[i])[l] = (*arrays[i])[0];
        }
    a->h = p, p += n * F;
    a->lnf = p, p += n * C;
    a->rstdf = p, p += n;
    a->head_lse = p, p += n;
    a->tmp = p, p += n * C;
}

void model_matmul_w(const Backend *be, int trans_w, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *W, const uint16_t *Wb, int ldw, float beta, float *C, int ldc) {
    if (Wb) be->matmul_bf16(trans_w, M, N, K, alpha, A, lda, Wb, ldw, beta, C, ldc);
    else be->matmul(0, trans_w, M, N, K, alpha, A, lda, W, ldw, beta, C, ldc);
}

/* A weight's gradient G += dY^T @ X (dY (N, out), X (N, in), G (out, in)): in bf16 training from the bf16-rounded
   operands, as autocast computes it (the master gradient stays f32) */
static void grad_w(const Model *m, int out, int in, int N, const float *dY, const float *X, float *G) {
    const Backend *be = m->be;
    if (m->wb && be->matmul_bf16_ab) be->matmul_bf16_ab(1, 0, out, in, N, 1.0f, dY, out, X, in, 1.0f, G, in);
    else be->matmul(1, 0, out, in, N, 1.0f, dY, out, X, in, 1.0f, G, in);
}

/* A linear layer's gradients from its output gradient dY (N, out): G (out, in) += dY^T @ X (X (N, in)), then
   dX (N, in) = dY @ W + beta * dX; in one call where the backend rounds dY to bf16 once for both (bf16 training
   on the GPU: linear_bwd_bf16, the same values as the two calls) */
static void linear_bwd(const Model *m, int N, int out, int in, const float *dY, const float *X, const float *W,
                       const uint16_t *Wb, float *dX, float beta, float *G) {
    const Backend *be = m->be;
    if (Wb && m->wb && be->matmul_bf16_ab && be->linear_bwd_bf16) {
        be->linear_bwd_bf16(N, out, in, dY, X, Wb, dX, beta, G);
        return;
    }
    grad_w(m, out, in, N, dY, X, G);
    model_matmul_w(be, 0, N, in, out, 1.0f, dY, out, W, Wb, in, beta, dX, in);
}

/* y (N, out) = x (N, in) @ W^T (+ b), through W's bf16 copy Wb when the model has one */
static void linear(const Backend *be, float *y, const float *x, const float *W, const uint16_t *Wb, const float *b,
                   int N, int out, int in) {
    model_matmul_w(be, 1, N, out, in, 1.0f, x, in, W, Wb, in, 0.0f, y, out);
    if (b) be->add_bias(y, b, N, out);
}

/* The bf16 copy of a layer's matrix, or NULL in f32 */
#define WB(Lb, f) ((Lb) ? (Lb)->f : NULL)

/* One decoder layer on N packed tokens: x (N, C) is the residual entering
 * layer l, its activations go to slot s of m->acts, mid gets the residual
 * after attention and x_out the layer's output (NULL: stop after the gate
 * and up projections, which is all a recomputation for backward needs). */
static void layer_forward(Model *m, int l, int s, int N, const int32_t *pos, const TrunkPlan *plan, const float *x,
                          float *mid, float *x_out) {
    const ModelConfig *c = &m->cfg;
    const Backend *be = m->be;
    Acts *a = &m->acts;
    const LayerW *L = &m->w.layers[l];
    const LayerWb *Lb = m->wb ? &m->wbv.layers[l] : NULL;
    int C = c->hidden_size, F = c->intermediate_size, NH = c->num_heads, NKV = c->num_kv_heads, hd = c->head_dim;
    int QD = NH * hd, KD = NKV * hd;
    float eps = (float)c->rms_eps;
    AttnDims dims = {NH, NKV, hd, 1.0f / sqrtf((float)hd)};
    be->rmsnorm(a->ln1[s], a->rstd1[s], x, L->ln1, N, C, eps);
    linear(be, a->q[s], a->ln1[s], L->wq, WB(Lb, wq), L->bq, N, QD, C);
    linear(be, a->k[s], a->ln1[s], L->wk, WB(Lb, wk), L->bk, N, KD, C);
    linear(be, a->v[s], a->ln1[s], L->wv, WB(Lb, wv), L->bv, N, KD, C);
    be->rope(a->q[s], pos, N, NH, hd, c->rope_theta, 0);
    be->rope(a->k[s], pos, N, NKV, hd, c->rope_theta, 0);
    KvCache *kc = plan->cache;
    if (kc && kc->bf16) be->kv_append_bf16(kc->k[l], kc->v[l], a->k[s], a->v[s], plan->slot, pos, N, kc->max_t, KD);
    else if (kc) be->kv_append(kc->k[l], kc->v[l], a->k[s], a->v[s], plan->slot, pos, N, kc->max_t, KD);
    if (kc && plan->decode && kc->bf16) {
        be->attention_decode_bf16(a->att[s], a->q[s], kc->k[l], kc->v[l], plan->slot, plan->kv_len, N, kc->max_t,
                                  plan->max_kv, &dims);
    } else if (kc && plan->decode) {
        be->attention_decode(a->att[s], a->q[s], kc->k[l], kc->v[l], plan->slot, plan->kv_len, N, kc->max_t,
                             plan->max_kv, &dims);
    } else {
        be->attention(a->att[s], a->lse[s], a->q[s], a->k[s], a->v[s], plan->seqs, &dims);
    }
    if (mid != x) be->copy(mid, x, (size_t)N * C * sizeof(float));
    model_matmul_w(be, 1, N, C, QD, 1.0f, a->att[s], QD, L->wo, WB(Lb, wo), QD, 1.0f, mid, C);
    be->rmsnorm(a->ln2[s], a->rstd2[s], mid, L->ln2, N, C, eps);
    linear(be, a->g[s], a->ln2[s], L->wg, WB(Lb, wg), NULL, N, F, C);
    linear(be, a->u[s], a->ln2[s], L->wu, WB(Lb, wu), NULL, N, F, C);
    if (!x_out) return;
    be->swiglu(a->h, a->g[s], a->u[s], (size_t)N * F);
    if (x_out != mid) be->copy(x_out, mid, (size_t)N * C * sizeof(float));
    model_matmul_w(be, 1, N, C, F, 1.0f, a->h, F, L->wd, WB(Lb, wd), F, 1.0f, x_out, C);
}

int model_trunk(Model *m, int N, const int32_t *ids, const int32_t *pos, const TrunkPlan *plan, int keep,
                PureErr *err) {
    const ModelConfig *c = &m->cfg;
    const Backend *be = m->be;
    acts_reserve(m, N, keep);
    Acts *a = &m->acts;
    if (m->wb) be->embedding_bf16(a->res[0], m->wbv.wte, ids, N, c->hidden_size);
    else be->embedding(a->res[0], m->w.wte, ids, N, c->hidden_size);
    for (int l = 0; l < c->num_layers; l++)
        layer_forward(m, l, a->kept == c->num_layers ? l : 0, N, pos, plan, a->res[l], a->mid[l], a->res[l + 1]);
    be->rmsnorm(a->lnf, a->rstdf, a->res[c->num_layers], m->w.norm, N, c->hidden_size, (float)c->rms_eps);
    (void)err;
    return 0;
}

/* ---- packing a right-padded batch ---- */

static int pack_batch(Model *m, const ModelBatch *b, PureErr *err) {
    PackInfo *p = &m->pack;
    const Backend *be = m->be;
    if (b->B <= 0 || b->T <= 0) return err_set(err, "batch: B and T must be > 0 (got %d, %d)", b->B, b->T);
    int N = 0;
    for (int r = 0; r < b->B; r++) {
        if (b->lengths[r] < 0 || b->lengths[r] > b->T)
            return err_set(err, "batch: lengths[%d] = %d is outside [0, T=%d]", r, b->lengths[r], b->T);
        if (b->lengths[r] > m->cfg.max_position)
            return err_set(err, "batch: row %d has %d tokens, more than max_position_embeddings %d", r, b->lengths[r],
                           m->cfg.max_position);
        for (int t = 0; t < b->lengths[r]; t++) {
            int32_t id = b->tokens[(size_t)r * b->T + t];
            if (id < 0 || id >= m->cfg.vocab_size)
                return err_set(err, "batch: token %d at row %d position %d is outside the vocabulary [0, %d)", id, r,
                               t, m->cfg.vocab_size);
        }
        N += b->lengths[r];
    }
    if (N > p->cap || !p->ids) {
        if (p->ids) be->free(p->ids), be->free(p->pos), be->free(p->target);
        int cap = N > 0 ? N : 1;
        p->ids = be->alloc(sizeof(int32_t) * cap);
        p->pos = be->alloc(sizeof(int32_t) * cap);
        p->target = be->alloc(sizeof(int32_t) * cap);
        p->h_ids = xrealloc(p->h_ids, sizeof(int32_t) * cap * 5);
        p->h_target = p->h_ids + cap, p->row_of = p->h_ids + 2 * cap, p->t_of = p->h_ids + 3 * cap;
        p->cap = cap;
    }
    p->start = xrealloc(p->start, sizeof(int32_t) * b->B);
    p->len = xrealloc(p->len, sizeof(int32_t) * b->B);
    int32_t *h_pos = p->h_ids + 4 * p->cap;
    int i = 0;
    for (int r = 0; r < b->B; r++) {
        p->start[r] = i;
        p->len[r] = b->lengths[r];
        for (int t = 0; t < b->lengths[r]; t++, i++) {
            p->h_ids[i] = b->tokens[(size_t)r * b->T + t];
            h_pos[i] = t;
            p->h_target[i] = t + 1 < b->lengths[r] ? b->tokens[(size_t)r * b->T + t + 1] : -1;
            p->row_of[i] = r, p->t_of[i] = t;
        }
    }
    p->B = b->B, p->T = b->T, p->N = N;
    be->upload(p->ids, p->h_ids, sizeof(int32_t) * N);
    be->upload(p->pos, h_pos, sizeof(int32_t) * N);
    be->upload(p->target, p->h_target, sizeof(int32_t) * N);
    return 0;
}

/* ---- forward ---- */

int model_forward(Model *m, const ModelBatch *b, float *out, float *entropy, int keep_for_backward, PureErr *err) {
    const ModelConfig *c = &m->cfg;
    const Backend *be = m->be;
    m->have_fwd = 0;
    if (pack_batch(m, b, err)) return -1;
    PackInfo *p = &m->pack;
    int N = p->N, width = c->num_labels > 0 ? c->num_labels : 1;
    memset(out, 0, sizeof(float) * (size_t)b->B * b->T * width);
    if (entropy) memset(entropy, 0, sizeof(float) * (size_t)b->B * b->T);
    if (N == 0) return 0;
    AttnSeqs seqs = {b->B, p->start, p->len};
    TrunkPlan plan = {.seqs = &seqs};
    if (model_trunk(m, N, p->ids, p->pos, &plan, keep_for_backward, err)) return -1;
    Acts *a = &m->acts;
    int C = c->hidden_size;
    float *d_out = be->alloc(sizeof(float) * (size_t)N * (width + 1));
    float *h_out = xmalloc(sizeof(float) * (size_t)N * (width + 1));
    if (c->num_labels > 0) {
        linear(be, d_out, a->lnf, m->w.score_w, m->wbv.score_w, m->w.score_b, N, width, C);
    } else if (m->wb) {
        be->lm_logprob_bf16(d_out, a->head_lse, entropy ? d_out + N : NULL, a->lnf, m->wbv.lm_head, p->target, N,
                            c->vocab_size, C);
    } else {
        be->lm_logprob(d_out, a->head_lse, entropy ? d_out + N : NULL, a->lnf, m->w.lm_head, p->target, N,
                       c->vocab_size, C);
    }
    be->download(h_out, d_out, sizeof(float) * (size_t)N * (width + 1));
    for (int i = 0; i < N; i++) {
        size_t at = (size_t)p->row_of[i] * b->T + p->t_of[i];
        memcpy(out + at * width, h_out + (size_t)i * width, sizeof(float) * width);
        if (entropy && c->num_labels == 0) entropy[at] = h_out[N + i];
    }
    be->free(d_out);
    free(h_out);
    m->have_fwd = keep_for_backward;
    return 0;
}

/* ---- backward ---- */

/* dres, dmid, dln (N,C); dh, dg, du (N,F); datt, dq (N,QD); dk, dv (N,KD); dhead (N,width) */
size_t bwd_scratch_floats(const ModelConfig *c, size_t n) {
    size_t C = c->hidden_size, F = c->intermediate_size, QD = (size_t)c->num_heads * c->head_dim;
    size_t KD = (size_t)c->num_kv_heads * c->head_dim, width = c->num_labels > 0 ? c->num_labels : 1;
    return n * (3 * C + 3 * F + 2 * QD + 2 * KD + width);
}

int model_backward(Model *m, const ModelBatch *b, const float *dout, PureErr *err) {
    const ModelConfig *c = &m->cfg;
    const Backend *be = m->be;
    PackInfo *p = &m->pack;
    if (m->no_master)
        return err_set(err, "model_backward: the model was loaded for bf16 inference (no f32 master weights); load it "
                       "with train = 1 to train");
    if (!m->have_fwd) return err_set(err, "model_backward: no forward with keep_for_backward=1 precedes it");
    if (b->B != p->B || b->T != p->T)
        return err_set(err, "model_backward: batch (%d, %d) differs from the forward's (%d, %d)", b->B, b->T, p->B,
                       p->T);
    model_ensure_grads(m);
    int N = p->N;
    if (N == 0) return 0;
    Acts *a = &m->acts;
    const ModelW *w = &m->w, *gw = &m->gw;
    int C = c->hidden_size, F = c->intermediate_size, NH = c->num_heads, NKV = c->num_kv_heads, hd = c->head_dim;
    int QD = NH * hd, KD = NKV * hd, width = c->num_labels > 0 ? c->num_labels : 1;
    size_t n = (size_t)N;
    size_t need = bwd_scratch_floats(c, n);
    if (m->bwd_scratch_cap < need) { /* reused: fresh multi-MiB allocations per step cost page faults */
        if (m->bwd_scratch) be->free(m->bwd_scratch);
        m->bwd_scratch = be->alloc(sizeof(float) * need);
        m->bwd_scratch_cap = need;
    }
    float *blk = m->bwd_scratch;
    float *dres = blk, *dmid = dres + n * C, *dln = dmid + n * C, *dh = dln + n * C, *dg = dh + n * F,
          *du = dg + n * F, *datt = du + n * F, *dq = datt + n * QD, *dk = dq + n * QD, *dv = dk + n * KD,
          *dhead = dv + n * KD;
    float *h_dhead = xmalloc(sizeof(float) * n * width);
    for (int i = 0; i < N; i++)
        memcpy(h_dhead + (size_t)i * width, dout + ((size_t)p->row_of[i] * b->T + p->t_of[i]) * width,
               sizeof(float) * width);
    be->upload(dhead, h_dhead, sizeof(float) * n * width);
    free(h_dhead);

    /* head -> d lnf (in dln) */
    if (c->num_labels > 0) {
        be->matmul(1, 0, width, C, N, 1.0f, dhead, width, a->lnf, C, 1.0f, gw->score_w, C);
        be->bias_grad(gw->score_b, dhead, N, width);
        model_matmul_w(be, 0, N, C, width, 1.0f, dhead, width, w->score_w, m->wbv.score_w, C, 0.0f, dln, C);
    } else if (m->wb) {
        be->lm_logprob_bwd_bf16(dln, gw->lm_head, dhead, a->head_lse, a->lnf, m->wbv.lm_head, p->target, N,
                                c->vocab_size, C);
    } else {
        be->lm_logprob_bwd(dln, gw->lm_head, dhead, a->head_lse, a->lnf, w->lm_head, p->target, N, c->vocab_size, C);
    }
    be->zero(dres, sizeof(float) * n * C);
    be->rmsnorm_bwd(dres, gw->norm, dln, a->res[c->num_layers], w->norm, a->rstdf, N, C);

    AttnSeqs seqs = {p->B, p->start, p->len};
    AttnDims dims = {NH, NKV, hd, 1.0f / sqrtf((float)hd)};
    int rec = a->mode == 2;
    TrunkPlan tp = {.seqs = &seqs};
    for (int l = c->num_layers - 1; l >= m->bwd_from; l--) {
        const LayerW *L = &w->layers[l], *G = &gw->layers[l];
        const LayerWb *Lb = m->wb ? &m->wbv.layers[l] : NULL;
        /* with recompute, the layer's activations are rebuilt from its kept input
           into set 0 (same kernels, same inputs: the same values as a kept forward) */
        int s = rec ? 0 : l;
        if (rec) layer_forward(m, l, 0, N, p->pos, &tp, a->res[l], a->mid[0], NULL);
        float *mid = rec ? a->mid[0] : a->mid[l];
        /* MLP: res[l+1] = mid + h Wd^T */
        be->swiglu(a->h, a->g[s], a->u[s], n * F);
        linear_bwd(m, N, C, F, dres, a->h, L->wd, WB(Lb, wd), dh, 0.0f, G->wd);
        be->swiglu_bwd(dg, du, dh, a->g[s], a->u[s], n * F);
        linear_bwd(m, N, F, C, dg, a->ln2[s], L->wg, WB(Lb, wg), dln, 0.0f, G->wg);
        linear_bwd(m, N, F, C, du, a->ln2[s], L->wu, WB(Lb, wu), dln, 1.0f, G->wu);
        be->copy(dmid, dres, sizeof(float) * n * C);
        be->rmsnorm_bwd(dmid, G->ln2, dln, mid, L->ln2, a->rstd2[s], N, C);
        /* attention: mid = res[l] + att Wo^T */
        linear_bwd(m, N, C, QD, dmid, a->att[s], L->wo, WB(Lb, wo), datt, 0.0f, G->wo);
        be->attention_bwd(dq, dk, dv, datt, a->att[s], a->lse[s], a->q[s], a->k[s], a->v[s], &seqs, &dims);
        be->rope(dq, p->pos, N, NH, hd, c->rope_theta, 1);
        be->rope(dk, p->pos, N, NKV, hd, c->rope_theta, 1);
        if (c->qkv_bias) {
            be->bias_grad(G->bq, dq, N, QD);
            be->bias_grad(G->bk, dk, N, KD);
            be->bias_grad(G->bv, dv, N, KD);
        }
        linear_bwd(m, N, QD, C, dq, a->ln1[s], L->wq, WB(Lb, wq), dln, 0.0f, G->wq);
        linear_bwd(m, N, KD, C, dk, a->ln1[s], L->wk, WB(Lb, wk), dln, 1.0f, G->wk);
        linear_bwd(m, N, KD, C, dv, a->ln1[s], L->wv, WB(Lb, wv), dln, 1.0f, G->wv);
        be->copy(dres, dmid, sizeof(float) * n * C);
        be->rmsnorm_bwd(dres, G->ln1, dln, a->res[l], L->ln1, a->rstd1[s], N, C);
    }
    if (m->bwd_from == 0) be->embedding_bwd(gw->wte, dres, p->ids, N, C);
    return 0;
}
