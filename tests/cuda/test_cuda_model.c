/* test_cuda_model.c - whole-model checks of the CUDA backend against the CPU
 * backend on tiny models (Qwen2 with GQA, biases and tied embeddings; Llama
 * untied; a token-classification head): forward log-probs and entropies,
 * every parameter gradient, one AdamW step, greedy generation token for
 * token and seeded sampling (plain and with top-k/top-p: the device sampler
 * against the host's), and the kernel-info line. Matmuls run in full fp32 (tight tolerances),
 * then once in the default bf16 mode (loose tolerances), then with precision
 * bf16 (bf16 weight copies on both backends, the same rounding rule: the two
 * differ only where an activation lands on the other side of a bf16 rounding
 * boundary, hence 5e-3; the emulator gives 9e-4). Through the emulator it
 * also counts the host<->device copies of generation and training.
 * Needs a GPU: exits 77 (skipped) when none is present. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/cuda/cuda.h"
#include "model/model.h"
#include "model/model_internal.h"
#include "tests/check.h"
#include "util/rng.h"

enum { B = 3, T = 20 };
static const int32_t lens[B] = {20, 7, 13};

static double rel_diff(const float *a, const float *b, size_t n) {
    double md = 0, mr = 1e-3;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!isfinite(a[i])) d = INFINITY;
        md = d > md ? d : md;
        mr = fabs(b[i]) > mr ? fabs(b[i]) : mr;
    }
    return md / mr;
}

/* the gradient block in host memory (malloc'd) */
static float *host_grads(const Model *m) {
    float *h = malloc(sizeof(float) * m->n_params);
    m->be->download(h, m->grads, sizeof(float) * m->n_params);
    return h;
}

