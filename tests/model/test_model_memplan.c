/* test_model_memplan.c - activation recomputation and the memory plan.
 *
 *  - recompute: a forward + backward with model_set_recompute(1) gives the
 *    same outputs and bit-identical gradients as keeping every activation;
 *  - the plan (model_memory_plan) against the measured peak resident memory
 *    of the same work on the CPU, each case in a child process: the peak
 *    (VmHWM) minus the resident size before the model existed must be within
 *    10% of the plan's total. Skipped (the RSS part only) under
 *    AddressSanitizer, whose shadow memory and quarantine change the RSS;
 *  - with a GPU, the same cases against the CUDA arena's peak. Built over the
 *    CPU emulator of CUDA (test_cuda_emu_memplan) that part runs without one:
 *    which buffers the backend allocates, and when, is host code, the same
 *    there as on a GPU (cuBLAS's own workspace is outside the arena).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"
#include "model/model.h"
#ifdef PURE_HAVE_CUDA
#include "model/cuda/cuda.h"
#endif
#include "util/fs.h"
#include "util/rng.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static ModelConfig small_config(int C, int L, int NH, int NKV, int F, int V, int maxpos) {
    ModelConfig c;
    model_config_default(&c);
    c.hidden_size = C, c.num_layers = L, c.num_heads = NH, c.num_kv_heads = NKV, c.head_dim = C / NH;
    c.intermediate_size = F, c.vocab_size = V, c.max_position = maxpos;
    return c;
}

static void fill_batch(int32_t *tok, int32_t *len, int B, int T, int V, uint64_t seed) {
    for (int b = 0; b < B; b++) {
        len[b] = T - (b * 3) % (T / 2);
        for (int t = 0; t < T; t++) tok[b * T + t] = (int32_t)(rng_uniform(seed, (uint64_t)b, (uint64_t)t) * (float)V) % V;
    }
}

/* Forward + backward of a loss with weights dlp on every output; returns the gradient block (all tensors). */
static float *grads_of(Model *m, const ModelBatch *b, float *out, size_t *n_out) {
    PureErr err;
    err_clear(&err);
    int w = model_config(m)->num_labels > 0 ? model_config(m)->num_labels : 1;
    size_t no = (size_t)b->B * b->T * w;
    CHECK(model_forward(m, b, out, NULL, 1, &err) == 0);
    float *dout = malloc(sizeof(float) * no);
    for (size_t i = 0; i < no; i++) dout[i] = (float)((i % 7) - 3) * 0.25f;
    model_zero_grad(m);
    CHECK(model_backward(m, b, dout, &err) == 0);
    free(dout);
    size_t total = (size_t)model_num_params(m), at = 0;
    float *g = malloc(sizeof(float) * total);
    for (int i = 0; i < model_tensor_count(m); i++) {
        int nd;
        int64_t sh[2];
        const char *name = model_tensor_info(m, i, &nd, sh);
        CHECK(model_get_grad(m, name, g + at, &err) == 0);
        at += (size_t)sh[0] * (nd == 2 ? (size_t)sh[1] : 1);
    }
    *n_out = no;
    return g;
}

static void test_recompute(int num_labels) {
    ModelConfig c = small_config(32, 3, 4, 2, 48, 61, 64);
    c.num_labels = num_labels;
    PureErr err;
    err_clear(&err);
    Model *m = model_create(&c, 11, "cpu", &err);
    CHECK(m != NULL);
    if (!m) return;
    enum { B = 3, T = 17 };
    int32_t tok[B * T], len[B];
    fill_batch(tok, len, B, T, c.vocab_size, 5);
    ModelBatch b = {B, T, tok, len};
    int w = num_labels > 0 ? num_labels : 1;
    float *o1 = malloc(sizeof(float) * B * T * w), *o2 = malloc(sizeof(float) * B * T * w);
    size_t no;
    float *g1 = grads_of(m, &b, o1, &no);
    model_set_recompute(m, 1);
    float *g2 = grads_of(m, &b, o2, &no);
    size_t np = (size_t)model_num_params(m), diff = 0;
    for (size_t i = 0; i < np; i++) diff += memcmp(&g1[i], &g2[i], sizeof(float)) != 0;
    if (diff) fprintf(stderr, "recompute (labels %d): %zu of %zu gradients differ\n", num_labels, diff, np);
    CHECK(diff == 0);
    CHECK(memcmp(o1, o2, sizeof(float) * no) == 0);
    double gsum = 0;
    for (size_t i = 0; i < np; i++) gsum += g1[i] * g1[i];
    CHECK(gsum > 0); /* the comparison is of real gradients */
    /* the activation block shrinks as the plan says */
    size_t N = 0;
    for (int r = 0; r < B; r++) N += (size_t)len[r];
    ModelUse keep = {.train = 1, .fwd_rows = 1, .fwd_len = (int)N, .host = 1}, rec = keep;
    rec.recompute = 1;
    ModelMem mk, mr;
    model_memory_plan(&c, &keep, &mk);
    model_memory_plan(&c, &rec, &mr);
    CHECK(mr.activations < mk.activations);
    free(o1), free(o2), free(g1), free(g2);
    model_free(m);
}

