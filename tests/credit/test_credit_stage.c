/* test_credit_stage.c - the `credit` stage kind (stages/credit/credit.c) on real
 * HDF5 artifacts through a minimal StageCtx defined here (the runner's is not
 * linked): outputs equal credit_compute() on the same data, KL is computed from
 * log-probabilities, misaligned inputs and bad parameters give clear errors,
 * and check() catches rule/script mistakes at validate time. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "stages/credit/credit.h"
#include "stages/stage.h"
#include "storage/artifact.h"
#include "tests/check.h"
#include "tests/credit/credit_random.h"
#include "util/fs.h"

extern const StageKind stage_kind_credit;

/* ---- a minimal StageCtx: parameters from a list, defaults from the ParamDef table ---- */

struct StageCtx {
    const char *params[16][2];
    const char *in[3];  /* rollouts, rewards, verifiable */
    const char *out;
    int n_metrics;
    char metric_names[32][64];
    double metric_values[32];
    int warned;
};

static const char *param_text(StageCtx *c, const char *name) {
    for (int i = 0; i < 16 && c->params[i][0]; i++)
        if (!strcmp(c->params[i][0], name)) return c->params[i][1];
    for (const ParamDef *p = stage_kind_credit.params; p->name; p++)
        if (!strcmp(p->name, name)) return p->def;
    fprintf(stderr, "test: unknown parameter %s\n", name);
    abort();
}
const char *stage_name(StageCtx *c) { (void)c; return "credit"; }
int stage_iteration(StageCtx *c) { (void)c; return 0; }
uint64_t stage_seed(StageCtx *c) { (void)c; return 1; }
int64_t stage_param_int(StageCtx *c, const char *n) { return strtoll(param_text(c, n), NULL, 10); }
double stage_param_float(StageCtx *c, const char *n) { return strtod(param_text(c, n), NULL); }
int stage_param_bool(StageCtx *c, const char *n) { return !strcmp(param_text(c, n), "true"); }
const char *stage_param_str(StageCtx *c, const char *n) { return param_text(c, n); }
int stage_param_is_set(StageCtx *c, const char *n) { (void)c; (void)n; return 0; }
static int port_index(const char *p) { return !strcmp(p, "rollouts") ? 0 : !strcmp(p, "rewards") ? 1 : 2; }
const char *stage_input_path(StageCtx *c, const char *p) { return c->in[port_index(p)]; }
Artifact *stage_input_open(StageCtx *c, const char *p, PureErr *e) { return artifact_open(c->in[port_index(p)], e); }
const char *stage_output_path(StageCtx *c, const char *p) { (void)p; return c->out; }
Artifact *stage_output_create(StageCtx *c, const char *p, PureErr *e) { (void)p; return artifact_create(c->out, e); }
void stage_progress(StageCtx *c, int64_t d, int64_t t, const char *u) { (void)c; (void)d; (void)t; (void)u; }
void stage_metric(StageCtx *c, const char *k, double v) {
    snprintf(c->metric_names[c->n_metrics], 64, "%s", k);
    c->metric_values[c->n_metrics++] = v;
}
void stage_log(StageCtx *c, const char *f, ...) { (void)c; (void)f; }
void stage_warn(StageCtx *c, const char *f, ...) { (void)f; c->warned++; }

/* ---- fixtures ---- */

static char dir[256];

/* Paths stay valid until the end (the contexts keep pointers to them). */
static char *paths[64];
static int n_paths;

static const char *path_of(const char *name) {
    for (int i = 0; i < n_paths; i++)
        if (!strcmp(strrchr(paths[i], '/') + 1, name)) return paths[i];
    char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return paths[n_paths++] = xstrdup(buf);
}

static void write_text(const char *name, const char *text) {
    PureErr err;
    CHECK(fs_write_atomic(path_of(name), text, strlen(text), &err) == 0);
}

