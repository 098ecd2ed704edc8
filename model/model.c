/* model.c - the Model object: tensor table (Hugging Face names and shapes),
 * creation with a documented initialisation, device choice, weight copies.
 *
 * Initialisation of a fresh model (model_create): every matrix, the embedding
 * included, is normal(0, 0.02) drawn from the counter-based stream
 * (seed, stream = tensor index in the table, counter = element index); biases
 * are 0 and RMSNorm weights are 1. The same seed gives the same model on any
 * machine and thread count.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model_internal.h"
#include "util/log.h"
#include "util/rng.h"

static void add_tensor(Model *m, int init, int decay, int64_t d0, int64_t d1, const char *fmt, int layer,
                       const char *leaf) {
    ModelTensor *t = &m->tensors[m->n_tensors++];
    memset(t, 0, sizeof *t);
    char base[64];
    snprintf(base, sizeof base, fmt, layer);
    snprintf(t->name, sizeof t->name, "%s%s", base, leaf);
    t->ndim = d1 > 0 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1 > 0 ? d1 : 0;
    t->numel = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
    t->offset = m->n_params;
    t->init = init;
    t->decay = decay;
    m->n_params += t->numel;
}

/* The table, in the order the tensors sit in memory. */
void model_build_table(Model *m) {
    const ModelConfig *c = &m->cfg;
    int64_t C = c->hidden_size, F = c->intermediate_size, QD = (int64_t)c->num_heads * c->head_dim,
            KD = (int64_t)c->num_kv_heads * c->head_dim;
    m->tensors = xcalloc((size_t)c->num_layers * 16 + 8, sizeof(ModelTensor));
    m->n_tensors = 0;
    m->n_params = 0;
    add_tensor(m, INIT_NORMAL, 1, c->vocab_size, C, "model.embed_tokens", 0, ".weight");
    const char *lf = "model.layers.%d.";
    for (int l = 0; l < c->num_layers; l++) {
        add_tensor(m, INIT_ONE, 0, C, 0, lf, l, "input_layernorm.weight");
        add_tensor(m, INIT_NORMAL, 1, QD, C, lf, l, "self_attn.q_proj.weight");
        if (c->qkv_bias) add_tensor(m, INIT_ZERO, 0, QD, 0, lf, l, "self_attn.q_proj.bias");
        add_tensor(m, INIT_NORMAL, 1, KD, C, lf, l, "self_attn.k_proj.weight");
        if (c->qkv_bias) add_tensor(m, INIT_ZERO, 0, KD, 0, lf, l, "self_attn.k_proj.bias");
        add_tensor(m, INIT_NORMAL, 1, KD, C, lf, l, "self_attn.v_proj.weight");
        if (c->qkv_bias) add_tensor(m, INIT_ZERO, 0, KD, 0, lf, l, "self_attn.v_proj.bias");
        add_tensor(m, INIT_NORMAL, 1, C, QD, lf, l, "self_attn.o_proj.weight");
        add_tensor(m, INIT_ONE, 0, C, 0, lf, l, "post_attention_layernorm.weight");
        add_tensor(m, INIT_NORMAL, 1, F, C, lf, l, "mlp.gate_proj.weight");
        add_tensor(m, INIT_NORMAL, 1, F, C, lf, l, "mlp.up_proj.weight");
        add_tensor(m, INIT_NORMAL, 1, C, F, lf, l, "mlp.down_proj.weight");
    }
    add_tensor(m, INIT_ONE, 0, C, 0, "model.norm", 0, ".weight");
    if (c->num_labels > 0) {
        add_tensor(m, INIT_NORMAL, 1, c->num_labels, C, "score", 0, ".weight");
        add_tensor(m, INIT_ZERO, 0, c->num_labels, 0, "score", 0, ".bias");
    } else if (!c->tie_embeddings) {
        add_tensor(m, INIT_NORMAL, 1, c->vocab_size, C, "lm_head", 0, ".weight");
    }
}

