/* config.c - Hugging Face config.json <-> ModelConfig.
 *
 * Reads the fields of Qwen2 and Llama configs that change the computation and
 * refuses, naming the field, anything this engine would silently compute
 * differently (rope scaling, sliding windows, other activations, extra biases).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "util/fs.h"
#include "util/json.h"

void model_config_default(ModelConfig *cfg) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->arch, sizeof cfg->arch, "qwen2");
    cfg->vocab_size = 260;
    cfg->hidden_size = 128;
    cfg->intermediate_size = 384;
    cfg->num_layers = 4;
    cfg->num_heads = 4;
    cfg->num_kv_heads = 2;
    cfg->head_dim = 32;
    cfg->max_position = 2048;
    cfg->rope_theta = 10000.0;
    cfg->rms_eps = 1e-6;
    cfg->tie_embeddings = 1;
    cfg->qkv_bias = 1;
    cfg->num_labels = 0;
    cfg->bos_id = -1;
    cfg->eos_id = -1;
    snprintf(cfg->dtype, sizeof cfg->dtype, "float32");
}

int model_config_validate(const ModelConfig *c, PureErr *err) {
    if (strcmp(c->arch, "qwen2") && strcmp(c->arch, "llama"))
        return err_set(err, "model_type '%s' is not supported (expected qwen2 or llama)", c->arch);
#define POS(f, name) \
    if (c->f <= 0) return err_set(err, "%s must be > 0, got %d", name, c->f)
    POS(vocab_size, "vocab_size");
    POS(hidden_size, "hidden_size");
    POS(intermediate_size, "intermediate_size");
    POS(num_layers, "num_hidden_layers");
    POS(num_heads, "num_attention_heads");
    POS(num_kv_heads, "num_key_value_heads");
    POS(head_dim, "head_dim");
    POS(max_position, "max_position_embeddings");
#undef POS
    if (c->num_heads % c->num_kv_heads)
        return err_set(err, "num_key_value_heads (%d) must divide num_attention_heads (%d)", c->num_kv_heads,
                       c->num_heads);
    if (c->head_dim % 2 || c->head_dim > 1024)
        return err_set(err, "head_dim must be even and <= 1024, got %d", c->head_dim);
    if (c->num_labels < 0) return err_set(err, "num_labels must be >= 0, got %d", c->num_labels);
    if (!(c->rope_theta > 0)) return err_set(err, "rope_theta must be > 0, got %g", c->rope_theta);
    if (!(c->rms_eps > 0)) return err_set(err, "rms_norm_eps must be > 0, got %g", c->rms_eps);
    if (strcmp(c->dtype, "float32") && strcmp(c->dtype, "bfloat16") && strcmp(c->dtype, "float16"))
        return err_set(err, "torch_dtype '%s' is not supported (expected float32, bfloat16 or float16)", c->dtype);
    return 0;
}

/* ---- reading ---- */

static int get_int(const cJSON *j, const char *key, int dflt, int *out, PureErr *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v || cJSON_IsNull(v)) {
        if (dflt == INT32_MIN) return err_set(err, "field '%s' is missing", key);
        *out = dflt;
        return 0;
    }
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) v = cJSON_GetArrayItem(v, 0); /* eos_token_id lists */
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return err_set(err, "field '%s' must be an integer", key);
    *out = (int)v->valuedouble;
    return 0;
}

static int get_num(const cJSON *j, const char *key, double dflt, double *out, PureErr *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v || cJSON_IsNull(v)) return (*out = dflt), 0;
    if (!cJSON_IsNumber(v)) return err_set(err, "field '%s' must be a number", key);
    *out = v->valuedouble;
    return 0;
}

static int get_bool(const cJSON *j, const char *key, int dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v || cJSON_IsNull(v)) return dflt;
    return cJSON_IsTrue(v) || (cJSON_IsNumber(v) && v->valuedouble != 0);
}

