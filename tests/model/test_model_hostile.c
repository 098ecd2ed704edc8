/* test_model_hostile.c - hostile checkpoints (issue 12, hardening): every
 * case runs in a child process, so a case that crashes or aborts (what the
 * loader did before these checks) fails on its own and the others still run.
 *
 *  - integer keys of config.json read as 64-bit and range-checked, the real
 *    value and the allowed range in the message; non-integers (1.5, "12",
 *    true) with their own message; token ids (also in lists and in
 *    generation_config.json) inside the vocabulary;
 *  - config.json against the safetensors header before any large
 *    allocation: intermediate_size 2^31 - 1 and 10^6 layers are refused by
 *    the shape check, under an address-space limit the old loader's
 *    allocations could not pass;
 *  - a model too big for the memory available (model_create, and a
 *    consistent sparse checkpoint under ulimit -v) is refused with its
 *    parameter count, the bytes needed and the bytes available;
 *  - non-finite weights load with one warning naming the count and the
 *    first tensor. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model/safetensors.h"
#include "tests/check.h"
#include "tests/model/model_test_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static char base[512];

/* ---- running a case in a child ---- */

typedef void (*CaseFn)(const void *arg);

/* Runs fn(arg) in a child; the case passes when the child's CHECKs all pass
 * and it exits normally (a signal or abort is a failure, named). */
static void run_case(const char *label, CaseFn fn, const void *arg) {
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        check_failures = 0;
        fn(arg);
        fflush(stdout), fflush(stderr);
        _exit(check_failures ? 1 : 0);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
    if (WIFSIGNALED(st)) fprintf(stderr, "case '%s' died with signal %d\n", label, WTERMSIG(st));
    else if (WEXITSTATUS(st)) fprintf(stderr, "case '%s' failed\n", label);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Limits this (child) process's address space to what it maps now plus
 * extra_mb: an allocation the size of the config's claims then fails. Not
 * under ASan, whose shadow memory needs terabytes of address space. */
static int limit_address_space(long extra_mb) {
    if (UNDER_ASAN) return 0;
    FILE *f = fopen("/proc/self/status", "r");
    long vm_kb = -1;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %ld kB", &vm_kb) == 1) break;
    if (f) fclose(f);
    if (vm_kb < 0) return 0;
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)(vm_kb + extra_mb * 1024) * 1024;
    return setrlimit(RLIMIT_AS, &rl) == 0;
}

/* ---- a tiny checkpoint and edits of its config.json ---- */

static ModelConfig tiny_config(void) {
    ModelConfig c;
    model_config_default(&c);
    c.vocab_size = 16, c.hidden_size = 8, c.intermediate_size = 16, c.num_layers = 1, c.num_heads = 2;
    c.num_kv_heads = 1, c.head_dim = 4, c.max_position = 64, c.eos_id = 3;
    return c;
}

static char tiny_dir[600];

static void make_tiny(void) {
    snprintf(tiny_dir, sizeof tiny_dir, "%s/tiny", base);
    ModelConfig c = tiny_config();
    Model *m = model_create(&c, 7, "cpu", NULL);
    CHECK(m && model_save(m, tiny_dir, NULL) == 0);
    model_free(m);
}

/* dir/config.json = the tiny model's with key set to value (JSON text, kept
 * as written: cJSON would print 2^53 + 1 or 1e999 differently; NULL removes it). */
static void write_config_with(const char *dir, const char *key, const char *value) {
    char *src = fs_join(tiny_dir, "config.json"), *dst = fs_join(dir, "config.json");
    size_t n;
    char *text = fs_read_file(src, &n, NULL);
    cJSON *j = cJSON_Parse(text);
    cJSON_DeleteItemFromObjectCaseSensitive(j, key);
    char *rest = cJSON_PrintUnformatted(j);
    size_t cap = strlen(rest) + strlen(key) + (value ? strlen(value) : 0) + 16;
    char *out = malloc(cap);
    if (value) snprintf(out, cap, "{\"%s\": %s,%s", key, value, rest + 1);
    else snprintf(out, cap, "%s", rest);
    CHECK(fs_mkdir_p(dir, NULL) == 0 && fs_write_atomic(dst, out, strlen(out), NULL) == 0);
    free(out), cJSON_free(rest), cJSON_Delete(j), free(text), free(src), free(dst);
}

