/* model_internal.h - the Model struct and helpers shared by the core files
  * (model.c, config.c, io.c, forward.c, adamw.c, sample.c). Not for callers.
 *
 * Parameters live in one backend allocation; the tensor table gives each
 * tensor's Hugging Face name, shape and offset. Gradients and AdamW moments
 * use the same offsets in their own allocations, created on first use so
 * inference-only models (rollout, reference) carry no training memory.
 */
#ifndef PURE_MODEL_INTERNAL_H
#define PURE_MODEL_INTERNAL_H

#include "model/backend.h"
#include "model/model.h"

enum { INIT_NORMAL = 0, INIT_ZERO, INIT_ONE };

typedef struct ModelTensor {
    char name[96];     /* Hugging Face name, e.g. model.layers.3.self_attn.q_proj.weight */
    int ndim;
    int64_t shape[2];
    size_t offset;     /* in elements from the start of the parameter block (and of the bf16 block) */
    size_t foff;       /* in floats in the f32 block: == offset, or compact (vectors only) in a bf16
                          inference model, whose matrices have no f32 copy (NO_F32) */
    size_t numel;
    int init;          /* INIT_* */
    int decay;         /* 1: AdamW weight decay applies (matrices), 0: biases and norms */
    int optional;      /* 1: a checkpoint may lack it (loaded as zeros), e.g. score.bias */
    int layer;         /* layer of a per-layer tensor, -1 for a model-level one */
    int field;         /* offsetof its pointer in LayerW (layer >= 0) or ModelW (model.c binds it) */
} ModelTensor;

/* Pointers to one layer's tensors in some block (parameters or gradients).
 * Every field is bound by a row of the tensor table in model.c. */
typedef struct LayerW {
    float *ln1;        /* (C) */
    float *wq, *bq;    /* (NH*hd, C), (NH*hd) or NULL */
    float *wk, *bk;    /* (NKV*hd, C), (NKV*hd) */
    float *wv, *bv;    /* (NKV*hd, C), (NKV*hd) */
    float *wo;         /* (C, NH*hd) */
    float *ln2;        /* (C) */
    float *wg, *wu;    /* (F, C) */
    float *wd;         /* (C, F) */
} LayerW;

/* The same tensors' bf16 copies (model_set_precision): LayerW's layout with
 * uint16_t pointers, bound by the same table offsets; vectors stay NULL
 * (norms and biases are always read in f32). */
typedef struct LayerWb {
    uint16_t *ln1, *wq, *bq, *wk, *bk, *wv, *bv, *wo, *ln2, *wg, *wu, *wd;
} LayerWb;
typedef struct ModelWb {
    uint16_t *wte;
    LayerWb *layers;
    uint16_t *norm, *lm_head, *score_w, *score_b;
} ModelWb;
#define NO_F32 ((size_t)-1)

typedef struct ModelW {
    float *wte;        /* (V, C) */
    LayerW *layers;    /* (L) */
    float *norm;       /* (C) */
    float *lm_head;    /* (V, C); == wte when tied; NULL for classification */
    float *score_w;    /* (num_labels, C) or NULL */
    float *score_b;    /* (num_labels) or NULL */
} ModelW;

/* Activations of one forward pass over N packed tokens; per-layer arrays
 * have L entries when kept for backward, else 1 (reused by every layer).
 * With recompute, a kept forward stores only res[0..L]; backward refills
 * the single set layer by layer. */
typedef struct Acts {
    int N, cap_N, kept;      /* tokens, capacity, layers stored */
    int mode;                /* 0 inference, 1 kept for backward, 2 kept with recompute */
    float *block;            /* one backend allocation for everything below */
    float **res;             /* (L+1) x (N, C): residual stream entering layer l; res[L] leaves the last */
    float **ln1, **rstd1;    /* (N, C), (N) */
    float **q, **k, **v;     /* (N, NH*hd), (N, NKV*hd) x2, after RoPE */
    float **att, **lse;      /* (N, NH*hd), (N, NH) */
    float **mid;             /* (N, C): residual after attention */
    float **ln2, **rstd2;    /* (N, C), (N) */
    float **g, **u;          /* (N, F) */
    float *h;                /* (N, F) scratch: silu(g) * u */
    float *lnf, *rstdf;      /* (N, C), (N) */
    float *head_lse;         /* (N) */
    float *tmp;              /* (N, C) scratch */
} Acts;

/* Where the valid tokens of the last forward came from. */
typedef struct PackInfo {
    int B, T, N;
    int32_t *ids, *pos, *target;     /* (N) on the device */
    int32_t *h_ids, *h_target;       /* (N) host copies */
    int32_t *row_of, *t_of;          /* (N) host: packed index -> (b, t) */
    int32_t *start, *len;            /* (B) host: packed offset and length of row b */
    int cap;
} PackInfo;

