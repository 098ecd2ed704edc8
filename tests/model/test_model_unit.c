/* test_model_unit.c - the engine's behaviour without a reference framework:
 * config.json parsing and refusals, the documented initialisation, results
 * independent of the thread count, and the sampler (batch-composition
 * independence, greedy limits of top-k / top-p, stop ids, stop strings,
 * empirical frequencies against the model's own probabilities). */
#include <math.h>

#include "model/model_internal.h"
#include "tests/check.h"
#include "tests/model/model_test_util.h"
#include "tokenizer/tokenizer.h"

static const char *tmpdir(void) { return getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp"; }

/* ---- config.json ---- */

static int write_config(const char *dir, const char *json) {
    fs_mkdir_p(dir, NULL);
    char *p = fs_join(dir, "config.json");
    int rc = fs_write_atomic(p, json, strlen(json), NULL);
    free(p);
    return rc;
}

/* Qwen2.5-0.5B's config.json with one field replaced (or appended). */
static char *qwen_config(const char *field, const char *value) {
    static char buf[4096];
    const char *fields[][2] = {{"architectures", "[\"Qwen2ForCausalLM\"]"}, {"model_type", "\"qwen2\""},
                               {"hidden_act", "\"silu\""}, {"hidden_size", "896"}, {"intermediate_size", "4864"},
                               {"max_position_embeddings", "32768"}, {"num_attention_heads", "14"},
                               {"num_hidden_layers", "24"}, {"num_key_value_heads", "2"}, {"rms_norm_eps", "1e-06"},
                               {"rope_theta", "1000000.0"}, {"rope_scaling", "null"}, {"sliding_window", "32768"},
                               {"use_sliding_window", "false"}, {"tie_word_embeddings", "true"},
                               {"torch_dtype", "\"bfloat16\""}, {"vocab_size", "151936"}, {"bos_token_id", "151643"},
                               {"eos_token_id", "151643"}};
    int n = sizeof fields / sizeof fields[0], used = 0;
    size_t at = 0;
    at += snprintf(buf + at, sizeof buf - at, "{");
    for (int i = 0; i < n; i++) {
        const char *v = fields[i][1];
        if (field && !strcmp(field, fields[i][0])) v = value, used = 1;
        if (!v) continue;
        at += snprintf(buf + at, sizeof buf - at, "%s\n  \"%s\": %s", at > 1 ? "," : "", fields[i][0], v);
    }
    if (field && !used && value) at += snprintf(buf + at, sizeof buf - at, ",\n  \"%s\": %s", field, value);
    snprintf(buf + at, sizeof buf - at, "\n}\n");
    return buf;
}

static void expect_refusal(const char *field, const char *value, const char *needle) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/model_cfg_bad", tmpdir());
    write_config(dir, qwen_config(field, value));
    ModelConfig c;
    PureErr err = {0};
    CHECK(model_config_load(dir, &c, &err) == -1);
    if (!strstr(err.msg, needle) || !strstr(err.msg, "config.json"))
        fprintf(stderr, "message for %s=%s lacks '%s': %s\n", field, value ? value : "(removed)", needle, err.msg);
    CHECK(strstr(err.msg, needle) != NULL);
}

