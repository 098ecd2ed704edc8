/* test_prm_tokens.c - the official PURE code's PRM input (prm input_format
 * tokens) and step ends (rollout step_rule token), against hand-worked
 * examples on the real Qwen tokenizer (docs/fidelity.md "The PRM input format,
 * exactly"), and the prm stage's tokens path against an independent
 * construction.
 *
 * 1. Qwen: "x = 5.\n\nSo y = 3." + EOS is [87 284 220 20 382 4416 379 284 220
 *    18 13 EOS]; the official input appends [87 284 220 20 198 4416 379 284 220
 *    18 13 198] to the prompt ids, markers at the two 198s; a cut input loses
 *    its late markers. Step ends by the token rule: empty steps at a leading
 *    separator and between two in a row, an empty last step at the EOS after
 *    "B\n\n", and a truncated response ending in a separator scored once.
 *    The training layout (TRL): each step encoded alone + 198.
 *    (Skipped when ../shared/tokenizers/qwen is absent.)
 * 2. The prm stage, mode model, input_format tokens, on a tiny byte-level
 *    classifier: its rewards equal P(1) - P(0) of a direct forward pass over
 *    the prompt followed by the response with each step's end token swapped
 *    for "\n" (the official code's 1:1 swap, built here without prmfmt.c).
 *    A rollouts artifact without the policy tokenizer's size, or with another
 *    size, is refused with a message naming both.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"
#include "stages/common/io.h"
#include "stages/common/prmfmt.h"
#include "stages/rollout/step_map.h"
#include "stages/stage.h"
#include "tests/check.h"
#include "tests/stage_test_host.h"
#include "tokenizer/tokenizer.h"
#include "util/fs.h"

extern const StageKind stage_kind_prm;

static int32_t *encode(const Tokenizer *tok, const char *s, size_t *n) {
    int32_t *ids = NULL;
    PureErr err = {0};
    CHECK(tokenizer_encode(tok, s, strlen(s), 0, &ids, n, NULL, &err) == 0);
    return ids;
}

static int same_ids(const int32_t *a, const int32_t *b, int n) {
    for (int i = 0; i < n; i++)
        if (a[i] != b[i]) {
            fprintf(stderr, "  id %d: got %d, want %d\n", i, a[i], b[i]);
            return 0;
        }
    return 1;
}

/* Step ends by the token rule, with the separator flags as the rollout computes them. */
static int token_rule(const Tokenizer *tok, const int32_t *ids, int n, int32_t *ends) {
    unsigned char *sep = calloc((size_t)n + 1, 1);
    size_t *tend = calloc((size_t)n + 1, sizeof *tend);
    int32_t *bytes = calloc((size_t)n + 1, sizeof *bytes);
    for (int j = 0; j < n; j++) {
        size_t bl = 0;
        const char *b = tokenizer_is_special(tok, ids[j]) ? NULL : tokenizer_token_bytes(tok, ids[j], &bl);
        sep[j] = (unsigned char)step_is_separator(b, bl);
        tend[j] = (j ? tend[j - 1] : 0) + (b ? bl : 0);
    }
    int k = step_map_separators(tend, sep, n, ends, bytes);
    for (int s = 0; s < k; s++) CHECK(bytes[s] == (int32_t)tend[ends[s]]);
    free(sep), free(tend), free(bytes);
    return k;
}

