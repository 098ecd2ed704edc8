/* test_credit_stage.c - the `credit` stage kind (stages/credit/credit.c) on real
 * HDF5 artifacts through the real stage host (stages/stage_host.h: the
 * StageCtx the runner uses, parameters as ParamValue rows): outputs equal
 * credit_compute() on the same data, KL is computed from log-probabilities,
 * misaligned inputs and bad parameters give clear errors, check() catches
 * rule/script mistakes at validate time, and the enum parameters' choices are
 * the credit tables themselves; issue 12: non-finite results fail the stage,
 * the readers (stages/common/io.h) refuse bad data without the host's check,
 * hostile scripts give messages at run and validate time, the time limit. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "stages/credit/credit.h"
#include "stages/stage.h"
#include "stages/stage_host.h"
#include "storage/artifact.h"
#include "tests/check.h"
#include "tests/credit/credit_random.h"
#include "util/fs.h"

extern const StageKind stage_kind_credit;

static char dir[256];

/* Paths stay valid until the end (the runs keep pointers to them). */
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

/* ---- one stage run: parameters as the runner parses them, the real StageCtx ---- */

typedef struct Run {
    ParamValue v[32];          /* one per stage_kind_credit.params entry */
    int n;
    const char *in[3];         /* rollouts, rewards, verifiable */
    const char *out;           /* output folder (out/advantages.h5) */
    int no_port_check;         /* 1: skip the host's input check, so the kind's own checks are reached */
    char log[4096];            /* what the run wrote on stderr (warnings) */
    cJSON *metrics;            /* what it reported */
} Run;

static const ParamDef *param_def(const char *name) {
    for (const ParamDef *d = stage_kind_credit.params; d->name; d++)
        if (!strcmp(d->name, name)) return d;
    fprintf(stderr, "test: the credit kind has no parameter '%s'\n", name);
    abort();
}

/* Sets one value from its YAML text, the way runner/spec_param.c would (the
 * canonical text does not matter here: nothing is fingerprinted). */
static void value_set(ParamValue *p, const char *text, int set) {
    const ParamDef *d = p->def;
    free(p->s);
    free(p->canon);
    p->s = NULL;
    p->set = set;
    p->canon = xstrdup("x");
    switch (d->type) {
    case PT_INT: p->i = strtoll(text, NULL, 10); break;
    case PT_FLOAT: p->f = strtod(text, NULL); break;
    case PT_BOOL: p->b = !strcmp(text, "true"); break;
    case PT_ENUM:
        p->i = param_choice_index(d, text);
        if (p->i < 0) {
            fprintf(stderr, "test: '%s' is not a choice of '%s'\n", text, d->name);
            abort();
        }
        p->s = xstrdup(text);
        break;
    default: p->s = xstrdup(text); break; /* STRING, PATH (already absolute here) */
    }
}

static void run_init(Run *r) {
    memset(r, 0, sizeof *r);
    for (const ParamDef *d = stage_kind_credit.params; d->name; d++) {
        CHECK(r->n < 32);
        r->v[r->n].def = d;
        value_set(&r->v[r->n++], d->def ? d->def : "", 0);
    }
    r->in[0] = path_of("rollouts.h5");
    r->in[1] = path_of("rewards.h5");
    r->in[2] = path_of("verifiable.h5");
    r->out = path_of("out");
}

static void run_set(Run *r, const char *name, const char *text) {
    const ParamDef *d = param_def(name);
    for (int i = 0; i < r->n; i++)
        if (r->v[i].def == d) value_set(&r->v[i], text, 1);
}

static void run_free(Run *r) {
    for (int i = 0; i < r->n; i++) {
        free(r->v[i].s);
        free(r->v[i].canon);
    }
    cJSON_Delete(r->metrics);
    r->metrics = NULL;
}

static StageParams run_params(Run *r) { return (StageParams){"credit", &stage_kind_credit, r->v, r->n}; }

/* What the runner does for one instance: check the inputs, run, check the
 * outputs. stderr is captured into r->log. */
