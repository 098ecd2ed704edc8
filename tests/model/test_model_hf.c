/* test_model_hf.c - Hugging Face file compatibility both ways, checked by an
 * independent reader (tests/model/hf_files.py: numpy safetensors, float64
 * PyTorch model): a folder saved here has the config fields, tensor names,
 * shapes and dtypes transformers expects and computes the same log-probs; an
 * HF-style folder (transformers' config.json fields, bf16 shards with an
 * index) loads here and computes the same log-probs. */
#include <math.h>

#include "tests/check.h"
#include "tests/model/model_test_util.h"

enum { B = 2, T = 7 };
static const int32_t tokens[B * T] = {3, 17, 42, 8, 8, 61, 20, 5, 9, 33, 0, 0, 0, 0};
static const int32_t lengths[B] = {7, 4};

static void write_tokens(const char *dir) {
    int32_t buf[2 + B * T + B] = {B, T};
    memcpy(buf + 2, tokens, sizeof tokens);
    memcpy(buf + 2 + B * T, lengths, sizeof lengths);
    char p[600];
    snprintf(p, sizeof p, "%s/tokens.bin", dir);
    FILE *f = fopen(p, "wb");
    fwrite(buf, sizeof buf, 1, f);
    fclose(f);
}

/* Our log-probs for the folder's model against ref_logprobs.bin. */
static void compare(const char *dir) {
    PureErr err = {0};
    Model *m = model_load(dir, "cpu", &err);
    CHECK(m != NULL);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    float out[B * T], ref[B * T];
    ModelBatch b = {B, T, tokens, lengths};
    CHECK(model_forward(m, &b, out, NULL, 0, &err) == 0);
    char p[600];
    snprintf(p, sizeof p, "%s/ref_logprobs.bin", dir);
    FILE *f = fopen(p, "rb");
    CHECK(f && fread(ref, sizeof ref, 1, f) == 1);
    if (f) fclose(f);
    double err_max = 0, mx = 0;
    for (int i = 0; i < B * T; i++) err_max = fmax(err_max, fabs(out[i] - ref[i])), mx = fmax(mx, fabs(ref[i]));
    printf("%s: log-probs max rel err %.2e\n", dir, err_max / mx);
    CHECK(err_max <= 1e-4 * mx);
    model_free(m);
}

static int python(const char *mode, const char *dir) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s -c 'import torch, numpy' 2>/dev/null", PURE_PYTHON);
    if (system(cmd) != 0) return 77;
    snprintf(cmd, sizeof cmd, "%s %s/tests/model/hf_files.py %s %s", PURE_PYTHON, PURE_SOURCE_DIR, mode, dir);
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char ours[512], theirs[512];
    snprintf(ours, sizeof ours, "%s/model_hf_ours", tmp);
    snprintf(theirs, sizeof theirs, "%s/model_hf_theirs", tmp);
    fs_remove_all(ours, NULL), fs_remove_all(theirs, NULL);

    /* ours -> HF reader */
    ModelConfig c;
    model_config_default(&c);
    c.vocab_size = 83, c.hidden_size = 32, c.intermediate_size = 56, c.num_layers = 2, c.num_heads = 4;
    c.num_kv_heads = 2, c.head_dim = 8, c.tie_embeddings = 0, c.rope_theta = 1e6;
    snprintf(c.dtype, sizeof c.dtype, "bfloat16");
    Model *m = model_create(&c, 1, "cpu", NULL);
    mt_randomize(m, 2, 0.2f);
    CHECK(model_save(m, ours, NULL) == 0);
    model_free(m);
    write_tokens(ours);
    int rc = python("check", ours);
    if (rc == 77) return printf("torch/numpy not available: skipped\n"), 77;
    CHECK(rc == 0);
    compare(ours); /* our bf16 folder, read back by us, against the reference's reading of it */

    /* HF writer -> ours */
    fs_mkdir_p(theirs, NULL);
    write_tokens(theirs);
    CHECK(python("write", theirs) == 0);
    compare(theirs);
    return check_report("test_model_hf");
}
