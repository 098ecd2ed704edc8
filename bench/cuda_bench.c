/* cuda_bench.c - speed of the engine on the GPU (device: cuda): training step
 * tokens/s (forward, backward, AdamW), batched greedy decoding tokens/s with
 * the KV cache, plus the FLOP/s and the bytes/s they imply, and the attention
 * ops alone (forward + backward through the backend's op table), for
 * bench/cuda_bench.sh to set against PyTorch on the same GPU
 * (bench/cuda_bench_torch.py) and the GPU's peaks.
 *
 *   cuda_bench --size toy|0.5b|1.5b --what train|decode|attention [--device cuda|cpu] [--precision fp32|bf16]
 *              [--batch B] [--seq T] [--prompts P] [--prompt-len L] [--new N] [--iters K] [--layers L]
 *              [--heads NH] [--kv-heads NKV] [--head-dim HD]
 * --layers overrides the size's layer count (train, decode); --heads/--kv-heads/--head-dim the size's
 * attention shape (attention). --what attention defaults to --batch 4 --seq 4096; PURE_CUDA_ATTENTION
 * (auto|simt|mma) picks the CUDA kernels, as for pure (the line says which ran: attn_kernel=).
 * Prints one line "key=value ..." per measurement.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/backend.h"
#include "model/model.h"
#include "util/rng.h"
#include "bench/bench_shapes.h"
#ifdef PURE_HAVE_CUDA
#include "model/cuda/cuda.h" /* cuda_attention_uses_mma: which attention kernels run */
#endif

/* PURE_CUDA_PROFILE=1: the profile (model/cuda/profile.cu, printed at exit) covers the timed iterations only */
static void warmed_up(void) {
#ifdef PURE_HAVE_CUDA
    cuda_profile_reset();
#endif
}

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

/* The attention kernels a model on this device runs at head size hd: cpu, simt (f32 CUDA cores) or mma
 * (bf16 tensor cores). */
static const char *attn_kernel(const char *device, int hd) {
#ifdef PURE_HAVE_CUDA
    if (!strcmp(device, "cuda")) return cuda_attention_uses_mma(hd) ? "mma" : "simt";
#endif
    (void)hd;
    return device;
}

/* The device memory the backend's arena held at its peak (GiB; 0 off the GPU). */
static double peak_mem_gib(const char *device) {
#ifdef PURE_HAVE_CUDA
    if (!strcmp(device, "cuda")) {
        size_t in_use, cached, peak;
        cuda_mem_stats(&in_use, &cached, &peak);
        return peak / 1073741824.0;
    }
#endif
    (void)device;
    return 0;
}

static int bench_train(Model *m, const ModelConfig *c, const char *size, const char *device, int B, int T,
                       int iters) {
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
        if ((it > 0 || iters == 0) && d < best) best = d; /* the first is a warm-up */
        if (it == 0 && iters > 0) warmed_up();
    }
    double tps = B * T / best, flops = 3 * bench_flops_per_token(c, T / 2.0) * tps;
    printf("what=train size=%s batch=%d seq=%d layers=%d tokens_per_s=%.1f step_s=%.4f flops_per_s=%.4g params=%lld "
           "attn_kernel=%s peak_mem_gib=%.2f\n",
           size, B, T, c->num_layers, tps, best, flops, (long long)model_num_params(m),
           attn_kernel(device, c->head_dim), peak_mem_gib(device));
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
            if ((it > 0 || iters == 0) && d < best[k]) best[k] = d;
            if (it == 0 && k == 1 && iters > 0) warmed_up();
        }
    double dec = (best[1] - best[0]) / (N - 1); /* seconds per decode step of the whole batch */
    double ctx = L + N / 2.0, tps = P / dec;
    /* bytes read per step: every weight once and the KV cache of every sequence, 4 bytes each, or 2 under
       bf16 (bf16 weight copies and a bf16 cache) */
    double wbytes = model_precision(m) == MODEL_BF16 ? 2.0 : 4.0;
    double bytes = wbytes * model_num_params(m) + 2.0 * wbytes * c->num_layers * c->num_kv_heads * c->head_dim * ctx * P;
    printf("what=decode size=%s prompts=%d prompt_len=%d new=%d tokens_per_s=%.1f step_s=%.5f prefill_s=%.4f "
           "flops_per_s=%.4g bytes_per_s=%.4g\n",
           size, P, L, N, tps, dec, best[0], bench_flops_per_token(c, ctx) * tps, bytes / dec);
    free(buf), free(prompts), free(plen), free(streams), free(res);
    return 0;
}