/* Writes rollouts (with logprobs/ref_logprobs), rewards and verifiable artifacts for rb. */
static void write_inputs(const RandBatch *rb, int64_t reward_rows_cut) {
    PureErr err;
    int64_t n = rb->b.n, tok = 0;
    int64_t *tok_off = xmalloc((size_t)(n + 1) * sizeof *tok_off);
    int32_t *finish = xmalloc((size_t)n * sizeof *finish);
    tok_off[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        tok_off[i + 1] = tok_off[i] + rb->length[i];
        finish[i] = rb->truncated[i] ? 2 : 0;
    }
    tok = tok_off[n];
    float *lp = xmalloc((size_t)tok * sizeof *lp), *ref = xmalloc((size_t)tok * sizeof *ref);
    for (int64_t t = 0; t < tok; t++) {
        lp[t] = -1.0f - 0.01f * (float)(t % 17);
        ref[t] = -1.2f + 0.02f * (float)(t % 5);
    }
    Artifact *a = artifact_create(path_of("rollouts.h5"), &err);
    CHECK(a != NULL);
    CHECK(artifact_write(a, "group", DT_I64, 1, &n, rb->group, &err) == 0);
    CHECK(artifact_write(a, "length", DT_I32, 1, &n, rb->length, &err) == 0);
    CHECK(artifact_write(a, "finish", DT_I32, 1, &n, finish, &err) == 0);
    CHECK(artifact_write_ragged(a, "step_ends", DT_I32, n, rb->step_off, rb->step_ends, &err) == 0);
    CHECK(artifact_write_ragged(a, "logprobs", DT_F32, n, tok_off, lp, &err) == 0);
    CHECK(artifact_write_ragged(a, "ref_logprobs", DT_F32, n, tok_off, ref, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    a = artifact_create(path_of("rewards.h5"), &err);
    /* reward_rows_cut > 0 drops the last step of that response: a misaligned artifact */
    int64_t *off = xmalloc((size_t)(n + 1) * sizeof *off);
    float *rw = xmalloc((size_t)(rb->step_off[n] + 1) * sizeof *rw);
    off[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t s = rb->step_off[i + 1] - rb->step_off[i];
        if (i == reward_rows_cut && s > 0) s--;
        memcpy(rw + off[i], rb->rewards + rb->step_off[i], (size_t)s * sizeof *rw);
        off[i + 1] = off[i] + s;
    }
    CHECK(artifact_write_ragged(a, "step_rewards", DT_F32, n, off, rw, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    a = artifact_create(path_of("verifiable.h5"), &err);
    CHECK(artifact_write(a, "reward", DT_F32, 1, &n, rb->v, &err) == 0);
    CHECK(artifact_write(a, "has_reward", DT_U8, 1, &n, rb->has_v, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    /* the KL the stage should derive (k3) */
    free(tok_off);
    free(finish);
    free(lp);
    free(ref);
    free(off);
    free(rw);
}

static StageCtx ctx_new(void) {
    StageCtx c;
    memset(&c, 0, sizeof c);
    c.in[0] = path_of("rollouts.h5");
    c.in[1] = path_of("rewards.h5");
    c.in[2] = path_of("verifiable.h5");
    c.out = path_of("advantages.h5");
    return c;
}

static void test_stage_matches_core(void) {
    RandBatch rb;
    rand_batch_init(&rb, 99, 40, 4, 1, 120, 8, 1, 0);
    write_inputs(&rb, -1);
    StageCtx c = ctx_new();
    c.params[0][0] = "rule", c.params[0][1] = "min";
    c.params[1][0] = "kl_coef", c.params[1][1] = "0.05";
    c.params[2][0] = "kl_estimator", c.params[2][1] = "k3";
    c.params[3][0] = "whiten", c.params[3][1] = "true";
    PureErr err;
    err_clear(&err);
    int rc = stage_kind_credit.run(&c, &err);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
        rand_batch_free(&rb);
        return;
    }
    /* the same computation done directly, with the KL the stage should have derived */
    int64_t tok = 0;
    for (int64_t i = 0; i < rb.b.n; i++) tok += rb.length[i];
    float *lp = xmalloc((size_t)tok * sizeof *lp), *ref = xmalloc((size_t)tok * sizeof *ref);
    float *kl = xmalloc((size_t)tok * sizeof *kl);
    for (int64_t t = 0; t < tok; t++) {
        lp[t] = -1.0f - 0.01f * (float)(t % 17);
        ref[t] = -1.2f + 0.02f * (float)(t % 5);
    }
    credit_kl_estimate(CREDIT_KL_K3, lp, ref, tok, kl);
    CreditBatch b = rb.b;
    b.kl = kl;
    CreditConfig cfg;
    credit_config_init(&cfg);
    cfg.kl_coef = 0.05;
    cfg.whiten = 1;
    CreditResult res;
    CHECK(credit_compute(&b, &cfg, &res, &err) == 0);
    Artifact *a = artifact_open(c.out, &err);
    CHECK(a != NULL);
    int64_t rows, *off;
    float *ret, *adv;
    CHECK(artifact_read_ragged(a, "returns", DT_F32, &rows, &off, (void **)&ret, &err) == 0);
    CHECK(rows == rb.b.n);
    CHECK(off[rows] == tok);
    for (int64_t i = 0; i <= rows; i++) CHECK(off[i] == res.tok_off[i]);
    free(off);
    CHECK(artifact_read_ragged(a, "advantages", DT_F32, &rows, &off, (void **)&adv, &err) == 0);
    int diff = 0;
    for (int64_t t = 0; t < tok; t++) diff += ret[t] != res.returns[t] || adv[t] != res.advantages[t];
    CHECK(diff == 0);
    artifact_close(a, NULL);
    /* metrics reach the runner */
    CHECK(c.n_metrics == res.n_metrics);
    CHECK_STR(c.metric_names[0], "returns_mean");
    CHECK_NEAR(c.metric_values[0], res.metrics[0].value, 1e-12);
    free(off);
    free(ret);
    free(adv);
    free(lp);
    free(ref);
    free(kl);
    credit_result_free(&res);

    /* lua rule through the stage: min.lua equals rule min */
    char script[1024];
    snprintf(script, sizeof script, "%s/lua/rules/min.lua", PURE_SOURCE_DIR);
    c.params[0][1] = "lua";
    c.params[4][0] = "script", c.params[4][1] = script;
    c.out = path_of("advantages_lua.h5");
    CHECK(stage_kind_credit.check(&c, &err) == 0);
    rc = stage_kind_credit.run(&c, &err);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    a = artifact_open(c.out, &err);
    Artifact *a0 = artifact_open(path_of("advantages.h5"), &err);
    float *ret_l, *ret_b;
    int64_t *o1, *o2;
    CHECK(artifact_read_ragged(a, "advantages", DT_F32, &rows, &o1, (void **)&ret_l, &err) == 0);
    CHECK(artifact_read_ragged(a0, "advantages", DT_F32, &rows, &o2, (void **)&ret_b, &err) == 0);
    double m = 0;
    for (int64_t t = 0; t < tok; t++) m = fmax(m, fabs(ret_l[t] - ret_b[t]));
    CHECK(m < 1e-6);
    free(o1), free(o2), free(ret_l), free(ret_b);
    artifact_close(a, NULL);
    artifact_close(a0, NULL);
    rand_batch_free(&rb);
}

static void expect_run_error(StageCtx *c, const char *want) {
    PureErr err;
    err_clear(&err);
    CHECK(stage_kind_credit.run(c, &err) < 0);
    if (!strstr(err.msg, want)) fprintf(stderr, "  got: %s\n  want: %s\n", err.msg, want);
    CHECK(strstr(err.msg, want) != NULL);
}

static void expect_check_error(StageCtx *c, const char *want) {
    PureErr err;
    err_clear(&err);
    CHECK(stage_kind_credit.check(c, &err) < 0);
    if (!strstr(err.msg, want)) fprintf(stderr, "  got: %s\n  want: %s\n", err.msg, want);
    CHECK(strstr(err.msg, want) != NULL);
}

static void test_stage_errors(void) {
    RandBatch rb;
    rand_batch_init(&rb, 5, 8, 2, 4, 20, 3, 1, 0);
    int64_t cut = -1;
    for (int64_t i = 0; i < rb.b.n && cut < 0; i++)
        if (rb.step_off[i + 1] > rb.step_off[i]) cut = i;
    write_inputs(&rb, cut);
    StageCtx c = ctx_new();
    char want[256];
    snprintf(want, sizeof want, "rewards.h5: 'step_rewards' row %lld (response %lld) has", (long long)cut,
             (long long)cut);
    expect_run_error(&c, want);
    /* no rewards input: runs on the verifiable rewards alone, with a warning */
    c.in[1] = NULL;
    PureErr err;
    CHECK(stage_kind_credit.run(&c, &err) == 0);
    CHECK(c.warned == 1);
    /* a missing input file */
    c.in[2] = path_of("none.h5");
    expect_run_error(&c, "none.h5: no such artifact file");
    c.in[2] = path_of("verifiable.h5");
    /* a group of one under rloo */
    write_inputs(&rb, -1);
    RandBatch one;
    rand_batch_init(&one, 5, 3, 2, 4, 20, 3, 1, 0);
    write_inputs(&one, -1);
    c.in[1] = path_of("rewards.h5");
    expect_run_error(&c, "group 4 has one response (response 2); baseline rloo-token needs at least 2");
    rand_batch_free(&one);
    rand_batch_free(&rb);

    /* KL asked for but the rollouts have no log-probabilities */
    Artifact *a = artifact_create(path_of("rollouts.h5"), &err);
    int64_t n = 2, off[] = {0, 1, 2};
    artifact_write(a, "group", DT_I64, 1, &n, (int64_t[]){0, 0}, &err);
    artifact_write(a, "length", DT_I32, 1, &n, (int32_t[]){3, 3}, &err);
    artifact_write(a, "finish", DT_I32, 1, &n, (int32_t[]){0, 2}, &err);
    artifact_write_ragged(a, "step_ends", DT_I32, 2, off, (int32_t[]){2, 2}, &err);
    artifact_close(a, &err);
    c.in[1] = c.in[2] = NULL;
    c.params[0][0] = "kl_coef", c.params[0][1] = "0.1";
    expect_run_error(&c, "kl_coef > 0 needs per-token logprobs and ref_logprobs");
    c.params[0][1] = "0";
    CHECK(stage_kind_credit.run(&c, &err) == 0);

    /* validate-time checks */
    c.params[1][0] = "rule", c.params[1][1] = "lua";
    expect_check_error(&c, "rule: lua needs a script");
    c.params[1][1] = "min";
    c.params[2][0] = "script", c.params[2][1] = path_of("r.lua");
    expect_check_error(&c, "script is set but rule is min");
    c.params[1][1] = "lua";
    write_text("r.lua", "function credit(\n");
    expect_check_error(&c, "r.lua:2:");
    write_text("r.lua", "function rule() end\n");
    expect_check_error(&c, "r.lua: the script defines no function 'credit'");
    /* a runtime error in the rule names script:line and group */
    write_text("r.lua", "function credit(rs)\n  error('no')\nend\n");
    CHECK(stage_kind_credit.check(&c, &err) == 0);
    expect_run_error(&c, "r.lua:2: no (group 0)");
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/test_credit_stage.%d", (int)getpid());
    PureErr err;
    fs_mkdir_p(dir, &err);
    test_stage_matches_core();
    test_stage_errors();
    fs_remove_all(dir, &err);
    for (int i = 0; i < n_paths; i++) free(paths[i]);
    return check_report("test_credit_stage");
}