static void test_qwen(void) {
    char *path = fs_join(PURE_SHARED_DIR, "tokenizers/qwen/tokenizer.json");
    PureErr err = {0};
    Tokenizer *tok = fs_exists(path) ? tokenizer_load(path, &err) : NULL;
    free(path);
    if (!tok) {
        printf("test_prm_tokens: Qwen tokenizer not available, Qwen checks skipped\n");
        return;
    }
    int32_t nl = -1, eos = tokenizer_token_id(tok, "<|endoftext|>");
    CHECK(prm_newline_id(tok, "qwen", &nl, &err) == 0 && nl == 198);
    CHECK(eos == 151643);

    /* the response, as a policy samples it: its text's ids then EOS */
    size_t n = 0, np = 0;
    int32_t *r = encode(tok, "x = 5.\n\nSo y = 3.", &n);
    const int32_t want_resp[] = {87, 284, 220, 20, 382, 4416, 379, 284, 220, 18, 13};
    CHECK(n == 11 && same_ids(r, want_resp, 11));
    r = realloc(r, (n + 1) * sizeof *r);
    r[n++] = eos;
    int32_t ends[16];
    CHECK(token_rule(tok, r, (int)n, ends) == 2 && ends[0] == 4 && ends[1] == 11);

    int32_t *prompt = encode(tok, "What is x?\n\nPlease reason step by step.", &np);
    CHECK(np > 0);
    PrmInput in;
    prm_format_tokens(prompt, (int)np, r, (int)n, ends, 2, nl, 4096, &in);
    const int32_t want_tail[] = {87, 284, 220, 20, 198, 4416, 379, 284, 220, 18, 13, 198};
    CHECK(in.n == (int)np + 12 && same_ids(in.ids, prompt, (int)np) && same_ids(in.ids + np, want_tail, 12));
    CHECK(in.n_steps == 2 && in.marker[0] == (int)np + 4 && in.marker[1] == (int)np + 11);
    prm_input_free(&in);
    /* cut after the first marker: the second step is past max_len (prm_score gives it unscored_reward) */
    prm_format_tokens(prompt, (int)np, r, (int)n, ends, 2, nl, (int)np + 6, &in);
    CHECK(in.n == (int)np + 6 && in.marker[0] == (int)np + 4 && in.marker[1] == -1);
    prm_input_free(&in);
    /* cut just before the first marker: nothing is scored */
    prm_format_tokens(prompt, (int)np, r, (int)n, ends, 2, nl, (int)np + 4, &in);
    CHECK(in.n == (int)np + 4 && in.marker[0] == -1 && in.marker[1] == -1);
    prm_input_free(&in);

    /* the training layout: problem ids, then each step encoded alone + "\n" */
    const char *steps[] = {"x = 5.", "So y = 3."};
    size_t lens[] = {6, 9};
    size_t nq = 0;
    int32_t *q = encode(tok, "What is x?", &nq);
    CHECK(prm_format_pieces(tok, "What is x?", steps, lens, 2, nl, 4096, &in, &err) == 0);
    const int32_t want_pieces[] = {87, 284, 220, 20, 13, 198, 4416, 379, 284, 220, 18, 13, 198};
    CHECK(in.n == (int)nq + 13 && same_ids(in.ids, q, (int)nq) && same_ids(in.ids + nq, want_pieces, 13));
    CHECK(in.marker[0] == (int)nq + 5 && in.marker[1] == (int)nq + 12);
    prm_input_free(&in);

    /* edge cases of the token rule, built from single-token pieces */
    size_t k1 = 0, k2 = 0, k3 = 0;
    int32_t *dd = encode(tok, "\n\n", &k1), *a = encode(tok, "A", &k2), *b = encode(tok, "B", &k3);
    CHECK(k1 == 1 && k2 == 1 && k3 == 1);
    if (k1 == 1 && k2 == 1 && k3 == 1) {
        /* "\n\n" A "\n\n" "\n\n" B "\n\n" EOS: ends at every separator and at EOS */
        int32_t seq[] = {dd[0], a[0], dd[0], dd[0], b[0], dd[0], eos};
        CHECK(token_rule(tok, seq, 7, ends) == 5);
        CHECK(ends[0] == 0 && ends[1] == 2 && ends[2] == 3 && ends[3] == 5 && ends[4] == 6);
        /* the tokens input: empty steps are a lone "\n", every end token swapped for it */
        prm_format_tokens(NULL, 0, seq, 7, ends, 5, nl, 4096, &in);
        const int32_t want_edge[] = {nl, a[0], nl, nl, b[0], nl, nl};
        CHECK(in.n == 7 && same_ids(in.ids, want_edge, 7));
        for (int s = 0; s < 5; s++) CHECK(in.marker[s] == ends[s]);
        prm_input_free(&in);
        /* truncated after a separator: the last token ends one step, not two */
        int32_t cut[] = {a[0], dd[0]};
        CHECK(token_rule(tok, cut, 2, ends) == 1 && ends[0] == 1);
        /* ".\n\n" (382) is a separator too; "\n" alone is not */
        int32_t merged[] = {a[0], 382, nl, b[0]};
        CHECK(token_rule(tok, merged, 4, ends) == 2 && ends[0] == 1 && ends[1] == 3);
    }
    CHECK(token_rule(tok, NULL, 0, ends) == 0);
    free(dd), free(a), free(b), free(q), free(r), free(prompt);
    tokenizer_free(tok);
}

