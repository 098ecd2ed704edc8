/* test_prm_stage.c - the `prm` stage kind's two paths that read text a user
 * or a model produced, run as the runner runs them (tests/stage_test_host.h):
 *   mode model: step offsets (step_bytes) that point past the stored text (a
 *   rollout whose text held a NUL byte was cut there; the rollout now drops
 *   NUL bytes and prm clamps offsets to the stored text) are scored without
 *   reading past the string: run under AddressSanitizer this is the
 *   regression test of that heap overflow;
 *   mode lua: hostile scorers (issue 12) end with a message that names the
 *   response, never an abort or a hang. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "model/model.h"
#include "stages/common/io.h"
#include "stages/stage.h"
#include "tests/check.h"
#include "tests/stage_test_host.h"
#include "tokenizer/tokenizer.h"
#include "util/fs.h"

extern const StageKind stage_kind_prm;

static char dir[] = "/tmp/pure_test_prm_stage_XXXXXX";

static char *path_in(const char *name) { return fs_join(dir, name); }

static void write_prompts(int64_t p) {
    PureErr err = {0};
    char *path = path_in("prompts.h5");
    Artifact *a = artifact_create(path, &err);
    int64_t ids[4] = {0, 1, 2, 3};
    uint8_t has[4] = {1, 1, 1, 1};
    const char *problem[4] = {"23+45-12=?", "1+1=?", "2+2=?", "3+3=?"}, *ref[4] = {"56", "2", "4", "6"};
    CHECK(a && artifact_write(a, "id", DT_I64, 1, &p, ids, &err) == 0);
    CHECK(artifact_write_strings(a, "benchmark", p, problem, &err) == 0);
    CHECK(artifact_write_strings(a, "problem", p, problem, &err) == 0);
    CHECK(artifact_write_strings(a, "prompt", p, problem, &err) == 0);
    CHECK(artifact_write_strings(a, "solution", p, ref, &err) == 0);
    CHECK(artifact_write_strings(a, "reference", p, ref, &err) == 0);
    CHECK(artifact_write(a, "has_reference", DT_U8, 1, &p, has, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    free(path);
}

/* Three responses of 4 tokens and 2 steps each; step_bytes as given (6 values). */
static void write_rollouts(const char *const *text, const int32_t *step_bytes) {
    PureErr err = {0};
    char *path = path_in("rollouts.h5");
    Artifact *a = artifact_create(path, &err);
    int64_t n = 3, idx[3] = {0, 1, 2}, grp[3] = {0, 1, 2}, tok_off[4] = {0, 4, 8, 12}, step_off[4] = {0, 2, 4, 6};
    int64_t prompt_off[4] = {0, 1, 2, 3};
    int32_t ids[12] = {65, 66, 67, 68, 65, 66, 67, 68, 65, 66, 67, 68}, len[3] = {4, 4, 4}, fin[3] = {0, 0, 0};
    int32_t ends[6] = {1, 3, 1, 3, 1, 3};
    float lp[12] = {0};
    CHECK(a && artifact_write(a, "prompt_index", DT_I64, 1, &n, idx, &err) == 0);
    CHECK(artifact_write(a, "group", DT_I64, 1, &n, grp, &err) == 0);
    CHECK(artifact_write_ragged(a, "prompt_tokens", DT_I32, n, prompt_off, ids, &err) == 0);
    CHECK(artifact_write_ragged(a, "tokens", DT_I32, n, tok_off, ids, &err) == 0);
    CHECK(artifact_write_ragged(a, "logprobs", DT_F32, n, tok_off, lp, &err) == 0);
    CHECK(artifact_write(a, "length", DT_I32, 1, &n, len, &err) == 0);
    CHECK(artifact_write(a, "finish", DT_I32, 1, &n, fin, &err) == 0);
    CHECK(artifact_write_strings(a, "text", n, text, &err) == 0);
    CHECK(artifact_write_ragged(a, "step_ends", DT_I32, n, step_off, ends, &err) == 0);
    CHECK(artifact_write_ragged(a, "step_bytes", DT_I32, n, step_off, step_bytes, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    free(path);
}

/* A tiny random token classifier (2 labels) with a byte-level tokenizer, as prm_train would save it. */
static void write_model(const char *mdir) {
    PureErr err = {0};
    CHECK(fs_mkdir_p(mdir, &err) == 0);
    const char *specials[] = {"<|endoftext|>"};
    CHECK(tokenizer_write_bytelevel(mdir, specials, 1, "<|endoftext|>", "<|endoftext|>", &err) == 0);
    char *tj = fs_join(mdir, "tokenizer.json");
    Tokenizer *tok = tokenizer_load(tj, &err);
    CHECK(tok != NULL);
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = tokenizer_vocab_size(tok);
    cfg.hidden_size = 16;
    cfg.num_layers = 1;
    cfg.num_heads = 2;
    cfg.num_kv_heads = 1;
    cfg.head_dim = 8;
    cfg.intermediate_size = 32;
    cfg.max_position = 128;
    cfg.num_labels = 2;
    Model *m = model_create(&cfg, 7, "cpu", &err);
    CHECK(m != NULL);
    if (!m) fprintf(stderr, "  %s\n", err.msg);
    if (m) CHECK(model_save(m, mdir, &err) == 0);
    model_free(m);
    tokenizer_free(tok);
    free(tj);
}

static int run_prm(const char *const *params, int with_model, float *rewards, PureErr *err) {
    char r[600], p[600], m[600];
    char *rp = path_in("rollouts.h5"), *pp = path_in("prompts.h5"), *mp = path_in("prm"), *out = path_in("out");
    snprintf(r, sizeof r, "rollouts=%s", rp);
    snprintf(p, sizeof p, "prompts=%s", pp);
    snprintf(m, sizeof m, "model=%s", mp);
    const char *inputs[] = {r, p, with_model ? m : NULL, NULL};
    PureErr tmp;
    fs_remove_all(out, &tmp);
    fs_mkdir_p(out, &tmp);
    err_clear(err);
    int rc = test_stage_run(&stage_kind_prm, params, inputs, out, NULL, err);
    if (rc == 0 && rewards) {
        char *h5 = fs_join(out, "rewards.h5");
        Artifact *a = artifact_open(h5, err);
        int64_t rows, *off;
        float *v;
        CHECK(a && artifact_read_ragged(a, "step_rewards", DT_F32, &rows, &off, (void **)&v, err) == 0);
        if (a) {
            CHECK(rows == 3 && off[3] == 6);
            memcpy(rewards, v, 6 * sizeof *v);
            free(off), free(v);
            artifact_close(a, NULL);
        }
        free(h5);
    }
    free(rp), free(pp), free(mp), free(out);
    return rc;
}

static void test_model_offsets(void) {
    char *mdir = path_in("prm");
    write_model(mdir);
    free(mdir);
    const char *text[3] = {"ab\n\ncd", "ab\n\ncd", "ab\n\ncd"};
    /* response 0: sane; 1: both offsets far past the 6 stored bytes (a text cut at a NUL);
     * 2: negative and decreasing offsets */
    write_rollouts(text, (int32_t[]){4, 6, 1000, 1000000, -5, 2});
    static const char *const params[] = {"mode=model", "device=cpu", NULL};
    float rw[6];
    PureErr err;
    int rc = run_prm(params, 1, rw, &err);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    for (int k = 0; k < 6; k++) CHECK(rw[k] >= -1 && rw[k] <= 1);
    /* offsets past the text score what is there: response 1's first step is the whole text */
    write_rollouts(text, (int32_t[]){4, 6, 6, 6, 0, 6});
    float same[6];
    CHECK(run_prm(params, 1, same, &err) == 0);
    CHECK(rw[2] == same[2] && rw[3] == same[3]);
    CHECK(rw[0] == same[0] && rw[1] == same[1]);
}

static void expect_lua_with(const char *code, const char *extra, const char *extra2, const char *want) {
    char *script = path_in("s.lua");
    PureErr err;
    CHECK(fs_write_atomic(script, code, strlen(code), &err) == 0);
    char sp[600];
    snprintf(sp, sizeof sp, "script=%s", script);
    const char *params[] = {"mode=lua", sp, extra, extra ? extra2 : NULL, NULL};
    int rc = run_prm(params, 0, NULL, &err);
    CHECK(rc < 0);
    if (!strstr(err.msg, want)) fprintf(stderr, "  got: %s\n  want: %s\n", rc ? err.msg : "(success)", want);
    CHECK(rc < 0 && strstr(err.msg, want) != NULL);
    free(script);
}

static void expect_lua(const char *code, const char *extra, const char *want) {
    expect_lua_with(code, extra, NULL, want);
}

static void test_lua_hostile(void) {
    /* two text steps each; the second one long enough that a full memory budget cannot take it */
    char *tail = xmalloc(8200);
    memset(tail, ' ', 8190);
    strcpy(tail + 8190, "2+0=2");
    char *t0 = xmalloc(8300);
    snprintf(t0, 8300, "1+1=2\n\n%s", tail);
    const char *text[3] = {t0, t0, t0};
    int32_t e = (int32_t)strlen(t0);
    write_rollouts(text, (int32_t[]){7, e, 7, e, 7, e});
    free(tail), free(t0);
    /* sanity: a good scorer runs */
    char *script = path_in("ok.lua");
    const char *ok = "function score(problem, steps, ref) local o = {} for i = 1, #steps do o[i] = i / 4 end return o end\n";
    PureErr err;
    CHECK(fs_write_atomic(script, ok, strlen(ok), &err) == 0);
    char sp[600];
    snprintf(sp, sizeof sp, "script=%s", script);
    const char *params[] = {"mode=lua", sp, NULL};
    float rw[6];
    CHECK(run_prm(params, 0, rw, &err) == 0);
    CHECK(rw[0] == 0.25f && rw[1] == 0.5f && rw[5] == 0.5f);
    free(script);
    /* the globals' __index raises (was an abort) */
    expect_lua("setmetatable(_G, {__index = function() error('nope') end})\n", NULL,
               "s.lua: defines no function score(problem, steps, reference)");
    /* the top level fills the memory cap through pcall: the arguments cannot be built (was an abort) */
    expect_lua("keep = {}\npcall(function() local i = 0 while true do i = i + 1 keep[i] = {i} end end)\n"
               "function score(p, s, r) return {0, 0} end\n", "max_memory_mb=2",
               "s.lua: memory limit of 2.0 MB exceeded (raise the memory limit) (response 0)");
    /* the budget cannot be swallowed */
    expect_lua("function score(p, s, r)\n  while true do pcall(function() while true do end end) end\nend\n",
               "max_instructions=100000", "s.lua:2: instruction budget of 100000 per call exceeded (a runaway loop? "
               "raise the instruction limit) (response 0)");
    /* a budget of instructions no CPU runs in 0.2 s, so the clock is what stops it (a fast core ran the default
       50M in less) */
    expect_lua_with("function score(p, s, r)\n  while true do end\nend\n", "max_seconds=0.2",
                    "max_instructions=100000000000",
                    "s.lua:2: time limit of 0.2 s per call exceeded (a runaway loop? raise the time limit) (response 0)");
    /* a finite double that a float32 cannot hold */
    expect_lua("function score(p, s, r) if p == '23+45-12=?' then return {1, 1} end return {1, 1e39} end\n", NULL,
               "s.lua: score() result for response 1: [2] = 1e+39 does not fit a float32");
    expect_lua("function score(p, s, r) return setmetatable({}, {__index = function() return 1 end, "
               "__len = function() return 2 end}) end\n", NULL, "score() result for response 0 has 0 entries, expected 2");
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    write_prompts(3);
    test_model_offsets();
    test_lua_hostile();
    PureErr err;
    fs_remove_all(dir, &err);
    return check_report("test_prm_stage");
}
