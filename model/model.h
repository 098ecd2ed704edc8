/* model.h - the transformer engine's public interface.
 *
 * Qwen2 / Llama decoder-only transformers (GQA, RMSNorm, RoPE, SwiGLU,
 * optional q/k/v biases, tied or untied embeddings) with a causal-LM head or a
 * token-classification head (num_labels > 0, the process-reward-model form).
 * Reads and writes Hugging Face checkpoints (config.json + safetensors).
 * Backends (model/cpu/, model/cuda/) sit behind model/backend.h; callers only
 * see this header and never learn which backend runs.
 *
 * Batches are right-padded: tokens (B, T) row-major, lengths[b] valid tokens
 * in row b; positions restart at 0 in every row.
 */
#ifndef PURE_MODEL_H
#define PURE_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "../util/err.h"

typedef struct ModelConfig {
    char arch[32];          /* "qwen2" or "llama" (from config.json model_type) */
    int vocab_size;
    int hidden_size;        /* C */
    int intermediate_size;  /* FFN width */
    int num_layers;         /* L */
    int num_heads;          /* NH */
    int num_kv_heads;       /* NKV, divides NH */
    int head_dim;           /* C / NH */
    int max_position;
    double rope_theta;
    double rms_eps;
    int tie_embeddings;
    int qkv_bias;           /* 1 for qwen2 */
    int num_labels;         /* 0 = causal LM head, > 0 = token classification head */
    int bos_id, eos_id;     /* -1 if unknown */
    char dtype[16];         /* storage dtype when saving: "float32" | "bfloat16" | "float16" */
} ModelConfig;

typedef struct Model Model;

/* Reads config.json (and validates supported fields, naming the bad one). */
int model_config_load(const char *dir, ModelConfig *cfg, PureErr *err);
/* Fills defaults for a fresh small model (qwen2, tied, rope 1e4, eps 1e-6). */
void model_config_default(ModelConfig *cfg);

/* Refuses, before anything is allocated, a config whose parameters would not
 * fit in this process's memory (physical memory, or a lower ulimit -v or
 * cgroup limit): the message gives the parameter count, the bytes needed, what
 * is available and the largest tensor with its config keys. model_create and
 * model_load call it. */
int model_check_size(const ModelConfig *cfg, PureErr *err);
struct SafeTensors; /* model/safetensors.h */
/* Compares the tensors an opened checkpoint holds with the names and shapes
 * cfg implies (optional tensors may be absent), without building the model,
 * so a wrong size or layer count in config.json is reported with its key
 * before any large allocation. model_load calls it. */
int model_check_tensors(const ModelConfig *cfg, const struct SafeTensors *st, PureErr *err);

/* device: "cpu", "cuda" or "auto" (cuda if available, else cpu with one log line). */
/* The device "auto" would pick ("cuda" when this build has the backend and a usable device, else "cpu");
 * other names are returned as given. Logs nothing (the memory plan asks before any model exists). */
const char *model_device_resolve(const char *device);
Model *model_create(const ModelConfig *cfg, uint64_t seed, const char *device, PureErr *err);
Model *model_load(const char *dir, const char *device, PureErr *err);
/* Loads for a use: precision MODEL_FP32 or MODEL_BF16 (model_set_precision);
 * with bf16 and train = 0 the matrices are read straight into bf16 (no f32
 * copy ever exists: half the memory of f32, a quarter for a bf16 file's
 * worth of f32 master + bf16) and the model cannot train. */
Model *model_load_opts(const char *dir, const char *device, int precision, int train, PureErr *err);
/* MODEL_BF16: forward, backward and sampling read bf16 copies of the
 * matrices (rounded to nearest even from the f32 master weights, refreshed
 * after every optimizer step and model_set_tensor); gradients, AdamW state
 * and every sum stay f32, norms and biases stay f32. MODEL_FP32 drops the
 * copies. Needs a backend with bf16 kernels. */
int model_set_precision(Model *m, int precision, PureErr *err);
int model_precision(const Model *m);
/* Writes config.json + model.safetensors (HF names, cfg->dtype) into dir. */
int model_save(Model *m, const char *dir, PureErr *err);
void model_free(Model *m);
const ModelConfig *model_config(const Model *m);
int64_t model_num_params(const Model *m);
/* Copies all weights of src into dst (same config); used for reference models. */
int model_copy_weights(Model *dst, const Model *src, PureErr *err);

