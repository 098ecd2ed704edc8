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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "model/bf16.h"
#include "model/model_internal.h"
#include "util/log.h"
#include "util/rng.h"

/* ---- the tensor table ----
 *
 * One row per tensor in file and memory order: the Hugging Face name (with
 * %d for the layer in per-layer rows), the shape rule, when it exists, how a
 * fresh model initialises it, and the float * field of ModelW / LayerW it
 * binds to. model_build_table() lays the rows out into m->tensors and
 * model_bind() points the fields at them, so a new tensor is one row here
 * plus its field in model_internal.h. The order (and with it every offset and
 * the initialisation stream of each tensor) is part of the file format: never
 * reorder rows; a new row must be conditional on a config setting existing
 * models lack, so their tables, files and fresh weights stay the same. Runs
 * of consecutive per-layer rows repeat once per layer. AdamW weight decay
 * applies to the matrices (2-D rows). */

enum { DIM_NONE = 0, DIM_V, DIM_C, DIM_F, DIM_QD, DIM_KD, DIM_LABELS }; /* DIM_QD = NH*hd, DIM_KD = NKV*hd */
enum { WHEN_ALWAYS = 0, WHEN_QKV_BIAS, WHEN_CLASSIFIER, WHEN_LM_UNTIED };

typedef struct TensorRow {
    const char *name;
    int per_layer;  /* 1: one tensor per layer, bound into LayerW; 0: once, bound into ModelW */
    int when;       /* WHEN_*: whether the config has this tensor */
    int d0, d1;     /* DIM_*; d1 = DIM_NONE for a vector */
    int init;       /* INIT_* */
    int optional;   /* 1: a checkpoint may lack it (then it loads as zeros) */
    int field;      /* offsetof the pointer in LayerW (per_layer) or ModelW */
    int tied_to;    /* ModelW field it aliases when the LM head is tied to the embedding; -1: NULL when absent */
} TensorRow;

#define LW(f) (int)offsetof(LayerW, f)
#define MW(f) (int)offsetof(ModelW, f)
static const TensorRow TENSOR_ROWS[] = {
    {"model.embed_tokens.weight", 0, WHEN_ALWAYS, DIM_V, DIM_C, INIT_NORMAL, 0, MW(wte), -1},
    {"model.layers.%d.input_layernorm.weight", 1, WHEN_ALWAYS, DIM_C, DIM_NONE, INIT_ONE, 0, LW(ln1), -1},
    {"model.layers.%d.self_attn.q_proj.weight", 1, WHEN_ALWAYS, DIM_QD, DIM_C, INIT_NORMAL, 0, LW(wq), -1},
    {"model.layers.%d.self_attn.q_proj.bias", 1, WHEN_QKV_BIAS, DIM_QD, DIM_NONE, INIT_ZERO, 0, LW(bq), -1},
    {"model.layers.%d.self_attn.k_proj.weight", 1, WHEN_ALWAYS, DIM_KD, DIM_C, INIT_NORMAL, 0, LW(wk), -1},
    {"model.layers.%d.self_attn.k_proj.bias", 1, WHEN_QKV_BIAS, DIM_KD, DIM_NONE, INIT_ZERO, 0, LW(bk), -1},
    {"model.layers.%d.self_attn.v_proj.weight", 1, WHEN_ALWAYS, DIM_KD, DIM_C, INIT_NORMAL, 0, LW(wv), -1},
    {"model.layers.%d.self_attn.v_proj.bias", 1, WHEN_QKV_BIAS, DIM_KD, DIM_NONE, INIT_ZERO, 0, LW(bv), -1},
    {"model.layers.%d.self_attn.o_proj.weight", 1, WHEN_ALWAYS, DIM_C, DIM_QD, INIT_NORMAL, 0, LW(wo), -1},
    {"model.layers.%d.post_attention_layernorm.weight", 1, WHEN_ALWAYS, DIM_C, DIM_NONE, INIT_ONE, 0, LW(ln2), -1},
    {"model.layers.%d.mlp.gate_proj.weight", 1, WHEN_ALWAYS, DIM_F, DIM_C, INIT_NORMAL, 0, LW(wg), -1},
    {"model.layers.%d.mlp.up_proj.weight", 1, WHEN_ALWAYS, DIM_F, DIM_C, INIT_NORMAL, 0, LW(wu), -1},
    {"model.layers.%d.mlp.down_proj.weight", 1, WHEN_ALWAYS, DIM_C, DIM_F, INIT_NORMAL, 0, LW(wd), -1},
    {"model.norm.weight", 0, WHEN_ALWAYS, DIM_C, DIM_NONE, INIT_ONE, 0, MW(norm), -1},
    {"score.weight", 0, WHEN_CLASSIFIER, DIM_LABELS, DIM_C, INIT_NORMAL, 0, MW(score_w), -1},
    {"score.bias", 0, WHEN_CLASSIFIER, DIM_LABELS, DIM_NONE, INIT_ZERO, 1, MW(score_b), -1},
    {"lm_head.weight", 0, WHEN_LM_UNTIED, DIM_V, DIM_C, INIT_NORMAL, 0, MW(lm_head), MW(wte)},
};
#undef LW
#undef MW
#define N_ROWS ((int)(sizeof TENSOR_ROWS / sizeof TENSOR_ROWS[0]))