/* uniform in [-1, 1) from a counter: a cheap hash, so filling 100M+ floats takes no time to speak of */
static float fill_value(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (float)((x >> 40) * (1.0 / (1ull << 23)) - 1.0);
}

static float *dev_random(const Backend *be, size_t n, uint64_t seed) {
    float *h = malloc(sizeof(float) * n), *d = be->alloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) h[i] = fill_value(seed * 0x100000000ull + i);
    be->upload(d, h, sizeof(float) * n);
    free(h);
    return d;
}

/* waits for the device: a blocking read of one value (every kernel of the CUDA backend runs on the one legacy
 * stream, so the copy waits for all of them) */
static void dev_sync(const Backend *be, const float *p) {
    float x;
    be->download(&x, p, sizeof x);
}

/* The attention ops alone, on backend buffers: B packed sequences of T tokens (AttnSeqs), q (N, NH*hd), k/v
 * (N, NKV*hd), N = B*T; the forward (out, lse) then the backward (dq, dk, dv), each timed to a device sync,
 * best of iters after one warm-up. FLOPs: bench_attention_flops per sequence forward (causal: half of the
 * T^2 score matrix, Q K^T and P V), 2.5 times that backward (bench_shapes.h). out_rms / dq_rms are the root
 * mean squares of out and dq, for seeing that two kernels (simt, mma) computed the same thing. */
static int bench_attention(const char *device, const char *size, int B, int T, int NH, int NKV, int hd, int iters) {
    const Backend *be = NULL;
    if (!strcmp(device, "cpu")) be = backend_cpu();
#ifdef PURE_HAVE_CUDA
    else if (!strcmp(device, "cuda")) be = backend_cuda();
#endif
    if (!be) {
        fprintf(stderr, "cuda_bench: device '%s' is not available in this build or on this machine\n", device);
        return 1;
    }
    if (B < 1 || T < 1 || NH < 1 || NKV < 1 || hd < 1 || NH % NKV) {
        fprintf(stderr, "cuda_bench: bad attention shape (batch %d, seq %d, heads %d, kv heads %d, head dim %d)\n",
                B, T, NH, NKV, hd);
        return 2;
    }
    fprintf(stderr, "kernels: %s\n", be->kernel_info ? be->kernel_info() : be->name);
    size_t N = (size_t)B * T, QD = (size_t)NH * hd, KD = (size_t)NKV * hd;
    float *q = dev_random(be, N * QD, 1), *k = dev_random(be, N * KD, 2), *v = dev_random(be, N * KD, 3);
    float *dout = dev_random(be, N * QD, 4);
    float *out = be->alloc(sizeof(float) * N * QD), *lse = be->alloc(sizeof(float) * N * NH);
    float *dq = be->alloc(sizeof(float) * N * QD), *dk = be->alloc(sizeof(float) * N * KD);
    float *dv = be->alloc(sizeof(float) * N * KD);
    int32_t *start = malloc(sizeof(int32_t) * B), *len = malloc(sizeof(int32_t) * B);
    for (int b = 0; b < B; b++) start[b] = b * T, len[b] = T;
    AttnSeqs seqs = {B, start, len};
    AttnDims dims = {NH, NKV, hd, 1.0f / sqrtf((float)hd)};
    double best_f = 1e30, best_b = 1e30;
    for (int it = 0; it <= iters; it++) {
        double t0 = now();
        be->attention(out, lse, q, k, v, &seqs, &dims);
        dev_sync(be, lse);
        double t1 = now();
        be->attention_bwd(dq, dk, dv, dout, out, lse, q, k, v, &seqs, &dims);
        dev_sync(be, dv);
        double t2 = now();
        if (it > 0 || iters == 0) { /* the first is a warm-up */
            if (t1 - t0 < best_f) best_f = t1 - t0;
            if (t2 - t1 < best_b) best_b = t2 - t1;
        }
    }
    double ff = B * bench_attention_flops(T, NH, hd), fb = 2.5 * ff;
    double out_rms = sqrt(be->sumsq(out, N * QD) / (N * QD)), dq_rms = sqrt(be->sumsq(dq, N * QD) / (N * QD));
    printf("what=attention size=%s batch=%d seq=%d heads=%d kv_heads=%d head_dim=%d attn_kernel=%s tokens_per_s=%.1f "
           "fwd_s=%.5f bwd_s=%.5f fwd_tflops_per_s=%.4g bwd_tflops_per_s=%.4g tflops_per_s=%.4g out_rms=%.6g "
           "dq_rms=%.6g\n",
           size, B, T, NH, NKV, hd, attn_kernel(device, hd), N / (best_f + best_b), best_f, best_b,
           ff / best_f / 1e12, fb / best_b / 1e12, (ff + fb) / (best_f + best_b) / 1e12, out_rms, dq_rms);
    be->free(q), be->free(k), be->free(v), be->free(dout), be->free(out), be->free(lse);
    be->free(dq), be->free(dk), be->free(dv);
    free(start), free(len);
    return 0;
}