static void test_config(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/model_cfg_ok", tmpdir());
    write_config(dir, qwen_config(NULL, NULL));
    ModelConfig c;
    PureErr err = {0};
    CHECK(model_config_load(dir, &c, &err) == 0);
    CHECK_STR(c.arch, "qwen2");
    CHECK(c.vocab_size == 151936 && c.hidden_size == 896 && c.intermediate_size == 4864 && c.num_layers == 24);
    CHECK(c.num_heads == 14 && c.num_kv_heads == 2 && c.head_dim == 64 && c.tie_embeddings == 1 && c.qkv_bias == 1);
    CHECK(c.num_labels == 0 && c.eos_id == 151643 && c.rope_theta == 1e6 && c.rms_eps == 1e-6);
    CHECK_STR(c.dtype, "bfloat16");

    /* token classification: num_labels from id2label */
    write_config(dir, qwen_config("architectures", "[\"Qwen2ForTokenClassification\"]"));
    char *j = qwen_config("architectures", "[\"Qwen2ForTokenClassification\"]");
    char *end = strrchr(j, '}');
    snprintf(end, 200, ",\"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}}");
    write_config(dir, j);
    CHECK(model_config_load(dir, &c, &err) == 0);
    CHECK(c.num_labels == 3);

    /* round trip through our writer */
    char *out = model_config_to_json(&c);
    write_config(dir, out);
    free(out);
    ModelConfig c2;
    CHECK(model_config_load(dir, &c2, &err) == 0);
    CHECK(!memcmp(&c, &c2, sizeof c));

    expect_refusal("model_type", "\"gpt2\"", "model_type");
    expect_refusal("architectures", "[\"Qwen2ForSequenceClassification\"]", "architectures");
    expect_refusal("rope_scaling", "{\"type\": \"yarn\", \"factor\": 4.0}", "rope_scaling");
    expect_refusal("use_sliding_window", "true", "use_sliding_window");
    expect_refusal("hidden_act", "\"gelu\"", "hidden_act");
    expect_refusal("hidden_size", NULL, "hidden_size");
    expect_refusal("num_key_value_heads", "3", "num_key_value_heads");
    expect_refusal("vocab_size", "\"many\"", "vocab_size");
    expect_refusal("torch_dtype", "\"int8\"", "torch_dtype");
    /* a syntax error names line:column */
    write_config(dir, "{\n  \"model_type\": \"qwen2\",\n  oops\n}");
    CHECK(model_config_load(dir, &c, &err) == -1);
    CHECK(strstr(err.msg, "config.json:3:") != NULL);
}

/* ---- initialisation ---- */

static ModelConfig tiny_config(int labels) {
    ModelConfig c;
    model_config_default(&c);
    c.vocab_size = 300, c.hidden_size = 64, c.intermediate_size = 96, c.num_layers = 2, c.num_heads = 4;
    c.num_kv_heads = 2, c.head_dim = 16, c.num_labels = labels;
    return c;
}

static void test_init(void) {
    ModelConfig c = tiny_config(0);
    PureErr err = {0};
    Model *a = model_create(&c, 42, "cpu", &err), *b = model_create(&c, 42, "auto", &err);
    CHECK(a && b);
    CHECK(model_create(&c, 1, "cuda", &err) == NULL && strstr(err.msg, "cuda"));
    int n = model_tensor_count(a);
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        int nd;
        int64_t sh[2];
        const char *name = model_tensor_info(a, i, &nd, sh);
        size_t cnt = (size_t)sh[0] * (nd == 2 ? sh[1] : 1);
        total += (int64_t)cnt;
        float *x = malloc(cnt * sizeof(float)), *y = malloc(cnt * sizeof(float));
        model_get_tensor(a, name, x, NULL);
        model_get_tensor(b, name, y, NULL);
        CHECK(!memcmp(x, y, cnt * sizeof(float)));
        double s = 0, s2 = 0;
        for (size_t e = 0; e < cnt; e++) s += x[e], s2 += (double)x[e] * x[e];
        if (strstr(name, "norm")) CHECK(s == (double)cnt && s2 == (double)cnt);
        else if (nd == 1) CHECK(s2 == 0);
        else CHECK_NEAR(sqrt(s2 / cnt), 0.02, 0.1 * 0.02 + 2.0 / sqrt((double)cnt) * 0.02);
        free(x), free(y);
    }
    CHECK(total == model_num_params(a));
    /* tied: no lm_head tensor; embed 300*64 + per layer + norm */
    CHECK(model_tensor_info(a, n - 1, NULL, NULL) && !strcmp(model_tensor_info(a, n - 1, NULL, NULL), "model.norm.weight"));
    model_free(a), model_free(b);
}

/* ---- thread count ---- */