/* model_set_backward_from(k): the gradients of layers >= k, the final norm and the head are bit-identical to a full
 * backward's; the layers below and the embedding get none (recompute on and off). */
static void test_backward_from(int recompute) {
    ModelConfig c = small_config(32, 3, 4, 2, 48, 61, 64);
    c.num_labels = 2;
    PureErr err;
    err_clear(&err);
    Model *m = model_create(&c, 13, "cpu", &err);
    CHECK(m != NULL);
    if (!m) return;
    model_set_recompute(m, recompute);
    enum { B = 2, T = 15 };
    int32_t tok[B * T], len[B];
    fill_batch(tok, len, B, T, c.vocab_size, 7);
    ModelBatch b = {B, T, tok, len};
    float *o1 = malloc(sizeof(float) * B * T * 2), *o2 = malloc(sizeof(float) * B * T * 2);
    size_t no, at = 0, same = 0, zero = 0, lower = 0, upper = 0;
    float *full = grads_of(m, &b, o1, &no);
    model_set_backward_from(m, 2);
    float *part = grads_of(m, &b, o2, &no);
    double below_sum = 0; /* the full backward does reach the layers that were skipped */
    for (int i = 0; i < model_tensor_count(m); i++) {
        int nd, layer = -1;
        int64_t sh[2];
        const char *name = model_tensor_info(m, i, &nd, sh);
        size_t k = (size_t)sh[0] * (nd == 2 ? (size_t)sh[1] : 1);
        int below = !strncmp(name, "model.embed_tokens", 18) ||
                    (sscanf(name, "model.layers.%d.", &layer) == 1 && layer < 2);
        for (size_t j = at; j < at + k; j++) {
            if (below) lower++, zero += part[j] == 0.0f;
            else upper++, same += memcmp(&full[j], &part[j], sizeof(float)) == 0;
            if (layer == 0) below_sum += (double)full[j] * full[j];
        }
        at += k;
    }
    if (zero != lower || same != upper)
        fprintf(stderr, "backward_from (recompute %d): %zu/%zu frozen zero, %zu/%zu trained equal\n", recompute, zero,
                lower, same, upper);
    CHECK(lower > 0 && upper > 0 && zero == lower && same == upper);
    CHECK(below_sum > 0);
    CHECK(memcmp(o1, o2, sizeof(float) * no) == 0);
    free(o1), free(o2), free(full), free(part);
    model_free(m);
}

/* ---- the plan against the measured peak ---- */

static double status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    double v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') v = atof(line + kl + 1);
    fclose(f);
    return v;
}

typedef struct RssCase {
    const char *name;
    ModelConfig cfg;
    ModelUse use;
    int B, T;          /* training / scoring batch */
    int steps;         /* optimizer steps (train) */
    int load;          /* 1: load the checkpoint the parent saved (bf16 file) instead of creating the model */
} RssCase;

static char g_dir[256]; /* the checkpoint of load cases */
static const char *g_device = "cpu"; /* "cuda": the GPU check (the arena's peak instead of the RSS) */