typedef struct ModelBatch {
    int B, T;
    const int32_t *tokens;   /* (B, T) */
    const int32_t *lengths;  /* (B) */
} ModelBatch;

/* ---- forward / backward ----
 * Causal LM: out (B, T): out[b,t] = log p(tokens[b,t+1] | tokens[b,<=t]) for
 *   t < lengths[b]-1, 0 elsewhere. Computed in vocabulary chunks; the full
 *   (B, T, V) logits never exist at once. entropy (B, T) optional (NULL).
 * Classification: out (B, T, num_labels) = logits at every position.
 * keep_for_backward = 1 keeps the activations for model_backward(). */
int model_forward(Model *m, const ModelBatch *b, float *out, float *entropy, int keep_for_backward, PureErr *err);
/* Backpropagates d loss / d out (same shape as out) through the last forward
 * with keep_for_backward and ACCUMULATES parameter gradients. */
int model_backward(Model *m, const ModelBatch *b, const float *dout, PureErr *err);
void model_zero_grad(Model *m);
/* Activation recomputation: on, a forward with keep_for_backward stores only
 * each layer's input (L+1 rows of C floats per token instead of about
 * 2C + 4*NH*hd + 2F per layer) and backward recomputes each layer's
 * activations just before it needs them: one extra forward of compute,
 * gradients bit-identical to keeping everything. Off by default. */
void model_set_recompute(Model *m, int on);
/* Backward only into layers >= first_layer (and the final norm and the head):
 * the layers below and the embedding get no gradient (it stays as it was,
 * zero after model_zero_grad; a tied LM head still adds its own) and their
 * backward is not computed. For a model whose lower part is frozen (prm_train
 * freeze_policy) this skips that part's backward, about two thirds of its
 * training compute. 0 (the default) trains everything. */
void model_set_backward_from(Model *m, int first_layer);

/* ---- memory plan ----
 * What the engine will allocate for a model used one way, computed from the
 * config alone with the formulas the engine allocates by (forward.c,
 * sample.c, the backends' head chunks), so a pipeline can be checked before
 * anything is loaded. Bytes, as doubles (a plan for a 70B model must not wrap). */
enum { MODEL_FP32 = 0, MODEL_BF16 = 1 };
typedef struct ModelUse {
    int precision;           /* MODEL_FP32 | MODEL_BF16 */
    int train;               /* gradients, AdamW moments (and the f32 master copy under bf16) */
    int dp;                  /* train through stages/common/dp.h (optimize): one more f32 vector, the gradient sum */
    int recompute;           /* model_set_recompute */
    int fwd_rows, fwd_len;   /* largest forward: rows x tokens per row (0 = none) */
    int gen_seqs;            /* sequences per model_generate call (0 = no generation) */
    int gen_prompt, gen_new; /* prompt tokens and new tokens per generated sequence */
    int host;                /* 1: the CPU backend (host memory, its KV budget and head chunk) */
    double file_bytes;       /* CPU: the checkpoint's size, resident while it is mapped during the load (0 = created) */
} ModelUse;
typedef struct ModelMem {
    double weights;     /* what forward reads: f32, or bf16 matrices + f32 vectors */
    double master;      /* bf16 training: the f32 master copy */
    double grads, optimizer;
    double activations; /* kept activations + backward scratch, or the prefill's */
    double kv_cache;    /* per generation sub-batch */
    double logits;      /* head chunk or the sampling rows */
    double total;       /* weights + master + grads + optimizer + the larger phase (forward or generation) */
    int gen_batch;      /* sequences decoded together (gen_seqs, or fewer under the CPU's KV budget) */
    const char *phase;  /* the larger phase: "forward", "generation" or "load" (weights only) */
} ModelMem;
void model_memory_plan(const ModelConfig *cfg, const ModelUse *u, ModelMem *out);
/* Bytes this process may use: physical memory, lowered by ulimit -v or a
 * cgroup v2 memory.max; *what names the bound that applies. */
double model_memory_available(const char **what);
/* Parameters of cfg (no allocation). */
double model_config_params(const ModelConfig *cfg);

