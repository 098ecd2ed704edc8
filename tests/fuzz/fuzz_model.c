/* fuzz_model.c - libFuzzer target for checkpoint loading: config.json
 * (and generation_config.json), the safetensors header parser, sharded
 * indexes, and model_load with its checks of the config against the file.
 * scripts/fuzz.sh builds and runs it; seeds in tests/fuzz/corpus/model/.
 *
 * Input: u16 little-endian H, then H & 0x3fff bytes of config.json, then the
 * file part. H & 0x4000: the config bytes are also generation_config.json.
 * H & 0x8000: sharded, the file part is [u16 n][n bytes of
 * model.safetensors.index.json][u16 m][m bytes of a.safetensors][the rest:
 * b.safetensors]; otherwise the file part is model.safetensors. The files go
 * to a folder in /dev/shm; then
 *  - safetensors_open on the folder, every tensor read (with the non-finite
 *    scan) and its size checked against its shape;
 *  - model_config_load, and its config written back out must read back equal;
 *  - model_load on "cpu", and for a loaded model with tame weights a
 *    3-token forward and a 2-token greedy generation.
 * Every refusal must carry a message; nothing may crash, hang or allocate
 * beyond what the file holds (run with -rss_limit_mb=2048 -malloc_limit_mb=2048).
 *
 * FUZZ_MODEL_WRITE_SEEDS=DIR build-fuzz/fuzz_model writes the seed corpus
 * (tiny models made by the engine, and hostile configs) into DIR and exits. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model_internal.h" /* model_config_to_json */
#include "model/safetensors.h"
#include "util/fs.h"
#include "util/log.h"

static char dir[96];
static int verbose; /* FUZZ_MODEL_VERBOSE=1: print each outcome (for looking at seeds) */

static void put(const char *name, const uint8_t *p, size_t n) {
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(p, 1, n, f) != n) abort();
    fclose(f);
}

static void clear_dir(void) {
    static const char *const names[] = {"config.json", "generation_config.json", "model.safetensors",
                                        "model.safetensors.index.json", "a.safetensors", "b.safetensors"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
}

static size_t take16(const uint8_t **p, size_t *n) {
    if (*n < 2) return 0;
    size_t v = (size_t)(*p)[0] | (size_t)(*p)[1] << 8;
    *p += 2, *n -= 2;
    return v;
}

/* Every tensor reads, its size matches its shape, and the scan agrees with a plain count. */
static void exercise_safetensors(void) {
    PureErr err;
    err_clear(&err);
    SafeTensors *st = safetensors_open(dir, &err);
    if (verbose) fprintf(stderr, "safetensors_open: %s\n", st ? "ok" : err.msg);
    if (!st) {
        if (!err.set) abort();
        return;
    }
    for (int i = 0; i < safetensors_count(st); i++) {
        const StTensor *t = safetensors_get(st, i);
        uint64_t count = 1;
        for (int d = 0; d < t->ndim; d++) count *= (uint64_t)t->shape[d];
        if (count * st_dtype_size(t->dtype) != t->nbytes) abort();
        if (safetensors_find(st, t->name) != t) abort();
        float *buf = malloc(count ? count * sizeof(float) : 1);
        size_t bad = 0, plain = 0;
        if (safetensors_read_f32_scan(st, t->name, t->ndim, t->shape, buf, &bad, &err)) abort();
        for (uint64_t k = 0; k < count; k++) plain += !(buf[k] - buf[k] == 0.0f);
        if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16 && bad) abort();
        if (bad != plain) abort();
        free(buf);
    }
    safetensors_metadata(st, "format");
    safetensors_close(st);
}

/* A config that loads writes out to a config that loads back the same. */
static void exercise_config(void) {
    PureErr err;
    err_clear(&err);
    ModelConfig c, c2;
    char path[160];
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = model_config_load(path, &c, &err);
    if (verbose) fprintf(stderr, "model_config_load: %s\n", rc ? err.msg : "ok");
    if (rc) {
        if (!err.set) abort();
        return;
    }
    char *json = model_config_to_json(&c);
    char rt[160];
    snprintf(rt, sizeof rt, "%s/rt.json", dir);
    FILE *f = fopen(rt, "wb");
    fwrite(json, 1, strlen(json), f);
    fclose(f);
    free(json);
    if (model_config_load(rt, &c2, &err) || memcmp(&c, &c2, sizeof c)) abort();
    unlink(rt);
}

