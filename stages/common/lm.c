/* lm.c - policy loading, row batching and the log-prob gather/scatter (see lm.h). */
#include "stages/common/lm.h"

const char *const common_device_names[] = {"auto", "cpu", "cuda", NULL};
const char *const common_schedule_names[] = {"constant", "warmup", "cosine", NULL};
const char *const common_precision_names[] = {"fp32", "bf16", NULL};

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/common/io.h"
#include "util/fs.h"

/* ---- policies ---- */

static int kind_has_param(StageCtx *ctx, const char *name) {
    const StageParams *sp = stage_params(ctx);
    for (const ParamDef *d = sp->kind->params; d && d->name; d++)
        if (!strcmp(d->name, name)) return 1;
    return 0;
}

static int kind_has_input(StageCtx *ctx, const char *port) {
    return stage_port_index(stage_params(ctx)->kind->inputs, port) >= 0;
}

static int ctx_precision(StageCtx *ctx) {
    return kind_has_param(ctx, "precision") && !strcmp(stage_param_str(ctx, "precision"), "bf16") ? MODEL_BF16
                                                                                                  : MODEL_FP32;
}

static int load_impl(const char *dir, const char *port, int want_labels, const char *device, int precision,
                     int train, Policy *p, PureErr *err);

int policy_load(const char *dir, const char *port, int want_labels, const char *device, Policy *p, PureErr *err) {
    return load_impl(dir, port, want_labels, device, MODEL_FP32, 1, p, err);
}

int policy_load_ctx(StageCtx *ctx, const char *dir, const char *port, int want_labels, int train, Policy *p,
                    PureErr *err) {
    int rc = load_impl(dir, port, want_labels, stage_param_str(ctx, "device"), ctx_precision(ctx), train, p, err);
    if (!rc && train && kind_has_param(ctx, "recompute")) model_set_recompute(p->m, stage_param_bool(ctx, "recompute"));
    return rc;
}

static int load_impl(const char *dir, const char *port, int want_labels, const char *device, int precision,
                     int train, Policy *p, PureErr *err) {
    memset(p, 0, sizeof *p);
    if (!dir || !fs_is_dir(dir)) return err_set(err, "input '%s': %s is not a model folder", port, dir ? dir : "(none)");
    p->m = model_load_opts(dir, device, precision, train, err);
    if (!p->m) return err_prefix(err, "input '%s'", port);
    int labels = model_config(p->m)->num_labels;
    if (want_labels == 0 && labels > 0) {
        policy_free(p);
        return err_set(err, "input '%s': %s is a token-classification model (num_labels %d), expected a causal LM",
                       port, dir, labels);
    }
    if (want_labels > 0 && labels != want_labels) {
        policy_free(p);
        return err_set(err, "input '%s': %s has num_labels %d, expected a token classifier with %d labels", port, dir,
                       labels, want_labels);
    }
    char *tj = fs_join(dir, "tokenizer.json");
    p->tok = tokenizer_load(tj, err);
    free(tj);
    if (!p->tok) {
        policy_free(p);
        return err_prefix(err, "input '%s'", port);
    }
    if (tokenizer_vocab_size(p->tok) > model_config(p->m)->vocab_size) {
        int tv = tokenizer_vocab_size(p->tok), mv = model_config(p->m)->vocab_size;
        policy_free(p);
        return err_set(err, "input '%s': tokenizer has %d ids but the model's vocab_size is %d", port, tv, mv);
    }
    return 0;
}

int policy_save(const Policy *p, const char *tok_dir, const char *dst, PureErr *err) {
    if (fs_mkdir_p(dst, err) || model_save(p->m, dst, err)) return -1;
    if (tok_dir && strcmp(tok_dir, dst) != 0) return common_copy_tokenizer(tok_dir, dst, err);
    return 0;
}

void policy_free(Policy *p) {
    if (p->m) model_free(p->m);
    if (p->tok) tokenizer_free(p->tok);
    memset(p, 0, sizeof *p);
}

int policy_encode_prompt(const Tokenizer *tok, const char *prompt, int chat, int32_t **ids, int *n, PureErr *err) {
    char *text = chat ? tokenizer_chat_prompt(tok, NULL, prompt) : xstrdup(prompt);
    size_t nn = 0;
    int rc = tokenizer_encode(tok, text, strlen(text), 1, ids, &nn, NULL, err);
    free(text);
    if (rc) return -1;
    if (nn == 0) {
        /* a causal LM needs one token to condition the first response token on */
        int32_t start = tokenizer_bos_id(tok) >= 0 ? tokenizer_bos_id(tok) : tokenizer_eos_id(tok);
        if (start < 0) return err_set(err, "empty prompt and the tokenizer has neither bos nor eos to start from");
        free(*ids);
        *ids = xmalloc(sizeof(int32_t));
        (*ids)[0] = start;
        nn = 1;
    }
    *n = (int)nn;
    return 0;
}