/* Fills w with pointers into base following the table order above. */
void model_bind(const Model *m, float *base, ModelW *w) {
    const ModelConfig *c = &m->cfg;
    int i = 0;
#define NEXT() (base + m->tensors[i++].offset)
    w->wte = NEXT();
    if (!w->layers) w->layers = xcalloc(c->num_layers, sizeof(LayerW));
    for (int l = 0; l < c->num_layers; l++) {
        LayerW *L = &w->layers[l];
        L->ln1 = NEXT();
        L->wq = NEXT();
        L->bq = c->qkv_bias ? NEXT() : NULL;
        L->wk = NEXT();
        L->bk = c->qkv_bias ? NEXT() : NULL;
        L->wv = NEXT();
        L->bv = c->qkv_bias ? NEXT() : NULL;
        L->wo = NEXT();
        L->ln2 = NEXT();
        L->wg = NEXT();
        L->wu = NEXT();
        L->wd = NEXT();
    }
    w->norm = NEXT();
    w->lm_head = w->score_w = w->score_b = NULL;
    if (c->num_labels > 0) {
        w->score_w = NEXT();
        w->score_b = NEXT();
    } else {
        w->lm_head = c->tie_embeddings ? w->wte : NEXT();
    }
#undef NEXT
}

int model_tensor_index(const Model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return i;
    return -1;
}

/* The backend of the most recently created model, for model_kernel_info
 * (whose signature takes no model). */
static const Backend *g_info_be;

const Backend *model_pick_backend(const char *device, PureErr *err) {
    if (!device || !strcmp(device, "cpu")) return backend_cpu();
#ifdef PURE_HAVE_CUDA
    if (!strcmp(device, "cuda") || !strcmp(device, "auto")) {
        const Backend *be = backend_cuda();
        if (be) return be;
        if (!strcmp(device, "cuda")) {
            err_set(err, "device 'cuda': no usable CUDA device");
            return NULL;
        }
        log_info("model: no usable CUDA device, using the CPU");
        return backend_cpu();
    }
#else
    if (!strcmp(device, "auto")) {
        log_info("model: built without the CUDA backend, using the CPU");
        return backend_cpu();
    }
    if (!strcmp(device, "cuda")) {
        err_set(err, "device 'cuda': this build has no CUDA backend (rebuild with -DPURE_CUDA=ON on a CUDA machine)");
        return NULL;
    }
#endif
    err_set(err, "device '%s' is not one of cpu, cuda, auto", device);
    return NULL;
}

/* A model with its table and a zeroed parameter block. */
static Model *model_alloc(const ModelConfig *cfg, const char *device, PureErr *err) {
    if (model_config_validate(cfg, err)) return NULL;
    const Backend *be = model_pick_backend(device, err);
    if (!be) return NULL;
    Model *m = xcalloc(1, sizeof *m);
    m->cfg = *cfg;
    m->be = be;
    g_info_be = be;
    model_build_table(m);
    m->params = be->alloc(m->n_params * sizeof(float));
    model_bind(m, m->params, &m->w);
    return m;
}

/* Initialisation is a pure function of (seed, tensor, element), so it is
 * split over a few threads by element ranges; the result does not depend on
 * how many. */
typedef struct InitJob {
    const Model *m;
    float *host;
    uint64_t seed;
    size_t lo, hi; /* parameter range of this thread */
} InitJob;

static void *init_range(void *arg) {
    InitJob *j = arg;
    for (int i = 0; i < j->m->n_tensors; i++) {
        const ModelTensor *t = &j->m->tensors[i];
        size_t a = t->offset > j->lo ? t->offset : j->lo, b = t->offset + t->numel < j->hi ? t->offset + t->numel : j->hi;
        for (size_t p = a; p < b; p++) {
            size_t e = p - t->offset;
            j->host[p] = t->init == INIT_ONE    ? 1.0f
                         : t->init == INIT_ZERO ? 0.0f
                                                : 0.02f * rng_normal(j->seed, (uint64_t)i, e);
        }
    }
    return NULL;
}

Model *model_create(const ModelConfig *cfg, uint64_t seed, const char *device, PureErr *err) {
    Model *m = model_alloc(cfg, device, err);
    if (!m) return NULL;
    float *host = m->be->host_memory ? m->params : xmalloc(m->n_params * sizeof(float));
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = m->n_params < (1u << 20) ? 1 : cores < 1 ? 1 : cores > 16 ? 16 : (int)cores;
    InitJob jobs[16];
    pthread_t tid[16];
    for (int k = 0; k < nt; k++) {
        jobs[k] = (InitJob){m, host, seed, m->n_params * k / nt, m->n_params * (k + 1) / nt};
        if (k > 0) pthread_create(&tid[k], NULL, init_range, &jobs[k]);
    }
    init_range(&jobs[0]);
    for (int k = 1; k < nt; k++) pthread_join(tid[k], NULL);
    if (!m->be->host_memory) {
        m->be->upload(m->params, host, m->n_params * sizeof(float));
        free(host);
    }
    return m;
}