/* Every weight finite and |w| <= 4: then no activation overflows in a model
 * this small, and the forward only exercises shapes. (Non-finite weights make
 * NaN activations, and model/cpu/cpu_simd.h's cpu_expf converts a NaN to an
 * int, which UBSan reports; the load's warning is what this harness checks
 * for them.) */
static int tame_weights(const Model *m) {
    int ok = 1;
    for (int i = 0; ok && i < model_tensor_count(m); i++) {
        int nd;
        int64_t sh[2];
        const char *name = model_tensor_info(m, i, &nd, sh);
        size_t n = (size_t)sh[0] * (nd == 2 ? (size_t)sh[1] : 1);
        float *w = malloc(n * sizeof(float) + 1);
        model_get_tensor(m, name, w, NULL);
        for (size_t k = 0; ok && k < n; k++) ok = w[k] >= -4.0f && w[k] <= 4.0f;
        free(w);
    }
    return ok;
}

static void exercise_model(void) {
    PureErr err;
    err_clear(&err);
    Model *m = model_load(dir, "cpu", &err);
    if (verbose) fprintf(stderr, "model_load: %s\n", m ? "ok" : err.msg);
    if (!m) {
        if (!err.set) abort();
        return;
    }
    const ModelConfig *c = model_config(m);
    if (!tame_weights(m)) {
        model_free(m);
        return;
    }
    /* no longer than max_position_embeddings (the forward refuses that, with a message) */
    int32_t tokens[3] = {0, (int32_t)(c->vocab_size - 1), (int32_t)(c->vocab_size / 2)};
    int32_t len[1] = {c->max_position < 3 ? c->max_position : 3};
    ModelBatch b = {1, 3, tokens, len};
    int width = c->num_labels > 0 ? c->num_labels : 1;
    float *out = malloc(sizeof(float) * 3 * (size_t)width);
    if (model_forward(m, &b, out, NULL, 0, &err)) abort();
    free(out);
    if (c->num_labels == 0) {
        const int32_t *prompts[1] = {tokens};
        int plen[1] = {c->max_position < 2 ? 1 : 2};
        uint64_t stream[1] = {0};
        SampleConfig sc = {.max_new_tokens = 2, .temperature = 0, .top_p = 1};
        SampleResult r = {0};
        if (model_generate(m, NULL, 1, prompts, plen, stream, &sc, &r, &err) == 0) sample_result_free(&r);
        else if (!err.set) abort();
    }
    model_free(m);
}

/* ---- seeds ---- */

static void emit(const char *out_dir, const char *name, const char *config, int gen, const uint8_t *file, size_t n) {
    size_t cl = strlen(config);
    if (cl > 0x3fff) abort();
    uint8_t *buf = malloc(2 + cl + n);
    unsigned h = (unsigned)cl | (gen ? 0x4000u : 0);
    buf[0] = (uint8_t)h, buf[1] = (uint8_t)(h >> 8);
    memcpy(buf + 2, config, cl);
    memcpy(buf + 2 + cl, file, n);
    char *p = fs_join(out_dir, name);
    if (fs_write_atomic(p, buf, 2 + cl + n, NULL)) abort();
    free(p), free(buf);
}

