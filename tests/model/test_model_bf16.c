/* test_model_bf16.c - bf16 mixed precision on the CPU backend.
 *
 *  - rounding: f32_to_bf16 rounds to nearest, ties to even, keeps NaN and
 *    infinities, overflows to infinity (hand-worked values);
 *  - every bf16 product kernel this CPU has (widen: skinny decode and sgemm
 *    panels; avx512: AVX-512 decode; amx: tiles), both weight
 *    orientations, and the weight-gradient products of two f32 operands, against the plain double-accumulating reference on the
 *    bf16-rounded operands: relative error <= 1e-5 of the largest output
 *    (only f32 accumulation order differs), bitwise equal for 1 and 2 threads;
 *  - a bf16 model's forward and backward against the f32 model holding the
 *    same bf16-rounded weights (the only difference left is the activations'
 *    rounding at each product input): log-probs within 0.03 + 1% (about two
 *    bf16 ulps carried through 3 layers), gradients with cosine > 0.999 and
 *    norm within 2%;
 *  - against the f32 model with the original weights: log-probs within 0.1;
 *  - training keeps f32 master weights: an AdamW step below bf16's resolution
 *    moves the master weights and not the bf16 copies' values; the copies
 *    follow the master after steps that matter;
 *  - a bf16 inference load (no f32 matrices) gives bit-identical log-probs
 *    and samples to a model loaded for training and switched to bf16, from an
 *    f32 file and from a bf16 file (what rollout and optimize must agree on
 *    for the PPO ratio to start at 1), and refuses to train.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"
#include "model/bf16.h"
#include "model/cpu/cpu.h"
#include "model/model.h"
#include "tests/model/model_test_util.h"
#include "util/fs.h"
#include "util/rng.h"

static void test_rounding(void) {
    CHECK(bf16_round(1.0f) == 1.0f);
    CHECK(bf16_round(1.0f + 0x1p-8f) == 1.0f);                    /* tie -> even (mantissa 0) */
    CHECK(bf16_round(1.0f + 3 * 0x1p-8f) == 1.0f + 0x1p-6f);      /* tie -> even (mantissa 2) */
    CHECK(bf16_round(1.0f + 0x1p-8f + 0x1p-20f) == 1.0f + 0x1p-7f); /* above the tie -> up */
    CHECK(bf16_round(-2.5f) == -2.5f);
    CHECK(isinf(bf16_round(INFINITY)) && bf16_round(-INFINITY) < 0);
    CHECK(isnan(bf16_round(NAN)));
    CHECK(isinf(bf16_round(3.4028235e38f)));                     /* FLT_MAX is past bf16's largest finite */
    CHECK(bf16_round(3.3895314e38f) == 3.3895314e38f);           /* bf16's largest finite */
    CHECK(bf16_to_f32(0x3f80) == 1.0f && f32_to_bf16(-0.0f) == 0x8000);
}

static float frand(uint64_t s, uint64_t i) { return rng_uniform(s, 0, i) - 0.5f; }

static void check_product(int trans, int M, int N, int K, int lda) {
    float *A = malloc(sizeof(float) * M * lda), *Ar = malloc(sizeof(float) * M * K);
    uint16_t *W = malloc(sizeof(uint16_t) * (size_t)N * K);
    float *Wf = malloc(sizeof(float) * (size_t)N * K), *C1 = malloc(sizeof(float) * M * N),
          *C2 = malloc(sizeof(float) * M * N);
    for (int i = 0; i < M; i++)
        for (int k = 0; k < lda; k++) {
            A[i * lda + k] = frand(1, (uint64_t)(i * lda + k)) * 3;
            if (k < K) Ar[i * K + k] = bf16_round(A[i * lda + k]);
        }
    for (size_t i = 0; i < (size_t)N * K; i++) W[i] = f32_to_bf16(frand(2, i)), Wf[i] = bf16_to_f32(W[i]);
    for (int i = 0; i < M * N; i++) C1[i] = C2[i] = (float)(i % 5) - 2;
    int ldw = trans ? K : N;
    float *C3 = malloc(sizeof(float) * M * N);
    memcpy(C3, C1, sizeof(float) * M * N);
    cpu_set_threads(1);
    cpu_matmul_bf16(trans, M, N, K, 0.5f, A, lda, W, ldw, 1.0f, C3, N);
    cpu_set_threads(2);
    cpu_matmul_bf16(trans, M, N, K, 0.5f, A, lda, W, ldw, 1.0f, C1, N);
    CHECK(memcmp(C1, C3, sizeof(float) * M * N) == 0); /* the same bits for any thread count */
    free(C3);
    cpu_matmul_ref(0, trans, M, N, K, 0.5f, Ar, K, Wf, ldw, 1.0f, C2, N);
    double mx = 0, err = 0;
    for (int i = 0; i < M * N; i++) mx = fmax(mx, fabs(C2[i])), err = fmax(err, fabs(C1[i] - C2[i]));
    if (!(err <= 1e-5 * mx))
        fprintf(stderr, "bf16 matmul (%s) trans %d M %d N %d K %d: max err %.3g of %.3g\n", cpu_bf16_info(), trans, M, N,
                K, err, mx);
    CHECK(err <= 1e-5 * mx);
    free(A), free(Ar), free(W), free(Wf), free(C1), free(C2);
}

