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
#include <sys/stat.h>

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

/* ---- ranges ----
 *
 * The integer keys and what this engine can hold: sizes are int fields and
 * tensor dimensions (one dimension must fit an int), token ids are int32 and
 * index the vocabulary, and the tensor table (13 rows per layer) is indexed
 * by an int. The real bound on a model is its file and the memory to hold it
 * (model_check_tensors, model_check_size in model.c); these ranges keep every
 * product in 64 bits and every message exact. */
#define MAX_DIM INT32_MAX
#define MAX_LAYERS (1 << 24)
#define MAX_HEAD_DIM 1024
/* config.json and generation_config.json: Qwen2.5's are 1 KB, a classifier
 * with a label map of a million entries under 64 MiB. */
#define CONFIG_MAX_BYTES (64 << 20)

static int range(int64_t v, const char *name, int64_t lo, int64_t hi, PureErr *err) {
    if (v < lo || v > hi)
        return err_set(err, "field '%s' is %lld, outside the allowed range [%lld, %lld]", name, (long long)v,
                       (long long)lo, (long long)hi);
    return 0;
}

/* A token id (bos/eos) of a config: -1 = none, else in [0, vocab_size). */
static int token_range(int64_t v, const char *name, int64_t vocab, PureErr *err) {
    if (v < 0 || v >= vocab)
        return err_set(err, "field '%s' is %lld, outside the token ids [0, %lld] of vocab_size %lld", name,
                       (long long)v, (long long)vocab - 1, (long long)vocab);
    return 0;
}

int model_config_validate(const ModelConfig *c, PureErr *err) {
    if (strcmp(c->arch, "qwen2") && strcmp(c->arch, "llama"))
        return err_set(err, "model_type '%s' is not supported (expected qwen2 or llama)", c->arch);
    if (range(c->vocab_size, "vocab_size", 1, MAX_DIM, err) || range(c->hidden_size, "hidden_size", 1, MAX_DIM, err) ||
        range(c->intermediate_size, "intermediate_size", 1, MAX_DIM, err) ||
        range(c->num_layers, "num_hidden_layers", 1, MAX_LAYERS, err) ||
        range(c->num_heads, "num_attention_heads", 1, MAX_DIM, err) ||
        range(c->num_kv_heads, "num_key_value_heads", 1, c->num_heads, err) ||
        range(c->max_position, "max_position_embeddings", 1, MAX_DIM, err) ||
        range(c->num_labels, "num_labels", 0, MAX_DIM, err))
        return -1;
    if (c->num_heads % c->num_kv_heads)
        return err_set(err, "num_key_value_heads (%d) must divide num_attention_heads (%d)", c->num_kv_heads,
                       c->num_heads);
    if (c->head_dim < 2 || c->head_dim > MAX_HEAD_DIM || c->head_dim % 2)
        return err_set(err, "head_dim must be even and in [2, %d], got %d", MAX_HEAD_DIM, c->head_dim);
    if ((int64_t)c->num_heads * c->head_dim > MAX_DIM)
        return err_set(err, "num_attention_heads %d x head_dim %d = %lld is more than the %d a dimension can hold",
                       c->num_heads, c->head_dim, (long long)c->num_heads * c->head_dim, MAX_DIM);
    if (!(c->rope_theta > 0) || !isfinite(c->rope_theta))
        return err_set(err, "rope_theta must be a finite number > 0, got %g", c->rope_theta);
    if (!(c->rms_eps > 0) || !isfinite(c->rms_eps))
        return err_set(err, "rms_norm_eps must be a finite number > 0, got %g", c->rms_eps);
    if (c->bos_id != -1 && token_range(c->bos_id, "bos_token_id", c->vocab_size, err)) return -1;
    if (c->eos_id != -1 && token_range(c->eos_id, "eos_token_id", c->vocab_size, err)) return -1;
    if (strcmp(c->dtype, "float32") && strcmp(c->dtype, "bfloat16") && strcmp(c->dtype, "float16"))
        return err_set(err, "torch_dtype '%s' is not supported (expected float32, bfloat16 or float16)", c->dtype);
    return 0;
}

/* ---- reading ---- */

