/* test_dist.c - the single-process side of scale-out (docs/distributed.md):
 * launcher checks, the row blocks, and the data-parallel arithmetic of
 * stages/common/dp.h against hand-computed values (the multi-process runs
 * are tests/dist/mpi_runs.sh). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"
#include "model/model.h"
#include "stages/common/dp.h"
#include "stages/common/lm.h"
#include "stages/common/shard.h"
#include "util/dist.h"
#include "util/fs.h"

static void test_launcher_checks(void) {
    PureErr err;
    err_clear(&err);
    setenv("WORLD_SIZE", "2", 1);
    CHECK(dist_init(NULL, NULL, &err) != 0);
    CHECK(strstr(err.msg, "WORLD_SIZE=2 but no MPI launcher") != NULL);
    unsetenv("WORLD_SIZE");
    err_clear(&err);
    setenv("RANK", "one", 1);
    CHECK(dist_init(NULL, NULL, &err) != 0);
    CHECK(strstr(err.msg, "RANK/WORLD_SIZE/LOCAL_RANK must be non-negative integers") != NULL);
    unsetenv("RANK");
    err_clear(&err);
    setenv("SLURM_NTASKS", "4", 1);
    setenv("SLURM_PROCID", "0", 1);
    CHECK(dist_init(NULL, NULL, &err) != 0);
    CHECK(strstr(err.msg, "srun --mpi=pmix") != NULL);
    unsetenv("SLURM_NTASKS");
    unsetenv("SLURM_PROCID");
    /* WORLD_SIZE=1 (a one-GPU torchrun job) is a plain run */
    setenv("WORLD_SIZE", "1", 1);
    err_clear(&err);
    CHECK(dist_init(NULL, NULL, &err) == 0);
    unsetenv("WORLD_SIZE");
    CHECK(dist_rank() == 0 && dist_size() == 1 && dist_local_size() == 1);
    CHECK_STR(dist_launcher(), "none");
}

static void test_blocks(void) {
    /* every (n, size): blocks in rank order cover [0, n), sizes differ by at most one */
    for (int64_t n = 0; n < 40; n++)
        for (int size = 1; size < 9; size++) {
            int64_t prev = 0, mn = n, mx = 0;
            for (int r = 0; r < size; r++) {
                int64_t lo, hi;
                dist_block(n, r, size, &lo, &hi);
                CHECK(lo == prev && hi >= lo);
                prev = hi;
                mn = hi - lo < mn ? hi - lo : mn;
                mx = hi - lo > mx ? hi - lo : mx;
            }
            CHECK(prev == n && mx - mn <= 1);
        }
    CHECK(shard_unit(4, 6, 100) == 12);
    CHECK(shard_unit(64, 16, 128) == 64);
    CHECK(shard_unit(64, 16, 20) == 20); /* capped at n: one unit holds every row */
    CHECK(shard_unit(7, 7, 100) == 7);
    int64_t lo, hi;
    shard_rows(10, 4, &lo, &hi); /* one rank: everything */
    CHECK(lo == 0 && hi == 10);
    /* the gather of one rank hands back its own bytes */
    ShardBuf mine = {0}, all = {0};
    shard_put_i32(&mine, 7);
    shard_put(&mine, "abc", 3);
    PureErr err;
    err_clear(&err);
    CHECK(shard_gather(&mine, &all, &err) == 0);
    int32_t v = 0;
    char s[4] = {0};
    CHECK(shard_get_i32(&all, &v, &err) == 0 && v == 7);
    CHECK(shard_get(&all, s, 3, &err) == 0 && !strcmp(s, "abc"));
    CHECK(shard_get(&all, s, 1, &err) != 0 && strstr(err.msg, "ranks packed different rows"));
    shard_free(&mine);
    shard_free(&all);
}

static Model *tiny(PureErr *err) {
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = 40;
    cfg.hidden_size = 16;
    cfg.num_layers = 1;
    cfg.num_heads = 2;
    cfg.num_kv_heads = 1;
    cfg.head_dim = 8;
    cfg.intermediate_size = 32;
    cfg.max_position = 64;
    return model_create(&cfg, 3, "cpu", err);
}

/* gradient of a token-sum loss -sum(lp) of one row into the model's (zeroed) gradients; returns a copy */
static float *unit_grad(Model *m, const int32_t *prompt, const int32_t *resp, int rlen, PureErr *err) {
    SeqRow r = {prompt, 2, resp, rlen};
    float lp[8], d[8];
    model_zero_grad(m);
    CHECK(lm_rows_forward(m, &r, 1, 1, lp, err) == 0);
    for (int i = 0; i < rlen; i++) d[i] = -1.0f;
    CHECK(lm_rows_backward(m, &r, 1, d, err) == 0);
    size_t n = (size_t)model_num_params(m);
    float *g = malloc(n * sizeof(float));
    memcpy(g, model_grad_data(m), n * sizeof(float));
    return g;
}