int main(int argc, char **argv) {
    const char *size = arg_str(argc, argv, "--size", "toy"), *what = arg_str(argc, argv, "--what", "train");
    const char *device = arg_str(argc, argv, "--device", "cuda");
    ModelConfig c;
    if (bench_config_for(size, &c)) {
        fprintf(stderr, "cuda_bench: --size '%s' is not one of " BENCH_SIZES "\n", size);
        return 2;
    }
    if (strcmp(what, "train") && strcmp(what, "decode") && strcmp(what, "attention")) {
        fprintf(stderr, "cuda_bench: --what '%s' is not train, decode or attention\n", what);
        return 2;
    }
    int iters = arg_int(argc, argv, "--iters", 3), rc;
    if (!strcmp(what, "decode") && arg_int(argc, argv, "--new", 128) < 2) {
        fprintf(stderr, "cuda_bench: --new must be >= 2 (decode excludes the first token)\n");
        return 2;
    }
    if (!strcmp(what, "attention")) /* no model: the backend's ops on buffers of the size's attention shape */
        return bench_attention(device, size, arg_int(argc, argv, "--batch", 4), arg_int(argc, argv, "--seq", 4096),
                               arg_int(argc, argv, "--heads", c.num_heads),
                               arg_int(argc, argv, "--kv-heads", c.num_kv_heads),
                               arg_int(argc, argv, "--head-dim", c.head_dim), iters);
    int layers = arg_int(argc, argv, "--layers", 0);
    if (layers > 0) c.num_layers = layers; /* a slice of a large shape */
    const char *prec = arg_str(argc, argv, "--precision", "fp32");
    if (strcmp(prec, "fp32") && strcmp(prec, "bf16")) {
        fprintf(stderr, "cuda_bench: --precision '%s' is not fp32 or bf16\n", prec);
        return 2;
    }
    PureErr err;
    err_clear(&err);
    Model *m = model_create(&c, 1234, device, &err);
    if (!m) {
        fprintf(stderr, "cuda_bench: %s\n", err.msg);
        return 1;
    }
    if (!strcmp(prec, "bf16") && model_set_precision(m, MODEL_BF16, &err)) {
        fprintf(stderr, "cuda_bench: %s\n", err.msg);
        return 1;
    }
    if (!strcmp(what, "train"))
        rc = bench_train(m, &c, size, device, arg_int(argc, argv, "--batch", 8), arg_int(argc, argv, "--seq", 512),
                         iters);
    else
        rc = bench_decode(m, &c, size, arg_int(argc, argv, "--prompts", 64), arg_int(argc, argv, "--prompt-len", 64),
                          arg_int(argc, argv, "--new", 128), iters);
    model_free(m);
    return rc;
}
