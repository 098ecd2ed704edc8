/* test_model_io.c - checkpoints: save/load round trips (f32 exact, bf16 and
 * f16 equal to the rounded weights), both heads, tied and untied; errors
 * naming the tensor and file for missing tensors and wrong shapes; optimizer
 * state restored exactly (the next step is bit-identical); and `score`-style
 * outputs unchanged by a save/load. */
#include <math.h>

#include "model/safetensors.h"
#include "tests/check.h"
#include "tests/model/model_test_util.h"

static const char *tmpdir(void) { return getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp"; }

static ModelConfig cfg_for(const char *arch, int tie, int labels, const char *dtype) {
    ModelConfig c;
    model_config_default(&c);
    snprintf(c.arch, sizeof c.arch, "%s", arch);
    c.vocab_size = 97, c.hidden_size = 32, c.intermediate_size = 48, c.num_layers = 2, c.num_heads = 4;
    c.num_kv_heads = 2, c.head_dim = 8, c.tie_embeddings = tie, c.num_labels = labels;
    c.qkv_bias = !strcmp(arch, "qwen2");
    snprintf(c.dtype, sizeof c.dtype, "%s", dtype);
    return c;
}

static float round_to(const char *dtype, float x) {
    if (!strcmp(dtype, "bfloat16")) return bf16_to_f32(f32_to_bf16(x));
    if (!strcmp(dtype, "float16")) return f16_to_f32(f32_to_f16(x));
    return x;
}

/* Every tensor of b equals a's rounded to dtype. */
static int same_weights(const Model *a, const Model *b, const char *dtype) {
    int ok = model_tensor_count(a) == model_tensor_count(b);
    for (int i = 0; ok && i < model_tensor_count(a); i++) {
        int nd;
        int64_t sh[2];
        const char *name = model_tensor_info(a, i, &nd, sh);
        size_t n = (size_t)sh[0] * (nd == 2 ? sh[1] : 1);
        float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
        ok = !model_get_tensor(a, name, x, NULL) && !model_get_tensor(b, name, y, NULL);
        for (size_t e = 0; ok && e < n; e++) ok = round_to(dtype, x[e]) == y[e];
        if (!ok) fprintf(stderr, "tensor %s differs\n", name);
        free(x), free(y);
    }
    return ok;
}

static void forward_out(Model *m, float *out) {
    int32_t tokens[2 * 6] = {1, 5, 9, 3, 7, 2, 4, 4, 8, 0, 0, 0}, lengths[2] = {6, 3};
    ModelBatch b = {2, 6, tokens, lengths};
    CHECK(model_forward(m, &b, out, NULL, 0, NULL) == 0);
}

static void round_trip(const char *arch, int tie, int labels, const char *dtype) {
    ModelConfig c = cfg_for(arch, tie, labels, dtype);
    PureErr err = {0};
    Model *m = model_create(&c, 3, "cpu", &err);
    mt_randomize(m, 4, 0.2f);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/model_io_%s_%d_%d_%s", tmpdir(), arch, tie, labels, dtype);
    fs_remove_all(dir, NULL);
    CHECK(model_save(m, dir, &err) == 0);
    Model *l = model_load(dir, "cpu", &err);
    CHECK(l != NULL);
    if (!l) {
        fprintf(stderr, "%s\n", err.msg);
        model_free(m);
        return;
    }
    CHECK(!memcmp(model_config(m), model_config(l), sizeof(ModelConfig)));
    CHECK(same_weights(m, l, dtype));
    if (!strcmp(dtype, "float32")) {
        float o1[2 * 6 * 4], o2[2 * 6 * 4];
        forward_out(m, o1);
        forward_out(l, o2);
        CHECK(!memcmp(o1, o2, sizeof(float) * 12 * (labels ? labels : 1)));
    }
    /* the file carries HF names and no lm_head when tied */
    char *path = fs_join(dir, "model.safetensors");
    SafeTensors *st = safetensors_open(path, &err);
    CHECK(st != NULL);
    if (st) {
        CHECK(safetensors_find(st, "model.layers.1.mlp.down_proj.weight") != NULL);
        CHECK((safetensors_find(st, "lm_head.weight") != NULL) == (!tie && !labels));
        CHECK((safetensors_find(st, "score.weight") != NULL) == (labels > 0));
        CHECK((safetensors_find(st, "model.layers.0.self_attn.q_proj.bias") != NULL) == !strcmp(arch, "qwen2"));
        const StTensor *t = safetensors_find(st, "model.embed_tokens.weight");
        CHECK(t && t->dtype == (!strcmp(dtype, "bfloat16") ? ST_BF16 : !strcmp(dtype, "float16") ? ST_F16 : ST_F32));
        safetensors_close(st);
    }
    free(path);
    model_free(m), model_free(l);
}

/* Rewrites dir/model.safetensors without `drop`, or with `reshape` given a wrong shape. */
static void rewrite_without(const char *dir, const Model *m, const char *drop, const char *reshape) {
    int n = model_tensor_count(m), k = 0;
    StWrite *w = calloc(n, sizeof(StWrite));
    float **bufs = calloc(n, sizeof(float *));
    for (int i = 0; i < n; i++) {
        int nd;
        int64_t sh[2];
        const char *name = model_tensor_info(m, i, &nd, sh);
        if (drop && !strcmp(name, drop)) continue;
        size_t cnt = (size_t)sh[0] * (nd == 2 ? sh[1] : 1);
        bufs[i] = malloc(cnt * sizeof(float));
        model_get_tensor(m, name, bufs[i], NULL);
        w[k] = (StWrite){.name = name, .dtype = ST_F32, .ndim = nd, .shape = {sh[0], sh[1]}, .data = bufs[i]};
        if (reshape && !strcmp(name, reshape)) w[k].shape[0] = sh[0] / 2, w[k].shape[1] = sh[1] * 2;
        k++;
    }
    char *path = fs_join(dir, "model.safetensors");
    CHECK(safetensors_write(path, w, k, NULL, NULL) == 0);
    free(path);
    for (int i = 0; i < n; i++) free(bufs[i]);
    free(bufs), free(w);
}

static void bad_files(void) {
    ModelConfig c = cfg_for("qwen2", 0, 0, "float32");
    Model *m = model_create(&c, 3, "cpu", NULL);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/model_io_bad", tmpdir());
    fs_remove_all(dir, NULL);
    CHECK(model_save(m, dir, NULL) == 0);
    PureErr err = {0};
    rewrite_without(dir, m, "model.layers.1.self_attn.k_proj.bias", NULL);
    CHECK(model_load(dir, "cpu", &err) == NULL);
    CHECK(strstr(err.msg, "model.layers.1.self_attn.k_proj.bias") != NULL);
    CHECK(strstr(err.msg, "holds") == NULL); /* one tensor missing, not the layer: no layer-count message */
    rewrite_without(dir, m, "lm_head.weight", NULL);
    CHECK(model_load(dir, "cpu", &err) == NULL && strstr(err.msg, "lm_head.weight"));
    rewrite_without(dir, m, NULL, "model.layers.0.mlp.up_proj.weight");
    CHECK(model_load(dir, "cpu", &err) == NULL && strstr(err.msg, "model.layers.0.mlp.up_proj.weight"));
    /* truncated file */
    char *path = fs_join(dir, "model.safetensors");
    size_t len;
    char *bytes = fs_read_file(path, &len, NULL);
    CHECK(bytes && fs_write_atomic(path, bytes, len / 2, NULL) == 0);
    free(bytes);
    CHECK(model_load(dir, "cpu", &err) == NULL && strstr(err.msg, "model.safetensors"));
    free(path);
    /* no config.json */
    char *cp = fs_join(dir, "config.json");
    remove(cp);
    free(cp);
    CHECK(model_load(dir, "cpu", &err) == NULL && strstr(err.msg, "config.json"));
    model_free(m);
}

/* A classification checkpoint without score.bias (the table marks it
 * optional) loads with a zero bias and every other tensor as saved; without
 * score.weight it is refused, naming the tensor. */
static void optional_score_bias(void) {
    ModelConfig c = cfg_for("qwen2", 1, 3, "float32");
    Model *m = model_create(&c, 3, "cpu", NULL);
    mt_randomize(m, 6, 0.2f); /* score.bias becomes non-zero */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/model_io_nobias", tmpdir());
    fs_remove_all(dir, NULL);
    CHECK(model_save(m, dir, NULL) == 0);
    rewrite_without(dir, m, "score.bias", NULL);
    PureErr err = {0};
    Model *l = model_load(dir, "cpu", &err);
    CHECK(l != NULL);
    if (l) {
        float b[3] = {1, 1, 1}, want[3];
        CHECK(model_get_tensor(m, "score.bias", want, NULL) == 0 && (want[0] != 0 || want[1] != 0));
        CHECK(model_get_tensor(l, "score.bias", b, NULL) == 0 && b[0] == 0 && b[1] == 0 && b[2] == 0);
        CHECK(model_set_tensor(l, "score.bias", want, NULL) == 0);
        CHECK(same_weights(m, l, "float32"));
        model_free(l);
    }
    rewrite_without(dir, m, "score.weight", NULL);
    CHECK(model_load(dir, "cpu", &err) == NULL && strstr(err.msg, "score.weight"));
    model_free(m);
}

/* Optimizer state: save after two steps, restore into a copy, the third step matches bit for bit. */
static void optimizer_state(void) {
    ModelConfig c = cfg_for("qwen2", 1, 0, "float32");
    Model *a = model_create(&c, 3, "cpu", NULL), *b = model_create(&c, 99, "cpu", NULL);
    AdamWConfig ac;
    adamw_config_default(&ac);
    ac.lr = 1e-3, ac.weight_decay = 0.01;
    snprintf(ac.schedule, sizeof ac.schedule, "cosine");
    ac.warmup_steps = 1, ac.total_steps = 10;
    float out[12], dout[12];
    for (int i = 0; i < 12; i++) dout[i] = rng_normal(5, 0, i);
    int32_t tokens[2 * 6] = {1, 5, 9, 3, 7, 2, 4, 4, 8, 0, 0, 0}, lengths[2] = {6, 3};
    ModelBatch mb = {2, 6, tokens, lengths};
    PureErr err = {0};
    for (int s = 0; s < 2; s++) {
        model_zero_grad(a);
        CHECK(model_forward(a, &mb, out, NULL, 1, &err) == 0 && model_backward(a, &mb, dout, &err) == 0);
        CHECK(model_adamw_step(a, &ac, NULL, NULL, &err) == 0);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/model_io_opt.safetensors", tmpdir());
    CHECK(model_optimizer_save(a, path, &err) == 0);
    CHECK(model_copy_weights(b, a, &err) == 0);
    CHECK(model_optimizer_load(b, path, &err) == 0);
    CHECK(model_optimizer_step_count(b) == 2);
    for (Model *m = a; m; m = m == a ? b : NULL) {
        model_zero_grad(m);
        CHECK(model_forward(m, &mb, out, NULL, 1, &err) == 0 && model_backward(m, &mb, dout, &err) == 0);
        CHECK(model_adamw_step(m, &ac, NULL, NULL, &err) == 0);
    }
    CHECK(same_weights(a, b, "float32"));
    /* a state file for another shape is refused, naming the tensor */
    ModelConfig c2 = cfg_for("qwen2", 1, 0, "float32");
    c2.intermediate_size = 64;
    Model *o = model_create(&c2, 3, "cpu", NULL);
    CHECK(model_optimizer_load(o, path, &err) == -1 && strstr(err.msg, "mlp"));
    model_free(a), model_free(b), model_free(o);
}

int main(void) {
    model_set_threads(2);
    round_trip("qwen2", 1, 0, "float32");
    round_trip("qwen2", 0, 0, "bfloat16");
    round_trip("llama", 0, 0, "float16");
    round_trip("qwen2", 1, 3, "float32");
    round_trip("llama", 0, 2, "bfloat16");
    bad_files();
    optional_score_bias();
    optimizer_state();
    return check_report("test_model_io");
}