/* A tiny model made by the engine (1 layer, hidden 8), saved and read back as bytes. */
static void tiny(const char *arch, int tie, int labels, const char *dtype, int nan, char **config, uint8_t **file,
                 size_t *n) {
    ModelConfig c;
    model_config_default(&c);
    snprintf(c.arch, sizeof c.arch, "%s", arch);
    c.qkv_bias = !strcmp(arch, "qwen2");
    c.vocab_size = 16, c.hidden_size = 8, c.intermediate_size = 16, c.num_layers = 1, c.num_heads = 2;
    c.num_kv_heads = 1, c.head_dim = 4, c.max_position = 32, c.tie_embeddings = tie, c.num_labels = labels;
    c.eos_id = 3;
    snprintf(c.dtype, sizeof c.dtype, "%s", dtype);
    Model *m = model_create(&c, 5, "cpu", NULL);
    if (nan) {
        float w[16 * 8];
        model_get_tensor(m, "model.layers.0.mlp.up_proj.weight", w, NULL);
        w[0] = w[9] = NAN;
        model_set_tensor(m, "model.layers.0.mlp.up_proj.weight", w, NULL);
    }
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/seed", dir);
    if (model_save(m, tmp, NULL)) abort();
    model_free(m);
    char *cp = fs_join(tmp, "config.json"), *wp = fs_join(tmp, "model.safetensors");
    size_t cl;
    *config = fs_read_file(cp, &cl, NULL);
    *file = (uint8_t *)fs_read_file(wp, n, NULL);
    free(cp), free(wp);
    fs_remove_all(tmp, NULL);
}

/* config.json text with "key": value put first (so it wins over nothing: keys are unique). */
static char *with_key(const char *config, const char *key, const char *value) {
    size_t cap = strlen(config) + strlen(key) + strlen(value) + 16;
    char *s = malloc(cap);
    snprintf(s, cap, "{\"%s\": %s,%s", key, value, strchr(config, '{') + 1);
    return s;
}

/* config.json text without key (a top-level "key": value line as model_save writes it). */
static char *without_key(const char *config, const char *key) {
    char *s = strdup(config), pat[80];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    char *at = strstr(s, pat);
    if (at) {
        char *end = strchr(at, '\n');
        memmove(at, end + 1, strlen(end + 1) + 1);
    }
    return s;
}