/* cpu_matmul_bf16_ab (weight gradients: both operands f32, rounded): op(A) (M, K) @ op(B) (K, N) against the
   reference on the rounded operands, and the same bits at 1 and 2 threads */
static void check_product_ab(int ta, int tb, int M, int N, int K) {
    int lda = ta ? M : K, ldb = tb ? K : N;
    float *A = malloc(sizeof(float) * M * K), *Ar = malloc(sizeof(float) * M * K);
    float *B = malloc(sizeof(float) * K * N), *Br = malloc(sizeof(float) * K * N);
    float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N), *C3 = malloc(sizeof(float) * M * N);
    for (int i = 0; i < M * K; i++) A[i] = frand(3, (uint64_t)i) * 2, Ar[i] = bf16_round(A[i]);
    for (int i = 0; i < K * N; i++) B[i] = frand(4, (uint64_t)i), Br[i] = bf16_round(B[i]);
    for (int i = 0; i < M * N; i++) C1[i] = C2[i] = C3[i] = (float)(i % 7) - 3;
    cpu_set_threads(1);
    cpu_matmul_bf16_ab(ta, tb, M, N, K, 0.25f, A, lda, B, ldb, 1.0f, C3, N);
    cpu_set_threads(2);
    cpu_matmul_bf16_ab(ta, tb, M, N, K, 0.25f, A, lda, B, ldb, 1.0f, C1, N);
    CHECK(memcmp(C1, C3, sizeof(float) * M * N) == 0);
    cpu_matmul_ref(ta, tb, M, N, K, 0.25f, Ar, lda, Br, ldb, 1.0f, C2, N);
    double mx = 0, err = 0;
    for (int i = 0; i < M * N; i++) mx = fmax(mx, fabs(C2[i])), err = fmax(err, fabs(C1[i] - C2[i]));
    if (!(err <= 1e-5 * mx))
        fprintf(stderr, "bf16 ab matmul (%s) ta %d tb %d M %d N %d K %d: max err %.3g of %.3g\n", cpu_bf16_info(), ta,
                tb, M, N, K, err, mx);
    CHECK(err <= 1e-5 * mx);
    free(A), free(Ar), free(B), free(Br), free(C1), free(C2), free(C3);
}

/* Decoding: a row's bits do not depend on the other rows of its call, within each kernel's row classes (the amx
   kernel takes 1-3 rows by FMA, 4-16 on tiles; the others 1-16 by one kernel): the first `sub` rows of a `group`-row
   product, computed alone, against the same rows in the group. */
static void check_rows_alone(int group, int sub, int N, int K) {
    float *A = malloc(sizeof(float) * group * K), *C1 = malloc(sizeof(float) * group * N),
          *C2 = malloc(sizeof(float) * sub * N);
    uint16_t *W = malloc(sizeof(uint16_t) * (size_t)N * K);
    for (int i = 0; i < group * K; i++) A[i] = frand(5, (uint64_t)i);
    for (size_t i = 0; i < (size_t)N * K; i++) W[i] = f32_to_bf16(frand(6, i));
    cpu_matmul_bf16(1, group, N, K, 1.0f, A, K, W, K, 0.0f, C1, N);
    cpu_matmul_bf16(1, sub, N, K, 1.0f, A, K, W, K, 0.0f, C2, N);
    if (memcmp(C1, C2, sizeof(float) * sub * N))
        fprintf(stderr, "bf16 (%s): rows 0..%d alone differ from their group of %d (N %d K %d)\n", cpu_bf16_info(),
                sub - 1, group, N, K);
    CHECK(memcmp(C1, C2, sizeof(float) * sub * N) == 0);
    free(A), free(C1), free(C2), free(W);
}