/* ---- optimizer: AdamW with decoupled weight decay and bias correction ---- */
typedef struct AdamWConfig {
    double lr, beta1, beta2, eps, weight_decay;
    double grad_clip;      /* global-norm clip, <= 0 disables */
    char schedule[16];     /* "constant" | "warmup" | "cosine" */
    int warmup_steps, total_steps;
    double min_lr_ratio;   /* cosine floor as a fraction of lr */
} AdamWConfig;
/* The AdamW defaults, written once: adamw_config_default() uses them, and the
 * stage registry's parameter table (COMMON_ADAMW_PARAMS in stages/common/lm.h)
 * gives them as its YAML text defaults through ADAMW_STR, so `pure stages`,
 * the pipeline reference and the C API cannot disagree. The values are the
 * registry's, which every pipeline run has used, so run fingerprints and
 * artifacts stay as they were; the C default of min_lr_ratio was 0 before and
 * is now the registry's 0.1 (it only matters for the cosine schedule). The
 * learning rate is the exception: each stage kind passes its own default
 * (sft and prm_train 1e-3, optimize 1e-4); ADAMW_DEFAULT_LR is the C API's. */
#define ADAMW_DEFAULT_LR 1.0e-5
#define ADAMW_DEFAULT_BETA1 0.9
#define ADAMW_DEFAULT_BETA2 0.999
#define ADAMW_DEFAULT_EPS 1.0e-8
#define ADAMW_DEFAULT_WEIGHT_DECAY 0.0
#define ADAMW_DEFAULT_GRAD_CLIP 1.0
#define ADAMW_DEFAULT_SCHEDULE "constant"
#define ADAMW_DEFAULT_WARMUP_STEPS 0
#define ADAMW_DEFAULT_MIN_LR_RATIO 0.1
/* The text of a default as written above, e.g. ADAMW_STR(ADAMW_DEFAULT_EPS) = "1.0e-8". */
#define ADAMW_STR(x) ADAMW_STR_(x)
#define ADAMW_STR_(x) #x
void adamw_config_default(AdamWConfig *c);
/* One optimizer step from the accumulated gradients; returns the
 * pre-clip global gradient norm in *grad_norm and the lr used in *lr_used. */
int model_adamw_step(Model *m, const AdamWConfig *c, double *grad_norm, double *lr_used, PureErr *err);
/* Optimizer state (moments, step count) saved/restored exactly (safetensors, f32). */
int model_optimizer_save(Model *m, const char *path, PureErr *err);
int model_optimizer_load(Model *m, const char *path, PureErr *err);
int64_t model_optimizer_step_count(const Model *m);

/* ---- data-parallel training (stages/common/dp.h, docs/distributed.md) ----
 * The flat f32 parameter and gradient vectors (model_num_params elements,
 * tensors in order; the gradient exists after the first backward): NULL
 * unless the backend keeps them in host memory (the CPU's). After writing
 * parameters through model_param_data, call model_params_changed. */
float *model_param_data(Model *m);
float *model_grad_data(Model *m);
void model_params_changed(Model *m);
/* The same vectors in the backend's memory (a device's for cuda: pass them only to the model_dp_* calls
 * below), and what data-parallel training does with such buffers, on any backend. */
float *model_dp_params(Model *m);   /* NULL for a bf16 inference model (no f32 master) */
float *model_dp_grads(Model *m);    /* NULL before the first backward */
float *model_dp_alloc(Model *m, size_t n); /* n floats, zeroed */
void model_dp_free(Model *m, float *buf);
void model_dp_zero(Model *m, float *buf, size_t n);
void model_dp_copy(Model *m, float *dst, const float *src, size_t n);
void model_dp_add(Model *m, float *y, const float *x, size_t n); /* y += x */
void model_dp_download(Model *m, float *host, const float *buf, size_t n);
void model_dp_upload(Model *m, float *buf, const float *host, size_t n);
/* out[c] (host) = sum of squares of chunk c of x (n floats, `chunk` each), in f64. */
void model_dp_sumsq_chunks(Model *m, double *out, const float *x, size_t n, size_t chunk);
/* Readies the backend's collectives for `size` processes: fails when it has none (cuda built without NCCL). */
int model_dp_comm(Model *m, int size, PureErr *err);
void model_dp_exchange(Model *m, const float *src, const int64_t *bounds, float *tmp,
                       void (*take)(void *ctx, int from, const float *slice, int64_t off, int64_t len), void *ctx);