static int row_present(const ModelConfig *c, const TensorRow *r) {
    switch (r->when) {
    case WHEN_QKV_BIAS: return c->qkv_bias != 0;
    case WHEN_CLASSIFIER: return c->num_labels > 0;
    case WHEN_LM_UNTIED: return c->num_labels == 0 && !c->tie_embeddings;
    default: return 1;
    }
}

static int64_t dim_of(const ModelConfig *c, int d) {
    switch (d) {
    case DIM_V: return c->vocab_size;
    case DIM_C: return c->hidden_size;
    case DIM_F: return c->intermediate_size;
    case DIM_QD: return (int64_t)c->num_heads * c->head_dim;
    case DIM_KD: return (int64_t)c->num_kv_heads * c->head_dim;
    case DIM_LABELS: return c->num_labels;
    default: return 0;
    }
}

/* Rows [r, end) are the run of per-layer rows starting at r (end = r + 1 for a model-level row). */
static int row_run_end(int r) {
    int e = r + 1;
    if (TENSOR_ROWS[r].per_layer)
        while (e < N_ROWS && TENSOR_ROWS[e].per_layer) e++;
    return e;
}

static void add_tensor(Model *m, const TensorRow *r, int layer) {
    const ModelConfig *c = &m->cfg;
    ModelTensor *t = &m->tensors[m->n_tensors++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, r->name, layer); /* model-level names have no %d */
    int64_t d0 = dim_of(c, r->d0), d1 = dim_of(c, r->d1);
    t->ndim = r->d1 == DIM_NONE ? 1 : 2;
    t->shape[0] = d0;
    t->shape[1] = t->ndim == 2 ? d1 : 0;
    t->numel = (size_t)d0 * (size_t)(t->ndim == 2 ? d1 : 1);
    t->offset = m->n_params;
    t->foff = m->n_params;
    t->init = r->init;
    t->decay = t->ndim == 2;
    t->optional = r->optional;
    t->layer = r->per_layer ? layer : -1;
    t->field = r->field;
    m->n_params += t->numel;
}

/* The table, in the order the tensors sit in memory and in the files. */
void model_build_table(Model *m) {
    const ModelConfig *c = &m->cfg;
    int per_layer = 0;
    for (int r = 0; r < N_ROWS; r++) per_layer += TENSOR_ROWS[r].per_layer;
    m->tensors = xcalloc((size_t)c->num_layers * per_layer + (N_ROWS - per_layer) + 1, sizeof(ModelTensor));
    m->n_tensors = 0;
    m->n_params = 0;
    for (int r = 0; r < N_ROWS;) {
        int e = row_run_end(r), layers = TENSOR_ROWS[r].per_layer ? c->num_layers : 1;
        for (int l = 0; l < layers; l++)
            for (int k = r; k < e; k++)
                if (row_present(c, &TENSOR_ROWS[k])) add_tensor(m, &TENSOR_ROWS[k], l);
        r = e;
    }
}