/* A folder with the tiny model's weights and its config edited. */
static void edited_model(const char *dir, const char *key, const char *value) {
    fs_remove_all(dir, NULL);
    write_config_with(dir, key, value);
    char *src = fs_join(tiny_dir, "model.safetensors"), *dst = fs_join(dir, "model.safetensors");
    size_t n;
    char *bytes = fs_read_file(src, &n, NULL);
    CHECK(bytes && fs_write_atomic(dst, bytes, n, NULL) == 0);
    free(bytes), free(src), free(dst);
}

/* ---- config.json: integer keys, token ids, numbers ---- */

typedef struct CfgCase {
    const char *key, *value;
    const char *needles[4]; /* all in the message */
} CfgCase;

static void config_refused(const void *arg) {
    const CfgCase *k = arg;
    char dir[700];
    snprintf(dir, sizeof dir, "%s/cfg", base);
    write_config_with(dir, k->key, k->value);
    ModelConfig c;
    PureErr err = {0};
    CHECK(model_config_load(dir, &c, &err) == -1);
    CHECK(strstr(err.msg, "config.json") != NULL);
    if (getenv("PURE_TEST_VERBOSE")) fprintf(stderr, "%s\n", err.msg);
    for (int i = 0; i < 4 && k->needles[i]; i++)
        if (!strstr(err.msg, k->needles[i])) {
            fprintf(stderr, "%s = %s: message lacks '%s': %s\n", k->key, k->value, k->needles[i], err.msg);
            CHECK(0);
        }
}