void model_dp_allgather(Model *m, float *buf, const int64_t *bounds);
/* AdamW on the parameters [lo, hi) only: g (hi - lo) is their summed
 * gradient, mom_m/mom_v (hi - lo) their moments, norm the global gradient
 * norm (for clipping, computed by the caller over every range). The same
 * element arithmetic as model_adamw_step, so a range's result does not
 * depend on how the vector is cut. Advances the step count. */
int model_adamw_range(Model *m, const AdamWConfig *c, int64_t lo, int64_t hi, const float *g, float *mom_m,
                      float *mom_v, double norm, double *lr_used, PureErr *err);
/* The optimizer state file (model_optimizer_save's format) from full-length
 * moment vectors the caller holds, and the range [lo, hi) of one read back
 * (also the step count), so a file written by any number of ranks loads on
 * any other number. */
int model_optimizer_save_moments(Model *m, const char *path, const float *mom_m, const float *mom_v, PureErr *err);
/* Collective (util/dist.h): every rank writes the moments of its range [lo, hi) (host arrays of hi - lo) into the
 * one file at their offsets, on a filesystem every rank sees; rank 0 writes the header and the step count, and
 * commits once every range is on disk. The same bytes as model_optimizer_save_moments of the whole vectors. */
int model_optimizer_save_range(Model *m, const char *path, int64_t lo, int64_t hi, const float *mom_m,
                               const float *mom_v, PureErr *err);
int model_optimizer_load_range(Model *m, const char *path, int64_t lo, int64_t hi, float *mom_m, float *mom_v,
                               PureErr *err);

/* ---- sampling with a KV cache ---- */
typedef struct SampleConfig {
    int max_new_tokens;
    float temperature;     /* 0 = greedy */
    float top_p;           /* 1 = off */
    int top_k;             /* 0 = off */
    const int32_t *stop_ids; int n_stop_ids;            /* e.g. eos; the stop token is kept in the output */
    const char *const *stop_strings; int n_stop_strings; /* needs a tokenizer in model_generate */
    uint64_t seed;
} SampleConfig;

enum { FINISH_EOS = 0, FINISH_STOP = 1, FINISH_LENGTH = 2 };

typedef struct SampleResult {
    int32_t *tokens;    /* (n) sampled tokens, malloc'd */
    float *logprobs;    /* (n) log-prob of each sampled token under the sampling distribution's model (T=1 logits) */
    int n;
    int finish;         /* FINISH_* */
} SampleResult;

struct Tokenizer;
/* Samples one continuation per prompt. stream_ids[i] selects sequence i's
 * random stream (util/rng.h), so results do not depend on batch composition
 * or thread count. tok may be NULL when no stop strings are given. */
int model_generate(Model *m, const struct Tokenizer *tok, int n_prompts, const int32_t *const *prompts,
                   const int *prompt_lens, const uint64_t *stream_ids, const SampleConfig *cfg, SampleResult *out,
                   PureErr *err);
void sample_result_free(SampleResult *r);

/* ---- tensors by Hugging Face name (host copies; tests, tools, stages) ---- */
int model_tensor_count(const Model *m);
/* Name of tensor i (table order), its rank and shape. */
const char *model_tensor_info(const Model *m, int i, int *ndim, int64_t shape[2]);
int model_get_tensor(const Model *m, const char *name, float *out, PureErr *err);
int model_set_tensor(Model *m, const char *name, const float *in, PureErr *err);
/* Accumulated gradient of a tensor (zeros before the first backward). */
int model_get_grad(const Model *m, const char *name, float *out, PureErr *err);

/* Call first thing in main(): on AVX-512 CPUs where OPENBLAS_CORETYPE is not
 * set, sets it and re-executes the program so OpenBLAS loads its fast
 * kernels (the variable is only read when the library loads). */
void model_runtime_init(int argc, char **argv);

/* Threads for CPU kernels (0 = all cores). */
void model_set_threads(int n);
/* The CPU's bf16 product kernel: widen (any CPU), avx512 or amx (where the CPU has them; the best is the
 * default). -1 with err naming the choices when name is unknown or beyond this CPU. */
int model_set_bf16_kernel(const char *name, PureErr *err);
/* One line naming the backend and kernels in use: "cpu: ..." (BLAS library, core type, SIMD path) or
 * "cuda: <device> ..." (matmul mode, device sampling), for the most recently created model. */
const char *model_kernel_info(void);

#endif