/* ---- checks before allocation ----
 *
 * A config.json can ask for any size (intermediate_size 2^31 - 1, a million
 * layers). Both checks below walk the rows without building the table, so
 * nothing is allocated before the config has been compared with the file's
 * header and the model is known to fit in memory. */

/* The config key(s) behind a dimension, for messages: "intermediate_size 4864". */
static void dim_text(const ModelConfig *c, int d, char *buf, size_t n) {
    switch (d) {
    case DIM_V: snprintf(buf, n, "vocab_size %d", c->vocab_size); break;
    case DIM_C: snprintf(buf, n, "hidden_size %d", c->hidden_size); break;
    case DIM_F: snprintf(buf, n, "intermediate_size %d", c->intermediate_size); break;
    case DIM_QD: snprintf(buf, n, "num_attention_heads %d x head_dim %d", c->num_heads, c->head_dim); break;
    case DIM_KD: snprintf(buf, n, "num_key_value_heads %d x head_dim %d", c->num_kv_heads, c->head_dim); break;
    case DIM_LABELS: snprintf(buf, n, "num_labels %d", c->num_labels); break;
    default: snprintf(buf, n, "-");
    }
}

static void shape_text(int ndim, const int64_t *s, char *buf, size_t n) {
    if (ndim == 1) snprintf(buf, n, "[%lld]", (long long)s[0]);
    else if (ndim == 2) snprintf(buf, n, "[%lld, %lld]", (long long)s[0], (long long)s[1]);
    else {
        size_t k = (size_t)snprintf(buf, n, "[");
        for (int i = 0; i < ndim && k < n; i++) k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)s[i]);
        if (k < n) snprintf(buf + k, n - k, "]");
    }
}

/* Layers the checkpoint has tensors for: 1 + the largest N of "model.layers.N.". */
static long file_layers(const SafeTensors *st) {
    long most = 0;
    for (int i = 0; i < safetensors_count(st); i++) {
        const char *nm = safetensors_get(st, i)->name;
        if (strncmp(nm, "model.layers.", 13) || nm[13] < '0' || nm[13] > '9') continue;
        char *end;
        long l = strtol(nm + 13, &end, 10);
        if (*end == '.' && l >= 0 && l < (1L << 30) && l + 1 > most) most = l + 1;
    }
    return most;
}

int model_check_tensors(const ModelConfig *c, const SafeTensors *st, PureErr *err) {
    if (model_config_validate(c, err)) return -1;
    for (int r = 0; r < N_ROWS;) {
        int e = row_run_end(r), layers = TENSOR_ROWS[r].per_layer ? c->num_layers : 1;
        for (int l = 0; l < layers; l++)
            for (int k = r; k < e; k++) {
                const TensorRow *row = &TENSOR_ROWS[k];
                if (!row_present(c, row)) continue;
                char name[96];
                snprintf(name, sizeof name, row->name, l);
                const StTensor *t = safetensors_find(st, name);
                if (!t && row->optional) continue;
                long have = !t && row->per_layer && l > 0 ? file_layers(st) : 0;
                if (!t && row->per_layer && l > 0 && have <= l) /* the layers stop here, not one tensor */
                    return err_set(err, "tensor '%s' not found: config.json has num_hidden_layers %d, the checkpoint "
                                   "holds %ld layer%s", name, c->num_layers, have, have == 1 ? "" : "s");
                if (!t)
                    return err_set(err, "tensor '%s' not found (%d tensors present)", name, safetensors_count(st));
                int ndim = row->d1 == DIM_NONE ? 1 : 2;
                int64_t want[2] = {dim_of(c, row->d0), ndim == 2 ? dim_of(c, row->d1) : 0};
                int rank = t->ndim == ndim, bad0 = !rank || t->shape[0] != want[0];
                int bad1 = ndim == 2 && (!rank || t->shape[1] != want[1]);
                if (!bad0 && !bad1) continue;
                char ws[64], gs[256], keys[200] = "", k[96];
                shape_text(ndim, want, ws, sizeof ws);
                shape_text(t->ndim, t->shape, gs, sizeof gs);
                if (bad0) dim_text(c, row->d0, keys, sizeof keys);
                if (bad1) {
                    dim_text(c, row->d1, k, sizeof k);
                    size_t at = strlen(keys);
                    snprintf(keys + at, sizeof keys - at, "%s%s", at ? ", " : "", k);
                }
                return err_set(err, "%s: tensor '%s' has shape %s, but config.json (%s) implies %s", t->file, name, gs,
                               keys, ws);
            }
        r = e;
    }
    return 0;
}