/* What a JSON value is, for messages: "the string \"12\"", "true", "1.5". */
static const char *describe(const cJSON *v, char *buf, size_t n) {
    if (cJSON_IsString(v)) snprintf(buf, n, "the string \"%.40s\"", v->valuestring);
    else if (cJSON_IsBool(v)) snprintf(buf, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsArray(v)) snprintf(buf, n, "an array");
    else if (cJSON_IsObject(v)) snprintf(buf, n, "an object");
    else if (cJSON_IsNumber(v)) {
        snprintf(buf, n, "%.15g", v->valuedouble); /* the shortest that reads back: 1e-06, not 9.99...e-07 */
        if (strtod(buf, NULL) != v->valuedouble) snprintf(buf, n, "%.17g", v->valuedouble);
    }
    else snprintf(buf, n, "an invalid value");
    return buf;
}

/* A JSON number as text: exact for integers (cJSON keeps a double, so 2^40
 * prints as 1099511627776, not as what it wraps to in an int). */
static const char *num_text(double d, char *buf, size_t n) {
    if (d == floor(d) && fabs(d) < 1e18) snprintf(buf, n, "%.0f", d);
    else snprintf(buf, n, "%.17g", d);
    return buf;
}

static int is_integer(const cJSON *v) {
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble);
}

/* One integer: an exact integral JSON number in [lo, hi], checked as a
 * double before any conversion. */
static int int_value(const cJSON *v, const char *name, int64_t lo, int64_t hi, int64_t *out, PureErr *err) {
    char what[96];
    if (!is_integer(v))
        return err_set(err, "field '%s' must be an integer in [%lld, %lld], got %s", name, (long long)lo,
                       (long long)hi, describe(v, what, sizeof what));
    double d = v->valuedouble;
    if (d < (double)lo || d > (double)hi)
        return err_set(err, "field '%s' is %s, outside the allowed range [%lld, %lld]", name,
                       num_text(d, what, sizeof what), (long long)lo, (long long)hi);
    *out = (int64_t)d;
    return 0;
}

/* Integer key: absent or null gives dflt; required keys have no default. */
static int get_int(const cJSON *j, const char *key, int required, int64_t dflt, int64_t lo, int64_t hi, int *out,
                   PureErr *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v || cJSON_IsNull(v)) {
        if (required) return err_set(err, "field '%s' is missing", key);
        *out = (int)dflt;
        return 0;
    }
    int64_t x = 0;
    if (int_value(v, key, lo, hi, &x, err)) return -1;
    *out = (int)x;
    return 0;
}

/* A token-id key (bos/eos/pad_token_id): null, one id or a list of ids, each
 * in [0, vocab). *first gets the first id, -1 when there is none. */
static int get_token_ids(const cJSON *j, const char *key, int64_t vocab, int *first, PureErr *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    *first = -1;
    if (!v || cJSON_IsNull(v)) return 0;
    const cJSON *e = cJSON_IsArray(v) ? v->child : v;
    for (int i = 0; e; i++, e = cJSON_IsArray(v) ? e->next : NULL) {
        char name[64], what[96];
        if (cJSON_IsArray(v)) snprintf(name, sizeof name, "%s[%d]", key, i);
        else snprintf(name, sizeof name, "%s", key);
        if (!is_integer(e))
            return err_set(err, "field '%s' must be a token id (an integer in [0, %lld]) or a list of them, got %s",
                           name, (long long)vocab - 1, describe(e, what, sizeof what));
        if (e->valuedouble < 0 || e->valuedouble >= (double)vocab)
            return err_set(err, "field '%s' is %s, outside the token ids [0, %lld] of vocab_size %lld", name,
                           num_text(e->valuedouble, what, sizeof what), (long long)vocab - 1, (long long)vocab);
        if (i == 0) *first = (int)e->valuedouble;
    }
    return 0;
}

static int get_num(const cJSON *j, const char *key, double dflt, double *out, PureErr *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v || cJSON_IsNull(v)) return (*out = dflt), 0;
    char what[96];
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || !(v->valuedouble > 0))
        return err_set(err, "field '%s' must be a finite number > 0, got %s", key, describe(v, what, sizeof what));
    *out = v->valuedouble;
    return 0;
}

/* A flag: true/false (0/1 as numbers, as before); null or absent = dflt. A
 * string such as "false" is refused: Python would read it as true. */
static int get_bool(const cJSON *j, const char *key, int dflt, int *out, PureErr *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    char what[96];
    if (!v || cJSON_IsNull(v)) *out = dflt;
    else if (cJSON_IsBool(v)) *out = cJSON_IsTrue(v);
    else if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1)) *out = v->valuedouble != 0;
    else return err_set(err, "field '%s' must be true or false, got %s", key, describe(v, what, sizeof what));
    return 0;
}