static void forward_backward(Model *m, float *out, float *grads) {
    enum { B = 3, T = 40 };
    int32_t tokens[B * T], lengths[B] = {40, 17, 33};
    for (int i = 0; i < B * T; i++) tokens[i] = (int32_t)(rng_uniform(3, 0, i) * 300);
    float dout[B * T];
    for (int i = 0; i < B * T; i++) dout[i] = rng_normal(4, 0, i);
    ModelBatch b = {B, T, tokens, lengths};
    model_zero_grad(m);
    CHECK(model_forward(m, &b, out, NULL, 1, NULL) == 0);
    CHECK(model_backward(m, &b, dout, NULL) == 0);
    size_t at = 0;
    for (int i = 0; i < model_tensor_count(m); i++) {
        int nd;
        int64_t sh[2];
        const char *name = model_tensor_info(m, i, &nd, sh);
        model_get_grad(m, name, grads + at, NULL);
        at += (size_t)sh[0] * (nd == 2 ? sh[1] : 1);
    }
}

static void test_threads(void) {
    ModelConfig c = tiny_config(0);
    Model *m = model_create(&c, 5, "cpu", NULL);
    mt_randomize(m, 6, 0.2f);
    size_t np = (size_t)model_num_params(m);
    float out1[120], out2[120], *g1 = malloc(np * sizeof(float)), *g2 = malloc(np * sizeof(float));
    model_set_threads(1);
    forward_backward(m, out1, g1);
    model_set_threads(2);
    forward_backward(m, out2, g2);
    CHECK(!memcmp(out1, out2, sizeof out1));
    CHECK(!memcmp(g1, g2, np * sizeof(float)));
    free(g1), free(g2);
    model_free(m);
}

/* ---- sampling ---- */

static int generate(Model *m, const Tokenizer *tok, int n, const int32_t *const *p, const int *pl, const uint64_t *s,
                    SampleConfig *sc, SampleResult *r) {
    PureErr err = {0};
    int rc = model_generate(m, tok, n, p, pl, s, sc, r, &err);
    if (rc) fprintf(stderr, "model_generate: %s\n", err.msg);
    return rc;
}

static int same_result(const SampleResult *a, const SampleResult *b, double tol) {
    if (a->n != b->n || a->finish != b->finish || memcmp(a->tokens, b->tokens, sizeof(int32_t) * a->n)) return 0;
    for (int i = 0; i < a->n; i++)
        if (fabs(a->logprobs[i] - b->logprobs[i]) > tol) return 0;
    return 1;
}