static void test_dp(void) {
    PureErr err;
    err_clear(&err);
    Model *m = tiny(&err), *ref = tiny(&err);
    CHECK(m && ref);
    if (!m || !ref) return;
    int64_t n = model_num_params(m);
    const int32_t p[2] = {1, 2}, a[3] = {5, 6, 7}, b[4] = {9, 3, 3, 8};
    float *ga = unit_grad(m, p, a, 3, &err), *gb = unit_grad(m, p, b, 4, &err);
    DpState d;
    CHECK(dp_init(&d, m, &err) == 0);
    CHECK(d.lo == 0 && d.hi == n);
    /* the sum is (g_a + g_b) in f32, element by element, whatever came before */
    dp_begin(&d);
    free(unit_grad(m, p, a, 3, &err));
    dp_round(&d, m, 0, 2);
    free(unit_grad(m, p, b, 4, &err));
    dp_round(&d, m, 1, 2);
    dp_round(&d, m, 2, 2); /* past the last unit: adds nothing */
    int exact = 1;
    for (int64_t i = 0; i < n; i++) exact &= d.sum[i] == ga[i] + gb[i];
    CHECK(exact);
    CHECK(d.units == 2);
    /* one step equals model_adamw_step on the same summed gradient (clipping active: lr 0.01, clip 0.01) */
    AdamWConfig c;
    adamw_config_default(&c);
    c.lr = 0.01;
    c.grad_clip = 0.01;
    c.weight_decay = 0.1;
    float *p0 = malloc((size_t)n * sizeof(float));
    memcpy(p0, model_param_data(m), (size_t)n * sizeof(float));
    double gn = 0, lr = 0, gn_ref = 0;
    CHECK(dp_step(&d, m, &c, &gn, &lr, &err) == 0);
    free(unit_grad(ref, p, a, 3, &err)); /* gradients exist after a backward: then overwrite them with the sum */
    memcpy(model_grad_data(ref), d.sum, (size_t)n * sizeof(float));
    CHECK(model_adamw_step(ref, &c, &gn_ref, NULL, &err) == 0);
    CHECK_NEAR(gn, gn_ref, 1e-12);
    double sq = 0;
    for (int64_t i = 0; i < n; i++) sq += (double)d.sum[i] * d.sum[i];
    CHECK_NEAR(gn, sqrt(sq), 1e-12);
    double maxdiff = 0, moved = 0;
    for (int64_t i = 0; i < n; i++) {
        double x = fabs((double)model_param_data(m)[i] - model_param_data(ref)[i]);
        maxdiff = x > maxdiff ? x : maxdiff;
        moved += model_param_data(m)[i] != p0[i];
    }
    CHECK(maxdiff <= 1e-7);
    CHECK(moved > n / 2);
    CHECK(model_optimizer_step_count(m) == 1);
    /* the state file: written from the range's moments, read back whole by the one-process loader and in two
     * ranges as two ranks would */
    char dir[] = "/tmp/pure_test_dist_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *f = fs_join(dir, "optimizer.safetensors");
    CHECK(dp_save_optimizer(&d, m, f, &err) == 0);
    Model *back = tiny(&err);
    CHECK(model_optimizer_load(back, f, &err) == 0);
    CHECK(model_optimizer_step_count(back) == 1);
    int64_t cut = n / 3;
    float *mm = calloc((size_t)n, sizeof(float)), *vv = calloc((size_t)n, sizeof(float));
    CHECK(model_optimizer_load_range(back, f, 0, cut, mm, vv, &err) == 0);
    CHECK(model_optimizer_load_range(back, f, cut, n, mm + cut, vv + cut, &err) == 0);
    CHECK(!memcmp(mm, d.mom_m, (size_t)n * sizeof(float)) && !memcmp(vv, d.mom_v, (size_t)n * sizeof(float)));
    /* a truncated file is an error naming it */
    FILE *t = fopen(f, "r+b");
    CHECK(t && ftruncate(fileno(t), 100) == 0);
    if (t) fclose(t);
    err_clear(&err);
    CHECK(dp_load_optimizer(&d, m, f, &err) != 0 && strstr(err.msg, "optimizer.safetensors"));
    remove(f);
    rmdir(dir);
    free(f), free(mm), free(vv), free(p0), free(ga), free(gb);
    dp_free(&d);
    model_free(back);
    model_free(m);
    model_free(ref);
}

int main(void) {
    test_launcher_checks();
    test_blocks();
    test_dp();
    return check_report("test_dist");
}
