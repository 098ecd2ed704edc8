/* test_model_table.c - the tensor table (model/model.c) is the file format:
 * for each kind of config (qwen2 / llama, tied / untied, causal LM /
 * classification) the names, shapes, order and offsets are the Hugging Face
 * layout written out here by hand, the parameter block is packed without
 * gaps, and every ModelW / LayerW pointer, for the parameters and for the
 * gradients, points at exactly its tensor (absent tensors NULL, a tied
 * lm_head at the embedding). Reads model_internal.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "tests/check.h"

static ModelConfig cfg_for(const char *arch, int tie, int labels) {
    ModelConfig c;
    model_config_default(&c);
    snprintf(c.arch, sizeof c.arch, "%s", arch);
    c.vocab_size = 50, c.hidden_size = 16, c.intermediate_size = 24, c.num_layers = 2, c.num_heads = 4;
    c.num_kv_heads = 2, c.head_dim = 6; /* head_dim != C / NH: QD = 24, KD = 12 */
    c.tie_embeddings = tie, c.num_labels = labels, c.qkv_bias = !strcmp(arch, "qwen2");
    return c;
}

/* The expected table, written out from the Hugging Face layout (docs/model.md). */
typedef struct Want {
    char name[96];
    int64_t d0, d1;
} Want;

static int expected(const ModelConfig *c, Want *w) {
    int n = 0;
    int64_t V = c->vocab_size, C = c->hidden_size, F = c->intermediate_size, QD = (int64_t)c->num_heads * c->head_dim,
            KD = (int64_t)c->num_kv_heads * c->head_dim;
#define W(D0, D1, ...) (snprintf(w[n].name, sizeof w[n].name, __VA_ARGS__), w[n].d0 = D0, w[n].d1 = D1, n++)
    W(V, C, "model.embed_tokens.weight");
    for (int l = 0; l < c->num_layers; l++) {
        W(C, 0, "model.layers.%d.input_layernorm.weight", l);
        W(QD, C, "model.layers.%d.self_attn.q_proj.weight", l);
        if (c->qkv_bias) W(QD, 0, "model.layers.%d.self_attn.q_proj.bias", l);
        W(KD, C, "model.layers.%d.self_attn.k_proj.weight", l);
        if (c->qkv_bias) W(KD, 0, "model.layers.%d.self_attn.k_proj.bias", l);
        W(KD, C, "model.layers.%d.self_attn.v_proj.weight", l);
        if (c->qkv_bias) W(KD, 0, "model.layers.%d.self_attn.v_proj.bias", l);
        W(C, QD, "model.layers.%d.self_attn.o_proj.weight", l);
        W(C, 0, "model.layers.%d.post_attention_layernorm.weight", l);
        W(F, C, "model.layers.%d.mlp.gate_proj.weight", l);
        W(F, C, "model.layers.%d.mlp.up_proj.weight", l);
        W(C, F, "model.layers.%d.mlp.down_proj.weight", l);
    }
    W(C, 0, "model.norm.weight");
    if (c->num_labels > 0) {
        W(c->num_labels, C, "score.weight");
        W(c->num_labels, 0, "score.bias");
    } else if (!c->tie_embeddings) {
        W(V, C, "lm_head.weight");
    }
#undef W
    return n;
}

/* Every pointer of w: the model-level ones, then each layer's (LayerW holds only float *). */
static int all_pointers(const Model *m, const ModelW *w, float **out, const char **what) {
    int n = 0;
    out[n] = w->wte, what[n++] = "wte";
    out[n] = w->norm, what[n++] = "norm";
    out[n] = w->lm_head, what[n++] = "lm_head";
    out[n] = w->score_w, what[n++] = "score_w";
    out[n] = w->score_b, what[n++] = "score_b";
    for (int l = 0; l < m->cfg.num_layers; l++) {
        float *const *f = (float *const *)&w->layers[l];
        for (size_t k = 0; k < sizeof(LayerW) / sizeof(float *); k++) out[n] = f[k], what[n++] = "layer field";
    }
    return n;
}

/* Each tensor is pointed at by exactly one field (two for a tied embedding),
 * no field points anywhere else, and the named fields hold the right tensors. */