/* Fields that would change the computation in ways this engine does not implement. */
static int refuse_unsupported(const cJSON *j, const char *arch, PureErr *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "hidden_act");
    if (v && !(cJSON_IsString(v) && !strcmp(v->valuestring, "silu")))
        return err_set(err, "field 'hidden_act': only \"silu\" is supported");
    v = cJSON_GetObjectItemCaseSensitive(j, "rope_scaling");
    if (v && !cJSON_IsNull(v)) return err_set(err, "field 'rope_scaling': RoPE scaling is not supported (must be null)");
    int b;
    if (get_bool(j, "use_sliding_window", 0, &b, err)) return -1;
    if (b) return err_set(err, "field 'use_sliding_window': sliding-window attention is not supported");
    if (get_bool(j, "attention_bias", 0, &b, err)) return -1;
    if (!strcmp(arch, "llama") && b)
        return err_set(err, "field 'attention_bias': llama attention biases are not supported");
    if (get_bool(j, "mlp_bias", 0, &b, err)) return -1;
    if (b) return err_set(err, "field 'mlp_bias': MLP biases are not supported");
    int tp;
    if (get_int(j, "pretraining_tp", 0, 1, 1, MAX_DIM, &tp, err)) return -1;
    if (tp != 1) return err_set(err, "field 'pretraining_tp': only 1 is supported, got %d", tp);
    return 0;
}

/* transformers 5 writes RoPE as "rope_parameters": {"rope_type": "default", "rope_theta": ...} where 4.x wrote a
 * top-level "rope_theta" (and "rope_scaling"); either form is read, both at once must agree. Only the plain
 * ("default") rotation is implemented; any other rope_type (linear, dynamic, yarn, llama3, ...) is refused. */
static int get_rope_theta(const cJSON *j, double *theta, PureErr *err) {
    if (get_num(j, "rope_theta", 10000.0, theta, err)) return -1;
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(j, "rope_parameters");
    if (!rp || cJSON_IsNull(rp)) return 0;
    if (!cJSON_IsObject(rp)) return err_set(err, "field 'rope_parameters' must be an object or null");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(rp, "rope_type");
    if (type && !cJSON_IsNull(type) && !(cJSON_IsString(type) && !strcmp(type->valuestring, "default")))
        return err_set(err, "field 'rope_parameters.rope_type': only \"default\" is supported (RoPE scaling is not)");
    const cJSON *prf = cJSON_GetObjectItemCaseSensitive(rp, "partial_rotary_factor");
    if (prf && !cJSON_IsNull(prf) && !(cJSON_IsNumber(prf) && prf->valuedouble == 1))
        return err_set(err, "field 'rope_parameters.partial_rotary_factor': only 1 is supported");
    double t;
    if (get_num(rp, "rope_theta", -1, &t, err)) return err_prefix(err, "rope_parameters");
    if (t < 0) return 0;
    const cJSON *top = cJSON_GetObjectItemCaseSensitive(j, "rope_theta");
    if (top && !cJSON_IsNull(top) && *theta != t)
        return err_set(err, "fields 'rope_theta' (%g) and 'rope_parameters.rope_theta' (%g) disagree", *theta, t);
    *theta = t;
    return 0;
}