static ModelConfig tiny(void) {
    ModelConfig c;
    model_config_default(&c);
    c.vocab_size = 97, c.hidden_size = 64, c.num_layers = 3, c.num_heads = 4, c.num_kv_heads = 2, c.head_dim = 16;
    c.intermediate_size = 96, c.max_position = 64;
    return c;
}

/* Rounds every matrix of m to bf16 values in place (its f32 weights become bf16-representable). */
static void round_matrices(Model *m) {
    for (int i = 0; i < model_tensor_count(m); i++) {
        int nd;
        int64_t sh[2];
        const char *name = model_tensor_info(m, i, &nd, sh);
        if (nd != 2) continue;
        size_t n = (size_t)sh[0] * (size_t)sh[1];
        float *b = malloc(sizeof(float) * n);
        model_get_tensor(m, name, b, NULL);
        for (size_t e = 0; e < n; e++) b[e] = bf16_round(b[e]);
        model_set_tensor(m, name, b, NULL);
        free(b);
    }
}

enum { B = 3, T = 20 };
static int32_t g_tok[B * T], g_len[B] = {20, 13, 7};

static void forward(Model *m, float *lp, int keep) {
    ModelBatch b = {B, T, g_tok, g_len};
    PureErr err;
    err_clear(&err);
    if (model_forward(m, &b, lp, NULL, keep, &err)) fprintf(stderr, "forward: %s\n", err.msg);
}

static double *grads(Model *m, size_t *n) {
    float lp[B * T], d[B * T];
    forward(m, lp, 1);
    for (int i = 0; i < B * T; i++) d[i] = 1.0f / (B * T);
    model_zero_grad(m);
    ModelBatch b = {B, T, g_tok, g_len};
    PureErr err;
    err_clear(&err);
    CHECK(model_backward(m, &b, d, &err) == 0);
    *n = (size_t)model_num_params(m);
    double *g = malloc(sizeof(double) * *n);
    size_t at = 0;
    for (int i = 0; i < model_tensor_count(m); i++) {
        int nd;
        int64_t sh[2];
        const char *name = model_tensor_info(m, i, &nd, sh);
        size_t k = (size_t)sh[0] * (nd == 2 ? (size_t)sh[1] : 1);
        float *t = malloc(sizeof(float) * k);
        model_get_grad(m, name, t, NULL);
        for (size_t e = 0; e < k; e++) g[at + e] = t[e];
        at += k;
        free(t);
    }
    return g;
}