static void write_seeds(const char *out) {
    fs_mkdir_p(out, NULL);
    char *cfg;
    uint8_t *file;
    size_t n;
    tiny("qwen2", 1, 0, "float32", 0, &cfg, &file, &n);
    emit(out, "qwen2_tied_f32", cfg, 0, file, n);
    emit(out, "qwen2_tied_f32_gen", cfg, 1, file, n);
    /* the hostile configs, each against the valid file */
    static const char *const hostile[][3] = {
        {"intermediate_size", "2147483647", "hostile_intermediate_2p31"},
        {"num_hidden_layers", "1000000", "hostile_layers_1e6"},
        {"vocab_size", "1099511627776", "hostile_vocab_2p40"},
        {"eos_token_id", "16", "hostile_eos_vocab"},
        {"eos_token_id", "[3, -1]", "hostile_eos_list"},
        {"hidden_size", "1.5", "hostile_hidden_float"},
        {"num_attention_heads", "\"2\"", "hostile_heads_string"},
        {"rope_theta", "true", "hostile_rope_bool"},
        {"head_dim", "1024", "hostile_head_dim"},
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        char *stripped = without_key(cfg, hostile[i][0]);
        char *h = with_key(stripped, hostile[i][0], hostile[i][1]);
        emit(out, hostile[i][2], h, 0, file, n);
        free(h), free(stripped);
    }
    /* sharded: the same tensors split over a.safetensors and b.safetensors */
    {
        char tmp[160];
        snprintf(tmp, sizeof tmp, "%s/shard", dir);
        fs_mkdir_p(tmp, NULL);
        put("model.safetensors", file, n);
        PureErr err;
        err_clear(&err);
        SafeTensors *st = safetensors_open(dir, &err);
        if (!st) abort();
        int k = safetensors_count(st);
        StWrite *w = calloc((size_t)k, sizeof *w);
        float **bufs = calloc((size_t)k, sizeof *bufs);
        size_t idx_cap = 8192, at = 0;
        char *idx = malloc(idx_cap);
        at += (size_t)snprintf(idx + at, idx_cap - at, "{\"metadata\": {}, \"weight_map\": {");
        for (int i = 0; i < k; i++) {
            const StTensor *t = safetensors_get(st, i);
            size_t cnt = t->nbytes / st_dtype_size(t->dtype);
            bufs[i] = malloc(cnt * sizeof(float) + 1);
            safetensors_read_f32(st, t->name, -1, NULL, bufs[i], NULL);
            w[i] = (StWrite){.name = t->name, .dtype = ST_BF16, .ndim = t->ndim, .data = bufs[i]};
            memcpy(w[i].shape, t->shape, sizeof w[i].shape);
            at += (size_t)snprintf(idx + at, idx_cap - at, "%s\"%s\": \"%s\"", i ? ", " : "", t->name,
                                   i < k / 2 ? "a.safetensors" : "b.safetensors");
        }
        at += (size_t)snprintf(idx + at, idx_cap - at, "}}");
        char *ap = fs_join(tmp, "a.safetensors"), *bp = fs_join(tmp, "b.safetensors");
        if (safetensors_write(ap, w, k / 2, NULL, NULL) || safetensors_write(bp, w + k / 2, k - k / 2, NULL, NULL)) abort();
        size_t an, bn;
        char *a = fs_read_file(ap, &an, NULL), *b = fs_read_file(bp, &bn, NULL);
        size_t total = 2 + at + 2 + an + bn;
        uint8_t *part = malloc(total), *q = part;
        *q++ = (uint8_t)at, *q++ = (uint8_t)(at >> 8);
        memcpy(q, idx, at), q += at;
        *q++ = (uint8_t)an, *q++ = (uint8_t)(an >> 8);
        memcpy(q, a, an), q += an;
        memcpy(q, b, bn);
        /* the sharded bit on the config length */
        size_t cl = strlen(cfg);
        uint8_t *buf = malloc(2 + cl + total);
        unsigned h = (unsigned)cl | 0x8000u;
        buf[0] = (uint8_t)h, buf[1] = (uint8_t)(h >> 8);
        memcpy(buf + 2, cfg, cl);
        memcpy(buf + 2 + cl, part, total);
        char *sp = fs_join(out, "qwen2_sharded_bf16");
        if (fs_write_atomic(sp, buf, 2 + cl + total, NULL)) abort();
        for (int i = 0; i < k; i++) free(bufs[i]);
        free(bufs), free(w), free(idx), free(ap), free(bp), free(a), free(b), free(part), free(buf), free(sp);
        safetensors_close(st);
        fs_remove_all(tmp, NULL);
        clear_dir();
    }
    free(cfg), free(file);
    tiny("llama", 0, 0, "bfloat16", 0, &cfg, &file, &n);
    emit(out, "llama_untied_bf16", cfg, 0, file, n);
    free(cfg), free(file);
    tiny("qwen2", 1, 3, "float16", 0, &cfg, &file, &n);
    emit(out, "qwen2_classifier_f16", cfg, 0, file, n);
    free(cfg), free(file);
    tiny("qwen2", 1, 0, "float32", 1, &cfg, &file, &n);
    emit(out, "qwen2_nan_weights", cfg, 0, file, n);
    free(cfg), free(file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    snprintf(dir, sizeof dir, "/dev/shm/pure_fuzz_model_%d", (int)getpid());
    fs_mkdir_p(dir, NULL);
    model_set_threads(1);
    log_set_quiet(1);
    verbose = getenv("FUZZ_MODEL_VERBOSE") != NULL;
    const char *seeds = getenv("FUZZ_MODEL_WRITE_SEEDS");
    if (seeds) {
        write_seeds(seeds);
        fs_remove_all(dir, NULL);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *p = data;
    size_t n = size, h = take16(&p, &n);
    size_t cl = h & 0x3fff;
    if (cl > n) cl = n;
    clear_dir();
    put("config.json", p, cl);
    if (h & 0x4000) put("generation_config.json", p, cl);
    p += cl, n -= cl;
    if (h & 0x8000) {
        size_t il = take16(&p, &n);
        if (il > n) il = n;
        put("model.safetensors.index.json", p, il);
        p += il, n -= il;
        size_t al = take16(&p, &n);
        if (al > n) al = n;
        put("a.safetensors", p, al);
        put("b.safetensors", p + al, n - al);
    } else {
        put("model.safetensors", p, n);
    }
    exercise_safetensors();
    exercise_config();
    exercise_model();
    return 0;
}