/* Fields that would change the computation in ways this engine does not implement. */
static int refuse_unsupported(const cJSON *j, const char *arch, PureErr *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "hidden_act");
    if (v && !(cJSON_IsString(v) && !strcmp(v->valuestring, "silu")))
        return err_set(err, "field 'hidden_act': only \"silu\" is supported");
    v = cJSON_GetObjectItemCaseSensitive(j, "rope_scaling");
    if (v && !cJSON_IsNull(v)) return err_set(err, "field 'rope_scaling': RoPE scaling is not supported (must be null)");
    if (get_bool(j, "use_sliding_window", 0))
        return err_set(err, "field 'use_sliding_window': sliding-window attention is not supported");
    if (!strcmp(arch, "llama") && get_bool(j, "attention_bias", 0))
        return err_set(err, "field 'attention_bias': llama attention biases are not supported");
    if (get_bool(j, "mlp_bias", 0)) return err_set(err, "field 'mlp_bias': MLP biases are not supported");
    v = cJSON_GetObjectItemCaseSensitive(j, "pretraining_tp");
    if (v && cJSON_IsNumber(v) && v->valuedouble != 1)
        return err_set(err, "field 'pretraining_tp': only 1 is supported");
    return 0;
}

static int config_from_json(const cJSON *j, ModelConfig *c, PureErr *err) {
    model_config_default(c);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "model_type");
    if (!cJSON_IsString(mt)) return err_set(err, "field 'model_type' is missing (expected \"qwen2\" or \"llama\")");
    if (strcmp(mt->valuestring, "qwen2") && strcmp(mt->valuestring, "llama"))
        return err_set(err, "field 'model_type': '%s' is not supported (expected qwen2 or llama)", mt->valuestring);
    snprintf(c->arch, sizeof c->arch, "%s", mt->valuestring);
    int is_qwen = !strcmp(c->arch, "qwen2"), classify = 0;
    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(j, "architectures"), *a;
    cJSON_ArrayForEach(a, archs) {
        if (!cJSON_IsString(a)) continue;
        const char *want_lm = is_qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
        const char *want_tc = is_qwen ? "Qwen2ForTokenClassification" : "LlamaForTokenClassification";
        if (!strcmp(a->valuestring, want_tc)) classify = 1;
        else if (strcmp(a->valuestring, want_lm))
            return err_set(err, "field 'architectures': '%s' is not supported (expected %s or %s)", a->valuestring,
                           want_lm, want_tc);
    }
    if (refuse_unsupported(j, c->arch, err)) return -1;
    if (get_int(j, "vocab_size", INT32_MIN, &c->vocab_size, err) ||
        get_int(j, "hidden_size", INT32_MIN, &c->hidden_size, err) ||
        get_int(j, "intermediate_size", INT32_MIN, &c->intermediate_size, err) ||
        get_int(j, "num_hidden_layers", INT32_MIN, &c->num_layers, err) ||
        get_int(j, "num_attention_heads", INT32_MIN, &c->num_heads, err) ||
        get_int(j, "num_key_value_heads", c->num_heads, &c->num_kv_heads, err) ||
        get_int(j, "max_position_embeddings", 32768, &c->max_position, err) ||
        get_int(j, "bos_token_id", -1, &c->bos_id, err) || get_int(j, "eos_token_id", -1, &c->eos_id, err) ||
        get_num(j, "rope_theta", 10000.0, &c->rope_theta, err) ||
        get_num(j, "rms_norm_eps", 1e-6, &c->rms_eps, err))
        return -1;
    if (c->num_heads <= 0) return err_set(err, "field 'num_attention_heads' must be > 0");
    if (get_int(j, "head_dim", c->hidden_size / c->num_heads, &c->head_dim, err)) return -1;
    c->tie_embeddings = get_bool(j, "tie_word_embeddings", 0);
    c->qkv_bias = is_qwen;
    const cJSON *nl = cJSON_GetObjectItemCaseSensitive(j, "num_labels");
    const cJSON *id2label = cJSON_GetObjectItemCaseSensitive(j, "id2label");
    if (classify) {
        c->num_labels = 2;
        if (cJSON_IsObject(id2label)) c->num_labels = cJSON_GetArraySize(id2label);
        if (nl && get_int(j, "num_labels", 2, &c->num_labels, err)) return -1;
        if (c->num_labels <= 0) return err_set(err, "field 'num_labels' must be > 0 for token classification");
    }
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "torch_dtype");
    if (cJSON_IsString(dt)) snprintf(c->dtype, sizeof c->dtype, "%s", dt->valuestring);
    return model_config_validate(c, err);
}