static void test_sampling(void) {
    ModelConfig c = tiny_config(0);
    c.vocab_size = 258; /* 256 bytes + 2 specials, for the byte-level tokenizer */
    Model *m = model_create(&c, 8, "cpu", NULL);
    mt_randomize(m, 9, 0.25f);
    int32_t p0[] = {72, 101, 108, 108, 111}, p1[] = {1, 2, 3}, p2[] = {200, 10, 32, 32, 32, 32, 65}, p3[] = {66};
    const int32_t *prompts[4] = {p0, p1, p2, p3};
    int plens[4] = {5, 3, 7, 1};
    uint64_t streams[4] = {10, 11, 12, 13};

    /* batch composition and thread count do not change a sequence's tokens */
    SampleConfig sc = {.max_new_tokens = 24, .temperature = 0.9f, .top_p = 0.9f, .top_k = 40, .seed = 77};
    SampleResult all[4], one[1], greedy[4], r[4];
    CHECK(generate(m, NULL, 4, prompts, plens, streams, &sc, all) == 0);
    model_set_threads(1);
    CHECK(generate(m, NULL, 1, prompts + 2, plens + 2, streams + 2, &sc, one) == 0);
    model_set_threads(2);
    CHECK(same_result(&all[2], &one[0], 1e-5));
    sample_result_free(&one[0]);
    /* the same stream with another seed differs */
    sc.seed = 78;
    CHECK(generate(m, NULL, 1, prompts + 2, plens + 2, streams + 2, &sc, one) == 0);
    CHECK(!same_result(&all[2], &one[0], 1e-5));
    sample_result_free(&one[0]);

    /* top_k = 1 and a tiny top_p are greedy */
    SampleConfig g = {.max_new_tokens = 24, .temperature = 0, .top_p = 1, .seed = 1};
    CHECK(generate(m, NULL, 4, prompts, plens, streams, &g, greedy) == 0);
    SampleConfig k1 = {.max_new_tokens = 24, .temperature = 1.3f, .top_p = 1, .top_k = 1, .seed = 5};
    CHECK(generate(m, NULL, 4, prompts, plens, streams, &k1, r) == 0);
    for (int i = 0; i < 4; i++) {
        CHECK(same_result(&greedy[i], &r[i], 1e-5));
        sample_result_free(&r[i]);
    }
    SampleConfig p1e = {.max_new_tokens = 24, .temperature = 1.0f, .top_p = 1e-6f, .seed = 5};
    CHECK(generate(m, NULL, 4, prompts, plens, streams, &p1e, r) == 0);
    for (int i = 0; i < 4; i++) {
        CHECK(same_result(&greedy[i], &r[i], 1e-5));
        sample_result_free(&r[i]);
    }

    /* stop ids: the stop token ends the sequence and is kept */
    int32_t stop = greedy[0].tokens[5];
    int first = 0;
    while (greedy[0].tokens[first] != stop) first++;
    SampleConfig st = g;
    st.stop_ids = &stop, st.n_stop_ids = 1;
    CHECK(generate(m, NULL, 1, prompts, plens, streams, &st, r) == 0);
    CHECK(r[0].n == first + 1 && r[0].finish == FINISH_EOS && r[0].tokens[first] == stop);
    sample_result_free(&r[0]);

    /* stop strings: stop at the first generated printable ASCII byte */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/model_bytelevel_tok", tmpdir());
    const char *specials[2] = {"<|endoftext|>", "<|pad|>"};
    PureErr err = {0};
    CHECK(tokenizer_write_bytelevel(dir, specials, 2, specials[0], specials[1], &err) == 0);
    char *tp = fs_join(dir, "tokenizer.json");
    Tokenizer *tok = tokenizer_load(tp, &err);
    free(tp);
    CHECK(tok != NULL);
    int at = -1;
    char stop_s[2] = {0};
    for (int i = 0; tok && i < greedy[1].n && at < 0; i++) {
        size_t len;
        const char *b = tokenizer_token_bytes(tok, greedy[1].tokens[i], &len);
        if (b && len == 1 && b[0] > 32 && b[0] < 127) at = i, stop_s[0] = b[0];
    }
    if (at >= 0) {
        const char *stops[1] = {stop_s};
        SampleConfig ss = g;
        ss.stop_strings = stops, ss.n_stop_strings = 1;
        CHECK(generate(m, tok, 1, prompts + 1, plens + 1, streams + 1, &ss, r) == 0);
        CHECK(r[0].n == at + 1 && r[0].finish == FINISH_STOP);
        sample_result_free(&r[0]);
    } else {
        fprintf(stderr, "note: no printable byte in the greedy output; stop-string check not exercised\n");
        CHECK(at >= 0);
    }
    tokenizer_free(tok);

    /* max_new_tokens = 0 */
    SampleConfig z = g;
    z.max_new_tokens = 0;
    CHECK(generate(m, NULL, 1, prompts, plens, streams, &z, r) == 0);
    CHECK(r[0].n == 0 && r[0].finish == FINISH_LENGTH);
    sample_result_free(&r[0]);
    for (int i = 0; i < 4; i++) sample_result_free(&all[i]), sample_result_free(&greedy[i]);
    model_free(m);
}

/* Empirical first-token frequencies over many streams against the model's
 * probabilities (from model_forward) after temperature, top-k and top-p. */