/* Runs the case in this (child) process; returns the measured peak bytes above the starting RSS. */
static double run_case(const RssCase *k) {
    PureErr err;
    err_clear(&err);
    model_set_threads(2);
    double base = status_kb("VmRSS") * 1024;
    Model *m = k->load ? model_load_opts(g_dir, g_device, k->use.precision, k->use.train, &err)
                       : model_create(&k->cfg, 3, g_device, &err);
    if (!m) return -1;
    if (!k->load && k->use.precision == MODEL_BF16 && model_set_precision(m, MODEL_BF16, &err)) return -1;
    model_set_recompute(m, k->use.recompute);
    if (k->use.gen_seqs > 0) {
        int ns = k->use.gen_seqs, pl = k->use.gen_prompt;
        int32_t **pr = malloc(sizeof(int32_t *) * ns);
        int *pls = malloc(sizeof(int) * ns);
        uint64_t *st = malloc(sizeof(uint64_t) * ns);
        for (int i = 0; i < ns; i++) {
            pr[i] = malloc(sizeof(int32_t) * pl);
            for (int t = 0; t < pl; t++) pr[i][t] = (int32_t)((i * 131 + t * 7) % k->cfg.vocab_size);
            pls[i] = pl, st[i] = (uint64_t)i;
        }
        SampleConfig sc = {.max_new_tokens = k->use.gen_new, .temperature = 1.0f, .top_p = 1.0f, .seed = 1};
        SampleResult *res = calloc((size_t)ns, sizeof *res);
        if (model_generate(m, NULL, ns, (const int32_t *const *)pr, pls, st, &sc, res, &err)) return -1;
        for (int i = 0; i < ns; i++) sample_result_free(&res[i]), free(pr[i]);
        free(res), free(pr), free(pls), free(st);
    }
    if (k->B > 0) {
        int32_t *tok = malloc(sizeof(int32_t) * k->B * k->T), *len = malloc(sizeof(int32_t) * k->B);
        for (int b = 0; b < k->B; b++) {
            len[b] = k->T;
            for (int t = 0; t < k->T; t++) tok[b * k->T + t] = (b * 17 + t * 5) % k->cfg.vocab_size;
        }
        ModelBatch b = {k->B, k->T, tok, len};
        int w = k->cfg.num_labels > 0 ? k->cfg.num_labels : 1;
        float *out = malloc(sizeof(float) * k->B * k->T * w), *dout = calloc((size_t)k->B * k->T * w, sizeof(float));
        for (int i = 0; i < k->B * k->T * w; i++) dout[i] = 1e-3f;
        AdamWConfig ac;
        adamw_config_default(&ac);
        for (int s = 0; s < (k->use.train ? k->steps : 1); s++) {
            if (model_forward(m, &b, out, NULL, k->use.train, &err)) return -1;
            if (k->use.train) {
                if (model_backward(m, &b, dout, &err) || model_adamw_step(m, &ac, NULL, NULL, &err)) return -1;
                model_zero_grad(m);
            }
        }
        free(tok), free(len), free(out), free(dout);
    }
    double peak = status_kb("VmHWM") * 1024;
#ifdef PURE_HAVE_CUDA
    if (!strcmp(g_device, "cuda")) { /* device memory: the arena's peak of bytes in use */
        size_t in_use, cached, dpeak;
        cuda_mem_stats(&in_use, &cached, &dpeak);
        fprintf(stderr, "arena: peak in use %.1f MiB, peak held %.1f MiB\n", cuda_mem_peak_in_use() / 1048576.0,
                dpeak / 1048576.0);
        peak = (double)cuda_mem_peak_in_use(), base = 0;
    }
#endif
    model_free(m);
    return peak - base;
}

static RssCase *rss_cases(size_t *n);

static void test_rss(void) {
    if (UNDER_ASAN && !strcmp(g_device, "cpu")) {
        printf("memplan: RSS comparison skipped under AddressSanitizer\n");
        return;
    }
    size_t ncases;
    RssCase *cases = rss_cases(&ncases);
    PureErr err;
    err_clear(&err);
    snprintf(g_dir, sizeof g_dir, "%s/pure_memplan_%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    for (size_t i = 0; i < ncases; i++) {
        RssCase *k = &cases[i];
        if (k->load) { /* the checkpoint, in bf16 as Hugging Face ships them */
            Model *m = model_create(&k->cfg, 3, "cpu", &err);
            snprintf(((ModelConfig *)model_config(m))->dtype, 16, "bfloat16");
            CHECK(m && model_save(m, g_dir, &err) == 0);
            model_free(m);
            char f[300];
            snprintf(f, sizeof f, "%s/model.safetensors", g_dir);
            FILE *fp = fopen(f, "rb");
            CHECK(fp != NULL);
            if (fp) fseek(fp, 0, SEEK_END), k->use.file_bytes = (double)ftell(fp), fclose(fp);
            snprintf(k->cfg.dtype, sizeof k->cfg.dtype, "bfloat16");
        }
        ModelMem plan;
        if (!strcmp(g_device, "cuda")) k->use.host = 0, k->use.file_bytes = 0;
        model_memory_plan(&k->cfg, &k->use, &plan);
        /* a fresh process (not fork: the CPU pool's threads do not survive it) */
        char cmd[600];
        snprintf(cmd, sizeof cmd, "/proc/%d/exe --case %zu %s %s", (int)getpid(), i, g_dir, g_device);
        FILE *pf = popen(cmd, "r");
        double got = -1;
        CHECK(pf && fscanf(pf, "%lf", &got) == 1);
        int st = pf ? pclose(pf) : -1;
        CHECK(st == 0 && got > 0);
        double ratio = got / plan.total;
        printf("memplan %s: %-22s plan %8.1f MiB (%s), measured peak %8.1f MiB, measured/plan %.3f\n", g_device, k->name,
               plan.total / 1048576, plan.phase, got / 1048576, ratio);
        CHECK(ratio > 0.90 && ratio < 1.10);
    }
    fs_remove_all(g_dir, NULL);
}

