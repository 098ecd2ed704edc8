/* lm.h - model helpers shared by the RL stage kinds.
 *
 * A Policy is a model folder loaded as model + tokenizer. Sequences are
 * (prompt, response) rows packed into right-padded batches; for a causal LM
 * the log-prob of response token j sits at position plen + j - 1 of the
 * engine's (B, T) output, which lm_rows_forward() gathers into one flat array
 * (row r's tokens at sum of earlier rlen) and lm_rows_backward() scatters back.
 * The fresh-model and AdamW parameter blocks are shared by sft, prm_train and
 * optimize so the three spell the same settings the same way.
 */
#ifndef PURE_COMMON_LM_H
#define PURE_COMMON_LM_H

#include <stdint.h>
#include "model/model.h"
#include "stages/stage.h"
#include "tokenizer/tokenizer.h"

typedef struct Policy {
    Model *m;
    Tokenizer *tok;
} Policy;

/* Loads dir (config.json, model.safetensors, tokenizer.json). want_labels:
 * 0 = must be a causal LM, > 0 = must be a token classifier with that many
 * labels; `port` names the input in messages. */
int policy_load(const char *dir, const char *port, int want_labels, const char *device, Policy *p, PureErr *err);
/* policy_load with the stage's `device`, `precision` (when the kind has it)
 * and, when train, `recompute`: a model that trains keeps f32 master weights;
 * one that only runs (train = 0) loads bf16 matrices without any f32 copy. */
int policy_load_ctx(StageCtx *ctx, const char *dir, const char *port, int want_labels, int train, Policy *p,
                    PureErr *err);
/* Saves the model to dst and copies the tokenizer files from tok_dir. */
int policy_save(const Policy *p, const char *tok_dir, const char *dst, PureErr *err);
void policy_free(Policy *p);

/* Encodes a prompt (ChatML-wrapped when chat != 0); at least one token. */
int policy_encode_prompt(const Tokenizer *tok, const char *prompt, int chat, int32_t **ids, int *n, PureErr *err);
/* Encodes a response target; appends eos when add_eos and the tokenizer has one. */
int policy_encode_text(const Tokenizer *tok, const char *text, int add_eos, int32_t **ids, int *n, PureErr *err);

/* ---- rows and batches ---- */
typedef struct SeqRow {
    const int32_t *prompt;
    int plen;            /* >= 1 */
    const int32_t *resp;
    int rlen;
} SeqRow;

/* One forward over rows[0..n) (one micro-batch). lp gets sum(rlen) response
 * log-probs; keep = 1 keeps activations for lm_rows_backward. */
int lm_rows_forward(Model *m, const SeqRow *rows, int n, int keep, float *lp, PureErr *err);
/* Backward of the last lm_rows_forward(keep=1) on the same rows: dlp is
 * d loss / d lp (sum(rlen)); gradients accumulate in the model. */
int lm_rows_backward(Model *m, const SeqRow *rows, int n, const float *dlp, PureErr *err);
/* Inference log-probs for many rows in micro-batches of `micro`. */
int lm_rows_logprobs(Model *m, const SeqRow *rows, int n, int micro, float *lp, PureErr *err);

/* Pads rows to (B, T) with pad; caller frees *tokens and *lengths. */
void lm_pack(const SeqRow *rows, int n, int32_t pad, int *T, int32_t **tokens, int32_t **lengths);

