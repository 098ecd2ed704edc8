/* test_model_cpu_ops.c - the CPU backend's fast matrix product against its
 * plain reference loop (double accumulation) on every path it can take: one
 * small sgemm, blocks of rows, blocks of columns, the few-rows kernel used
 * when decoding; all transpose combinations; beta 0 and 1; and bitwise the
 * same result with 1 and 2 threads, and (few rows) for a row alone as in its group; RoPE packed against
 * per row and against double. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/backend.h"
#include "model/cpu/cpu.h"
#include "tests/check.h"
#include "util/rng.h"

static void check_shape(int ta, int tb, int M, int N, int K, float beta) {
    size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N;
    float *A = malloc(na * sizeof(float)), *B = malloc(nb * sizeof(float));
    float *C1 = malloc(nc * sizeof(float)), *C2 = malloc(nc * sizeof(float)), *C3 = malloc(nc * sizeof(float));
    for (size_t i = 0; i < na; i++) A[i] = rng_normal(1, M, i);
    for (size_t i = 0; i < nb; i++) B[i] = rng_normal(2, N, i);
    for (size_t i = 0; i < nc; i++) C1[i] = C2[i] = C3[i] = rng_normal(3, K, i);
    int lda = ta ? M : K, ldb = tb ? K : N;
    cpu_set_threads(2);
    cpu_matmul(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, beta, C1, N);
    cpu_set_threads(1);
    cpu_matmul(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, beta, C3, N);
    cpu_matmul_ref(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, beta, C2, N);
    double err = 0, mx = 0;
    for (size_t i = 0; i < nc; i++) err = fmax(err, fabs(C1[i] - C2[i])), mx = fmax(mx, fabs(C2[i]));
    if (!(err <= 1e-5 * mx))
        fprintf(stderr, "ta=%d tb=%d M=%d N=%d K=%d beta=%g: max err %.3g of %.3g\n", ta, tb, M, N, K, beta, err, mx);
    CHECK(err <= 1e-5 * mx);
    CHECK(!memcmp(C1, C3, nc * sizeof(float)));
    free(A), free(B), free(C1), free(C2), free(C3);
}

/* The few-rows kernel takes rows in groups of 4, 2 and 1, and a lone row 4 weight rows at a time (the last
 * columns of a task one by one): each row must get the same bits in any group, so a sequence's decoding does not
 * depend on how many others share its batch. */
static void check_rows_alone(int M, int N, int K) {
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * N * K);
    float *C = malloc(sizeof(float) * M * N), *R = malloc(sizeof(float) * N);
    for (int i = 0; i < M * K; i++) A[i] = rng_normal(4, M, i);
    for (int i = 0; i < N * K; i++) B[i] = rng_normal(5, N, i);
    cpu_matmul(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
    for (int r = 0; r < M; r++) {
        cpu_matmul(0, 1, 1, N, K, 1.0f, A + (size_t)r * K, K, B, K, 0.0f, R, N);
        if (memcmp(R, C + (size_t)r * N, sizeof(float) * N))
            fprintf(stderr, "few rows M=%d N=%d K=%d: row %d alone differs from its group\n", M, N, K, r);
        CHECK(!memcmp(R, C + (size_t)r * N, sizeof(float) * N));
    }
    free(A), free(B), free(C), free(R);
}

/* ---- the thread pool: every task of every job runs exactly once, whether the workers are spinning or asleep,
   with the thread count changing between jobs and a job started from inside a task (run inline) ---- */

enum { POOL_MAX_TASKS = 9 };
typedef struct {
    atomic_int runs[POOL_MAX_TASKS], nested[POOL_MAX_TASKS];
    int nest;
} PoolJob;

static void nested_task(void *vc, int t) {
    PoolJob *j = vc;
    atomic_fetch_add(&j->nested[t], 1);
}

static void pool_task(void *vc, int t) {
    PoolJob *j = vc;
    atomic_fetch_add(&j->runs[t], 1);
    if (j->nest && t == 0) cpu_parallel_for(3, nested_task, j); /* inside a task: runs inline */
}

static void test_pool(void) {
    int bad = 0;
    for (int it = 0; it < 20000 && !bad; it++) {
        if (it % 5000 == 0) cpu_set_threads(1 + (it / 5000) % 3); /* 1, 2, 3, 1 threads */
        if (it % 997 == 0) usleep(2000); /* long enough that waiting threads stop spinning and sleep */
        PoolJob j;
        int n = 2 + it % (POOL_MAX_TASKS - 1);
        for (int t = 0; t < POOL_MAX_TASKS; t++) atomic_init(&j.runs[t], 0), atomic_init(&j.nested[t], 0);
        j.nest = it % 7 == 0;
        cpu_parallel_for(n, pool_task, &j);
        for (int t = 0; t < POOL_MAX_TASKS; t++) {
            int want = t < n ? 1 : 0, want_nested = j.nest && t < 3 ? 1 : 0;
            if (atomic_load(&j.runs[t]) != want || atomic_load(&j.nested[t]) != want_nested) {
                fprintf(stderr, "pool: job %d of %d tasks: task %d ran %d times (nested %d)\n", it, n, t,
                        atomic_load(&j.runs[t]), atomic_load(&j.nested[t]));
                bad = 1;
            }
        }
    }
    CHECK(!bad);
    cpu_set_threads(0);
}