static RssCase *rss_cases(size_t *n) {
    static RssCase cases[6];
    RssCase all[] = {
        /* training (f32): parameters, gradients, AdamW moments and the kept activations of 2 x 96 tokens */
        {"train f32", small_config(512, 6, 8, 4, 1408, 32000, 512), {.train = 1, .fwd_rows = 2, .fwd_len = 96, .host = 1},
         2, 96, 1},
        /* training with recompute, longer rows: activations matter */
        {"train f32 recompute", small_config(256, 4, 4, 2, 704, 8000, 2048),
         {.train = 1, .recompute = 1, .fwd_rows = 2, .fwd_len = 1024, .host = 1}, 2, 1024, 1},
        /* generation: a KV cache the prompts fill, the prefill's activations */
        {"generate f32", small_config(256, 2, 4, 4, 512, 8000, 1024),
         {.gen_seqs = 16, .gen_prompt = 500, .gen_new = 3, .host = 1}, 0, 0, 0},
        /* bf16 training: f32 master, bf16 copies, f32 gradients and moments */
        {"train bf16", small_config(512, 6, 8, 4, 1408, 32000, 512),
         {.precision = MODEL_BF16, .train = 1, .fwd_rows = 2, .fwd_len = 96, .host = 1}, 2, 96, 1},
        /* bf16 inference from a bf16 file: no f32 matrices at any point (the mapped file counts while loading) */
        {"score bf16 (load)", small_config(512, 8, 8, 4, 1408, 32000, 512),
         {.precision = MODEL_BF16, .fwd_rows = 4, .fwd_len = 128, .host = 1}, 4, 128, 0, 1},
        /* bf16 generation as rollout loads its policy (a bf16 file, no f32 matrices): the KV cache in bf16 */
        {"generate bf16 (load)", small_config(256, 2, 4, 4, 512, 8000, 1024),
         {.precision = MODEL_BF16, .gen_seqs = 16, .gen_prompt = 500, .gen_new = 3, .host = 1}, 0, 0, 0, 1},
    };
    memcpy(cases, all, sizeof all);
    *n = sizeof all / sizeof all[0];
    return cases;
}

int main(int argc, char **argv) {
    if (argc == 5 && !strcmp(argv[1], "--case")) { /* one measurement, in its own process */
        snprintf(g_dir, sizeof g_dir, "%s", argv[3]);
        g_device = argv[4];
        size_t n;
        RssCase *cases = rss_cases(&n);
        size_t i = (size_t)atoi(argv[2]);
        if (i >= n) return 2;
        double got = run_case(&cases[i]);
        printf("%.0f\n", got);
        return got > 0 ? 0 : 1;
    }
#ifndef PURE_CUDA_EMU_TEST /* the emulated build (test_cuda_emu_memplan) runs the device comparison only */
    test_recompute(0);
    test_recompute(2);
    test_backward_from(0);
    test_backward_from(1);
    test_rss();
#else
    (void)test_recompute, (void)test_backward_from;
#endif
#ifdef PURE_HAVE_CUDA
    if (cuda_device_count() > 0) { /* the same cases on the GPU: the plan against the arena's peak */
        g_device = "cuda";
        test_rss();
    } else {
        printf("memplan: no CUDA device, the GPU comparison skipped\n");
    }
#endif
    return check_report("test_model_memplan");
}