/* ---------------------------------------------------------------- the stage */

static char dir[] = "/tmp/pure_test_prm_tokens_XXXXXX";

/* A tiny random 2-label classifier with a byte-level tokenizer, as prm_train saves one. */
static Tokenizer *write_model(const char *mdir) {
    PureErr err = {0};
    CHECK(fs_mkdir_p(mdir, &err) == 0);
    const char *specials[] = {"<|endoftext|>"};
    CHECK(tokenizer_write_bytelevel(mdir, specials, 1, "<|endoftext|>", "<|endoftext|>", &err) == 0);
    char *tj = fs_join(mdir, "tokenizer.json");
    Tokenizer *tok = tokenizer_load(tj, &err);
    free(tj);
    CHECK(tok != NULL);
    if (!tok) return NULL;
    ModelConfig cfg;
    model_config_default(&cfg);
    cfg.vocab_size = tokenizer_vocab_size(tok);
    cfg.hidden_size = 16, cfg.num_layers = 1, cfg.num_heads = 2, cfg.num_kv_heads = 1, cfg.head_dim = 8;
    cfg.intermediate_size = 32, cfg.max_position = 128, cfg.num_labels = 2;
    Model *m = model_create(&cfg, 11, "cpu", &err);
    CHECK(m && model_save(m, mdir, &err) == 0);
    model_free(m);
    return tok;
}

enum { NR = 2 };
static const char *const resp_text[NR] = {"ab\n\ncd", "xyz"};
static const char *const prompt_text[NR] = {"1+1=?", "Q"};

