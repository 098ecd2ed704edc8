/* test_prm_toy_tokens.c - prm_train input_format tokens on the toy source: the
 * PRM trains on the layout the prm stage scores (input_format tokens), which
 * for the toy task is the policy's own text ("\n\n" between steps) with a "\n"
 * after the last step and the marker on each step's closing "\n".
 *
 * 1. Hand-written expected ids for a demonstration and for a response whose
 *    delimiter is a run of three newlines (one delimiter, its last "\n" the
 *    step's end token).
 * 2. The same inputs built the way the prm stage builds them from a rollout:
 *    the response tokens with an eos, step ends mapped onto tokens by the
 *    rollout stage's step_map_tokens, then prm_format_tokens.
 * toy_tokens_input is file-private to the stage, so its source is included. */
#include "stages/prm_train/prm_train.c"

#include "stages/rollout/step_map.h"
#include "tests/check.h"
#include "tokenizer/tokenizer.h"
#include "util/fs.h"

static void expect_layout(const Tokenizer *tok, int32_t nl, int32_t eos, const char *prompt, const char *text,
                          const char *expected, const int *marks, int n_marks) {
    size_t *ends = NULL, *starts = NULL;
    int ns = steps_split(text, strlen(text), &ends, &starts);
    CHECK(ns == n_marks);
    PrmInput in;
    PureErr err = {0};
    CHECK(toy_tokens_input(tok, prompt, text, ends, ns, nl, 512, &in, &err) == 0);
    /* 1: byte-level ids are the bytes; the expected layout is written out by hand */
    CHECK(in.n == (int)strlen(expected));
    for (int t = 0; t < in.n && t < (int)strlen(expected); t++) CHECK(in.ids[t] == (unsigned char)expected[t]);
    CHECK(in.n_steps == ns);
    for (int s = 0; s < ns; s++) CHECK(in.marker[s] == marks[s] && in.ids[in.marker[s]] == nl);
    /* 2: as prm builds it from a rollout of this text + eos */
    int32_t *pids = NULL;
    int np = 0;
    CHECK(policy_encode_prompt(tok, prompt, 0, &pids, &np, &err) == 0);
    size_t n = strlen(text);
    int32_t *resp = xmalloc((n + 1) * sizeof(int32_t));
    size_t *tok_end = xmalloc((n + 1) * sizeof(size_t));
    for (size_t j = 0; j < n; j++) resp[j] = (unsigned char)text[j], tok_end[j] = j + 1;
    resp[n] = eos, tok_end[n] = n;
    int32_t *st = xmalloc(((size_t)ns + 1) * sizeof(int32_t)), *sb = xmalloc(((size_t)ns + 1) * sizeof(int32_t));
    CHECK(step_map_tokens(tok_end, (int)n + 1, ends, ns, st, sb) == ns);
    PrmInput ref;
    prm_format_tokens(pids, np, resp, (int)n + 1, st, ns, nl, 512, &ref);
    CHECK(ref.n == in.n && ref.n_steps == in.n_steps);
    for (int t = 0; t < in.n && t < ref.n; t++) CHECK(ref.ids[t] == in.ids[t]);
    for (int s = 0; s < ns; s++) CHECK(ref.marker[s] == in.marker[s]);
    prm_input_free(&ref), prm_input_free(&in);
    free(pids), free(resp), free(tok_end), free(st), free(sb), free(ends), free(starts);
}

int main(void) {
    char dir[] = "/tmp/pure_toytok_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    PureErr err = {0};
    const char *specials[] = {"<|endoftext|>"};
    CHECK(tokenizer_write_bytelevel(dir, specials, 1, "<|endoftext|>", "<|endoftext|>", &err) == 0);
    char *path = fs_join(dir, "tokenizer.json");
    Tokenizer *tok = tokenizer_load(path, &err);
    CHECK(tok != NULL);
    int32_t nl = -1, eos = tokenizer_token_id(tok, "<|endoftext|>");
    CHECK(prm_newline_id(tok, "test", &nl, &err) == 0 && nl == '\n' && eos >= 256);
    const char *prompt = "23+45-12=?\n\n";
    /* prompt 12 bytes; "23+45=68\n" then the marker at 21; "68-12=56\n" then 31; the answer then 57 */
    int m1[] = {21, 31, 57};
    expect_layout(tok, nl, eos, prompt, "23+45=68\n\n68-12=56\n\nThe answer is \\boxed{56}.",
                  "23+45-12=?\n\n23+45=68\n\n68-12=56\n\nThe answer is \\boxed{56}.\n", m1, 3);
    /* a run of three newlines is one delimiter: the step keeps two, the marker is the third */
    int m2[] = {22, 48};
    expect_layout(tok, nl, eos, prompt, "23+45=68\n\n\nThe answer is \\boxed{68}.",
                  "23+45-12=?\n\n23+45=68\n\n\nThe answer is \\boxed{68}.\n", m2, 2);
    tokenizer_free(tok);
    fs_remove_all(dir, NULL);
    free(path);
    return check_report("test_prm_toy_tokens");
}