/* transformers 5 lists each layer's attention in "layer_types"; only full attention is implemented. */
static int check_layer_types(const cJSON *j, PureErr *err) {
    const cJSON *lt = cJSON_GetObjectItemCaseSensitive(j, "layer_types"), *e;
    if (!lt || cJSON_IsNull(lt)) return 0;
    if (!cJSON_IsArray(lt)) return err_set(err, "field 'layer_types' must be a list");
    int i = 0;
    cJSON_ArrayForEach(e, lt) {
        if (!cJSON_IsString(e) || strcmp(e->valuestring, "full_attention"))
            return err_set(err, "field 'layer_types[%d]': only \"full_attention\" is supported", i);
        i++;
    }
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
    if (get_int(j, "vocab_size", 1, 0, 1, MAX_DIM, &c->vocab_size, err) ||
        get_int(j, "hidden_size", 1, 0, 1, MAX_DIM, &c->hidden_size, err) ||
        get_int(j, "intermediate_size", 1, 0, 1, MAX_DIM, &c->intermediate_size, err) ||
        get_int(j, "num_hidden_layers", 1, 0, 1, MAX_LAYERS, &c->num_layers, err) ||
        get_int(j, "num_attention_heads", 1, 0, 1, MAX_DIM, &c->num_heads, err) ||
        get_int(j, "num_key_value_heads", 0, c->num_heads, 1, c->num_heads, &c->num_kv_heads, err) ||
        get_int(j, "max_position_embeddings", 0, 32768, 1, MAX_DIM, &c->max_position, err) ||
        get_token_ids(j, "bos_token_id", c->vocab_size, &c->bos_id, err) ||
        get_token_ids(j, "eos_token_id", c->vocab_size, &c->eos_id, err) ||
        get_rope_theta(j, &c->rope_theta, err) || check_layer_types(j, err) ||
        get_num(j, "rms_norm_eps", 1e-6, &c->rms_eps, err))
        return -1;
    int pad;
    if (get_token_ids(j, "pad_token_id", c->vocab_size, &pad, err)) return -1;
    int hd = c->hidden_size / c->num_heads;
    const cJSON *hdv = cJSON_GetObjectItemCaseSensitive(j, "head_dim");
    if ((!hdv || cJSON_IsNull(hdv)) && (hd < 2 || hd > MAX_HEAD_DIM || hd % 2))
        return err_set(err, "no field 'head_dim', and hidden_size %d / num_attention_heads %d = %d is not a head size "
                       "(even, in [2, %d])", c->hidden_size, c->num_heads, hd, MAX_HEAD_DIM);
    if (get_int(j, "head_dim", 0, c->hidden_size / c->num_heads, 2, MAX_HEAD_DIM, &c->head_dim, err)) return -1;
    if (get_bool(j, "tie_word_embeddings", 0, &c->tie_embeddings, err)) return -1;
    c->qkv_bias = is_qwen;
    const cJSON *nl = cJSON_GetObjectItemCaseSensitive(j, "num_labels");
    const cJSON *id2label = cJSON_GetObjectItemCaseSensitive(j, "id2label");
    int labels = 2; /* read (and checked) for any head; only a classifier uses it */
    if (cJSON_IsObject(id2label)) labels = cJSON_GetArraySize(id2label);
    if (nl && get_int(j, "num_labels", 0, labels, 1, MAX_DIM, &labels, err)) return -1;
    if (classify) {
        if (labels <= 0) return err_set(err, "field 'id2label' is empty: a token classifier needs labels");
        c->num_labels = labels;
    }
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "torch_dtype");
    if (!cJSON_IsString(dt)) dt = cJSON_GetObjectItemCaseSensitive(j, "dtype"); /* transformers 5's name */
    if (cJSON_IsString(dt)) snprintf(c->dtype, sizeof c->dtype, "%s", dt->valuestring);
    return model_config_validate(c, err);
}

/* A JSON file of a checkpoint, parsed; refused past CONFIG_MAX_BYTES before it is
 * read (cJSON needs tens of bytes per value, so a 10 GB file would need
 * hundreds of GB). */
static cJSON *parse_small_json(const char *path, PureErr *err) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > CONFIG_MAX_BYTES) {
        err_set(err, "%s: %lld bytes, more than the %d MiB a model config file may have", path,
                (long long)sb.st_size, CONFIG_MAX_BYTES >> 20);
        return NULL;
    }
    return json_parse_file(path, err);
}

/* generation_config.json beside config.json (optional): its token ids must
 * be ids of this vocabulary too; generation does not read it otherwise. */
static int check_generation_config(const char *dir, const ModelConfig *c, PureErr *err) {
    char *path = fs_join(dir, "generation_config.json");
    int rc = 0;
    if (fs_exists(path)) {
        cJSON *j = parse_small_json(path, err);
        int id;
        if (!j) rc = -1;
        else if (!cJSON_IsObject(j)) rc = err_set(err, "%s: expected a JSON object", path);
        else if (get_token_ids(j, "bos_token_id", c->vocab_size, &id, err) ||
                 get_token_ids(j, "eos_token_id", c->vocab_size, &id, err) ||
                 get_token_ids(j, "pad_token_id", c->vocab_size, &id, err))
            rc = err_prefix(err, "%s", path);
        cJSON_Delete(j);
    }
    free(path);
    return rc;
}

int model_config_load(const char *dir, ModelConfig *cfg, PureErr *err) {
    int is_dir = fs_is_dir(dir);
    char *path = is_dir ? fs_join(dir, "config.json") : xstrdup(dir);
    cJSON *j = parse_small_json(path, err);
    if (!j) {
        free(path);
        return -1;
    }
    int rc = 0;
    if (!cJSON_IsObject(j)) rc = err_set(err, "expected a JSON object");
    else rc = config_from_json(j, cfg, err);
    if (rc) err_prefix(err, "%s", path);
    if (!rc && is_dir) rc = check_generation_config(dir, cfg, err);
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