struct Model {
    ModelConfig cfg;
    const Backend *be;
    ModelTensor *tensors;
    int n_tensors;
    size_t n_params;
    float *params;           /* (n_f32): every tensor, or a bf16 inference model's vectors only */
    size_t n_f32;
    int precision;           /* MODEL_FP32 | MODEL_BF16 */
    int no_master;           /* bf16 inference: matrices exist only in bf16 (no training) */
    uint16_t *wb;            /* (n_params) bf16 copies of the matrices, or NULL (fp32) */
    ModelWb wbv;             /* views into wb */
    float *grads;            /* (n_params) or NULL until the first backward */
    float *adam_m, *adam_v;  /* (n_params) or NULL until the first step */
    int64_t step;            /* AdamW steps taken */
    ModelW w, gw;            /* views into params and grads */
    Acts acts;
    float *bwd_scratch;      /* backward's activation gradients, kept between steps */
    size_t bwd_scratch_cap;  /* floats */
    PackInfo pack;
    int have_fwd;            /* a forward with keep_for_backward is stored */
    int recompute;           /* 1: backward recomputes each layer's activations (model_set_recompute) */
    int bwd_from;            /* backward stops below this layer (model_set_backward_from) */
};

/* model.c */
/* Rounds the f32 matrices into the bf16 block (after a load, an optimizer step, a set). */
void model_refresh_bf16(Model *m);
/* model_check_size for weights held at `bytes` per parameter (4 f32, 2 bf16 inference). */
int model_check_size_as(const ModelConfig *c, int bytes, PureErr *err);
/* A model laid out for bf16 inference (no f32 matrices), zeroed, for loaders. */
Model *model_new_empty_bf16(const ModelConfig *cfg, const char *device, PureErr *err);
/* Parameters in matrices (2-D tensors) and in vectors (norms, biases) of cfg. */
void model_config_param_split(const ModelConfig *c, double *matrices, double *vectors);
/* KV-cache bytes one model_generate sub-batch may hold on the CPU backend
 * (sample.c); a device backend decodes the caller's whole batch at once. */
#define MODEL_KV_BUDGET_HOST ((size_t)2 << 30)
void model_build_table(Model *m);
void model_bind(const Model *m, float *base, ModelW *w);
void model_ensure_grads(Model *m);
int model_tensor_index(const Model *m, const char *name);
const Backend *model_pick_backend(const char *device, PureErr *err);
/* A model whose parameters are zero, for loaders. */
Model *model_new_empty(const ModelConfig *cfg, const char *device, PureErr *err);

/* io.c */
#include "model/safetensors.h"
/* The StWrite list model_write_tensors writes (tensor k of block b is entry b * n_tensors + k, then the extras);
 * blocks NULL: no data (for safetensors_layout). Free the list and *names. */
StWrite *model_tensor_writes(const Model *m, int n_blocks, const char *const *prefixes, const float *const *blocks,
                             StDType dt, const StWrite *extra, int n_extra, char (**names)[128], int *n_out);
int model_write_tensors(const Model *m, const char *path, int n_blocks, const char *const *prefixes,
                        const float *const *blocks, StDType dt, const StWrite *extra, int n_extra, PureErr *err);
float *model_host_view(const Model *m, const float *dev);
void model_host_view_free(const Model *m, float *h);

/* config.c */
int model_config_validate(const ModelConfig *cfg, PureErr *err);
/* config.json text for cfg (malloc'd). */
char *model_config_to_json(const ModelConfig *cfg);

/* forward.c: the trunk shared by training forward and sampling. */
typedef struct KvCache {
    void **k, **v;           /* (L) x (slots, max_t, NKV*hd): f32, or bf16 bits when bf16 */
    int slots, max_t, bf16;  /* bf16: a precision-bf16 model's cache (backend.h's kv_append_bf16) */
} KvCache;
/* Bytes of one cached k or v value: a precision-bf16 model keeps its cache in bf16. */
static inline size_t kv_elem_bytes(int precision) { return precision == MODEL_BF16 ? 2 : 4; }
void acts_free(const Backend *be, Acts *a);
/* Floats of the activation block for n tokens (forward.c; the memory plan uses it too). */
size_t acts_floats(const ModelConfig *c, size_t n, int keep, int recompute);
/* Floats of backward's scratch for n tokens. */
size_t bwd_scratch_floats(const ModelConfig *c, size_t n);
/* Runs embeddings + all layers + final norm on N packed tokens (ids/pos on the
 * device); results in m->acts (lnf is the final hidden state).
 *  - training / scoring: causal attention within plan->seqs, no cache;
 *  - prefill (cache, !decode): the same, and token i's k/v row is written to
 *    cache slot slot[i] at its position pos[i];
 *  - decode (cache, decode): row i is one new token of the sequence in cache
 *    slot slot[i] at position pos[i] = kv_len[i]-1; it attends to kv_len[i]
 *    cached rows.
 * slot and kv_len live in backend memory, like ids and pos: a decode step
 * uploads them once with the tokens, and no layer transfers anything. */
typedef struct TrunkPlan {
    const AttnSeqs *seqs; /* host; training, scoring and prefill */
    KvCache *cache;
    int decode;
    const int32_t *slot;   /* (N) device: each token's cache slot */
    const int32_t *kv_len; /* (N) device, decode: cached rows to attend to */
    int max_kv;            /* decode: the largest kv_len */
} TrunkPlan;
/* C = alpha * A @ op(W) + beta * C through W's bf16 copy when Wb is given
 * (backend matmul_bf16), else the f32 matmul; op(W) = W^T when trans_w. */
void model_matmul_w(const Backend *be, int trans_w, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *W, const uint16_t *Wb, int ldw, float beta, float *C, int ldc);
int model_trunk(Model *m, int N, const int32_t *ids, const int32_t *pos, const TrunkPlan *plan, int keep,
                PureErr *err);

#endif
