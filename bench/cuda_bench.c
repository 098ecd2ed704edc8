/* cuda_bench.c - speed of the engine on the GPU (device: cuda): training step
 * tokens/s (forward, backward, AdamW) and batched greedy decoding tokens/s with
 * the KV cache, plus the FLOP/s and the bytes/s they imply, for
 * bench/cuda_bench.sh to set against PyTorch on the same GPU
 * (bench/cuda_bench_torch.py) and the GPU's peaks.
 *
 *   cuda_bench --size toy|0.5b --what train|decode [--device cuda|cpu] [--precision fp32|bf16]
 *              [--batch B] [--seq T] [--prompts P] [--prompt-len L] [--new N] [--iters K]
 * Prints one line "key=value ..." per measurement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/model.h"
#include "util/rng.h"
#include "bench/bench_shapes.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int arg_int(int argc, char **argv, const char *name, int def) {
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return atoi(argv[i + 1]);
    return def;
}
static const char *arg_str(int argc, char **argv, const char *name, const char *def) {
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return def;
}

static int bench_train(Model *m, const ModelConfig *c, const char *size, int B, int T, int iters) {
    PureErr err;
    err_clear(&err);
    int32_t *tok = malloc(sizeof(int32_t) * B * T), *len = malloc(sizeof(int32_t) * B);
    float *out = malloc(sizeof(float) * B * T), *dout = malloc(sizeof(float) * B * T);
    for (int i = 0; i < B * T; i++) tok[i] = (int32_t)(rng_uniform(1, 0, i) * c->vocab_size);
    for (int b = 0; b < B; b++) len[b] = T;
    for (int i = 0; i < B * T; i++) dout[i] = (i % T == T - 1) ? 0 : -1.0f / (B * (T - 1)); /* mean NLL */
    ModelBatch batch = {B, T, tok, len};
    AdamWConfig ac;
    adamw_config_default(&ac);
    double best = 1e30, gn, lr;
    for (int it = 0; it <= iters; it++) {
        double t0 = now();
        model_zero_grad(m);
        if (model_forward(m, &batch, out, NULL, 1, &err) || model_backward(m, &batch, dout, &err) ||
            model_adamw_step(m, &ac, &gn, &lr, &err)) {
            fprintf(stderr, "cuda_bench: %s\n", err.msg);
            return 1;
        }
        double d = now() - t0; /* the step ends with a host read of the gradient norm */
        if (it > 0 && d < best) best = d;
    }
    double tps = B * T / best, flops = 3 * bench_flops_per_token(c, T / 2.0) * tps;
    printf("what=train size=%s batch=%d seq=%d tokens_per_s=%.1f step_s=%.4f flops_per_s=%.4g params=%lld\n", size, B,
           T, tps, best, flops, (long long)model_num_params(m));
    free(tok), free(len), free(out), free(dout);
    return 0;
}

static int bench_decode(Model *m, const ModelConfig *c, const char *size, int P, int L, int N, int iters) {
    PureErr err;
    err_clear(&err);
    int32_t *buf = malloc(sizeof(int32_t) * P * L);
    const int32_t **prompts = malloc(sizeof(int32_t *) * P);
    int *plen = malloc(sizeof(int) * P);
    uint64_t *streams = malloc(sizeof(uint64_t) * P);
    for (int i = 0; i < P * L; i++) buf[i] = (int32_t)(rng_uniform(2, 0, i) * c->vocab_size);
    for (int p = 0; p < P; p++) prompts[p] = buf + p * L, plen[p] = L, streams[p] = p;
    SampleResult *res = calloc(P, sizeof(SampleResult));
    double best[2] = {1e30, 1e30}; /* [0]: prefill + 1 token, [1]: prefill + N tokens */
    for (int it = 0; it <= iters; it++)
        for (int k = 0; k < 2; k++) {
            SampleConfig sc = {.max_new_tokens = k ? N : 1, .temperature = 0, .top_p = 1, .seed = 1};
            double t0 = now();
            if (model_generate(m, NULL, P, prompts, plen, streams, &sc, res, &err)) {
                fprintf(stderr, "cuda_bench: %s\n", err.msg);
                return 1;
            }
            double d = now() - t0;
            for (int p = 0; p < P; p++) sample_result_free(&res[p]);
            if (it > 0 && d < best[k]) best[k] = d;
        }
    double dec = (best[1] - best[0]) / (N - 1); /* seconds per decode step of the whole batch */
    double ctx = L + N / 2.0, tps = P / dec;
    /* bytes read per step: every weight once (4 bytes, or 2 with bf16 copies), plus the KV cache (fp32) of every
       sequence */
    double wbytes = model_precision(m) == MODEL_BF16 ? 2.0 : 4.0;
    double bytes = wbytes * model_num_params(m) + 2.0 * 4 * c->num_layers * c->num_kv_heads * c->head_dim * ctx * P;
    printf("what=decode size=%s prompts=%d prompt_len=%d new=%d tokens_per_s=%.1f step_s=%.5f prefill_s=%.4f "
           "flops_per_s=%.4g bytes_per_s=%.4g\n",
           size, P, L, N, tps, dec, best[0], bench_flops_per_token(c, ctx) * tps, bytes / dec);
    free(buf), free(prompts), free(plen), free(streams), free(res);
    return 0;
}

int main(int argc, char **argv) {
    const char *size = arg_str(argc, argv, "--size", "toy"), *what = arg_str(argc, argv, "--what", "train");
    const char *device = arg_str(argc, argv, "--device", "cuda");
    ModelConfig c;
    bench_config_for(size, &c);
    PureErr err;
    err_clear(&err);
    Model *m = model_create(&c, 1234, device, &err);
    if (!m) {
        fprintf(stderr, "cuda_bench: %s\n", err.msg);
        return 1;
    }
    const char *prec = arg_str(argc, argv, "--precision", "fp32");
    if (strcmp(prec, "fp32") && strcmp(prec, "bf16")) {
        fprintf(stderr, "cuda_bench: --precision '%s' is not fp32 or bf16\n", prec);
        return 2;
    }
    if (!strcmp(prec, "bf16") && model_set_precision(m, MODEL_BF16, &err)) {
        fprintf(stderr, "cuda_bench: %s\n", err.msg);
        return 1;
    }
    int iters = arg_int(argc, argv, "--iters", 3), rc;
    if (!strcmp(what, "train"))
        rc = bench_train(m, &c, size, arg_int(argc, argv, "--batch", 8), arg_int(argc, argv, "--seq", 512), iters);
    else
        rc = bench_decode(m, &c, size, arg_int(argc, argv, "--prompts", 64), arg_int(argc, argv, "--prompt-len", 64),
                          arg_int(argc, argv, "--new", 128), iters);
    model_free(m);
    return rc;
}