int policy_encode_text(const Tokenizer *tok, const char *text, int add_eos, int32_t **ids, int *n, PureErr *err) {
    size_t nn = 0;
    int32_t *t = NULL;
    if (tokenizer_encode(tok, text, strlen(text), 0, &t, &nn, NULL, err)) return -1;
    int32_t eos = tokenizer_eos_id(tok);
    if (add_eos && eos >= 0) {
        t = xrealloc(t, (nn + 1) * sizeof(int32_t));
        t[nn++] = eos;
    }
    *ids = t;
    *n = (int)nn;
    return 0;
}

/* ---- batches ---- */

void lm_pack(const SeqRow *rows, int n, int32_t pad, int *T, int32_t **tokens, int32_t **lengths) {
    int t = 1;
    for (int i = 0; i < n; i++)
        if (rows[i].plen + rows[i].rlen > t) t = rows[i].plen + rows[i].rlen;
    int32_t *tk = xmalloc((size_t)n * t * sizeof(int32_t)), *ln = xmalloc((size_t)n * sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        int32_t *row = tk + (size_t)i * t;
        memcpy(row, rows[i].prompt, rows[i].plen * sizeof(int32_t));
        if (rows[i].rlen) memcpy(row + rows[i].plen, rows[i].resp, rows[i].rlen * sizeof(int32_t));
        for (int j = rows[i].plen + rows[i].rlen; j < t; j++) row[j] = pad;
        ln[i] = rows[i].plen + rows[i].rlen;
    }
    *T = t;
    *tokens = tk;
    *lengths = ln;
}

static int check_rows(Model *m, const SeqRow *rows, int n, PureErr *err) {
    int maxp = model_config(m)->max_position;
    for (int i = 0; i < n; i++) {
        if (rows[i].plen < 1) return err_set(err, "row %d: empty prompt (a causal LM needs one token to start)", i);
        if (rows[i].plen + rows[i].rlen > maxp)
            return err_set(err, "row %d: prompt %d + response %d tokens exceed the model's max_position %d", i,
                           rows[i].plen, rows[i].rlen, maxp);
    }
    return 0;
}

int lm_rows_forward(Model *m, const SeqRow *rows, int n, int keep, float *lp, PureErr *err) {
    if (check_rows(m, rows, n, err)) return -1;
    int T;
    int32_t *tk, *ln;
    lm_pack(rows, n, 0, &T, &tk, &ln);
    ModelBatch b = {n, T, tk, ln};
    float *out = xmalloc((size_t)n * T * sizeof(float));
    int rc = model_forward(m, &b, out, NULL, keep, err);
    if (!rc) {
        size_t k = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < rows[i].rlen; j++) lp[k++] = out[(size_t)i * T + rows[i].plen + j - 1];
    }
    free(out);
    free(tk);
    free(ln);
    return rc;
}

int lm_rows_backward(Model *m, const SeqRow *rows, int n, const float *dlp, PureErr *err) {
    int T;
    int32_t *tk, *ln;
    lm_pack(rows, n, 0, &T, &tk, &ln);
    ModelBatch b = {n, T, tk, ln};
    float *dout = xcalloc((size_t)n * T, sizeof(float));
    size_t k = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < rows[i].rlen; j++) dout[(size_t)i * T + rows[i].plen + j - 1] = dlp[k++];
    int rc = model_backward(m, &b, dout, err);
    free(dout);
    free(tk);
    free(ln);
    return rc;
}

int lm_rows_logprobs(Model *m, const SeqRow *rows, int n, int micro, float *lp, PureErr *err) {
    if (micro < 1) micro = 1;
    size_t k = 0;
    for (int s = 0; s < n; s += micro) {
        int c = n - s < micro ? n - s : micro;
        if (lm_rows_forward(m, rows + s, c, 0, lp + k, err)) return -1;
        for (int i = 0; i < c; i++) k += rows[s + i].rlen;
    }
    return 0;
}

/* ---- shared parameter blocks ---- */