int model_config_load(const char *dir, ModelConfig *cfg, PureErr *err) {
    char *path = fs_is_dir(dir) ? fs_join(dir, "config.json") : xstrdup(dir);
    cJSON *j = json_parse_file(path, err);
    if (!j) {
        free(path);
        return -1;
    }
    int rc = 0;
    if (!cJSON_IsObject(j)) rc = err_set(err, "expected a JSON object");
    else rc = config_from_json(j, cfg, err);
    if (rc) err_prefix(err, "%s", path);
    cJSON_Delete(j);
    free(path);
    return rc;
}

/* ---- writing ---- */

char *model_config_to_json(const ModelConfig *c) {
    int qwen = !strcmp(c->arch, "qwen2");
    cJSON *j = cJSON_CreateObject();
    cJSON *archs = cJSON_AddArrayToObject(j, "architectures");
    char an[64];
    snprintf(an, sizeof an, "%s%s", qwen ? "Qwen2" : "Llama", c->num_labels > 0 ? "ForTokenClassification" : "ForCausalLM");
    cJSON_AddItemToArray(archs, cJSON_CreateString(an));
    cJSON_AddStringToObject(j, "model_type", c->arch);
    cJSON_AddNumberToObject(j, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(j, "hidden_size", c->hidden_size);
    cJSON_AddNumberToObject(j, "intermediate_size", c->intermediate_size);
    cJSON_AddNumberToObject(j, "num_hidden_layers", c->num_layers);
    cJSON_AddNumberToObject(j, "num_attention_heads", c->num_heads);
    cJSON_AddNumberToObject(j, "num_key_value_heads", c->num_kv_heads);
    if (c->head_dim != c->hidden_size / c->num_heads) cJSON_AddNumberToObject(j, "head_dim", c->head_dim);
    cJSON_AddNumberToObject(j, "max_position_embeddings", c->max_position);
    cJSON_AddNumberToObject(j, "rope_theta", c->rope_theta);
    cJSON_AddNumberToObject(j, "rms_norm_eps", c->rms_eps);
    cJSON_AddBoolToObject(j, "tie_word_embeddings", c->tie_embeddings);
    cJSON_AddStringToObject(j, "hidden_act", "silu");
    cJSON_AddNullToObject(j, "rope_scaling");
    if (qwen) cJSON_AddBoolToObject(j, "use_sliding_window", 0);
    else cJSON_AddBoolToObject(j, "attention_bias", 0);
    if (c->bos_id >= 0) cJSON_AddNumberToObject(j, "bos_token_id", c->bos_id);
    if (c->eos_id >= 0) cJSON_AddNumberToObject(j, "eos_token_id", c->eos_id);
    if (c->num_labels > 0) {
        cJSON *i2l = cJSON_AddObjectToObject(j, "id2label"), *l2i = cJSON_AddObjectToObject(j, "label2id");
        for (int i = 0; i < c->num_labels; i++) {
            char k[32], v[32];
            snprintf(k, sizeof k, "%d", i);
            snprintf(v, sizeof v, "LABEL_%d", i);
            cJSON_AddStringToObject(i2l, k, v);
            cJSON_AddNumberToObject(l2i, v, i);
        }
    }
    cJSON_AddStringToObject(j, "torch_dtype", c->dtype);
    cJSON_AddStringToObject(j, "transformers_version", "4.40.0");
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    char *out = xstrdup(s);
    cJSON_free(s);
    return out;
}
