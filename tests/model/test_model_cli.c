/* test_model_cli.c - `pure generate` and `pure score` end to end: a saved
 * model folder with a byte-level tokenizer, the real executable (PURE_BIN),
 * outputs compared with the library calls they wrap. */
#include <math.h>

#include "storage/artifact.h"
#include "tests/check.h"
#include "tests/model/model_test_util.h"
#include "tokenizer/tokenizer.h"
#include "util/json.h"

static char g_dir[512];

static int run(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s", PURE_BIN, args);
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static Model *make_model(const char *sub, int labels) {
    ModelConfig c;
    model_config_default(&c);
    c.vocab_size = 258, c.num_labels = labels;
    Model *m = model_create(&c, 21, "cpu", NULL);
    mt_randomize(m, 22, 0.25f);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", g_dir, sub);
    PureErr err = {0};
    CHECK(model_save(m, dir, &err) == 0);
    const char *sp[2] = {"<|endoftext|>", "<|pad|>"};
    CHECK(tokenizer_write_bytelevel(dir, sp, 2, sp[0], sp[1], &err) == 0);
    return m;
}

static void test_score(Model *lm, Model *prm) {
    char in[600], args[2048];
    snprintf(in, sizeof in, "%s/score.jsonl", g_dir);
    const char *lines = "{\"tokens\": [1, 2, 3, 4, 5, 6]}\n{\"tokens\": [200, 7]}\n{\"tokens\": [9, 9, 9, 9]}\n";
    fs_write_atomic(in, lines, strlen(lines), NULL);
    int32_t tokens[3 * 6] = {1, 2, 3, 4, 5, 6, 200, 7, 0, 0, 0, 0, 9, 9, 9, 9, 0, 0}, lengths[3] = {6, 2, 4};
    ModelBatch b = {3, 6, tokens, lengths};
    for (int which = 0; which < 2; which++) {
        Model *m = which ? prm : lm;
        int W = which ? 3 : 1;
        snprintf(args, sizeof args, "score --model %s/%s --input %s --output %s/s%d.h5 --batch 2 2>/dev/null", g_dir,
                 which ? "prm" : "lm", in, g_dir, which);
        CHECK(run(args) == 0);
        float out[3 * 6 * 3];
        CHECK(model_forward(m, &b, out, NULL, 0, NULL) == 0);
        char h5[600];
        snprintf(h5, sizeof h5, "%s/s%d.h5", g_dir, which);
        PureErr err = {0};
        Artifact *a = artifact_open(h5, &err);
        CHECK(a != NULL);
        if (!a) continue;
        int64_t rows, *off;
        float *vals;
        CHECK(artifact_read_ragged(a, which ? "probs" : "logprobs", DT_F32, &rows, &off, (void **)&vals, &err) == 0);
        CHECK(rows == 3);
        double worst = 0;
        for (int r = 0; r < 3; r++) {
            int n = which ? lengths[r] * W : lengths[r] - 1;
            CHECK(off[r + 1] - off[r] == n);
            for (int t = 0; t < (which ? lengths[r] : lengths[r] - 1); t++) {
                if (!which) {
                    worst = fmax(worst, fabs(vals[off[r] + t] - out[r * 6 + t]));
                    continue;
                }
                const float *l = out + (r * 6 + t) * W;
                double z = 0;
                for (int k = 0; k < W; k++) z += exp(l[k]);
                for (int k = 0; k < W; k++) worst = fmax(worst, fabs(vals[off[r] + t * W + k] - exp(l[k]) / z));
            }
        }
        if (worst >= 1e-5) fprintf(stderr, "score %d: max diff %.3g\n", which, worst);
        CHECK(worst < 1e-5); /* different batch splits give different sgemm blockings */
        free(off), free(vals);
        artifact_close(a, NULL);
    }
    /* bad input names file:line */
    const char *bad = "{\"tokens\": [1, 2]}\n{\"tokenz\": [1]}\n";
    fs_write_atomic(in, bad, strlen(bad), NULL);
    snprintf(args, sizeof args, "score --model %s/lm --input %s --output %s/bad.h5 2>%s/err.txt", g_dir, in, g_dir,
             g_dir);
    CHECK(run(args) == 1);
    char errp[600];
    snprintf(errp, sizeof errp, "%s/err.txt", g_dir);
    char *msg = fs_read_file(errp, NULL, NULL);
    CHECK(msg && strstr(msg, "score.jsonl:2"));
    free(msg);
    CHECK(run("score --model /nonexistent --input x --output y 2>/dev/null") == 1);
    CHECK(run("score --model x 2>/dev/null") == 2);
}

static void test_generate(Model *lm) {
    char in[600], outp[600], args[2048];
    snprintf(in, sizeof in, "%s/prompts.jsonl", g_dir);
    snprintf(outp, sizeof outp, "%s/gen.jsonl", g_dir);
    const char *lines = "{\"tokens\": [72, 105]}\n{\"prompt\": \"abc\"}\n";
    fs_write_atomic(in, lines, strlen(lines), NULL);
    snprintf(args, sizeof args,
             "generate --model %s/lm --prompts %s --max-new-tokens 7 --temperature 0.7 --top-p 0.9 --n 2 --seed 5 "
             "--no-eos > %s 2>/dev/null",
             g_dir, in, outp);
    CHECK(run(args) == 0);
    /* the same draws through the library: stream = prompt * n + sample */
    int32_t p0[2] = {72, 105}, p1[3] = {'a', 'b', 'c'};
    const int32_t *pp[4] = {p0, p0, p1, p1};
    int pl[4] = {2, 2, 3, 3};
    uint64_t st[4] = {0, 1, 2, 3};
    SampleConfig sc = {.max_new_tokens = 7, .temperature = 0.7f, .top_p = 0.9f, .seed = 5};
    SampleResult res[4];
    CHECK(model_generate(lm, NULL, 4, pp, pl, st, &sc, res, NULL) == 0);
    size_t len;
    char *text = fs_read_file(outp, &len, NULL), *line = text;
    for (int s = 0; s < 4 && line; s++) {
        char *nl = strchr(line, '\n');
        cJSON *j = nl ? json_parse(line, (size_t)(nl - line), "gen.jsonl", NULL) : NULL;
        CHECK(j != NULL);
        if (!j) break;
        cJSON *toks = cJSON_GetObjectItem(j, "tokens");
        CHECK(cJSON_GetArraySize(toks) == res[s].n);
        for (int i = 0; i < res[s].n && i < cJSON_GetArraySize(toks); i++)
            CHECK((int)cJSON_GetArrayItem(toks, i)->valuedouble == res[s].tokens[i]);
        CHECK(cJSON_GetObjectItem(j, "index")->valuedouble == s / 2);
        CHECK(!strcmp(cJSON_GetObjectItem(j, "finish")->valuestring, "length"));
        cJSON_Delete(j);
        line = nl + 1;
        sample_result_free(&res[s]);
    }
    free(text);
    /* --prompt prints the text */
    snprintf(args, sizeof args, "generate --model %s/lm --prompt hi --max-new-tokens 3 > %s 2>/dev/null", g_dir, outp);
    CHECK(run(args) == 0);
    CHECK(run("generate --model x --prompt a --top-p 2 2>/dev/null") == 2);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s/model_cli_test", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    fs_remove_all(g_dir, NULL);
    fs_mkdir_p(g_dir, NULL);
    model_set_threads(2);
    Model *lm = make_model("lm", 0), *prm = make_model("prm", 3);
    test_score(lm, prm);
    test_generate(lm);
    model_free(lm), model_free(prm);
    return check_report("test_model_cli");
}