static void test_model(void) {
    ModelConfig c = tiny();
    for (int i = 0; i < B * T; i++) g_tok[i] = (int32_t)(rng_uniform(9, 1, (uint64_t)i) * 97) % 97;
    PureErr err;
    err_clear(&err);
    Model *orig = model_create(&c, 1, "cpu", &err), *ref = model_create(&c, 1, "cpu", &err);
    Model *bf = model_create(&c, 1, "cpu", &err);
    mt_randomize(orig, 4, 0.08f), mt_randomize(ref, 4, 0.08f), mt_randomize(bf, 4, 0.08f);
    round_matrices(ref);
    CHECK(model_set_precision(bf, MODEL_BF16, &err) == 0);
    CHECK(model_precision(bf) == MODEL_BF16);
    float l0[B * T], l1[B * T], l2[B * T];
    forward(orig, l0, 0), forward(ref, l1, 0), forward(bf, l2, 0);
    double worst_ref = 0, worst_orig = 0, spread = 0;
    int ok_ref = 1;
    for (int r = 0; r < B; r++)
        for (int t = 0; t + 1 < g_len[r]; t++) {
            int i = r * T + t;
            double d = fabs(l2[i] - l1[i]);
            worst_ref = fmax(worst_ref, d), worst_orig = fmax(worst_orig, fabs(l2[i] - l0[i]));
            spread = fmax(spread, fabs(l1[i]));
            if (d > 0.03 + 0.01 * fabs(l1[i])) ok_ref = 0;
        }
    printf("bf16 forward: max |lp - lp(f32, bf16 weights)| %.4f, |lp - lp(f32)| %.4f, max |lp| %.2f\n", worst_ref,
           worst_orig, spread);
    CHECK(ok_ref);
    CHECK(worst_orig < 0.1);
    CHECK(worst_ref > 0); /* activations really are rounded: the bf16 path is not the f32 one */
    CHECK(spread > 1);    /* the log-probs are not all near 0 */

    size_t n;
    double *g1 = grads(ref, &n), *g2 = grads(bf, &n);
    double dot = 0, n1 = 0, n2 = 0;
    for (size_t i = 0; i < n; i++) dot += g1[i] * g2[i], n1 += g1[i] * g1[i], n2 += g2[i] * g2[i];
    double cosine = dot / sqrt(n1 * n2), ratio = sqrt(n2 / n1);
    printf("bf16 backward: gradient cosine %.6f, norm ratio %.4f\n", cosine, ratio);
    CHECK(cosine > 0.999);
    CHECK(fabs(ratio - 1) < 0.02);
    free(g1), free(g2);

    /* master weights: a step far below bf16's resolution changes the f32 weights, not the bf16 ones */
    AdamWConfig ac;
    adamw_config_default(&ac);
    ac.lr = 1e-6, ac.grad_clip = 0;
    float before[B * T], after[B * T];
    forward(bf, before, 0);
    int64_t sh[2];
    int nd;
    const char *wname = model_tensor_info(bf, 2, &nd, sh); /* layer 0 q_proj */
    size_t wn = (size_t)sh[0] * (size_t)sh[1];
    float *w0 = malloc(sizeof(float) * wn), *w1 = malloc(sizeof(float) * wn);
    model_get_tensor(bf, wname, w0, NULL);
    g1 = grads(bf, &n);
    free(g1);
    CHECK(model_adamw_step(bf, &ac, NULL, NULL, &err) == 0);
    model_get_tensor(bf, wname, w1, NULL);
    size_t moved = 0, moved_bf = 0;
    for (size_t i = 0; i < wn; i++) moved += w0[i] != w1[i], moved_bf += bf16_round(w0[i]) != bf16_round(w1[i]);
    printf("bf16 training: a 1e-6 step moved %zu of %zu master weights, %zu of their bf16 values\n", moved, wn,
           moved_bf);
    CHECK(moved > wn / 2);
    CHECK(moved_bf < wn / 50);
    forward(bf, after, 0);
    ac.lr = 1e-2;
    for (int s = 0; s < 3; s++) {
        g1 = grads(bf, &n);
        free(g1);
        CHECK(model_adamw_step(bf, &ac, NULL, NULL, &err) == 0);
    }
    forward(bf, after, 0);
    CHECK(memcmp(before, after, sizeof before) != 0); /* the bf16 copies followed the master */
    free(w0), free(w1);
    model_free(orig), model_free(ref), model_free(bf);
}

/* A bf16 inference load equals a training load switched to bf16, bit for bit; from f32 and bf16 files. */
static void test_inference_load(void) {
    ModelConfig c = tiny();
    PureErr err;
    err_clear(&err);
    char dir[256];
    snprintf(dir, sizeof dir, "%s/pure_bf16_%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    for (int file_bf16 = 0; file_bf16 < 2; file_bf16++) {
        Model *m = model_create(&c, 1, "cpu", &err);
        mt_randomize(m, 5, 0.08f);
        snprintf(((ModelConfig *)model_config(m))->dtype, 16, "%s", file_bf16 ? "bfloat16" : "float32");
        CHECK(model_save(m, dir, &err) == 0);
        model_free(m);
        Model *inf = model_load_opts(dir, "cpu", MODEL_BF16, 0, &err);
        Model *trn = model_load_opts(dir, "cpu", MODEL_BF16, 1, &err);
        CHECK(inf && trn);
        if (!inf || !trn) {
            fprintf(stderr, "%s\n", err.msg);
            return;
        }
        float a[B * T], b[B * T];
        forward(inf, a, 0), forward(trn, b, 0);
        CHECK(memcmp(a, b, sizeof a) == 0);
        int32_t prompt[5] = {3, 1, 4, 1, 5};
        const int32_t *pp[1] = {prompt};
        int pl[1] = {5};
        uint64_t st[1] = {7};
        SampleConfig sc = {.max_new_tokens = 12, .temperature = 1.0f, .top_p = 1.0f, .seed = 3};
        SampleResult r1, r2;
        CHECK(model_generate(inf, NULL, 1, pp, pl, st, &sc, &r1, &err) == 0);
        CHECK(model_generate(trn, NULL, 1, pp, pl, st, &sc, &r2, &err) == 0);
        CHECK(r1.n == r2.n && !memcmp(r1.tokens, r2.tokens, sizeof(int32_t) * r1.n) &&
              !memcmp(r1.logprobs, r2.logprobs, sizeof(float) * r1.n));
        sample_result_free(&r1), sample_result_free(&r2);
        /* an inference model's tensors read back as the bf16 values; it cannot train */
        float w[64];
        CHECK(model_get_tensor(inf, "model.layers.0.input_layernorm.weight", w, &err) == 0);
        ModelBatch bb = {B, T, g_tok, g_len};
        forward(inf, a, 1);
        err_clear(&err);
        CHECK(model_backward(inf, &bb, a, &err) != 0 && strstr(err.msg, "bf16 inference"));
        CHECK(model_set_precision(inf, MODEL_FP32, &err) != 0);
        model_free(inf), model_free(trn);
    }
    fs_remove_all(dir, NULL);
}