static void check_model(const char *name, ModelConfig c, double tol, int precision) {
    PureErr err;
    err_clear(&err);
    Model *mc = model_create(&c, 42, "cpu", &err), *mg = model_create(&c, 42, "cuda", &err);
    CHECK(mc && mg);
    if (!mc || !mg) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return;
    }
    CHECK(model_copy_weights(mg, mc, &err) == 0);
    if (precision == MODEL_BF16) {
        CHECK(model_set_precision(mc, MODEL_BF16, &err) == 0);
        CHECK(model_set_precision(mg, MODEL_BF16, &err) == 0);
    }
    /* the kernel-info line names the backend of the newest model */
    const char *info = model_kernel_info();
    CHECK(!strncmp(info, "cuda: ", 6));
    CHECK(strstr(info, cuda_matmul_mode() == CUDA_MATMUL_FP32 ? "fp32" : "bf16") != NULL);
    /* bf16 products bring the tensor-core attention (head size 16 here); fp32 keeps it f32 */
    CHECK(strstr(info, cuda_matmul_mode() == CUDA_MATMUL_FP32 ? "f32 CUDA-core attention" : "tensor-core attention"));
    int32_t tokens[B * T];
    for (int i = 0; i < B * T; i++) tokens[i] = (int32_t)(rng_uniform(3, 0, i) * c.vocab_size);
    ModelBatch b = {B, T, tokens, lens};
    int per = c.num_labels > 0 ? c.num_labels : 1;
    size_t no = (size_t)B * T * per;
    float *oc = calloc(no, sizeof(float)), *og = calloc(no, sizeof(float));
    float ec[B * T], eg[B * T];
    float *ent_c = c.num_labels ? NULL : ec, *ent_g = c.num_labels ? NULL : eg;
    CHECK(model_forward(mc, &b, oc, ent_c, 1, &err) == 0);
    CHECK(model_forward(mg, &b, og, ent_g, 1, &err) == 0);
    double d_out = rel_diff(og, oc, no), d_ent = c.num_labels ? 0 : rel_diff(eg, ec, B * T);
    printf("%s: forward out %.3g, entropy %.3g\n", name, d_out, d_ent);
    CHECK(d_out <= tol && d_ent <= tol);

    /* backward of a random linear loss; every gradient compared */
    float *dout = calloc(no, sizeof(float));
    for (int bi = 0; bi < B; bi++)
        for (int t = 0; t < lens[bi] - (c.num_labels ? 0 : 1); t++)
            for (int k = 0; k < per; k++) dout[((size_t)bi * T + t) * per + k] = 2 * rng_uniform(4, 0, bi * 1000 + t * 10 + k) - 1;
    model_zero_grad(mc), model_zero_grad(mg);
    CHECK(model_backward(mc, &b, dout, &err) == 0);
    CHECK(model_backward(mg, &b, dout, &err) == 0);
    float *gc = host_grads(mc), *gg = host_grads(mg);
    double worst = 0;
    for (int i = 0; i < mc->n_tensors; i++) {
        const ModelTensor *t = &mc->tensors[i];
        double d = rel_diff(gg + t->offset, gc + t->offset, t->numel);
        if (d > worst) worst = d;
        if (d > tol) fprintf(stderr, "%s: gradient of %s differs by %.3g\n", name, t->name, d);
        CHECK(d <= tol);
    }
    printf("%s: backward, worst gradient %.3g over %d tensors\n", name, worst, mc->n_tensors);
    free(gc), free(gg);

    /* one AdamW step, then the forward again */
    AdamWConfig ac;
    adamw_config_default(&ac);
    ac.lr = 1e-3, ac.grad_clip = 0.5;
    double nc, ng, lr1, lr2;
    CHECK(model_adamw_step(mc, &ac, &nc, &lr1, &err) == 0);
    CHECK(model_adamw_step(mg, &ac, &ng, &lr2, &err) == 0);
    CHECK_NEAR(ng, nc, tol);
    CHECK(model_forward(mc, &b, oc, NULL, 0, &err) == 0);
    CHECK(model_forward(mg, &b, og, NULL, 0, &err) == 0);
    double d_step = rel_diff(og, oc, no);
    printf("%s: grad norm %.6g vs %.6g, forward after a step %.3g\n", name, ng, nc, d_step);
    CHECK(d_step <= 2 * tol);
    free(oc), free(og), free(dout);

    /* generation (causal LM only): greedy token for token, then seeded sampling */
    if (!c.num_labels) {
        const int32_t p0[] = {1, 2, 3, 4, 5}, p1[] = {9}, p2[] = {7, 7, 8, 30, 31, 2, 2, 40};
        const int32_t *prompts[] = {p0, p1, p2};
        int plen[] = {5, 1, 8};
        uint64_t streams[] = {0, 1, 2};
        /* greedy, temperature, then temperature with top-k and top-p: the
         * device sampler (sample_rows) and the host's follow one rule */
        static const char *mode_name[3] = {"greedy", "sampled", "top-k/top-p"};
        for (int mode = 0; mode < 3; mode++) {
            SampleConfig sc = {.max_new_tokens = 12, .temperature = mode ? 0.8f : 0, .top_p = mode == 2 ? 0.85f : 1,
                               .top_k = mode == 2 ? 20 : 0, .seed = 11};
            SampleResult rc[3], rg[3];
            CHECK(model_generate(mc, NULL, 3, prompts, plen, streams, &sc, rc, &err) == 0);
            CHECK(model_generate(mg, NULL, 3, prompts, plen, streams, &sc, rg, &err) == 0);
            int same = 1;
            double lpd = 0;
            for (int i = 0; i < 3; i++) {
                same &= rc[i].n == rg[i].n && !memcmp(rc[i].tokens, rg[i].tokens, sizeof(int32_t) * rc[i].n);
                for (int k = 0; k < rc[i].n && k < rg[i].n; k++) lpd = fmax(lpd, fabs(rc[i].logprobs[k] - rg[i].logprobs[k]));
                sample_result_free(&rc[i]), sample_result_free(&rg[i]);
            }
            printf("%s: %s generation %s, logprob diff %.3g\n", name, mode_name[mode],
                   same ? "identical" : "DIFFERS", lpd);
            if (tol < 1e-3) { /* in bf16 a near-tie may flip a token of a random tiny model */
                CHECK(same);
                CHECK(lpd <= 10 * tol);
            }
        }
    }
    model_free(mc), model_free(mg);
}

#ifdef PURE_CUDA_EMU_TEST
size_t emu_copy_count(int kind); /* tests/cuda/emu: cudaMemcpy calls of one kind so far */
/* host-to-device and device-to-host copies: the ones that block the host
   (device-to-device copies are stream-ordered and return at once) */
static size_t copies(void) { return emu_copy_count(1) + emu_copy_count(2); }

/* Host<->device traffic of a run does not grow with depth: a pageable copy
 * drains the GPU, so one per layer would serialise launches with the GPU's
 * work. Generation of 12 tokens and a training forward + backward on models
 * of 1 and 3 layers make the same number of such copies, and a decode step
 * makes at most 5 (tokens up; the sampler's streams and counters up, its
 * tokens and log-probs down). */