void common_adamw_config(StageCtx *ctx, int total_steps, AdamWConfig *c) {
    adamw_config_default(c);
    c->lr = stage_param_float(ctx, "lr");
    c->beta1 = stage_param_float(ctx, "beta1");
    c->beta2 = stage_param_float(ctx, "beta2");
    c->eps = stage_param_float(ctx, "adam_eps");
    c->weight_decay = stage_param_float(ctx, "weight_decay");
    c->grad_clip = stage_param_float(ctx, "grad_clip");
    snprintf(c->schedule, sizeof c->schedule, "%s", stage_param_str(ctx, "schedule"));
    c->warmup_steps = (int)stage_param_int(ctx, "warmup_steps");
    c->min_lr_ratio = stage_param_float(ctx, "min_lr_ratio");
    c->total_steps = total_steps;
}

int common_model_create(StageCtx *ctx, const char *out_dir, int num_labels, Policy *p, PureErr *err) {
    memset(p, 0, sizeof *p);
    const char *device = stage_param_str(ctx, "device");
    const char *init = stage_param_str(ctx, "init"), *what = "init";
    /* sft's optional input `base` is `init` for a model made inside the pipeline (prm_train's `base` is the LM
       under init_from_policy, which does not come here) */
    const char *base = kind_has_input(ctx, "base") && !kind_has_param(ctx, "init_from_policy")
                           ? stage_input_path(ctx, "base")
                           : NULL;
    if (base && init[0]) return err_set(err, "set the parameter 'init' or the input 'base', not both");
    if (base) init = base, what = "base";
    if (init[0]) {
        if (common_copy_tokenizer(init, out_dir, err))
            return err_prefix(err, base ? "input 'base'" : "parameter 'init'");
        /* an import (no steps, no epochs) only loads and saves: its f32 weights pass through unchanged,
           whatever the precision (the memory plan counts it so too) */
        int import_only = kind_has_param(ctx, "steps") && kind_has_param(ctx, "epochs") &&
                          stage_param_int(ctx, "steps") == 0 && stage_param_int(ctx, "epochs") == 0;
        if (import_only) return policy_load(init, what, num_labels, device, p, err);
        return policy_load_ctx(ctx, init, what, num_labels, 1, p, err);
    }
    const char *tokpath = stage_param_str(ctx, "tokenizer");
    char *tj = fs_join(out_dir, "tokenizer.json");
    int rc = 0;
    if (tokpath[0]) {
        char *dir = fs_dirname(tokpath), *cfg = fs_join(dir, "tokenizer_config.json"),
             *dcfg = fs_join(out_dir, "tokenizer_config.json");
        rc = common_copy_file(tokpath, tj, err);
        if (!rc && fs_exists(cfg)) rc = common_copy_file(cfg, dcfg, err);
        free(dir);
        free(cfg);
        free(dcfg);
        if (rc) err_prefix(err, "parameter 'tokenizer'");
    } else {
        const char *specials[] = {"<|endoftext|>"};
        rc = tokenizer_write_bytelevel(out_dir, specials, 1, "<|endoftext|>", "<|endoftext|>", err);
    }
    if (!rc && !(p->tok = tokenizer_load(tj, err))) rc = -1;
    free(tj);
    if (rc) return -1;
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = tokenizer_vocab_size(p->tok);
    cfg.hidden_size = (int)stage_param_int(ctx, "hidden_size");
    cfg.num_layers = (int)stage_param_int(ctx, "layers");
    cfg.num_heads = (int)stage_param_int(ctx, "heads");
    cfg.num_kv_heads = (int)stage_param_int(ctx, "kv_heads");
    cfg.intermediate_size = (int)stage_param_int(ctx, "intermediate_size");
    cfg.max_position = (int)stage_param_int(ctx, "max_position");
    if (cfg.hidden_size % cfg.num_heads || cfg.num_heads % cfg.num_kv_heads) {
        policy_free(p);
        return err_set(err, "hidden_size %d, heads %d, kv_heads %d: heads must divide hidden_size and kv_heads must "
                       "divide heads", cfg.hidden_size, cfg.num_heads, cfg.num_kv_heads);
    }
    cfg.head_dim = cfg.hidden_size / cfg.num_heads;
    cfg.num_labels = num_labels;
    cfg.eos_id = tokenizer_eos_id(p->tok);
    cfg.bos_id = tokenizer_bos_id(p->tok);
    p->m = model_create(&cfg, stage_seed(ctx), device, err);
    if (!p->m || (ctx_precision(ctx) == MODEL_BF16 && model_set_precision(p->m, MODEL_BF16, err))) {
        policy_free(p);
        return -1;
    }
    if (kind_has_param(ctx, "recompute")) model_set_recompute(p->m, stage_param_bool(ctx, "recompute"));
    return 0;
}

