/* test_model_parity.c - the engine against an independent PyTorch
 * implementation (tests/model/torch_ref.py) on tiny random models covering
 * GQA, q/k/v biases, tied and untied embeddings and both heads: per-token
 * log-probs, entropies, classification logits, every parameter gradient,
 * two AdamW steps with clipping and a warmup schedule, and greedy generation
 * (token-identical). Also checks, in C, that KV-cache decoding matches a full
 * forward over the generated text. */
#include <math.h>

#include "tests/check.h"
#include "tests/model/model_test_util.h"

typedef struct Case {
    const char *name, *arch;
    int vocab, C, F, L, NH, NKV, tie, labels;
} Case;

static const Case cases[] = {
    {"qwen2_gqa_tied", "qwen2", 61, 32, 48, 2, 4, 2, 1, 0},
    {"llama_mha_untied", "llama", 53, 24, 40, 2, 3, 3, 0, 0},
    {"qwen2_mqa_untied", "qwen2", 45, 32, 64, 3, 4, 1, 0, 0},
    {"qwen2_classify", "qwen2", 50, 32, 48, 2, 4, 2, 1, 3},
    {"llama_classify", "llama", 40, 16, 32, 2, 2, 1, 0, 2},
    /* the head sizes with the attention's four-output paths (cpu_attention.c: 32, the toy's; 64, Qwen2-0.5B's) */
    {"qwen2_hd32_gqa", "qwen2", 61, 64, 96, 2, 2, 1, 0, 0},
    {"llama_hd64_mha", "llama", 47, 128, 64, 1, 2, 2, 0, 0},
};

enum { B = 3, T = 9, GEN = 6 };
static const int32_t lengths[B] = {9, 6, 2};

static void dump_config(const char *dir, const ModelConfig *c, const AdamWConfig *a) {
    char p[600];
    snprintf(p, sizeof p, "%s/config.txt", dir);
    FILE *f = fopen(p, "w");
    fprintf(f, "%s %d %d %d %d %d %d %d %.17g %.17g %d %d %d\n", c->arch, c->vocab_size, c->hidden_size,
            c->intermediate_size, c->num_layers, c->num_heads, c->num_kv_heads, c->head_dim, c->rope_theta, c->rms_eps,
            c->tie_embeddings, c->qkv_bias, c->num_labels);
    fprintf(f, "%.17g %.17g %.17g %.17g %.17g %.17g %d %d %.17g\n", a->lr, a->beta1, a->beta2, a->eps,
            a->weight_decay, a->grad_clip, a->warmup_steps, a->total_steps, a->min_lr_ratio);
    fclose(f);
}

static void dump_params(MtDump *d, Model *m, const char *prefix, int grads) {
    for (int i = 0; i < model_tensor_count(m); i++) {
        int nd;
        int64_t sh[2];
        const char *name = model_tensor_info(m, i, &nd, sh);
        float *buf = malloc(sizeof(float) * (size_t)sh[0] * (nd == 2 ? sh[1] : 1));
        if (grads) model_get_grad(m, name, buf, NULL);
        else model_get_tensor(m, name, buf, NULL);
        char full[200];
        snprintf(full, sizeof full, "%s%s", prefix, name);
        mt_dump(d, full, "f32", buf, nd, sh);
        free(buf);
    }
}

/* Greedy generation from each row's prompt; checks the sampled log-probs
 * against a full forward over prompt + generation (the KV cache is exact). */
static void check_generation(Model *m, const int32_t *tokens, MtDump *d) {
    const int32_t *prompts[B];
    int plens[B];
    uint64_t streams[B];
    for (int b = 0; b < B; b++) prompts[b] = tokens + b * T, plens[b] = lengths[b], streams[b] = b;
    SampleConfig sc = {.max_new_tokens = GEN, .temperature = 0, .top_p = 1, .seed = 1};
    SampleResult res[B];
    PureErr err = {0};
    CHECK(model_generate(m, NULL, B, prompts, plens, streams, &sc, res, &err) == 0);
    int32_t gen[B * GEN];
    enum { T2 = T + GEN };
    int32_t full[B * T2], flen[B];
    for (int b = 0; b < B; b++) {
        CHECK(res[b].n == GEN && res[b].finish == FINISH_LENGTH);
        memcpy(gen + b * GEN, res[b].tokens, sizeof(int32_t) * GEN);
        memset(full + b * T2, 0, sizeof(int32_t) * T2);
        memcpy(full + b * T2, prompts[b], sizeof(int32_t) * plens[b]);
        memcpy(full + b * T2 + plens[b], res[b].tokens, sizeof(int32_t) * GEN);
        flen[b] = plens[b] + GEN;
    }
    float out[B * T2];
    ModelBatch mb = {B, T2, full, flen};
    CHECK(model_forward(m, &mb, out, NULL, 0, &err) == 0);
    double worst = 0;
    for (int b = 0; b < B; b++)
        for (int j = 0; j < GEN; j++)
            worst = fmax(worst, fabs(out[b * T2 + plens[b] - 1 + j] - res[b].logprobs[j]));
    printf("  kv-cache decode vs full forward: max |dlogp| = %.3g\n", worst);
    CHECK(worst < 1e-4);
    int64_t sh[2] = {B, GEN};
    mt_dump(d, "gen", "i32", gen, 2, sh);
    for (int b = 0; b < B; b++) sample_result_free(&res[b]);
}