static int run_stage(Run *r, PureErr *err) {
    PureErr tmp;
    fs_remove_all(r->out, &tmp);
    CHECK(fs_mkdir_p(r->out, &tmp) == 0);
    StageRunInfo info = {.kind = &stage_kind_credit, .params = run_params(r), .iteration = 0, .seed = 1,
                         .in_paths = r->in, .out_dir = r->out, .scratch_dir = dir, .quiet = 1};
    StageCtx *c = stage_ctx_new(&info);
    fflush(stderr);
    int saved = dup(2), fd = open(path_of("stderr.txt"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    int rc = r->no_port_check ? 0 : stage_ctx_check_inputs(c, err);
    if (rc == 0) rc = stage_kind_credit.run(c, err);
    if (rc == 0) rc = stage_ctx_check_outputs(c, err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t got = pread(fd, r->log, sizeof r->log - 1, 0);
    r->log[got > 0 ? got : 0] = '\0';
    close(fd);
    cJSON_Delete(r->metrics);
    r->metrics = cJSON_Duplicate(stage_ctx_metrics(c), 1);
    stage_ctx_free(c);
    return rc;
}

static int run_check(Run *r, PureErr *err) {
    StageParams p = run_params(r);
    return stage_kind_credit.check(&p, err);
}

static const char *out_file(Run *r) {
    static char buf[600];
    snprintf(buf, sizeof buf, "%s/advantages.h5", r->out);
    return buf;
}

/* ---- fixtures ---- */

/* When set, the rollouts' `length` dataset says this instead of b->length
 * (the tokens still follow b->length): an artifact whose lengths lie. */
static const int32_t *length_says;

/* A rollouts artifact with every dataset of the rollout stage's layout
 * (stages/common/layouts.c); ref_logprobs only when with_ref. */
static void write_rollouts(const CreditBatch *b, int with_ref) {
    PureErr err;
    int64_t n = b->n, tok = 0;
    int64_t *tok_off = xmalloc((size_t)(n + 1) * sizeof *tok_off), *prompt_off = xmalloc((size_t)(n + 1) * 8);
    int64_t *prompt_index = xmalloc((size_t)n * sizeof *prompt_index);
    int32_t *finish = xmalloc((size_t)n * sizeof *finish), prompt_tok[] = {7};
    const char **text = xmalloc((size_t)n * sizeof *text);
    tok_off[0] = prompt_off[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        tok_off[i + 1] = tok_off[i] + b->length[i];
        prompt_off[i + 1] = 0;  /* empty prompts */
        prompt_index[i] = b->group[i];
        finish[i] = b->truncated && b->truncated[i] ? 2 : 0;
        text[i] = "";
    }
    tok = tok_off[n];
    float *lp = xmalloc((size_t)(tok + 1) * sizeof *lp), *ref = xmalloc((size_t)(tok + 1) * sizeof *ref);
    int32_t *ids = xcalloc((size_t)(tok + 1), sizeof *ids);
    for (int64_t t = 0; t < tok; t++) {
        lp[t] = -1.0f - 0.01f * (float)(t % 17);
        ref[t] = -1.2f + 0.02f * (float)(t % 5);
    }
    Artifact *a = artifact_create(path_of("rollouts.h5"), &err);
    CHECK(a != NULL);
    CHECK(artifact_write(a, "prompt_index", DT_I64, 1, &n, prompt_index, &err) == 0);
    CHECK(artifact_write(a, "group", DT_I64, 1, &n, b->group, &err) == 0);
    CHECK(artifact_write_ragged(a, "prompt_tokens", DT_I32, n, prompt_off, prompt_tok, &err) == 0);
    CHECK(artifact_write_ragged(a, "tokens", DT_I32, n, tok_off, ids, &err) == 0);
    CHECK(artifact_write_ragged(a, "logprobs", DT_F32, n, tok_off, lp, &err) == 0);
    if (with_ref) CHECK(artifact_write_ragged(a, "ref_logprobs", DT_F32, n, tok_off, ref, &err) == 0);
    CHECK(artifact_write(a, "length", DT_I32, 1, &n, length_says ? length_says : b->length, &err) == 0);
    CHECK(artifact_write(a, "finish", DT_I32, 1, &n, finish, &err) == 0);
    CHECK(artifact_write_strings(a, "text", n, text, &err) == 0);
    CHECK(artifact_write_ragged(a, "step_ends", DT_I32, n, b->step_off, b->step_ends, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    free(tok_off), free(prompt_off), free(prompt_index), free(finish), free(text), free(lp), free(ref), free(ids);
}

/* Writes rollouts (with logprobs/ref_logprobs), rewards and verifiable artifacts for rb. */
static void write_inputs(const RandBatch *rb, int64_t reward_rows_cut) {
    PureErr err;
    int64_t n = rb->b.n;
    write_rollouts(&rb->b, 1);
    Artifact *a = artifact_create(path_of("rewards.h5"), &err);
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
    CHECK(artifact_write(a, "correct", DT_U8, 1, &n, rb->has_v, &err) == 0);
    const char **extracted = xmalloc((size_t)n * sizeof *extracted);
    for (int64_t i = 0; i < n; i++) extracted[i] = "";
    CHECK(artifact_write_strings(a, "extracted", n, extracted, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    free(extracted);
    free(off);
    free(rw);
}

/* ---- the tables are the parameters' choices ---- */

static void check_choices(const char *param, const void *rows, size_t stride) {
    const ParamDef *d = param_def(param);
    CHECK(d->type == PT_ENUM);
    CHECK(d->choices == rows);
    CHECK(d->choice_stride == stride);
    const char *name;
    int i = 0;
    for (; (name = *(const char *const *)((const char *)rows + (size_t)i * stride)); i++)
        CHECK_STR(param_choice(d, i), name);
    CHECK(param_choice(d, i) == NULL);
    CHECK(param_choice_index(d, d->def) >= 0);
}

static void test_tables(void) {
    check_choices("rule", credit_rules, sizeof *credit_rules);
    check_choices("baseline", credit_baselines, sizeof *credit_baselines);
    check_choices("kl_estimator", credit_kl_estimators, sizeof *credit_kl_estimators);
    /* `pure credit` (credit_config_init) and the stage have the same defaults */
    CreditConfig cfg;
    credit_config_init(&cfg);
    CHECK_STR(cfg.rule->name, param_def("rule")->def);
    CHECK_STR(cfg.baseline->name, param_def("baseline")->def);
    CHECK_STR(credit_kl_estimators[0].name, param_def("kl_estimator")->def);
    /* every row has a doc and a function */
    for (const CreditRule *r = credit_rules; r->name; r++) CHECK(r->doc && r->doc[0] && r->response);
    for (const CreditBaseline *b = credit_baselines; b->name; b++) CHECK(b->doc && b->doc[0] && b->fn);
}

/* ---- outputs ---- */

static double metric_of(const Run *r, const char *name) {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(r->metrics, name);
    return cJSON_IsNumber(m) ? m->valuedouble : NAN;
}

static void test_stage_matches_core(void) {
    RandBatch rb;
    rand_batch_init(&rb, 99, 40, 4, 1, 120, 8, 1, 0);
    write_inputs(&rb, -1);
    Run r;
    run_init(&r);
    run_set(&r, "rule", "min");
    run_set(&r, "kl_coef", "0.05");
    run_set(&r, "kl_estimator", "k3");
    run_set(&r, "whiten", "true");
    PureErr err;
    err_clear(&err);
    int rc = run_stage(&r, &err);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
        run_free(&r);
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
    credit_kl_estimate(credit_kl_find("k3", NULL), lp, ref, tok, kl);
    CreditBatch b = rb.b;
    b.kl = kl;
    CreditConfig cfg;
    credit_config_init(&cfg);
    cfg.kl_coef = 0.05;
    cfg.whiten = 1;
    CreditResult res;
    CHECK(credit_compute(&b, &cfg, &res, &err) == 0);
    Artifact *a = artifact_open(out_file(&r), &err);
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
    /* metrics reach the host, in order */
    CHECK(cJSON_GetArraySize(r.metrics) == res.n_metrics);
    CHECK(r.metrics->child && !strcmp(r.metrics->child->string, "returns_mean"));
    for (int k = 0; k < res.n_metrics; k++) CHECK_NEAR(metric_of(&r, res.metrics[k].name), res.metrics[k].value, 1e-12);
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
    Run l;
    run_init(&l);
    run_set(&l, "rule", "lua");
    run_set(&l, "script", script);
    run_set(&l, "kl_coef", "0.05");
    run_set(&l, "kl_estimator", "k3");
    run_set(&l, "whiten", "true");
    l.out = path_of("out_lua");
    CHECK(run_check(&l, &err) == 0);
    rc = run_stage(&l, &err);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    a = artifact_open(out_file(&l), &err);
    Artifact *a0 = artifact_open(out_file(&r), &err);
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
    run_free(&l);
    run_free(&r);
    rand_batch_free(&rb);
}

/* ---- errors ---- */

static void expect_run_error(Run *r, const char *want) {
    PureErr err;
    err_clear(&err);
    CHECK(run_stage(r, &err) < 0);
    if (!strstr(err.msg, want)) fprintf(stderr, "  got: %s\n  want: %s\n", err.msg, want);
    CHECK(strstr(err.msg, want) != NULL);
}

static void expect_check_error(Run *r, const char *want) {
    PureErr err;
    err_clear(&err);
    CHECK(run_check(r, &err) < 0);
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
    Run c;
    run_init(&c);
    char want[256];
    /* the host's port check: rewards and rollouts step_ends are both one per step */
    snprintf(want, sizeof want, "input 'rewards' dataset 'step_rewards' (%s): row %lld has", path_of("rewards.h5"),
             (long long)cut);
    expect_run_error(&c, want);
    /* and the kind's own check behind it */
    c.no_port_check = 1;
    snprintf(want, sizeof want, "rewards.h5: 'step_rewards' row %lld (response %lld) has", (long long)cut,
             (long long)cut);
    expect_run_error(&c, want);
    c.no_port_check = 0;
    /* no rewards input: runs on the verifiable rewards alone without a warning; with neither input it warns */
    c.in[1] = NULL;
    PureErr err;
    CHECK(run_stage(&c, &err) == 0);
    CHECK(strstr(c.log, "warning") == NULL); /* (the host runs quiet: the one info line is not shown) */
    const char *verifiable = c.in[2];
    c.in[2] = NULL;
    CHECK(run_stage(&c, &err) == 0);
    CHECK(strstr(c.log, "no rewards or verifiable input: every return is 0 but the KL penalty") != NULL);
    c.in[2] = verifiable;
    /* the wrong artifact wired in: the host names whose it is (here: no pure_kind, written by the test) */
    c.in[2] = path_of("rewards.h5");
    expect_run_error(&c, "input 'verifiable': " );
    expect_run_error(&c, "missing dataset 'reward'");
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

    /* KL asked for but the rollouts have no reference log-probabilities */
    CreditBatch two = {.n = 2, .group = (int64_t[]){0, 0}, .length = (int32_t[]){3, 3},
                       .truncated = (uint8_t[]){0, 1}, .step_off = (int64_t[]){0, 1, 2},
                       .step_ends = (int32_t[]){2, 2}};
    write_rollouts(&two, 0);
    c.in[1] = c.in[2] = NULL;
    run_set(&c, "kl_coef", "0.1");
    expect_run_error(&c, "kl_coef > 0 needs per-token logprobs and ref_logprobs");
    run_set(&c, "kl_coef", "0");
    CHECK(run_stage(&c, &err) == 0);

    /* validate-time checks */
    run_set(&c, "rule", "lua");
    expect_check_error(&c, "rule: lua needs a script");
    run_set(&c, "rule", "min");
    run_set(&c, "script", path_of("r.lua"));
    expect_check_error(&c, "script is set but rule is min; set rule: lua to use it");
    run_set(&c, "rule", "lua");
    write_text("r.lua", "function credit(\n");
    expect_check_error(&c, "r.lua:2:");
    write_text("r.lua", "function rule() end\n");
    expect_check_error(&c, "r.lua: the script defines no function 'credit'");
    /* a runtime error in the rule names script:line and group */
    write_text("r.lua", "function credit(rs)\n  error('no')\nend\n");
    CHECK(run_check(&c, &err) == 0);
    expect_run_error(&c, "r.lua:2: no (group 0)");
    /* a rule that needs no step rewards (lua) runs without the rewards input and does not warn */
    write_text("r.lua", "function credit(rs)\n  local o = {}\n  for k, r in ipairs(rs) do o[k] = {steps = {1}} end\n"
                        "  return o\nend\n");
    CHECK(run_stage(&c, &err) == 0);
    CHECK(strstr(c.log, "no rewards input") == NULL);
    run_free(&c);
}

/* ---- issue 12 ---- */

/* A verifiable artifact with the given has_reward column. */
static void write_verifiable(int64_t n, const float *reward, const uint8_t *has) {
    PureErr err;
    Artifact *a = artifact_create(path_of("verifiable.h5"), &err);
    CHECK(artifact_write(a, "reward", DT_F32, 1, &n, reward, &err) == 0);
    CHECK(artifact_write(a, "has_reward", DT_U8, 1, &n, has, &err) == 0);
    CHECK(artifact_write(a, "correct", DT_U8, 1, &n, has, &err) == 0);
    const char *ex[8] = {"", "", "", "", "", "", "", ""};
    CHECK(artifact_write_strings(a, "extracted", n, ex, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
}

static void write_rewards(const CreditBatch *b, const float *rw) {
    PureErr err;
    Artifact *a = artifact_create(path_of("rewards.h5"), &err);
    CHECK(artifact_write_ragged(a, "step_rewards", DT_F32, b->n, b->step_off, rw, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
}

static void test_hardening(void) {
    CreditBatch two = {.n = 2, .group = (int64_t[]){0, 0}, .length = (int32_t[]){3, 2},
                       .truncated = (uint8_t[]){0, 1}, .step_off = (int64_t[]){0, 2, 3},
                       .step_ends = (int32_t[]){0, 2, 1}};
    write_rollouts(&two, 0);
    write_rewards(&two, (float[]){3e38f, 3e38f, 1});
    write_verifiable(2, (float[]){1, 0}, (uint8_t[]){1, 0});
    Run c;
    run_init(&c);
    PureErr err;
    /* non-finite returns fail the stage naming response and group; nothing is written */
    run_set(&c, "rule", "sum");
    expect_run_error(&c, "response 0 (group 0) token 0: the return is infinite as a float32");
    CHECK(!fs_exists(out_file(&c)));
    write_rewards(&two, (float[]){0.5f, 0.25f, 1});
    CHECK(run_stage(&c, &err) == 0);

    /* the readers refuse bad data even when the host's port check is skipped */
    c.no_port_check = 1;
    write_verifiable(2, (float[]){1, 0}, (uint8_t[]){1, 7});
    expect_run_error(&c, "input 'verifiable': ");
    expect_run_error(&c, "verifiable.h5: 'has_reward' row 1 is 7, expected 0 or 1");
    write_verifiable(2, (float[]){1, 0}, (uint8_t[]){1, 0});
    /* lengths the stored tokens do not back (a length of 1e9 would be gigabytes of returns) */
    length_says = (int32_t[]){1000000000, 2};
    write_rollouts(&two, 0);
    length_says = NULL;
    expect_run_error(&c, "response 0: length 1000000000 but 3 tokens");
    c.no_port_check = 0;
    expect_run_error(&c, "response 0: length 1000000000 but 3 tokens");  /* the host's check does not see lengths */
    write_rollouts(&two, 0);

    /* a hostile Lua rule through the stage: messages, no abort */
    run_set(&c, "rule", "lua");
    run_set(&c, "script", path_of("h.lua"));
    write_text("h.lua", "function credit(rs)\n  local o = {}\n  for k = 1, #rs do\n"
                        "    o[k] = setmetatable({}, {__index = function() error('boom') end})\n  end\n  return o\nend\n");
    CHECK(run_check(&c, &err) == 0);
    expect_run_error(&c, "h.lua:4: boom (credit() result[1] for response 0, group 0)");
    /* validate time: the globals' __index raises (was an abort of `pure validate`) */
    write_text("h.lua", "setmetatable(_G, {__index = function() error('nope') end})\n");
    expect_check_error(&c, "h.lua: the script defines no function 'credit'");
    /* validate time: the top level filled the memory cap and caught it */
    run_set(&c, "lua_max_memory_mb", "2");
    write_text("h.lua", "keep = {}\npcall(function() local i = 0 while true do i = i + 1 keep[i] = {i} end end)\n"
                        "function credit(rs) return {} end\n");
    CHECK(run_check(&c, &err) == 0);  /* the lookup itself needs no memory the script holds */
    expect_run_error(&c, "h.lua: memory limit of 2.0 MB exceeded (raise the memory limit) (group 0)");
    write_text("h.lua", "keep = {}\nfunction credit(rs)\n  local i = 0\n"
                        "  pcall(function() while true do i = i + 1 keep[i] = {i} end end)\n  return {}\nend\n");
    CHECK(run_check(&c, &err) == 0);
    expect_run_error(&c, "h.lua: credit() returned 0 entries for group 0 of 2 responses");
    run_set(&c, "lua_max_memory_mb", "64");
    /* the wall-clock parameter */
    run_set(&c, "lua_max_instructions", "1000000000000000");
    run_set(&c, "lua_max_seconds", "0.2");
    write_text("h.lua", "function credit(rs)\n  while true do pcall(function() while true do end end) end\nend\n");
    expect_run_error(&c, "h.lua:2: time limit of 0.2 s per call exceeded (a runaway loop? raise the time limit) "
                         "(group 0)");
    run_free(&c);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/test_credit_stage.%d", (int)getpid());
    PureErr err;
    fs_mkdir_p(dir, &err);
    test_tables();
    test_stage_matches_core();
    test_stage_errors();
    test_hardening();
    fs_remove_all(dir, &err);
    for (int i = 0; i < n_paths; i++) free(paths[i]);
    return check_report("test_credit_stage");
}