/* Bytes of memory this process may use: physical memory, lowered by an
 * address-space limit (ulimit -v) or a cgroup v2 memory.max; *what names
 * the bound that applies. */
double model_memory_available(const char **what) {
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    double avail = pages > 0 && psz > 0 ? (double)pages * (double)psz : 1e300;
    *what = "physical memory (sysconf)";
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (double)rl.rlim_cur < avail)
        avail = (double)rl.rlim_cur, *what = "address-space limit (ulimit -v)";
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
    if (f) {
        unsigned long long v;
        if (fscanf(f, "%llu", &v) == 1 && (double)v < avail) avail = (double)v, *what = "cgroup memory limit (memory.max)";
        fclose(f);
    }
    return avail;
}

void model_config_param_split(const ModelConfig *c, double *matrices, double *vectors) {
    *matrices = *vectors = 0;
    for (int r = 0; r < N_ROWS; r++) {
        const TensorRow *row = &TENSOR_ROWS[r];
        if (!row_present(c, row)) continue;
        double n = (double)dim_of(c, row->d0) * (row->d1 == DIM_NONE ? 1.0 : (double)dim_of(c, row->d1));
        n *= row->per_layer ? (double)c->num_layers : 1.0;
        if (row->d1 == DIM_NONE) *vectors += n;
        else *matrices += n;
    }
}

double model_config_params(const ModelConfig *c) {
    double a, b;
    model_config_param_split(c, &a, &b);
    return a + b;
}

int model_check_size(const ModelConfig *c, PureErr *err) { return model_check_size_as(c, 4, err); }

/* bytes: per parameter of the weights as held (4 f32, 2 bf16 inference) */
int model_check_size_as(const ModelConfig *c, int bytes, PureErr *err) {
    if (model_config_validate(c, err)) return -1;
    /* in doubles: a million layers of 2^31 x 2^31 matrices must not wrap */
    double params = 0, tensors = 0, big = -1;
    int big_row = 0;
    for (int r = 0; r < N_ROWS; r++) {
        const TensorRow *row = &TENSOR_ROWS[r];
        if (!row_present(c, row)) continue;
        double n = (double)dim_of(c, row->d0) * (row->d1 == DIM_NONE ? 1.0 : (double)dim_of(c, row->d1));
        double times = row->per_layer ? (double)c->num_layers : 1.0;
        params += n * times, tensors += times;
        if (n * times > big) big = n * times, big_row = r;
    }
    double need = params * bytes + tensors * sizeof(ModelTensor) + (double)c->num_layers * 2 * sizeof(LayerW);
    const char *what;
    double avail = model_memory_available(&what);
    if (need <= avail) return 0;
    const TensorRow *row = &TENSOR_ROWS[big_row];
    char k0[96], k1[96], per[64] = "";
    dim_text(c, row->d0, k0, sizeof k0);
    dim_text(c, row->d1, k1, sizeof k1);
    if (row->per_layer) snprintf(per, sizeof per, " in each of num_hidden_layers %d", c->num_layers);
    char name[96];
    snprintf(name, sizeof name, row->name, 0);
    if (row->per_layer) { /* show the layer as N */
        const char *at = strstr(row->name, "%d");
        snprintf(name, sizeof name, "%.*sN%s", (int)(at - row->name), row->name, at + 2);
    }
    return err_set(err, "the model has %.0f parameters and needs %.1f GiB for its %s weights (%.1f GiB to train, with "
                   "gradients and AdamW moments), more than the %.1f GiB of %s; the largest part is '%s' [%s%s%s]%s",
                   params, need / 1073741824.0, bytes == 2 ? "bf16" : "f32", params * 16 / 1073741824.0,
                   avail / 1073741824.0, what, name, k0,
                   row->d1 == DIM_NONE ? "" : ", ", row->d1 == DIM_NONE ? "" : k1, per);
}