/* Two responses (their ids from tok; eos appended) with step ends given; the size attribute as asked (< 0: none). */
static void write_rollouts(const Tokenizer *tok, const int32_t *ends, const int64_t *step_off, int64_t vocab_attr) {
    PureErr err = {0};
    char *path = fs_join(dir, "rollouts.h5");
    Artifact *a = artifact_create(path, &err);
    int64_t n = NR, idx[NR] = {0, 1}, grp[NR] = {0, 1}, poff[NR + 1] = {0}, toff[NR + 1] = {0};
    int32_t pids[64], rids[64], len[NR], fin[NR] = {0, 0};
    float lp[64] = {0};
    for (int i = 0; i < NR; i++) {
        size_t k = 0;
        int32_t *ids = encode(tok, prompt_text[i], &k);
        memcpy(pids + poff[i], ids, k * sizeof *ids);
        poff[i + 1] = poff[i] + (int64_t)k;
        free(ids);
        ids = encode(tok, resp_text[i], &k);
        memcpy(rids + toff[i], ids, k * sizeof *ids);
        rids[toff[i] + (int64_t)k] = tokenizer_eos_id(tok);
        toff[i + 1] = toff[i] + (int64_t)k + 1;
        len[i] = (int32_t)k + 1;
        free(ids);
    }
    char *text[NR] = {(char *)resp_text[0], (char *)resp_text[1]};
    int32_t byte_ends[16] = {0}; /* the tokens format reads no bytes */
    Rollouts ro = {.n = n, .prompt_index = idx, .group = grp, .length = len, .finish = fin, .text = text,
                   .prompt_tokens = {n, poff, pids}, .tokens = {n, toff, rids}, .logprobs = {n, toff, lp},
                   .step_ends = {n, (int64_t *)step_off, (void *)ends}, .step_bytes = {n, (int64_t *)step_off, byte_ends}};
    CHECK(a && rollouts_write(a, &ro, &err) == 0);
    if (vocab_attr >= 0) CHECK(artifact_set_attr_i64(a, "/", "tokenizer_vocab", vocab_attr, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    free(path);
    path = fs_join(dir, "prompts.h5");
    a = artifact_create(path, &err);
    uint8_t has[NR] = {1, 1};
    const char *ref[NR] = {"2", "x"};
    CHECK(a && artifact_write(a, "id", DT_I64, 1, &n, idx, &err) == 0);
    CHECK(artifact_write_strings(a, "benchmark", n, prompt_text, &err) == 0);
    CHECK(artifact_write_strings(a, "problem", n, prompt_text, &err) == 0);
    CHECK(artifact_write_strings(a, "prompt", n, prompt_text, &err) == 0);
    CHECK(artifact_write_strings(a, "solution", n, ref, &err) == 0);
    CHECK(artifact_write_strings(a, "reference", n, ref, &err) == 0);
    CHECK(artifact_write(a, "has_reference", DT_U8, 1, &n, has, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    free(path);
}

static int run_prm(const char *const *params, float *rewards, int want, PureErr *err) {
    char r[600], p[600], m[600];
    char *rp = fs_join(dir, "rollouts.h5"), *pp = fs_join(dir, "prompts.h5"), *mp = fs_join(dir, "prm"),
         *out = fs_join(dir, "out");
    snprintf(r, sizeof r, "rollouts=%s", rp);
    snprintf(p, sizeof p, "prompts=%s", pp);
    snprintf(m, sizeof m, "model=%s", mp);
    const char *inputs[] = {r, p, m, NULL};
    PureErr tmp;
    fs_remove_all(out, &tmp);
    fs_mkdir_p(out, &tmp);
    err_clear(err);
    int rc = test_stage_run(&stage_kind_prm, params, inputs, out, NULL, err);
    if (rc == 0) {
        char *h5 = fs_join(out, "rewards.h5");
        Artifact *a = artifact_open(h5, err);
        int64_t rows, *off;
        float *v;
        CHECK(a && artifact_read_ragged(a, "step_rewards", DT_F32, &rows, &off, (void **)&v, err) == 0);
        if (a) {
            CHECK(rows == NR && off[NR] == want);
            memcpy(rewards, v, (size_t)want * sizeof *v);
            free(off), free(v);
            artifact_close(a, NULL);
        }
        free(h5);
    }
    free(rp), free(pp), free(mp), free(out);
    return rc;
}

/* The reference: prompt ++ response with each end token replaced by nl, scored at the end positions. */
static void reference_rewards(const Tokenizer *tok, const int32_t *ends, const int64_t *step_off, float *want) {
    PureErr err = {0};
    char *mp = fs_join(dir, "prm");
    Model *m = model_load(mp, "cpu", &err);
    free(mp);
    CHECK(m != NULL);
    if (!m) return;
    size_t k = 0;
    int32_t *nlids = encode(tok, "\n", &k);
    CHECK(k == 1);
    int32_t nl = nlids[0];
    free(nlids);
    for (int i = 0; i < NR; i++) {
        size_t np = 0, nr = 0;
        int32_t *p = encode(tok, prompt_text[i], &np), *r = encode(tok, resp_text[i], &nr);
        int T = (int)(np + nr + 1);
        int32_t *seq = malloc((size_t)T * sizeof *seq), lens[1] = {T};
        memcpy(seq, p, np * sizeof *p);
        memcpy(seq + np, r, nr * sizeof *r);
        seq[T - 1] = tokenizer_eos_id(tok);
        for (int64_t s = step_off[i]; s < step_off[i + 1]; s++) seq[np + ends[s]] = nl;
        ModelBatch b = {1, T, seq, lens};
        float *logits = malloc((size_t)T * 2 * sizeof *logits);
        CHECK(model_forward(m, &b, logits, NULL, 0, &err) == 0);
        for (int64_t s = step_off[i]; s < step_off[i + 1]; s++) {
            const float *l = logits + (np + ends[s]) * 2;
            double e0 = exp(l[0]), e1 = exp(l[1]);
            want[s] = (float)((e1 - e0) / (e0 + e1));
        }
        free(p), free(r), free(seq), free(logits);
    }
    model_free(m);
}

static void test_stage(void) {
    if (!mkdtemp(dir)) return;
    char *mdir = fs_join(dir, "prm");
    Tokenizer *tok = write_model(mdir);
    free(mdir);
    if (!tok) return;
    /* response 0 "ab\n\ncd"+eos (7 byte tokens): steps end at the second "\n" (3) and eos (6); an empty step at
       the first "\n" (2) as well, to see that every end token is swapped; response 1 "xyz"+eos: one step at eos */
    const int32_t ends[] = {2, 3, 6, 3};
    const int64_t step_off[] = {0, 3, 4};
    write_rollouts(tok, ends, step_off, tokenizer_vocab_size(tok));
    const char *const params[] = {"mode=model", "device=cpu", "input_format=tokens", NULL};
    float got[4] = {0}, want[4] = {0}, text[4] = {0};
    PureErr err;
    int rc = run_prm(params, got, 4, &err);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "  %s\n", err.msg);
    reference_rewards(tok, ends, step_off, want);
    for (int s = 0; s < 4; s++) CHECK_NEAR(got[s], want[s], 1e-5);
    /* the text format scores other inputs: the switch is live */
    const char *const tparams[] = {"mode=model", "device=cpu", NULL};
    CHECK(run_prm(tparams, text, 4, &err) == 0);
    int differ = 0;
    for (int s = 0; s < 4; s++) differ += fabsf(text[s] - got[s]) > 1e-6f;
    CHECK(differ > 0);
    /* a cut input: steps past max_len get unscored_reward */
    const char *const cparams[] = {"mode=model", "device=cpu", "input_format=tokens", "max_len=8",
                                   "unscored_reward=-7", NULL};
    CHECK(run_prm(cparams, got, 4, &err) == 0);
    /* response 0: prompt "1+1=?" is 5 tokens, markers at 7, 8, 11: only the first is inside 8 tokens */
    CHECK_NEAR(got[0], want[0], 1e-5);
    CHECK(got[1] == -7.0f && got[2] == -7.0f);
    /* response 1: prompt "Q" + "xyz" + marker at 4 */
    CHECK_NEAR(got[3], want[3], 1e-5);

    /* refused: no record of the policy tokenizer, another tokenizer */
    write_rollouts(tok, ends, step_off, -1);
    CHECK(run_prm(params, got, 4, &err) < 0 && strstr(err.msg, "does not record the policy tokenizer's size"));
    write_rollouts(tok, ends, step_off, 151665);
    CHECK(run_prm(params, got, 4, &err) < 0 && strstr(err.msg, "has 151665") &&
          strstr(err.msg, "needs one tokenizer for both"));
    if (!strstr(err.msg, "needs one tokenizer")) fprintf(stderr, "  got: %s\n", err.msg);
    tokenizer_free(tok);
    PureErr tmp;
    fs_remove_all(dir, &tmp);
}

int main(void) {
    test_qwen();
    test_stage();
    return check_report("test_prm_tokens");
}