int main(void) {
    test_rounding();
    /* every kernel this CPU has (cpu_bf16.c); the ones it lacks are named, not counted as passed */
    static const char *const kernels[] = {"widen", "avx512", "dpbf16", "amx"};
    char msg[256];
    for (int kk = 0; kk < 4; kk++) {
        if (cpu_bf16_set_kernel(kernels[kk], msg, sizeof msg)) {
            CHECK(!strstr(msg, "failed its check")); /* a kernel the CPU has must work */
            printf("bf16 products: %s not tested (%s)\n", kernels[kk], msg);
            continue;
        }
        for (int trans = 0; trans < 2; trans++) {
            check_product(trans, 3, 300, 91, 91);   /* skinny (decode) when trans */
            check_product(trans, 1, 263, 91, 91);   /* skinny, one row */
            check_product(trans, 2, 128, 96, 96);   /* skinny below 256 columns (a k/v projection) */
            check_product(trans, 67, 45, 91, 91);   /* panels / tiles: edge tiles in every dimension */
            check_product(trans, 16, 513, 40, 40);  /* the skinny limit, a partial panel */
            check_product(trans, 8, 300, 91, 91);   /* skinny: one group of 8 rows */
            check_product(trans, 13, 257, 96, 96);  /* skinny: 8 + 4 + 1 rows */
            check_product(trans, 96, 128, 64, 64);  /* AMX: whole tiles, W read in place */
            check_product(trans, 17, 200, 160, 170); /* one row past the skinny limit, A with a wider stride */
            check_product(trans, 5, 70, 33, 40);    /* skinny with a wider stride, K one past a tile */
            check_product(trans, 4, 300, 91, 91);   /* the fewest rows the amx kernel puts on tiles */
            check_product(trans, 101, 77, 600, 600); /* dpbf16: 16 blocks of 6 rows and 5, 3 blocks of k */
            if (trans) {
                check_rows_alone(16, 4, 300, 91);
                check_rows_alone(13, 9, 257, 96);
                check_rows_alone(3, 1, 263, 64);
                /* the dpbf16 kernel's blocks: rows 18-22 are one 6-row block in a group of 40, the 5-row
                   remainder of 23; 300 pairs of k make 3 cache blocks of k; 100 columns, a partial panel */
                if (kk >= 2) check_rows_alone(40, 23, 100, 600);
            }
            for (int ta = 0; ta < 2; ta++) {
                check_product_ab(ta, trans, 64, 96, 128); /* whole tiles */
                check_product_ab(ta, trans, 45, 70, 37);  /* a weight gradient's shape: edges everywhere */
                check_product_ab(ta, trans, 3, 33, 200);
            }
        }
        printf("bf16 products: %s checked\n", cpu_bf16_info());
    }
    CHECK(cpu_bf16_set_kernel("amx2", msg, sizeof msg) == -1 && strstr(msg, "expected widen"));
    /* the rest runs on the best kernel, as pure does */
    for (int kk = 3; kk >= 0; kk--)
        if (!cpu_bf16_set_kernel(kernels[kk], msg, sizeof msg)) break;
    test_model();
    test_inference_load();
    return check_report("test_model_bf16");
}