static void check_binding(const Model *m, const ModelW *w, const float *base) {
    const ModelConfig *c = &m->cfg;
    float *ptr[64];
    const char *what[64];
    int np = all_pointers(m, w, ptr, what);
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelTensor *t = &m->tensors[i];
        int hits = 0;
        for (int k = 0; k < np; k++) hits += ptr[k] == base + t->offset;
        int tied = !strcmp(t->name, "model.embed_tokens.weight") && c->tie_embeddings && c->num_labels == 0;
        if (hits != 1 + tied) fprintf(stderr, "%s: %d fields point at it\n", t->name, hits);
        CHECK(hits == 1 + tied);
    }
    int bound = 0;
    for (int k = 0; k < np; k++) {
        if (!ptr[k]) continue;
        bound++;
        int found = 0;
        for (int i = 0; i < m->n_tensors; i++) found |= ptr[k] == base + m->tensors[i].offset;
        if (!found) fprintf(stderr, "field %s points at no tensor\n", what[k]);
        CHECK(found);
    }
    CHECK(bound == m->n_tensors + (c->tie_embeddings && c->num_labels == 0));
    /* spot checks by name */
    CHECK(w->wte == base + m->tensors[model_tensor_index(m, "model.embed_tokens.weight")].offset);
    CHECK(w->norm == base + m->tensors[model_tensor_index(m, "model.norm.weight")].offset);
    CHECK(w->layers[1].wd == base + m->tensors[model_tensor_index(m, "model.layers.1.mlp.down_proj.weight")].offset);
    CHECK(w->layers[0].wk == base + m->tensors[model_tensor_index(m, "model.layers.0.self_attn.k_proj.weight")].offset);
    if (c->qkv_bias)
        CHECK(w->layers[1].bv == base + m->tensors[model_tensor_index(m, "model.layers.1.self_attn.v_proj.bias")].offset);
    else
        CHECK(!w->layers[0].bq && !w->layers[1].bk && !w->layers[1].bv);
    if (c->num_labels > 0) {
        CHECK(!w->lm_head);
        CHECK(w->score_w == base + m->tensors[model_tensor_index(m, "score.weight")].offset);
        CHECK(w->score_b == base + m->tensors[model_tensor_index(m, "score.bias")].offset);
    } else {
        CHECK(!w->score_w && !w->score_b);
        CHECK(c->tie_embeddings ? w->lm_head == w->wte
                                : w->lm_head == base + m->tensors[model_tensor_index(m, "lm_head.weight")].offset);
    }
}

static void check_config(const char *arch, int tie, int labels) {
    ModelConfig c = cfg_for(arch, tie, labels);
    PureErr err = {0};
    Model *m = model_create(&c, 1, "cpu", &err);
    CHECK(m != NULL);
    if (!m) return;
    Want want[64];
    int n = expected(&c, want);
    CHECK(m->n_tensors == n);
    size_t off = 0;
    for (int i = 0; i < n && i < m->n_tensors; i++) {
        const ModelTensor *t = &m->tensors[i];
        CHECK_STR(t->name, want[i].name);
        CHECK(t->ndim == (want[i].d1 ? 2 : 1) && t->shape[0] == want[i].d0 && t->shape[1] == want[i].d1);
        CHECK(t->offset == off); /* packed in table order, no gaps */
        CHECK(t->numel == (size_t)want[i].d0 * (size_t)(want[i].d1 ? want[i].d1 : 1));
        CHECK(t->decay == (t->ndim == 2));
        CHECK(t->init == (t->ndim == 2 ? INIT_NORMAL : strstr(t->name, "norm") ? INIT_ONE : INIT_ZERO));
        CHECK(t->optional == !strcmp(t->name, "score.bias"));
        off += t->numel;
    }
    CHECK(m->n_params == off);
    check_binding(m, &m->w, m->params);
    model_ensure_grads(m);
    check_binding(m, &m->gw, m->grads);
    printf("%s tie=%d labels=%d: %d tensors, %zu parameters\n", arch, tie, labels, m->n_tensors, m->n_params);
    model_free(m);
}

int main(void) {
    check_config("qwen2", 1, 0);
    check_config("qwen2", 0, 0);
    check_config("llama", 0, 0);
    check_config("llama", 1, 0);
    check_config("qwen2", 1, 3);
    check_config("llama", 0, 2);
    return check_report("test_model_table");
}