static void check_transfers(ModelConfig c) {
    PureErr err;
    err_clear(&err);
    size_t gen[2], train[2];
    const int32_t p0[] = {1, 2, 3, 4, 5}, p1[] = {9}, p2[] = {7, 7, 8, 30, 31, 2, 2, 40};
    const int32_t *prompts[] = {p0, p1, p2};
    int plen[] = {5, 1, 8};
    uint64_t streams[] = {0, 1, 2};
    SampleConfig sc = {.max_new_tokens = 12, .temperature = 0.8f, .top_p = 1, .seed = 5};
    for (int k = 0; k < 2; k++) {
        c.num_layers = k ? 3 : 1;
        Model *m = model_create(&c, 42, "cuda", &err);
        CHECK(m != NULL);
        if (!m) return;
        SampleResult r[3];
        size_t at = copies();
        CHECK(model_generate(m, NULL, 3, prompts, plen, streams, &sc, r, &err) == 0);
        gen[k] = copies() - at;
        for (int i = 0; i < 3; i++) sample_result_free(&r[i]);
        int32_t tokens[B * T];
        for (int i = 0; i < B * T; i++) tokens[i] = i % c.vocab_size;
        ModelBatch b = {B, T, tokens, lens};
        float *out = calloc(B * T, sizeof(float)), *dout = calloc(B * T, sizeof(float));
        for (int i = 0; i < B * T; i++) dout[i] = (i % 7) * 0.1f - 0.3f;
        at = copies();
        CHECK(model_forward(m, &b, out, NULL, 1, &err) == 0);
        CHECK(model_backward(m, &b, dout, &err) == 0);
        train[k] = copies() - at;
        free(out), free(dout);
        model_free(m);
    }
    /* 11 decode steps after the prefill's token; the prefill: tokens up, the
       sequences' starts and lengths up once, the sampler's 4 */
    const size_t bound = 11 * 5 + 1 + 2 + 4;
    printf("transfers: generation %zu (1 layer) vs %zu (3 layers), at most %zu; forward+backward %zu vs %zu\n",
           gen[0], gen[1], bound, train[0], train[1]);
    CHECK(gen[0] == gen[1]);
    CHECK(gen[1] <= bound);
    CHECK(train[0] == train[1]);
}
#endif

int main(void) {
    if (cuda_device_count() <= 0) {
        printf("test_cuda_model: no CUDA device, skipped\n");
        return 77;
    }
    ModelConfig q;
    model_config_default(&q);
    q.vocab_size = 97, q.hidden_size = 64, q.intermediate_size = 96, q.num_layers = 2;
    q.num_heads = 4, q.num_kv_heads = 2, q.head_dim = 16, q.max_position = 128;
    q.qkv_bias = 1, q.tie_embeddings = 1;
    ModelConfig l = q;
    snprintf(l.arch, sizeof l.arch, "llama");
    l.qkv_bias = 0, l.tie_embeddings = 0, l.num_kv_heads = 4;
    ModelConfig cls = q;
    cls.num_labels = 3, cls.tie_embeddings = 0;
    cuda_set_matmul_mode(CUDA_MATMUL_FP32);
#ifdef PURE_CUDA_EMU_TEST
    check_transfers(q);
#endif
    check_model("qwen2 gqa tied (fp32)", q, 1e-4, MODEL_FP32);
    check_model("llama untied (fp32)", l, 1e-4, MODEL_FP32);
    check_model("token classification (fp32)", cls, 1e-4, MODEL_FP32);
    check_model("qwen2 gqa tied (precision bf16)", q, 5e-3, MODEL_BF16);
    check_model("token classification (precision bf16)", cls, 5e-3, MODEL_BF16);
    cuda_set_matmul_mode(CUDA_MATMUL_BF16);
    check_model("qwen2 gqa tied (bf16)", q, 5e-2, MODEL_FP32);
    /* what a bf16 training run on a GPU uses: bf16 weights, bf16 products, tensor-core attention */
    check_model("qwen2 gqa tied (precision bf16, bf16 products)", q, 5e-2, MODEL_BF16);
    check_model("llama untied (precision bf16, bf16 products)", l, 5e-2, MODEL_BF16);
    return check_report("test_cuda_model");
}
