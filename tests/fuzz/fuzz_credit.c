/* fuzz_credit.c - libFuzzer target for credit assignment: `pure credit`'s JSON reader with credit_compute(), and
 * Lua credit rules in the sandbox (scripts/fuzz.sh builds and runs it; seeds in tests/fuzz/corpus/credit/).
 *
 * The first byte picks the mode and the configuration; the rest is the input.
 *   bit 7 clear: a `pure credit` JSON batch, read by credit_json_read() (at most MAX_TOKENS tokens) and computed
 *     with rule (byte % rules) (the lua row runs lua/rules/min.lua), baseline ((byte >> 2) % baselines), whitening
 *     on bit 4, gamma 0.9 on bit 5 and max_length 8 on bit 6.
 *   bit 7 set: a Lua script run as the credit rule on a small fixed batch, with small limits (instructions,
 *     memory, wall clock per call); baseline and whitening from the low bits as above.
 * Either way the run must end: 0 with every return and advantage finite and one per token, or -1 with a
 * message. A crash, a hang (-timeout), a leak (ASan) or growing memory (-rss_limit_mb) is a finding. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stages/credit/credit.h"
#include "util/fs.h"

#define MAX_TOKENS 4096
static const SandboxLimits script_limits = {200000, (size_t)4 << 20, 0.5, 1};

static char *min_lua;  /* lua/rules/min.lua, read once */
static size_t min_lua_len;

static int n_rows(const void *rows, size_t stride) {
    int n = 0;
    while (*(const char *const *)((const char *)rows + (size_t)n * stride)) n++;
    return n;
}

static void fail(const char *what, const char *detail) {
    fprintf(stderr, "fuzz_credit: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* The contract of credit_compute(): success is one finite return and advantage per token; failure says why. */
static void compute_and_check(const CreditBatch *b, const CreditConfig *cfg) {
    CreditResult res;
    PureErr err;
    err_clear(&err);
    if (credit_compute(b, cfg, &res, &err) < 0) {
        if (!err.msg[0]) fail("credit_compute failed without a message", NULL);
        return;
    }
    int64_t tokens = 0;
    for (int64_t i = 0; i < b->n; i++) tokens += b->length[i];
    if (res.n != b->n || res.n_tokens != tokens || res.tok_off[res.n] != tokens) fail("wrong result shape", NULL);
    for (int64_t t = 0; t < res.n_tokens; t++)
        if (!isfinite(res.returns[t]) || !isfinite(res.advantages[t])) fail("a non-finite value was returned", NULL);
    for (int k = 0; k < res.n_metrics; k++)
        if (!isfinite(res.metrics[k].value)) fail("a non-finite metric", res.metrics[k].name);
    credit_result_free(&res);
}

static void config_from_byte(uint8_t c, CreditConfig *cfg) {
    credit_config_init(cfg);
    cfg->baseline = &credit_baselines[(c >> 2) % n_rows(credit_baselines, sizeof *credit_baselines)];
    cfg->whiten = (c >> 4) & 1;
    if ((c >> 5) & 1) cfg->gamma = 0.9;
    if ((c >> 6) & 1) cfg->max_length = 8;
}

static void fuzz_json(uint8_t c, const char *text, size_t len) {
    CreditJson jb;
    PureErr err;
    err_clear(&err);
    if (credit_json_read(text, len, "fuzz", MAX_TOKENS, &jb, &err) < 0) {
        if (!err.msg[0]) fail("credit_json_read failed without a message", NULL);
        return;
    }
    CreditConfig cfg;
    config_from_byte(c, &cfg);
    cfg.rule = &credit_rules[c % n_rows(credit_rules, sizeof *credit_rules)];
    if (cfg.rule->needs & CREDIT_NEEDS_SCRIPT) {
        cfg.lua = sandbox_open_string(min_lua, min_lua_len, "min.lua", &script_limits, &err);
        if (!cfg.lua) fail("lua/rules/min.lua does not open", err.msg);
    }
    compute_and_check(&jb.b, &cfg);
    sandbox_close(cfg.lua);
    credit_json_free(&jb);
}

/* Two groups of two (4 and 9; one response truncated, two with a verifiable reward, one whose last step ends
 * before its last token); the KL and step rewards are small and finite, so what goes wrong is the script's doing. */
static void fuzz_script(uint8_t c, const char *code, size_t len) {
    PureErr err;
    err_clear(&err);
    Sandbox *sb = sandbox_open_string(code, len, "fuzz.lua", &script_limits, &err);
    if (!sb) {
        if (!err.msg[0]) fail("sandbox_open_string failed without a message", NULL);
        return;
    }
    CreditBatch b = {.n = 4, .group = (int64_t[]){4, 9, 4, 9}, .length = (int32_t[]){3, 2, 4, 1},
                     .truncated = (uint8_t[]){0, 0, 1, 0}, .step_off = (int64_t[]){0, 2, 3, 5, 6},
                     .step_ends = (int32_t[]){0, 2, 0, 1, 3, 0},
                     .step_rewards = (float[]){0.5f, -1, 1, 0.25f, 0, 2}, .verifiable = (float[]){1, 0, 0, 1},
                     .has_verifiable = (uint8_t[]){1, 0, 0, 1},
                     .kl = (float[]){0.1f, 0, -0.1f, 0.2f, 0, 0, 0, 0.3f, 0, -0.2f}};
    CreditConfig cfg;
    config_from_byte(c, &cfg);
    cfg.rule = credit_script_rule();
    cfg.kl_coef = 0.1;
    cfg.lua = sb;
    compute_and_check(&b, &cfg);
    sandbox_close(sb);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    PureErr err;
    min_lua = fs_read_file(PURE_SOURCE_DIR "/lua/rules/min.lua", &min_lua_len, &err);
    if (!min_lua) fail("cannot read lua/rules/min.lua", err.msg);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    if (data[0] & 0x80) fuzz_script(data[0], (const char *)data + 1, size - 1);
    else fuzz_json(data[0], (const char *)data + 1, size - 1);
    return 0;
}