static float **field_at(ModelW *w, int layer, int field) {
    char *owner = layer >= 0 ? (char *)&w->layers[layer] : (char *)w;
    return (float **)(owner + field);
}

/* Points every field of w at its tensor in base (a block laid out like the
 * table); fields of absent tensors are NULL, or alias the tensor they are tied to. */
void model_bind(const Model *m, float *base, ModelW *w) {
    const ModelConfig *c = &m->cfg;
    if (!w->layers) w->layers = xcalloc(c->num_layers, sizeof(LayerW));
    for (int r = 0; r < N_ROWS; r++) {
        const TensorRow *row = &TENSOR_ROWS[r];
        for (int l = 0; l < (row->per_layer ? c->num_layers : 1); l++)
            *field_at(w, row->per_layer ? l : -1, row->field) = NULL;
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelTensor *t = &m->tensors[i];
        if (t->foff != NO_F32) *field_at(w, t->layer, t->field) = base + t->foff;
    }
    for (int r = 0; r < N_ROWS; r++) {
        const TensorRow *row = &TENSOR_ROWS[r];
        if (row->tied_to >= 0 && !row_present(c, row) && c->tie_embeddings && c->num_labels == 0)
            *field_at(w, -1, row->field) = *field_at(w, -1, row->tied_to);
    }
}

/* ---- bf16 copies ---- */

_Static_assert(sizeof(LayerWb) == sizeof(LayerW) && offsetof(LayerWb, wd) == offsetof(LayerW, wd) &&
                   offsetof(LayerWb, wq) == offsetof(LayerW, wq) && offsetof(ModelWb, score_b) == offsetof(ModelW, score_b),
               "LayerWb / ModelWb must mirror LayerW / ModelW: the table's field offsets bind both");

/* Points the bf16 views at the matrices in m->wb (vectors stay NULL). */
static void bind_bf16(Model *m) {
    ModelWb *w = &m->wbv;
    LayerWb *layers = w->layers ? w->layers : xcalloc((size_t)m->cfg.num_layers, sizeof(LayerWb));
    memset(layers, 0, sizeof(LayerWb) * (size_t)m->cfg.num_layers);
    memset(w, 0, sizeof *w);
    w->layers = layers;
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelTensor *t = &m->tensors[i];
        if (t->ndim != 2) continue;
        char *owner = t->layer >= 0 ? (char *)&w->layers[t->layer] : (char *)w;
        *(uint16_t **)(owner + t->field) = m->wb + t->offset;
    }
    if (!w->lm_head && m->cfg.tie_embeddings && m->cfg.num_labels == 0) w->lm_head = w->wte;
}

void model_refresh_bf16(Model *m) {
    if (!m->wb || m->no_master) return;
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelTensor *t = &m->tensors[i];
        if (t->ndim == 2) m->be->to_bf16(m->wb + t->offset, m->params + t->foff, t->numel);
    }
}