/* ---- shared parameter blocks (expand inside a ParamDef table) ---- */
extern const char *const common_schedule_names[]; /* constant, warmup, cosine: AdamWConfig.schedule */
#define COMMON_ADAMW_PARAMS(LR) /* defaults: model/model.h ADAMW_DEFAULT_* */                                         \
    {"lr", PT_FLOAT, LR, 0, 1, NULL, "AdamW peak learning rate"},                                                     \
    {"beta1", PT_FLOAT, ADAMW_STR(ADAMW_DEFAULT_BETA1), 0, 1, NULL, "AdamW beta1"},                                   \
    {"beta2", PT_FLOAT, ADAMW_STR(ADAMW_DEFAULT_BETA2), 0, 1, NULL, "AdamW beta2"},                                   \
    {"adam_eps", PT_FLOAT, ADAMW_STR(ADAMW_DEFAULT_EPS), 0, 1, NULL, "AdamW epsilon"},                                \
    {"weight_decay", PT_FLOAT, ADAMW_STR(ADAMW_DEFAULT_WEIGHT_DECAY), 0, 10, NULL, "decoupled weight decay"},         \
    {"grad_clip", PT_FLOAT, ADAMW_STR(ADAMW_DEFAULT_GRAD_CLIP), 0, 1e9, NULL, "global gradient-norm clip (0 = off)"}, \
    {"schedule", PT_ENUM, ADAMW_DEFAULT_SCHEDULE, 1, 0, common_schedule_names, "learning-rate schedule"},             \
    {"warmup_steps", PT_INT, ADAMW_STR(ADAMW_DEFAULT_WARMUP_STEPS), 0, 1e9, NULL, "linear warm-up steps"},            \
    {"min_lr_ratio", PT_FLOAT, ADAMW_STR(ADAMW_DEFAULT_MIN_LR_RATIO), 0, 1, NULL, "cosine floor as a fraction of lr"}

#define COMMON_MODEL_PARAMS                                                                              \
    {"init", PT_STRING, "", 1, 0, NULL,                                                                 \
     "start from this Hugging Face model folder (not fingerprinted: weights too large to hash)"}, \
    {"tokenizer", PT_PATH, "", 1, 0, NULL, "tokenizer.json for a fresh model (default: a byte-level toy tokenizer)"}, \
    {"hidden_size", PT_INT, "64", 8, 65536, NULL, "fresh model: width"},                                \
    {"layers", PT_INT, "2", 1, 256, NULL, "fresh model: decoder layers"},                               \
    {"heads", PT_INT, "4", 1, 256, NULL, "fresh model: attention heads"},                               \
    {"kv_heads", PT_INT, "2", 1, 256, NULL, "fresh model: key/value heads (divides heads)"},            \
    {"intermediate_size", PT_INT, "256", 8, 1000000, NULL, "fresh model: FFN width"},                   \
    {"max_position", PT_INT, "512", 16, 1000000, NULL, "fresh model: longest sequence"},                \
    COMMON_DEVICE_PARAM("where the model runs"), COMMON_PRECISION_PARAM, COMMON_RECOMPUTE_PARAM

/* `precision` (every kind that runs a model) and `recompute` (the kinds that
 * train): read by policy_load_ctx and common_model_create. */
extern const char *const common_precision_names[]; /* fp32, bf16 */
#define COMMON_PRECISION_PARAM                                                                                  \
    {"precision", PT_ENUM, "fp32", 1, 0, common_precision_names,                                                \
     "fp32, or bf16: bf16 weights in forward, backward and sampling; f32 master weights, AdamW state and sums"}
#define COMMON_RECOMPUTE_PARAM                                                                                  \
    {"recompute", PT_BOOL, "false", 1, 0, NULL,                                                                 \
     "training: keep only each layer's input and recompute its activations in backward (one more forward)"}

/* The `device` parameter of every kind that runs a model: its value's name
 * is what model_create/model_load take. */
extern const char *const common_device_names[]; /* auto, cpu, cuda */
#define COMMON_DEVICE_PARAM(DOC) {"device", PT_ENUM, "auto", 1, 0, common_device_names, DOC}

void common_adamw_config(StageCtx *ctx, int total_steps, AdamWConfig *c);
/* Creates the model for sft/prm_train: from `init` (copied tokenizer), or a
 * fresh one with `tokenizer` or a byte-level tokenizer written into out_dir.
 * num_labels 0 = causal LM. The tokenizer files end up in out_dir. */
int common_model_create(StageCtx *ctx, const char *out_dir, int num_labels, Policy *p, PureErr *err);

/* Fisher-Yates permutation of 0..n-1 drawn from (seed, stream): the same
 * arguments always give the same order. */
void common_permutation(int64_t *idx, int64_t n, uint64_t seed, uint64_t stream);

#endif