static void test_config_keys(void) {
    static const CfgCase cases[] = {
        /* the case: 2^40 was reported as -2147483648 */
        {"vocab_size", "1099511627776", {"vocab_size", "1099511627776", "[1, 2147483647]"}},
        {"vocab_size", "0", {"vocab_size", "is 0", "[1, 2147483647]"}},
        {"vocab_size", "1.5", {"vocab_size", "must be an integer", "1.5"}},
        {"vocab_size", "\"12\"", {"vocab_size", "must be an integer", "the string \"12\""}},
        {"vocab_size", "true", {"vocab_size", "must be an integer", "got true"}},
        {"vocab_size", "1e300", {"vocab_size", "1.0000000000000001e+300", "[1, 2147483647]"}},
        {"hidden_size", "4294967304", {"hidden_size", "4294967304", "[1, 2147483647]"}},
        {"hidden_size", "-8", {"hidden_size", "-8", "[1, 2147483647]"}},
        {"hidden_size", "[8]", {"hidden_size", "must be an integer", "an array"}},
        {"intermediate_size", "2147483648", {"intermediate_size", "2147483648", "[1, 2147483647]"}},
        {"intermediate_size", "16.25", {"intermediate_size", "16.25"}},
        {"num_hidden_layers", "100000000", {"num_hidden_layers", "100000000", "[1, 16777216]"}},
        {"num_hidden_layers", "false", {"num_hidden_layers", "got false"}},
        {"num_attention_heads", "-1", {"num_attention_heads", "-1", "[1, 2147483647]"}},
        {"num_attention_heads", "{}", {"num_attention_heads", "an object"}},
        {"num_key_value_heads", "4", {"num_key_value_heads", "is 4", "[1, 2]"}},
        {"num_key_value_heads", "\"1\"", {"num_key_value_heads", "the string \"1\""}},
        {"max_position_embeddings", "1099511627776", {"max_position_embeddings", "1099511627776"}},
        {"max_position_embeddings", "0", {"max_position_embeddings", "is 0"}},
        {"head_dim", "2048", {"head_dim", "2048", "[2, 1024]"}},
        {"head_dim", "5", {"head_dim", "even", "5"}},
        {"head_dim", "4.5", {"head_dim", "4.5"}},
        {"pretraining_tp", "2", {"pretraining_tp", "only 1"}},
        {"pretraining_tp", "\"1\"", {"pretraining_tp", "the string"}},
        {"num_labels", "0", {"num_labels", "is 0"}},
        {"num_labels", "9007199254740993", {"num_labels", "9007199254740992"}},
        /* token ids: the vocabulary is 16 */
        {"eos_token_id", "16", {"eos_token_id", "is 16", "[0, 15]", "vocab_size 16"}},
        {"eos_token_id", "-1", {"eos_token_id", "is -1", "[0, 15]"}},
        {"eos_token_id", "1099511627776", {"eos_token_id", "1099511627776", "[0, 15]"}},
        {"eos_token_id", "[3, 99]", {"eos_token_id[1]", "is 99", "[0, 15]"}},
        {"eos_token_id", "[3, \"4\"]", {"eos_token_id[1]", "the string \"4\""}},
        {"eos_token_id", "2.5", {"eos_token_id", "2.5"}},
        {"bos_token_id", "4294967296", {"bos_token_id", "4294967296", "[0, 15]"}},
        {"pad_token_id", "16", {"pad_token_id", "is 16", "[0, 15]"}},
        /* numbers and flags */
        {"rope_theta", "\"1e6\"", {"rope_theta", "must be a finite number", "the string \"1e6\""}},
        {"rope_theta", "0", {"rope_theta", "> 0", "0"}},
        {"rope_theta", "1e999", {"rope_theta", "finite"}},
        {"rope_theta", "true", {"rope_theta", "got true"}},
        {"rms_norm_eps", "-1e-6", {"rms_norm_eps", "> 0"}},
        {"tie_word_embeddings", "\"false\"", {"tie_word_embeddings", "true or false", "the string \"false\""}},
        {"use_sliding_window", "\"no\"", {"use_sliding_window", "true or false"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char label[200];
        snprintf(label, sizeof label, "%s = %s", cases[i].key, cases[i].value);
        run_case(label, config_refused, &cases[i]);
    }
}

/* Values that are integers by value stay accepted (1e1, 16.0 as JSON numbers). */
static void config_integral_accepted(const void *arg) {
    char dir[700];
    snprintf(dir, sizeof dir, "%s/cfg_ok", base);
    write_config_with(dir, "vocab_size", "1.6e1");
    ModelConfig c;
    PureErr err = {0};
    CHECK(model_config_load(dir, &c, &err) == 0 && c.vocab_size == 16);
    write_config_with(dir, "eos_token_id", "[3, 15]");
    CHECK(model_config_load(dir, &c, &err) == 0 && c.eos_id == 3);
    write_config_with(dir, "eos_token_id", "[]");
    CHECK(model_config_load(dir, &c, &err) == 0 && c.eos_id == -1);
    write_config_with(dir, "pad_token_id", "null");
    CHECK(model_config_load(dir, &c, &err) == 0);
}

/* generation_config.json's token ids are ids of the same vocabulary. */
static void generation_config(const void *arg) {
    char dir[700];
    snprintf(dir, sizeof dir, "%s/gen", base);
    write_config_with(dir, "eos_token_id", "3");
    char *p = fs_join(dir, "generation_config.json");
    const char *ok = "{\"bos_token_id\": 1, \"eos_token_id\": [3, 15], \"pad_token_id\": 0}";
    const char *bad = "{\"bos_token_id\": 1, \"eos_token_id\": [3, 151643]}";
    const char *neg = "{\"eos_token_id\": -5}";
    ModelConfig c;
    PureErr err = {0};
    CHECK(fs_write_atomic(p, ok, strlen(ok), NULL) == 0 && model_config_load(dir, &c, &err) == 0);
    CHECK(fs_write_atomic(p, bad, strlen(bad), NULL) == 0 && model_config_load(dir, &c, &err) == -1);
    CHECK(strstr(err.msg, "generation_config.json") && strstr(err.msg, "eos_token_id[1]") &&
          strstr(err.msg, "151643") && strstr(err.msg, "[0, 15]"));
    CHECK(fs_write_atomic(p, neg, strlen(neg), NULL) == 0 && model_config_load(dir, &c, &err) == -1);
    CHECK(strstr(err.msg, "generation_config.json") && strstr(err.msg, "is -5"));
    CHECK(fs_write_atomic(p, "[1]", 3, NULL) == 0 && model_config_load(dir, &c, &err) == -1);
    CHECK(strstr(err.msg, "generation_config.json") != NULL);
    free(p);
}

/* A config.json (or generation_config.json) past 64 MiB is refused before it
 * is read: cJSON needs tens of bytes per value. The files are sparse. */
static void config_too_large(const void *arg) {
    char dir[700];
    snprintf(dir, sizeof dir, "%s/huge", base);
    fs_remove_all(dir, NULL);
    fs_mkdir_p(dir, NULL);
    char *p = fs_join(dir, "config.json");
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && write(fd, "[", 1) == 1 && ftruncate(fd, (off_t)65 << 20) == 0);
    close(fd);
    limit_address_space(512); /* the old loader read the whole file */
    ModelConfig c;
    PureErr err = {0};
    CHECK(model_config_load(dir, &c, &err) == -1 && strstr(err.msg, "config.json") && strstr(err.msg, "68157440 bytes") &&
          strstr(err.msg, "64 MiB"));
    if (getenv("PURE_TEST_VERBOSE")) fprintf(stderr, "%s\n", err.msg);
    free(p);
    fs_remove_all(dir, NULL);
    write_config_with(dir, "eos_token_id", "3");
    p = fs_join(dir, "generation_config.json");
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && ftruncate(fd, (off_t)65 << 20) == 0);
    close(fd);
    CHECK(model_config_load(dir, &c, &err) == -1 && strstr(err.msg, "generation_config.json") && strstr(err.msg, "64 MiB"));
    free(p);
}

