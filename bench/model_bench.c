/* model_bench.c - speed of the engine: training step and batched decoding
 * tokens/s, achieved GFLOP/s, and the sgemm peak of this machine measured in
 * the same process. Run by bench/model_bench.sh next to the PyTorch version
 * (bench/model_bench_torch.py) with the same shapes and thread count.
 *
 *   model_bench --size toy|0.5b --what sgemm|train|decode [--threads N]
 *               [--batch B] [--seq T] [--prompts P] [--prompt-len L] [--new N] [--iters K] [--layers L]
 *               [--model DIR] [--precision fp32|bf16] [--bf16-kernel widen|avx512|amx]
 * --model loads a Hugging Face folder instead of random weights of --size (bench/llama_bench.sh gives pure and
 * llama.cpp the same weights this way); --precision bf16 loads it for bf16 inference (no f32 matrices), or
 * runs the random model with bf16 copies of its matrices; --bf16-kernel picks a lower bf16 product kernel than
 * the CPU's best (model/cpu/cpu_bf16.c), as PURE_BF16_KERNEL does for pure.
 * Prints one line "key=value ..." per measurement. Decode tokens_per_s counts only the tokens after the
 * first (prefill_s is the prefill and the first token; decode_s the rest).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cblas.h>

#include "model/model.h"
#include "util/rng.h"
#include "bench/bench_shapes.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double peak_rss_gib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1048576.0;
}

static double sgemm_gflops(int n, int reps) {
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *cc = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) a[i] = rng_uniform(1, 0, i), b[i] = rng_uniform(2, 0, i);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1, a, n, b, n, 0, cc, n);
    double t = now();
    for (int r = 0; r < reps; r++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1, a, n, b, n, 0, cc, n);
    t = now() - t;
    free(a), free(b), free(cc);
    return 2.0 * n * n * (double)n * reps / t / 1e9;
}

int main(int argc, char **argv) {
    model_runtime_init(argc, argv);
    const char *size = "toy", *what = "train", *dir = NULL, *prec = "fp32", *bk = NULL;
    int layers = 0, threads = 0, B = 16, T = 128, P = 16, PL = 32, NEW = 96, iters = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--size")) size = v;
        else if (!strcmp(k, "--what")) what = v;
        else if (!strcmp(k, "--threads")) threads = atoi(v);
        else if (!strcmp(k, "--batch")) B = atoi(v);
        else if (!strcmp(k, "--seq")) T = atoi(v);
        else if (!strcmp(k, "--prompts")) P = atoi(v);
        else if (!strcmp(k, "--prompt-len")) PL = atoi(v);
        else if (!strcmp(k, "--new")) NEW = atoi(v);
        else if (!strcmp(k, "--iters")) iters = atoi(v);
        else if (!strcmp(k, "--layers")) layers = atoi(v);
        else if (!strcmp(k, "--model")) dir = v;
        else if (!strcmp(k, "--precision")) prec = v;
        else if (!strcmp(k, "--bf16-kernel")) bk = v;
        else return fprintf(stderr, "unknown option %s\n", k), 2;
    }
    if (!strcmp(what, "decode") && NEW < 2) return fprintf(stderr, "--new must be >= 2 (decode excludes the first token)\n"), 2;
    model_set_threads(threads);
    PureErr kerr = {0};
    if (bk && model_set_bf16_kernel(bk, &kerr)) return fprintf(stderr, "--bf16-kernel: %s\n", kerr.msg), 2;
    fprintf(stderr, "kernels: %s\n", model_kernel_info());
    if (!strcmp(what, "sgemm")) {
        double g = sgemm_gflops(2048, 3);
        printf("what=sgemm n=2048 gflops=%.1f\n", g);
        return 0;
    }
    if (strcmp(prec, "fp32") && strcmp(prec, "bf16"))
        return fprintf(stderr, "--precision must be fp32 or bf16, got '%s'\n", prec), 2;
    ModelConfig cfg;
    bench_config_for(size, &cfg);
    if (layers > 0) cfg.num_layers = layers; /* for profiling a slice of a large shape */
    PureErr err = {0};
    double t0 = now();
    Model *m = dir ? model_load_opts(dir, "cpu", strcmp(prec, "bf16") ? MODEL_FP32 : MODEL_BF16, !strcmp(what, "train"), &err)
                   : model_create(&cfg, 1, "cpu", &err);
    if (!m) return fprintf(stderr, "%s\n", err.msg), 1;
    if (dir) cfg = *model_config(m), size = dir;
    else if (!strcmp(prec, "bf16") && model_set_precision(m, MODEL_BF16, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    double t_init = now() - t0;
    if (!strcmp(what, "train")) {
        int32_t *tok = malloc(sizeof(int32_t) * B * T), *len = malloc(sizeof(int32_t) * B);
        float *out = malloc(sizeof(float) * B * T), *dout = malloc(sizeof(float) * B * T);
        for (int i = 0; i < B * T; i++) tok[i] = (int32_t)(rng_uniform(3, 0, i) * cfg.vocab_size), dout[i] = -1.0f / (B * T);
        for (int b = 0; b < B; b++) len[b] = T;
        ModelBatch mb = {B, T, tok, len};
        AdamWConfig ac;
        adamw_config_default(&ac);
        double best = 1e30, fwd = 0, bwd = 0, opt = 0;
        for (int it = 0; it < iters + 1; it++) {
            double a = now();
            if (model_forward(m, &mb, out, NULL, 1, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
            double b2 = now();
            model_zero_grad(m);
            if (model_backward(m, &mb, dout, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
            double c2 = now();
            if (model_adamw_step(m, &ac, NULL, NULL, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
            double d = now();
            if (it > 0 && d - a < best) best = d - a, fwd = b2 - a, bwd = c2 - b2, opt = d - c2; /* first is warm-up */
        }
        double toks = (double)B * T, flops = 3 * toks * bench_flops_per_token(&cfg, T / 2.0);
        printf("what=train size=%s batch=%d seq=%d tokens_per_s=%.1f step_s=%.4f fwd_s=%.4f bwd_s=%.4f adamw_s=%.4f "
               "gflops=%.1f peak_rss_gib=%.2f init_s=%.1f\n",
               size, B, T, toks / best, best, fwd, bwd, opt, flops / best / 1e9, peak_rss_gib(), t_init);
        free(tok), free(len), free(out), free(dout);
    } else {
        int32_t **pr = malloc(sizeof(int32_t *) * P);
        int *pl = malloc(sizeof(int) * P);
        uint64_t *st = malloc(sizeof(uint64_t) * P);
        for (int i = 0; i < P; i++) {
            pr[i] = malloc(sizeof(int32_t) * PL), pl[i] = PL, st[i] = i;
            for (int t = 0; t < PL; t++) pr[i][t] = (int32_t)(rng_uniform(4, i, t) * cfg.vocab_size);
        }
        /* Decode tokens/s excludes the prefill: the best time to generate NEW tokens minus the best time to
         * generate 1 (the prefill and its first token), over the NEW - 1 tokens in between. No stop ids, so every
         * sequence runs to NEW. */
        double best[2] = {1e30, 1e30};
        long gen[2] = {0, 0};
        for (int pass = 0; pass < 2; pass++) {
            SampleConfig sc = {.max_new_tokens = pass ? NEW : 1, .temperature = 1.0f, .top_p = 1, .seed = 1};
            SampleResult *res = calloc(P, sizeof(SampleResult));
            for (int it = 0; it < iters + 1; it++) {
                double a = now();
                if (model_generate(m, NULL, P, (const int32_t *const *)pr, pl, st, &sc, res, &err))
                    return fprintf(stderr, "%s\n", err.msg), 1;
                double d = now() - a;
                gen[pass] = 0;
                for (int i = 0; i < P; i++) gen[pass] += res[i].n, sample_result_free(&res[i]);
                if (it > 0 && d < best[pass]) best[pass] = d; /* first is warm-up */
            }
            free(res);
        }
        double dec_s = best[1] - best[0];
        long dec = gen[1] - gen[0];
        double flops = (double)dec * bench_flops_per_token(&cfg, PL + NEW / 2.0);
        printf("what=decode size=%s prompts=%d prompt_len=%d new=%d tokens_per_s=%.1f decode_s=%.4f prefill_s=%.4f "
               "total_s=%.4f gflops=%.1f peak_rss_gib=%.2f\n",
               size, P, PL, NEW, dec / dec_s, dec_s, best[0], best[1], flops / dec_s / 1e9, peak_rss_gib());
        for (int i = 0; i < P; i++) free(pr[i]);
        free(pr), free(pl), free(st);
    }
    model_free(m);
    return 0;
}