/* Model with parameters from a loader (io.c). */
Model *model_new_empty(const ModelConfig *cfg, const char *device, PureErr *err) { return model_alloc(cfg, device, err); }

void model_ensure_grads(Model *m) {
    if (m->grads) return;
    m->grads = m->be->alloc(m->n_params * sizeof(float));
    model_bind(m, m->grads, &m->gw);
}

void model_zero_grad(Model *m) {
    if (m->grads) m->be->zero(m->grads, m->n_params * sizeof(float));
}

void model_free(Model *m) {
    if (!m) return;
    const Backend *be = m->be;
    be->free(m->params);
    if (m->grads) be->free(m->grads);
    if (m->adam_m) be->free(m->adam_m), be->free(m->adam_v);
    acts_free(be, &m->acts);
    if (m->bwd_scratch) be->free(m->bwd_scratch);
    PackInfo *p = &m->pack;
    if (p->ids) be->free(p->ids), be->free(p->pos), be->free(p->target);
    free(p->h_ids), free(p->start), free(p->len); /* h_target, row_of, t_of live in h_ids */
    free(m->w.layers), free(m->gw.layers), free(m->tensors);
    free(m);
}

const ModelConfig *model_config(const Model *m) { return &m->cfg; }
int64_t model_num_params(const Model *m) { return (int64_t)m->n_params; }

int model_copy_weights(Model *dst, const Model *src, PureErr *err) {
    const ModelConfig *a = &dst->cfg, *b = &src->cfg;
    if (dst->n_params != src->n_params || a->vocab_size != b->vocab_size || a->hidden_size != b->hidden_size ||
        a->num_layers != b->num_layers || a->num_labels != b->num_labels || a->tie_embeddings != b->tie_embeddings ||
        a->qkv_bias != b->qkv_bias || a->intermediate_size != b->intermediate_size)
        return err_set(err, "model_copy_weights: configs differ (%lld vs %lld parameters)", (long long)dst->n_params,
                       (long long)src->n_params);
    size_t bytes = dst->n_params * sizeof(float);
    if (dst->be == src->be) dst->be->copy(dst->params, src->params, bytes);
    else {
        float *host = xmalloc(bytes);
        src->be->download(host, src->params, bytes);
        dst->be->upload(dst->params, host, bytes);
        free(host);
    }
    return 0;
}

void model_set_threads(int n) { backend_cpu()->set_threads(n); }
/* "cpu: <BLAS and SIMD path>" or "cuda: <device>, <matmul mode>..." for the
 * backend of the most recently created model (the CPU before any). */
const char *model_kernel_info(void) {
    static char line[512];
    const Backend *be = g_info_be ? g_info_be : backend_cpu();
    const char *info = be->kernel_info(), *name = be->name ? be->name : "?";
    size_t nl = strlen(name);
    if (!strncmp(info, name, nl) && info[nl] == ':') return info; /* already names its backend */
    snprintf(line, sizeof line, "%s: %s", name, info);
    return line;
}

/* ---- tensors by name ---- */

int model_tensor_count(const Model *m) { return m->n_tensors; }

const char *model_tensor_info(const Model *m, int i, int *ndim, int64_t shape[2]) {
    if (i < 0 || i >= m->n_tensors) return NULL;
    const ModelTensor *t = &m->tensors[i];
    if (ndim) *ndim = t->ndim;
    if (shape) shape[0] = t->shape[0], shape[1] = t->shape[1];
    return t->name;
}

static const ModelTensor *find_tensor(const Model *m, const char *name, PureErr *err) {
    int i = model_tensor_index(m, name);
    if (i < 0) err_set(err, "model has no tensor '%s'", name);
    return i < 0 ? NULL : &m->tensors[i];
}

int model_get_tensor(const Model *m, const char *name, float *out, PureErr *err) {
    const ModelTensor *t = find_tensor(m, name, err);
    if (!t) return -1;
    m->be->download(out, m->params + t->offset, t->numel * sizeof(float));
    return 0;
}

int model_set_tensor(Model *m, const char *name, const float *in, PureErr *err) {
    const ModelTensor *t = find_tensor(m, name, err);
    if (!t) return -1;
    m->be->upload(m->params + t->offset, in, t->numel * sizeof(float));
    return 0;
}

int model_get_grad(const Model *m, const char *name, float *out, PureErr *err) {
    const ModelTensor *t = find_tensor(m, name, err);
    if (!t) return -1;
    if (!m->grads) memset(out, 0, t->numel * sizeof(float));
    else m->be->download(out, m->grads + t->offset, t->numel * sizeof(float));
    return 0;
}