/* The C API's configs go through the same ranges (model_create). */
static void create_refused(const void *arg) {
    ModelConfig c = tiny_config();
    PureErr err = {0};
    c.eos_id = 16;
    CHECK(model_create(&c, 1, "cpu", &err) == NULL && strstr(err.msg, "eos_token_id") && strstr(err.msg, "[0, 15]"));
    c = tiny_config();
    c.bos_id = -7;
    CHECK(model_create(&c, 1, "cpu", &err) == NULL && strstr(err.msg, "bos_token_id") && strstr(err.msg, "-7"));
    c = tiny_config();
    c.num_layers = -3;
    CHECK(model_create(&c, 1, "cpu", &err) == NULL && strstr(err.msg, "num_hidden_layers") && strstr(err.msg, "-3"));
}

/* ---- config.json against the file, before any large allocation ---- */

typedef struct LoadCase {
    const char *key, *value;
    long limit_mb;          /* > 0: address space limited to what is mapped + this */
    const char *needles[4];
} LoadCase;

static void load_refused(const void *arg) {
    const LoadCase *k = arg;
    char dir[700];
    snprintf(dir, sizeof dir, "%s/load", base);
    edited_model(dir, k->key, k->value);
    if (k->limit_mb > 0) limit_address_space(k->limit_mb);
    PureErr err = {0};
    CHECK(model_load(dir, "cpu", &err) == NULL);
    if (getenv("PURE_TEST_VERBOSE")) fprintf(stderr, "%s\n", err.msg);
    for (int i = 0; i < 4 && k->needles[i]; i++)
        if (!strstr(err.msg, k->needles[i])) {
            fprintf(stderr, "%s = %s: message lacks '%s': %s\n", k->key, k->value, k->needles[i], err.msg);
            CHECK(0);
        }
}