static int backend_has_bf16(const Backend *be, PureErr *err) {
    if (be->matmul_bf16 && be->to_bf16 && be->embedding_bf16 && be->lm_logprob_bf16 && be->lm_logprob_bwd_bf16 &&
        be->kv_append_bf16 && be->attention_decode_bf16)
        return 1;
    err_set(err, "precision bf16: the %s backend has no bf16 kernels", be->name);
    return 0;
}

int model_set_precision(Model *m, int precision, PureErr *err) {
    if (precision != MODEL_FP32 && precision != MODEL_BF16)
        return err_set(err, "precision %d is not MODEL_FP32 or MODEL_BF16", precision);
    if (m->no_master && precision == MODEL_FP32)
        return err_set(err, "a model loaded for bf16 inference has no f32 weights to return to");
    if (precision == MODEL_BF16 && !m->wb) {
        if (!backend_has_bf16(m->be, err)) return -1;
        m->wb = m->be->alloc(m->n_params * sizeof(uint16_t));
        bind_bf16(m);
        model_refresh_bf16(m);
    } else if (precision == MODEL_FP32 && m->wb) {
        m->be->free(m->wb);
        m->wb = NULL;
        free(m->wbv.layers);
        memset(&m->wbv, 0, sizeof m->wbv);
    }
    m->precision = precision;
    m->have_fwd = 0;
    return 0;
}

int model_precision(const Model *m) { return m->precision; }

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

const char *model_device_resolve(const char *device) {
    if (!device || strcmp(device, "auto")) return device ? device : "cpu";
#ifdef PURE_HAVE_CUDA
    return backend_cuda() ? "cuda" : "cpu";
#else
    return "cpu";
#endif
}

/* A model with its table and a zeroed parameter block. */
static Model *model_alloc(const ModelConfig *cfg, const char *device, PureErr *err) {
    if (model_check_size(cfg, err)) return NULL;
    const Backend *be = model_pick_backend(device, err);
    if (!be) return NULL;
    Model *m = xcalloc(1, sizeof *m);
    m->cfg = *cfg;
    m->be = be;
    g_info_be = be;
    model_build_table(m);
    m->n_f32 = m->n_params;
    m->params = be->alloc(m->n_f32 * sizeof(float));
    model_bind(m, m->params, &m->w);
    return m;
}

/* bf16 inference: f32 vectors packed at the front of a small block, the
 * matrices only in the bf16 block. */
Model *model_new_empty_bf16(const ModelConfig *cfg, const char *device, PureErr *err) {
    if (model_check_size_as(cfg, 2, err)) return NULL;
    const Backend *be = model_pick_backend(device, err);
    if (!be || !backend_has_bf16(be, err)) return NULL;
    Model *m = xcalloc(1, sizeof *m);
    m->cfg = *cfg;
    m->be = be;
    g_info_be = be;
    model_build_table(m);
    m->n_f32 = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        ModelTensor *t = &m->tensors[i];
        t->foff = t->ndim == 2 ? NO_F32 : m->n_f32;
        if (t->ndim != 2) m->n_f32 += t->numel;
    }
    m->params = be->alloc((m->n_f32 ? m->n_f32 : 1) * sizeof(float));
    model_bind(m, m->params, &m->w);
    m->wb = be->alloc(m->n_params * sizeof(uint16_t));
    m->no_master = 1;
    m->precision = MODEL_BF16;
    bind_bf16(m);
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
    int started[16] = {0};
    for (int k = 0; k < nt; k++) {
        jobs[k] = (InitJob){m, host, seed, m->n_params * k / nt, m->n_params * (k + 1) / nt};
        if (k > 0) started[k] = pthread_create(&tid[k], NULL, init_range, &jobs[k]) == 0;
    }
    init_range(&jobs[0]);
    for (int k = 1; k < nt; k++) { /* a range whose thread did not start runs here: same values */
        if (started[k]) pthread_join(tid[k], NULL);
        else init_range(&jobs[k]);
    }
    if (!m->be->host_memory) {
        m->be->upload(m->params, host, m->n_params * sizeof(float));
        free(host);
    }
    return m;
}

