/* test_cuda_host.c - the parts of the CUDA backend that run without a GPU:
 * the Philox port (philox.h) against util/rng.c bit for bit, the caching
 * arena over a fake budgeted allocator (reuse, best fit, trim, the
 * out-of-memory message), and the sampling reference (sample_ref.c) against an
 * independent numpy implementation plus a frequency check. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/cuda/cuda.h"
#include "model/cuda/philox.h"
#include "tests/check.h"
#include "util/rng.h"

/* ---- Philox ---- */

static void test_philox(void) {
    uint64_t seeds[] = {0, 1, 42, 0xdeadbeefcafebabeull, ~0ull};
    int bad = 0;
    for (int s = 0; s < 5; s++)
        for (uint64_t stream = 0; stream < 300; stream += 7)
            for (uint64_t c = 0; c < 2000; c += 13) {
                uint64_t st = stream * 0x9E3779B97F4A7C15ull, cc = c | (c << 33);
                uint32_t a[4], b[4];
                rng_philox(seeds[s], st, cc, a);
                philox4x32_10(seeds[s], st, cc, b);
                bad += memcmp(a, b, sizeof a) != 0;
                bad += philox_uniform(seeds[s], st, cc) != rng_uniform(seeds[s], st, cc);
                bad += philox_uniform_double(seeds[s], st, cc) != rng_uniform_double(seeds[s], st, cc);
            }
    CHECK(bad == 0);
}

/* ---- arena over a fake allocator with a byte budget ---- */

static size_t g_budget, g_live;
static int g_raw_allocs, g_raw_frees;
static void *fake_alloc(size_t n) {
    if (g_live + n > g_budget) return NULL;
    g_live += n;
    g_raw_allocs++;
    size_t *p = malloc(n + 16);
    p[0] = n;
    return p + 2;
}
static void fake_free(void *p) {
    size_t *b = (size_t *)p - 2;
    g_live -= b[0];
    g_raw_frees++;
    free(b);
}
static int fake_info(size_t *fr, size_t *tot) {
    *fr = g_budget - g_live, *tot = g_budget;
    return 0;
}

static void test_arena(void) {
    const size_t MiB = 1 << 20;
    g_budget = 40 * MiB;
    CuArena a;
    cu_arena_init(&a, fake_alloc, fake_free, fake_info);
    PureErr err;
    err_clear(&err);
    CHECK(cu_arena_round(1) == 512 && cu_arena_round(513) == 1024 && cu_arena_round(MiB) == 2 * MiB);
    void *p1 = cu_arena_alloc(&a, 3 * MiB, &err), *p2 = cu_arena_alloc(&a, 1000, &err);
    CHECK(p1 && p2 && a.in_use == 4 * MiB + 1024 && g_raw_allocs == 2);
    /* released blocks are reused without a raw allocation */
    CHECK(cu_arena_release(&a, p1) == 0);
    CHECK(a.cached == 4 * MiB);
    void *p3 = cu_arena_alloc(&a, 3 * MiB + 5, &err);
    CHECK(p3 == p1 && g_raw_allocs == 2 && a.cached == 0);
    /* a cached block more than twice the request is not handed out */
    CHECK(cu_arena_release(&a, p3) == 0);
    void *p4 = cu_arena_alloc(&a, 600, &err);
    CHECK(p4 && p4 != p1 && g_raw_allocs == 3);
    /* best fit: of two free blocks the smaller one that fits */
    void *big = cu_arena_alloc(&a, 7 * MiB, &err);
    CHECK(cu_arena_release(&a, big) == 0);
    void *p5 = cu_arena_alloc(&a, 3 * MiB + 1, &err);
    CHECK(p5 == p1);
    /* double release and foreign pointers are refused */
    CHECK(cu_arena_release(&a, p5) == 0);
    CHECK(cu_arena_release(&a, p5) == -1);
    int x;
    CHECK(cu_arena_release(&a, &x) == -1);
    /* a request that only fits once the cache is given back succeeds */
    CHECK(g_live > 10 * MiB && a.cached >= 12 * MiB);
    void *huge = cu_arena_alloc(&a, 30 * MiB, &err);
    CHECK(huge != NULL && a.cached == 0 && g_live < 31 * MiB);
    /* out of memory: NULL and a message with the bytes asked for and the device numbers */
    void *no = cu_arena_alloc(&a, 12 * MiB, &err);
    CHECK(no == NULL && err.set);
    CHECK(strstr(err.msg, "out of device memory") && strstr(err.msg, "asked for 12582912 bytes"));
    CHECK(strstr(err.msg, "free of 40.0 MiB") != NULL);
    if (no == NULL) printf("arena OOM message: %s\n", err.msg);
    CHECK(a.peak >= a.in_use);
    cu_arena_free(&a);
    CHECK(g_live == 0 && g_raw_allocs == g_raw_frees);
}

/* ---- sampling reference ---- */

static uint32_t lcg = 12345;
static float frand(void) {
    lcg = lcg * 1664525u + 1013904223u;
    return (float)(lcg >> 8) / 16777216.0f;
}