static void test_load_shapes(void) {
    static const LoadCase cases[] = {
        /* the two cases: both allocated first (and aborted) */
        {"intermediate_size", "2147483647", 256,
         {"model.layers.0.mlp.gate_proj.weight", "intermediate_size 2147483647", "[16, 8]", "config.json"}},
        {"num_hidden_layers", "1000000", 256,
         {"model.layers.1.", "num_hidden_layers 1000000", "the checkpoint holds 1 layer", "config.json"}},
        {"vocab_size", "2147483647", 256, {"model.embed_tokens.weight", "vocab_size 2147483647", "[16, 8]"}},
        {"hidden_size", "16", 256, {"hidden_size 16", "model.embed_tokens.weight", "[16, 16]"}},
        {"num_attention_heads", "2000000", 256, {"head_dim"}},
        {"head_dim", "1024", 256, {"model.layers.0.self_attn.q_proj.weight", "num_attention_heads 2 x head_dim 1024"}},
        {"num_key_value_heads", "2", 256, {"model.layers.0.self_attn.k_proj.weight", "num_key_value_heads 2"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char label[200];
        snprintf(label, sizeof label, "load with %s = %s", cases[i].key, cases[i].value);
        run_case(label, load_refused, &cases[i]);
    }
}

/* ---- too big for memory ---- */

static void create_too_big(const void *arg) {
    ModelConfig c = tiny_config();
    c.intermediate_size = 2147483647, c.num_layers = 1000; /* 5.2e13 parameters */
    PureErr err = {0};
    CHECK(model_create(&c, 1, "cpu", &err) == NULL);
    CHECK(strstr(err.msg, "parameters") && strstr(err.msg, "GiB") && strstr(err.msg, "intermediate_size 2147483647"));
    CHECK(strstr(err.msg, "model.layers.N.mlp.") != NULL);
    if (getenv("PURE_TEST_VERBOSE")) fprintf(stderr, "%s\n", err.msg);
}

/* A checkpoint whose header agrees with its config but whose weights do
 * not fit: the data is a hole in a sparse file, the limit is ulimit -v. */
static void load_too_big(const void *arg) {
    if (UNDER_ASAN) return; /* needs RLIMIT_AS */
    char dir[700];
    snprintf(dir, sizeof dir, "%s/big", base);
    fs_remove_all(dir, NULL);
    fs_mkdir_p(dir, NULL);
    /* llama, tied, 1 layer, C = 8, F = 2^26: 1.6e9 parameters, 6 GiB as f32, 3 GiB of bf16 on disk */
    const long long V = 16, C = 8, F = 1LL << 26;
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"vocab_size\": %lld, "
             "\"hidden_size\": %lld, \"intermediate_size\": %lld, \"num_hidden_layers\": 1, "
             "\"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"tie_word_embeddings\": true, "
             "\"torch_dtype\": \"bfloat16\"}", V, C, F);
    char *p = fs_join(dir, "config.json");
    CHECK(fs_write_atomic(p, cfg, strlen(cfg), NULL) == 0);
    free(p);
    struct { const char *name; long long d0, d1; } t[] = {
        {"model.embed_tokens.weight", V, C}, {"model.layers.0.input_layernorm.weight", C, 0},
        {"model.layers.0.mlp.down_proj.weight", C, F}, {"model.layers.0.mlp.gate_proj.weight", F, C},
        {"model.layers.0.mlp.up_proj.weight", F, C}, {"model.layers.0.post_attention_layernorm.weight", C, 0},
        {"model.layers.0.self_attn.k_proj.weight", 4, C}, {"model.layers.0.self_attn.o_proj.weight", C, C},
        {"model.layers.0.self_attn.q_proj.weight", C, C}, {"model.layers.0.self_attn.v_proj.weight", 4, C},
        {"model.norm.weight", C, 0}};
    char hdr[8192];
    size_t at = (size_t)snprintf(hdr, sizeof hdr, "{");
    unsigned long long off = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        unsigned long long nb = (unsigned long long)t[i].d0 * (t[i].d1 ? t[i].d1 : 1) * 2;
        char shape[64];
        if (t[i].d1) snprintf(shape, sizeof shape, "%lld,%lld", t[i].d0, t[i].d1);
        else snprintf(shape, sizeof shape, "%lld", t[i].d0);
        at += (size_t)snprintf(hdr + at, sizeof hdr - at, "%s\"%s\":{\"dtype\":\"BF16\",\"shape\":[%s],"
                               "\"data_offsets\":[%llu,%llu]}", i ? "," : "", t[i].name, shape, off, off + nb);
        off += nb;
    }
    at += (size_t)snprintf(hdr + at, sizeof hdr - at, "}");
    p = fs_join(dir, "model.safetensors");
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((unsigned long long)at >> (8 * i));
    int ok = fd >= 0 && write(fd, len8, 8) == 8 && write(fd, hdr, at) == (ssize_t)at &&
             ftruncate(fd, (off_t)(8 + at + off)) == 0;
    if (fd >= 0) close(fd);
    free(p);
    if (!ok) {
        fprintf(stderr, "load_too_big: cannot make a sparse file here, skipped\n");
        return;
    }
    SafeTensors *st = safetensors_open(dir, NULL); /* a valid file */
    CHECK(st && safetensors_count(st) == 11);
    safetensors_close(st);
    CHECK(limit_address_space(3 * 1024 + 512)); /* the 3 GiB map fits, 6 GiB of weights do not */
    PureErr err = {0};
    CHECK(model_load(dir, "cpu", &err) == NULL);
    CHECK(strstr(err.msg, "config.json") && strstr(err.msg, "parameters") && strstr(err.msg, "GiB"));
    CHECK(strstr(err.msg, "ulimit -v") && strstr(err.msg, "intermediate_size 67108864"));
    if (getenv("PURE_TEST_VERBOSE")) fprintf(stderr, "%s\n", err.msg);
    fs_remove_all(dir, NULL);
}