static void check_frequencies(Model *m, const int32_t *prompt, int plen, float temp, int top_k, float top_p) {
    enum { NS = 4000 };
    int V = model_config(m)->vocab_size;
    /* log p(v | prompt) for every v */
    int32_t *toks = malloc(sizeof(int32_t) * V * (plen + 1)), *lens = malloc(sizeof(int32_t) * V);
    float *out = malloc(sizeof(float) * V * (plen + 1));
    for (int v = 0; v < V; v++) {
        memcpy(toks + v * (plen + 1), prompt, sizeof(int32_t) * plen);
        toks[v * (plen + 1) + plen] = v;
        lens[v] = plen + 1;
    }
    ModelBatch b = {V, plen + 1, toks, lens};
    CHECK(model_forward(m, &b, out, NULL, 0, NULL) == 0);
    double *p = calloc(V, sizeof(double)), z = 0;
    int *order = malloc(sizeof(int) * V);
    for (int v = 0; v < V; v++) order[v] = v;
    for (int i = 0; i < V; i++) /* sort by probability, descending (V is small) */
        for (int j = i + 1; j < V; j++)
            if (out[order[j] * (plen + 1) + plen - 1] > out[order[i] * (plen + 1) + plen - 1]) {
                int t = order[i];
                order[i] = order[j], order[j] = t;
            }
    int keep = top_k > 0 ? top_k : V;
    for (int r = 0; r < keep; r++) z += (p[order[r]] = exp(out[order[r] * (plen + 1) + plen - 1] / temp));
    double cum = 0;
    int nuc = 0;
    while (nuc < keep && cum < top_p * z) cum += p[order[nuc++]];
    for (int r = nuc; r < V; r++) p[order[r]] = 0;
    for (int v = 0; v < V; v++) p[v] /= cum;
    const int32_t **prompts = malloc(sizeof(int32_t *) * NS);
    int *pl = malloc(sizeof(int) * NS);
    uint64_t *st = malloc(sizeof(uint64_t) * NS);
    for (int i = 0; i < NS; i++) prompts[i] = prompt, pl[i] = plen, st[i] = (uint64_t)i;
    SampleResult *res = calloc(NS, sizeof(SampleResult));
    SampleConfig sc = {.max_new_tokens = 1, .temperature = temp, .top_p = top_p, .top_k = top_k, .seed = 3};
    CHECK(generate(m, NULL, NS, prompts, pl, st, &sc, res) == 0);
    double *cnt = calloc(V, sizeof(double));
    for (int i = 0; i < NS; i++) cnt[res[i].tokens[0]] += 1, sample_result_free(&res[i]);
    int bad = 0;
    for (int v = 0; v < V; v++) {
        double f = cnt[v] / NS, sd = sqrt(p[v] * (1 - p[v]) / NS);
        if (p[v] == 0 ? cnt[v] > 0 : fabs(f - p[v]) > 5 * sd + 1e-9) {
            bad++;
            fprintf(stderr, "token %d: frequency %.4f, probability %.4f (T=%g k=%d p=%g)\n", v, f, p[v], temp, top_k,
                    top_p);
        }
    }
    CHECK(bad == 0);
    free(toks), free(lens), free(out), free(p), free(order), free(prompts), free(pl), free(st), free(res), free(cnt);
}

static void test_frequencies(void) {
    ModelConfig c = tiny_config(0);
    c.vocab_size = 12;
    Model *m = model_create(&c, 12, "cpu", NULL);
    mt_randomize(m, 13, 0.15f);
    int32_t prompt[3] = {1, 5, 7};
    check_frequencies(m, prompt, 3, 1.0f, 0, 1.0f);
    check_frequencies(m, prompt, 3, 0.7f, 4, 1.0f);
    check_frequencies(m, prompt, 3, 1.0f, 0, 0.6f);
    check_frequencies(m, prompt, 3, 1.5f, 6, 0.8f);
    model_free(m);
}

int main(void) {
    model_set_threads(2);
    test_config();
    test_init();
    test_threads();
    test_sampling();
    test_frequencies();
    return check_report("test_model_unit");
}
