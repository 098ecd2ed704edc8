/* io.c - Hugging Face checkpoints: config.json + model.safetensors (single or
 * sharded, bf16/f16/f32, memory-mapped by model/safetensors.c) into the f32
 * parameter block, and back out in cfg->dtype.
 *
 * Tensors that Hugging Face stores but this engine derives or ignores
 * (lm_head.weight of a tied model, rotary inv_freq buffers) are skipped; a
 * missing tensor or a wrong shape is an error naming the tensor and file.
 * The config is checked against the header (model_check_tensors) and the
 * memory (model_check_size) before the model is allocated, and non-finite
 * weights are counted as they are converted, for one warning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model/bf16.h"
#include "model/model_internal.h"
#include "util/fs.h"
#include "util/log.h"

/* A 2-D tensor into the bf16 block: copied as is from a bf16 file (no f32
 * copy), else read as f32 one tensor at a time and rounded. Returns the count
 * of non-finite values, or -1 with err set. */
static long read_bf16(const SafeTensors *st, const ModelTensor *t, uint16_t *dst, PureErr *err) {
    const StTensor *f = safetensors_find(st, t->name);
    if (!f) return err_set(err, "tensor '%s' not found", t->name), -1;
    long bad = 0;
    if (f->dtype == ST_BF16 && f->nbytes == t->numel * sizeof(uint16_t)) {
        memcpy(dst, f->data, f->nbytes); /* the map may be unaligned: memcpy, then read the copy */
        for (size_t i = 0; i < t->numel; i++) bad += (dst[i] & 0x7f80) == 0x7f80;
        return bad;
    }
    float *tmp = xmalloc(t->numel * sizeof(float));
    size_t k = 0;
    if (safetensors_read_f32_scan(st, t->name, t->ndim, t->shape, tmp, &k, err)) {
        free(tmp);
        return -1;
    }
    for (size_t i = 0; i < t->numel; i++) dst[i] = f32_to_bf16(tmp[i]);
    free(tmp);
    return (long)k;
}

static Model *load_impl(const char *dir, const char *device, int bf16_infer, PureErr *err);

Model *model_load(const char *dir, const char *device, PureErr *err) { return load_impl(dir, device, 0, err); }

Model *model_load_opts(const char *dir, const char *device, int precision, int train, PureErr *err) {
    Model *m = load_impl(dir, device, precision == MODEL_BF16 && !train, err);
    if (m && precision == MODEL_BF16 && train && model_set_precision(m, MODEL_BF16, err)) {
        err_prefix(err, "%s", dir);
        model_free(m);
        return NULL;
    }
    return m;
}

static Model *load_impl(const char *dir, const char *device, int bf16_infer, PureErr *err) {
    ModelConfig cfg;
    if (model_config_load(dir, &cfg, err)) return NULL;
    SafeTensors *st = safetensors_open(dir, err);
    if (!st) return NULL;
    /* the config against the header, then the size against memory, before any large allocation */
    int bad_shape = model_check_tensors(&cfg, st, err);
    if (bad_shape || model_check_size_as(&cfg, bf16_infer ? 2 : 4, err)) {
        if (bad_shape || !fs_is_dir(dir)) err_prefix(err, "%s", dir);
        else err_prefix(err, "%s/config.json", dir);
        safetensors_close(st);
        return NULL;
    }
    Model *m = bf16_infer ? model_new_empty_bf16(&cfg, device, err) : model_new_empty(&cfg, device, err);
    if (!m) {
        err_prefix(err, "%s", dir);
        safetensors_close(st);
        return NULL;
    }
    const Backend *be = m->be;
    float *host = be->host_memory ? m->params : xmalloc(m->n_f32 * sizeof(float));
    uint16_t *hostb = !m->no_master ? NULL : be->host_memory ? m->wb : xmalloc(m->n_params * sizeof(uint16_t));
    size_t bad = 0;
    const char *first_bad = NULL;
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelTensor *t = &m->tensors[i];
        if (t->optional && !safetensors_find(st, t->name)) continue; /* stays zero (score.bias) */
        size_t k;
        if (t->foff == NO_F32) {
            long kb = read_bf16(st, t, hostb + t->offset, err);
            if (kb < 0) {
                err_prefix(err, "%s", dir);
                goto fail;
            }
            k = (size_t)kb;
        } else if (safetensors_read_f32_scan(st, t->name, t->ndim, t->shape, host + t->foff, &k, err)) {
            err_prefix(err, "%s", dir);
            goto fail;
        }
        if (k && !first_bad) first_bad = t->name;
        bad += k;
    }
    if (bad)
        log_warn("%s: %zu of %zu weights are not finite (NaN or Inf), the first in '%s': outputs will be NaN or "
                 "garbage", dir, bad, m->n_params, first_bad);
    int unused = 0;
    for (int i = 0; i < safetensors_count(st); i++) {
        const StTensor *t = safetensors_get(st, i);
        if (model_tensor_index(m, t->name) < 0 && !strstr(t->name, "rotary_emb.inv_freq") &&
            strcmp(t->name, "lm_head.weight"))
            unused++;
    }
    if (unused) log_warn("%s: %d tensors in the checkpoint are not used by a %s model", dir, unused, cfg.arch);
    if (!be->host_memory) {
        be->upload(m->params, host, m->n_f32 * sizeof(float));
        free(host);
        if (hostb) be->upload(m->wb, hostb, m->n_params * sizeof(uint16_t)), free(hostb);
    }
    safetensors_close(st);
    return m;