/* ---- non-finite weights ---- */

static void nonfinite_warned(const void *arg) {
    char dir[700];
    snprintf(dir, sizeof dir, "%s/nan", base);
    fs_remove_all(dir, NULL);
    ModelConfig c = tiny_config();
    Model *m = model_create(&c, 7, "cpu", NULL);
    float up[16 * 8], norm[8];
    CHECK(model_get_tensor(m, "model.layers.0.mlp.up_proj.weight", up, NULL) == 0);
    CHECK(model_get_tensor(m, "model.norm.weight", norm, NULL) == 0);
    up[3] = up[50] = NAN, up[100] = -INFINITY, norm[7] = INFINITY;
    model_set_tensor(m, "model.layers.0.mlp.up_proj.weight", up, NULL);
    model_set_tensor(m, "model.norm.weight", norm, NULL);
    CHECK(model_save(m, dir, NULL) == 0);
    long long total = model_num_params(m);
    model_free(m);
    /* stderr into a file for the load */
    char log[800];
    snprintf(log, sizeof log, "%s/nan.log", base);
    fflush(stderr);
    int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    PureErr err = {0};
    Model *l = model_load(dir, "cpu", &err);
    fflush(stderr);
    dup2(saved, 2);
    close(fd), close(saved);
    CHECK(l != NULL);
    size_t n;
    char *text = fs_read_file(log, &n, NULL);
    char want[128];
    snprintf(want, sizeof want, "4 of %lld weights are not finite", total);
    CHECK(text && strstr(text, want) && strstr(text, "'model.layers.0.mlp.up_proj.weight'"));
    if (text && !strstr(text, want)) fprintf(stderr, "log was: %s\n", text);
    /* one warning, not one per tensor */
    int times = 0;
    for (const char *q = text; q && (q = strstr(q, "not finite")); q++) times++;
    CHECK(times == 1);
    free(text);
    model_free(l);
}

int main(void) {
    snprintf(base, sizeof base, "%s/model_hostile_%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    fs_remove_all(base, NULL);
    CHECK(fs_mkdir_p(base, NULL) == 0);
    model_set_threads(1);
    make_tiny();
    test_config_keys();
    run_case("integral values accepted", config_integral_accepted, NULL);
    run_case("generation_config.json token ids", generation_config, NULL);
    run_case("model_create ranges", create_refused, NULL);
    run_case("config.json over 64 MiB", config_too_large, NULL);
    test_load_shapes();
    run_case("model_create too big", create_too_big, NULL);
    run_case("model_load too big (sparse file, ulimit -v)", load_too_big, NULL);
    run_case("non-finite weights warned", nonfinite_warned, NULL);
    if (!check_failures) fs_remove_all(base, NULL);
    return check_report("test_model_hostile");
}