/* Model with parameters from a loader (io.c). */
Model *model_new_empty(const ModelConfig *cfg, const char *device, PureErr *err) { return model_alloc(cfg, device, err); }

void model_ensure_grads(Model *m) {
    if (m->grads || m->no_master) return;
    m->grads = m->be->alloc(m->n_params * sizeof(float));
    model_bind(m, m->grads, &m->gw);
}

void model_set_recompute(Model *m, int on) {
    m->recompute = on != 0;
    m->have_fwd = 0; /* a stored forward's layout belongs to the old setting */
}

void model_set_backward_from(Model *m, int first_layer) {
    m->bwd_from = first_layer < 0 ? 0 : first_layer > m->cfg.num_layers ? m->cfg.num_layers : first_layer;
}

void model_zero_grad(Model *m) {
    if (m->grads) m->be->zero(m->grads, m->n_params * sizeof(float));
}

void model_free(Model *m) {
    if (!m) return;
    const Backend *be = m->be;
    be->free(m->params);
    if (m->wb) be->free(m->wb);
    free(m->wbv.layers);
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
    if (dst->no_master || src->no_master || dst->n_f32 != src->n_f32) { /* different layouts: tensor by tensor */
        for (int i = 0; i < src->n_tensors; i++) {
            const ModelTensor *t = &src->tensors[i];
            float *h = xmalloc(t->numel * sizeof(float));
            int rc = model_get_tensor(src, t->name, h, err) || model_set_tensor(dst, t->name, h, err);
            free(h);
            if (rc) return -1;
        }
        return 0;
    }
    size_t bytes = dst->n_f32 * sizeof(float);
    if (dst->be == src->be) dst->be->copy(dst->params, src->params, bytes);
    else {
        float *host = xmalloc(bytes);
        src->be->download(host, src->params, bytes);
        dst->be->upload(dst->params, host, bytes);
        free(host);
    }
    model_refresh_bf16(dst);
    return 0;
}

void model_set_threads(int n) { backend_cpu()->set_threads(n); }
int model_set_bf16_kernel(const char *name, PureErr *err) {
    char msg[256];
    if (backend_cpu()->set_bf16_kernel(name, msg, sizeof msg)) return err_set(err, "%s", msg);
    return 0;
}
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
    if (t->foff != NO_F32) {
        m->be->download(out, m->params + t->foff, t->numel * sizeof(float));
        return 0;
    }
    uint16_t *h = xmalloc(t->numel * sizeof(uint16_t)); /* bf16 only: widen (exact) */
    m->be->download(h, m->wb + t->offset, t->numel * sizeof(uint16_t));
    for (size_t i = 0; i < t->numel; i++) out[i] = bf16_to_f32(h[i]);
    free(h);
    return 0;
}

int model_set_tensor(Model *m, const char *name, const float *in, PureErr *err) {
    const ModelTensor *t = find_tensor(m, name, err);
    if (!t) return -1;
    if (t->foff != NO_F32) {
        m->be->upload(m->params + t->foff, in, t->numel * sizeof(float));
        if (m->wb && t->ndim == 2) m->be->to_bf16(m->wb + t->offset, m->params + t->foff, t->numel);
        return 0;
    }
    uint16_t *h = xmalloc(t->numel * sizeof(uint16_t));
    for (size_t i = 0; i < t->numel; i++) h[i] = f32_to_bf16(in[i]);
    m->be->upload(m->wb + t->offset, h, t->numel * sizeof(uint16_t));
    free(h);
    return 0;
}

int model_get_grad(const Model *m, const char *name, float *out, PureErr *err) {
    const ModelTensor *t = find_tensor(m, name, err);
    if (!t) return -1;
    if (!m->grads) memset(out, 0, t->numel * sizeof(float));
    else m->be->download(out, m->grads + t->offset, t->numel * sizeof(float));
    return 0;
}