fail:
    if (!be->host_memory) free(host), free(hostb);
    safetensors_close(st);
    model_free(m);
    return NULL;
}

/* Host view of a backend block laid out like the table (a copy when the
 * backend is not host memory, or when the block is a bf16 inference model's
 * parameters, widened tensor by tensor). */
float *model_host_view(const Model *m, const float *dev) {
    if (m->no_master && dev == m->params) {
        float *h = xmalloc(m->n_params * sizeof(float));
        for (int i = 0; i < m->n_tensors; i++) model_get_tensor(m, m->tensors[i].name, h + m->tensors[i].offset, NULL);
        return h;
    }
    if (m->be->host_memory) return (float *)dev;
    float *h = xmalloc(m->n_params * sizeof(float));
    m->be->download(h, dev, m->n_params * sizeof(float));
    return h;
}
void model_host_view_free(const Model *m, float *h) {
    if (!m->be->host_memory || (m->no_master && h != m->params)) free(h);
}

static StDType dtype_of(const char *name) {
    if (!strcmp(name, "bfloat16")) return ST_BF16;
    if (!strcmp(name, "float16")) return ST_F16;
    return ST_F32;
}

/* Writes n_blocks host blocks laid out like the table, tensor names prefixed
 * per block, plus extra tensors, into one safetensors file. */
StWrite *model_tensor_writes(const Model *m, int n_blocks, const char *const *prefixes, const float *const *blocks,
                             StDType dt, const StWrite *extra, int n_extra, char (**names)[128], int *n_out) {
    int n = m->n_tensors * n_blocks;
    StWrite *w = xcalloc((size_t)n + n_extra + 1, sizeof(StWrite));
    *names = xcalloc((size_t)n + 1, sizeof **names);
    for (int b = 0; b < n_blocks; b++)
        for (int i = 0; i < m->n_tensors; i++) {
            const ModelTensor *t = &m->tensors[i];
            int k = b * m->n_tensors + i;
            snprintf((*names)[k], sizeof (*names)[k], "%s%s", prefixes[b], t->name);
            w[k].name = (*names)[k];
            w[k].dtype = dt;
            w[k].ndim = t->ndim;
            w[k].shape[0] = t->shape[0];
            w[k].shape[1] = t->shape[1];
            w[k].data = blocks ? blocks[b] + t->offset : NULL;
        }
    for (int i = 0; i < n_extra; i++) w[n + i] = extra[i];
    *n_out = n + n_extra;
    return w;
}

int model_write_tensors(const Model *m, const char *path, int n_blocks, const char *const *prefixes,
                        const float *const *blocks, StDType dt, const StWrite *extra, int n_extra, PureErr *err) {
    char (*names)[128];
    int n;
    StWrite *w = model_tensor_writes(m, n_blocks, prefixes, blocks, dt, extra, n_extra, &names, &n);
    int rc = safetensors_write(path, w, n, "{\"format\":\"pt\"}", err);
    free(w);
    free(names);
    return rc;
}

/* generation_config.json: the token ids, which transformers' GenerationConfig.from_pretrained and
 * generate() read from this file (not from config.json) to know where a sequence ends. */
static int write_generation_config(const ModelConfig *c, const char *dir, PureErr *err) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "_from_model_config", 1);
    if (c->bos_id >= 0) cJSON_AddNumberToObject(j, "bos_token_id", c->bos_id);
    if (c->eos_id >= 0) cJSON_AddNumberToObject(j, "eos_token_id", c->eos_id);
    cJSON_AddStringToObject(j, "transformers_version", "4.40.0");
    char *s = cJSON_Print(j), *path = fs_join(dir, "generation_config.json");
    int rc = fs_write_atomic(path, s, strlen(s), err);
    cJSON_free(s);
    cJSON_Delete(j);
    free(path);
    return rc;
}

int model_save(Model *m, const char *dir, PureErr *err) {
    if (fs_mkdir_p(dir, err)) return -1;
    char *json = model_config_to_json(&m->cfg);
    char *cpath = fs_join(dir, "config.json"), *wpath = fs_join(dir, "model.safetensors");
    int rc = fs_write_atomic(cpath, json, strlen(json), err);
    if (!rc) rc = write_generation_config(&m->cfg, dir, err);
    if (!rc) {
        float *host = model_host_view(m, m->params);
        const char *prefix = "";
        const float *blocks[1] = {host};
        rc = model_write_tensors(m, wpath, 1, &prefix, blocks, dtype_of(m->cfg.dtype), NULL, 0, err);
        model_host_view_free(m, host);
    }
    if (rc) err_prefix(err, "saving model to %s", dir);
    free(json), free(cpath), free(wpath);
    return rc;
}