static char g_dirs[4096];

static int run_case(const Case *cs) {
    printf("case %s\n", cs->name);
    ModelConfig cfg;
    model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "%s", cs->arch);
    cfg.vocab_size = cs->vocab, cfg.hidden_size = cs->C, cfg.intermediate_size = cs->F, cfg.num_layers = cs->L;
    cfg.num_heads = cs->NH, cfg.num_kv_heads = cs->NKV, cfg.head_dim = cs->C / cs->NH;
    cfg.tie_embeddings = cs->tie, cfg.num_labels = cs->labels, cfg.qkv_bias = !strcmp(cs->arch, "qwen2");
    cfg.rope_theta = 1000.0, cfg.rms_eps = 1e-5;
    PureErr err = {0};
    Model *m = model_create(&cfg, 7, "cpu", &err);
    CHECK(m != NULL);
    if (!m) return 1;
    mt_randomize(m, 99, 0.3f);
    int W = cs->labels > 0 ? cs->labels : 1;
    int32_t tokens[B * T];
    float out[B * T * 4], ent[B * T], dout[B * T * 4];
    for (int i = 0; i < B * T; i++) tokens[i] = (int32_t)rng_next_below(&(Rng){5, (uint64_t)i, 0}, cs->vocab);
    for (int i = 0; i < B * T * W; i++) dout[i] = rng_normal(11, 0, i);
    ModelBatch mb = {B, T, tokens, lengths};
    CHECK(model_forward(m, &mb, out, cs->labels ? NULL : ent, 1, &err) == 0);
    model_zero_grad(m);
    CHECK(model_backward(m, &mb, dout, &err) == 0);

    char dir[512];
    snprintf(dir, sizeof dir, "%s/parity_%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", cs->name);
    snprintf(g_dirs + strlen(g_dirs), sizeof g_dirs - strlen(g_dirs), " %s", dir);
    MtDump d;
    CHECK(mt_dump_open(&d, dir) == 0);
    int64_t shBT[3] = {B, T, W}, shB[1] = {B};
    mt_dump(&d, "tokens", "i32", tokens, 2, shBT);
    mt_dump(&d, "lengths", "i32", lengths, 1, shB);
    mt_dump(&d, "dout", "f32", dout, cs->labels ? 3 : 2, shBT);
    mt_dump(&d, "out", "f32", out, cs->labels ? 3 : 2, shBT);
    if (!cs->labels) mt_dump(&d, "entropy", "f32", ent, 2, shBT);
    dump_params(&d, m, "param.", 0);
    dump_params(&d, m, "grad.", 1);
    if (!cs->labels) check_generation(m, tokens, &d);

    AdamWConfig ac;
    adamw_config_default(&ac);
    /* eps 1e-6: with 1e-8, elements whose gradient is at float32 noise level
     * (1e-9) get O(lr) updates that differ between f32 and f64 */
    ac.lr = 1e-2, ac.beta2 = 0.95, ac.eps = 1e-6, ac.weight_decay = 0.1, ac.grad_clip = 0.05;
    snprintf(ac.schedule, sizeof ac.schedule, "cosine");
    ac.warmup_steps = 2, ac.total_steps = 5, ac.min_lr_ratio = 0.1;
    double norm[2], lr[2];
    for (int s = 0; s < 2; s++) CHECK(model_adamw_step(m, &ac, &norm[s], &lr[s], &err) == 0);
    CHECK(model_optimizer_step_count(m) == 2);
    float meta[4] = {(float)norm[0], (float)norm[1], (float)lr[0], (float)lr[1]};
    int64_t sh4[1] = {4};
    mt_dump(&d, "adam_meta", "f32", meta, 1, sh4);
    dump_params(&d, m, "adam.", 0);
    mt_dump_close(&d);
    dump_config(dir, &cfg, &ac);
    model_free(m);
    return 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    model_set_threads(2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
    int rc = mt_run_reference("torch_ref.py", g_dirs);
    if (rc == 77) {
        printf("torch not available: skipped\n");
        return 77;
    }
    CHECK(rc == 0);
    return check_report("test_model_parity");
}