/* RoPE: a packed batch (positions repeating per sequence: angles from a per-position table) gives each row the
 * bits it gets alone (fewer rows than positions: angles per row), forward and inverse, and matches the rotation
 * computed in double; the inverse undoes the forward. */
static void test_rope(void) {
    const Backend *be = backend_cpu();
    enum { SEQ = 37, NSEQ = 3, N = SEQ * NSEQ, HEADS = 3, HD = 16 };
    const double theta = 10000.0;
    int32_t pos[N];
    for (int i = 0; i < N; i++) pos[i] = i % SEQ;
    static float x[N * HEADS * HD], y[N * HEADS * HD], one[HEADS * HD];
    for (int i = 0; i < N * HEADS * HD; i++) x[i] = y[i] = rng_normal(6, 0, i);
    be->rope(y, pos, N, HEADS, HD, theta, 0);
    double err = 0;
    int alone_differs = 0;
    for (int i = 0; i < N; i++) {
        memcpy(one, x + (size_t)i * HEADS * HD, sizeof one);
        be->rope(one, &pos[i], 1, HEADS, HD, theta, 0); /* 1 row at position up to 36: the per-row path */
        if (memcmp(one, y + (size_t)i * HEADS * HD, sizeof one)) alone_differs++;
        for (int h = 0; h < HEADS; h++)
            for (int d = 0; d < HD / 2; d++) {
                const float *v = x + ((size_t)i * HEADS + h) * HD;
                double ang = pos[i] * pow(theta, -2.0 * d / HD), c = cos(ang), s = sin(ang);
                double r1 = v[d] * c - v[d + HD / 2] * s, r2 = v[d + HD / 2] * c + v[d] * s;
                const float *o = y + ((size_t)i * HEADS + h) * HD;
                err = fmax(err, fmax(fabs(o[d] - r1), fabs(o[d + HD / 2] - r2)));
            }
    }
    CHECK(alone_differs == 0);
    CHECK(err < 1e-5);
    be->rope(y, pos, N, HEADS, HD, theta, 1);
    double back = 0;
    for (int i = 0; i < N * HEADS * HD; i++) back = fmax(back, fabs(y[i] - x[i]));
    CHECK(back < 1e-5);
    /* the inverse alone, per row, matches the packed inverse too */
    for (int i = 0; i < N * HEADS * HD; i++) y[i] = x[i];
    be->rope(y, pos, N, HEADS, HD, theta, 1);
    for (int i = 0; i < N; i++) {
        memcpy(one, x + (size_t)i * HEADS * HD, sizeof one);
        be->rope(one, &pos[i], 1, HEADS, HD, theta, 1);
        if (memcmp(one, y + (size_t)i * HEADS * HD, sizeof one)) alone_differs++;
    }
    CHECK(alone_differs == 0);
    if (alone_differs || err >= 1e-5) fprintf(stderr, "rope: %d rows differ alone, max err %.3g\n", alone_differs, err);
}

int main(void) {
    test_pool();
    test_rope();
    printf("%s\n", cpu_kernel_info());
    /* the few-rows f32 product: the compiler's loop (widen) and, where the CPU has AVX-512, the hand-written one */
    static const char *const kernels[] = {"widen", "avx512"};
    for (int kk = 0; kk < 2; kk++) {
        char msg[256];
        if (cpu_bf16_set_kernel(kernels[kk], msg, sizeof msg)) {
            CHECK(!strstr(msg, "failed its check"));
            printf("few-rows kernel %s not tested: %s\n", kernels[kk], msg);
            continue;
        }
        printf("kernels: %s\n", cpu_bf16_info());
        check_rows_alone(15, 300, 100); /* groups 8 + 4 + 2 + 1, K not a multiple of 16 */
        check_rows_alone(8, 256, 896);
        check_rows_alone(3, 263, 40); /* a lone row: 4 columns at a time, then 3 one by one */
        const int shapes[][3] = {
            {3, 300, 70},   /* few rows: the decode kernel when B is transposed */
            {16, 1000, 33}, /* few rows, K not a multiple of 16 */
            {8, 300, 100},  /* few rows: one group of 8 */
            {13, 512, 40},  /* few rows: 8 + 4 + 1 */
            {200, 600, 130}, /* blocks of rows */
            {40, 3000, 64},  /* blocks of columns */
            {7, 9, 5},       /* one small call */
            {1, 257, 896},
        };
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++)
                    for (int b = 0; b < 2; b++) check_shape(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], (float)b);
    }
    return check_report("test_model_cpu_ops");
}