/* Runs sample_ref.py on the same logits and uniforms; returns its tokens and row-0 probabilities. */
static int run_numpy(const float *logits, int n, int V, const SampleParams *sp, const uint64_t *streams,
                     const uint64_t *counters, int32_t *tok, double *probs0) {
    char dir[] = "/tmp/pure_cuda_sample_XXXXXX";
    if (!mkdtemp(dir)) return -1;
    char in[128], out[128], cmd[512];
    snprintf(in, sizeof in, "%s/in.bin", dir);
    snprintf(out, sizeof out, "%s/out.bin", dir);
    FILE *f = fopen(in, "wb");
    int32_t hdr[3] = {n, V, sp->top_k};
    float fp[2] = {sp->temperature, sp->top_p};
    fwrite(hdr, sizeof hdr, 1, f);
    fwrite(fp, sizeof fp, 1, f);
    fwrite(logits, sizeof(float), (size_t)n * V, f);
    for (int r = 0; r < n; r++) {
        double u = rng_uniform_double(sp->seed, streams[r], counters[r]);
        fwrite(&u, sizeof u, 1, f);
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s %s/tests/cuda/sample_ref.py %s %s", PURE_PYTHON, PURE_SOURCE_DIR, in, out);
    int rc = system(cmd);
    f = fopen(out, "rb");
    int ok = rc == 0 && f && fread(tok, sizeof(int32_t), n, f) == (size_t)n && fread(probs0, sizeof(double), V, f) == (size_t)V;
    if (f) fclose(f);
    unlink(in), unlink(out), rmdir(dir);
    return ok ? 0 : -1;
}

static void check_sampling(int n, int V, float spread, SampleParams sp) {
    float *logits = malloc(sizeof(float) * (size_t)n * V);
    for (size_t i = 0; i < (size_t)n * V; i++) logits[i] = spread * (frand() - 0.5f);
    /* a few exact ties, which the rule keeps together */
    for (int r = 0; r < n; r++) logits[(size_t)r * V + 3] = logits[(size_t)r * V + 5];
    uint64_t *streams = malloc(sizeof(uint64_t) * n), *counters = malloc(sizeof(uint64_t) * n);
    for (int r = 0; r < n; r++) streams[r] = 1000 + r, counters[r] = (uint64_t)r * 3;
    int32_t *tc = malloc(sizeof(int32_t) * n), *tp = malloc(sizeof(int32_t) * n);
    float *lp = malloc(sizeof(float) * n);
    double *probs0 = malloc(sizeof(double) * V);
    sample_rows_ref(tc, lp, logits, n, V, &sp, streams, counters);
    CHECK(run_numpy(logits, n, V, &sp, streams, counters, tp, probs0) == 0);
    int diff = 0;
    for (int r = 0; r < n; r++) diff += tc[r] != tp[r];
    CHECK(diff == 0);
    if (diff) fprintf(stderr, "sampling T=%g k=%d p=%g: %d of %d tokens differ from numpy\n", sp.temperature, sp.top_k, sp.top_p, diff, n);
    /* log-prob of the sampled token under the T = 1 softmax */
    for (int r = 0; r < n; r += 7) {
        const float *x = logits + (size_t)r * V;
        double mx = -INFINITY, s = 0;
        for (int i = 0; i < V; i++) mx = x[i] > mx ? x[i] : mx;
        for (int i = 0; i < V; i++) s += exp(x[i] - mx);
        CHECK_NEAR(lp[r], x[tc[r]] - mx - log(s), 1e-5);
    }
    free(logits), free(streams), free(counters), free(tc), free(tp), free(lp), free(probs0);
}

/* Many draws from one row: empirical frequencies match the kept, renormalised probabilities. */
static void check_frequencies(int V, SampleParams sp) {
    const int draws = 20000;
    float *row = malloc(sizeof(float) * V), *logits = malloc(sizeof(float) * (size_t)V * 8);
    for (int i = 0; i < V; i++) row[i] = 4.0f * (frand() - 0.5f);
    uint64_t streams[8], counters[8];
    int32_t tok[8];
    float lp[8];
    int *count = calloc(V, sizeof(int));
    for (int k = 0; k < 8; k++) memcpy(logits + (size_t)k * V, row, sizeof(float) * V);
    for (int d = 0; d < draws; d += 8) {
        for (int k = 0; k < 8; k++) streams[k] = 7, counters[k] = (uint64_t)(d + k);
        sample_rows_ref(tok, lp, logits, 8, V, &sp, streams, counters);
        for (int k = 0; k < 8; k++) count[tok[k]]++;
    }
    int32_t t0;
    double *probs = malloc(sizeof(double) * V);
    CHECK(run_numpy(row, 1, V, &sp, streams, counters, &t0, probs) == 0);
    int bad = 0, kept = 0;
    for (int i = 0; i < V; i++) {
        double f = (double)count[i] / draws, sd = sqrt(probs[i] * (1 - probs[i]) / draws);
        kept += probs[i] > 0;
        if (fabs(f - probs[i]) > 5 * sd + 1e-9) bad++;
    }
    CHECK(bad == 0);
    if (sp.top_k > 0) CHECK(kept <= sp.top_k + 1); /* the tie at ids 3/5 may add one */
    printf("frequencies T=%g k=%d p=%g: %d tokens kept, %d outside 5 sigma\n", sp.temperature, sp.top_k, sp.top_p,
           kept, bad);
    free(row), free(logits), free(count), free(probs);
}

int main(void) {
    test_philox();
    test_arena();
    check_sampling(64, 1000, 8.0f, (SampleParams){0, 1, 0, 5});      /* greedy */
    check_sampling(64, 1000, 8.0f, (SampleParams){1, 1, 0, 5});      /* plain temperature */
    check_sampling(64, 1000, 8.0f, (SampleParams){0.7f, 1, 20, 9});  /* top-k */
    check_sampling(64, 1000, 8.0f, (SampleParams){1.3f, 0.9f, 0, 9}); /* top-p */
    check_sampling(64, 3000, 12.0f, (SampleParams){0.8f, 0.7f, 50, 11});
    check_sampling(4, 151936, 20.0f, (SampleParams){1, 0.95f, 0, 3}); /* a Qwen-sized vocabulary */
    check_frequencies(40, (SampleParams){0.9f, 1, 0, 1});
    check_frequencies(40, (SampleParams){0.7f, 0.8f, 10, 2});
    return check_report("test_cuda_host");
}
