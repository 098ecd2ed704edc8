/* test_rl_format.c - the PRM input format and step ends on real tokenizers.
 *
 * 1. prm_format on the byte-level toy tokenizer: the text is the problem, "\n",
 *    each stripped step and a "\n" marker; markers sit at hand-computed byte
 *    positions; inner newlines become spaces; a cut input drops late markers.
 * 2. Step ends on the real Qwen tokenizer: for responses where "\n\n" merges
 *    into larger tokens, every step's end token holds the step's last byte and
 *    the steps partition the response (skipped when the shared tokenizer is absent).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stages/common/prmfmt.h"
#include "stages/common/steps.h"
#include "stages/rollout/step_map.h"
#include "tests/check.h"
#include "tokenizer/tokenizer.h"
#include "util/fs.h"

static void test_prm_format(void) {
    char dir[] = "/tmp/pure_rl_fmt_XXXXXX";
    if (!mkdtemp(dir)) return;
    PureErr err = {0};
    const char *specials[] = {"<|endoftext|>"};
    CHECK(tokenizer_write_bytelevel(dir, specials, 1, "<|endoftext|>", "<|endoftext|>", &err) == 0);
    char *tj = fs_join(dir, "tokenizer.json");
    Tokenizer *tok = tokenizer_load(tj, &err);
    CHECK(tok != NULL);
    if (!tok) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    const char *steps[] = {"1+2=3\n\n", "  The answer\nis \\boxed{3}.  "};
    size_t lens[] = {strlen(steps[0]), strlen(steps[1])};
    PrmInput in;
    CHECK(prm_format(tok, "1+2=?", steps, lens, 2, 1000, &in, &err) == 0);
    /* "1+2=?\n" + "1+2=3" + "\n" + "The answer is \boxed{3}." + "\n" */
    const char *want = "1+2=?\n1+2=3\nThe answer is \\boxed{3}.\n";
    CHECK(in.n == (int)strlen(want));
    char *got = tokenizer_decode(tok, in.ids, (size_t)in.n, 0, NULL);
    CHECK_STR(got, want);
    free(got);
    CHECK(in.n_steps == 2 && in.marker[0] == 11 && in.marker[1] == (int)strlen(want) - 1);
    size_t bl = 0;
    const char *b = tokenizer_token_bytes(tok, in.ids[in.marker[0]], &bl);
    CHECK(b && bl == 1 && b[0] == '\n');
    prm_input_free(&in);
    CHECK(prm_format(tok, "1+2=?", steps, lens, 2, 20, &in, &err) == 0); /* cut after 20 tokens */
    CHECK(in.n == 20 && in.marker[0] == 11 && in.marker[1] == -1);
    prm_input_free(&in);
    tokenizer_free(tok);
    free(tj);
    fs_remove_all(dir, NULL);
}

static void test_qwen_step_ends(void) {
    char *path = fs_join(PURE_SHARED_DIR, "tokenizers/qwen/tokenizer.json");
    PureErr err = {0};
    Tokenizer *tok = fs_exists(path) ? tokenizer_load(path, &err) : NULL;
    free(path);
    if (!tok) {
        printf("test_rl_format: Qwen tokenizer not available, step-end check skipped\n");
        return;
    }
    const char *texts[] = {
        "We have $x=2$.\n\nThen $y = x+1 = 3$.\n\nThe answer is $\\boxed{3}$.",
        "First.\n\n\n\nSecond step:\n\nThird\n\n",
        "No delimiter at all",
        "12+5=17\n\n17-3=14\n\nThe answer is \\boxed{14}.",
    };
    int merged_seen = 0;
    for (int k = 0; k < 4; k++) {
        int32_t *ids = NULL;
        size_t n = 0, *off = NULL, *ends = NULL, *starts = NULL;
        CHECK(tokenizer_encode(tok, texts[k], strlen(texts[k]), 0, &ids, &n, &off, &err) == 0);
        size_t *tend = malloc((n + 1) * sizeof(size_t));
        for (size_t j = 0; j < n; j++) {
            tend[j] = off[2 * j + 1];
            if (off[2 * j + 1] - off[2 * j] > 2 && memchr(texts[k] + off[2 * j], '\n', off[2 * j + 1] - off[2 * j]))
                merged_seen++;
        }
        int ns = steps_split(texts[k], strlen(texts[k]), &ends, &starts);
        int32_t *tk = malloc((size_t)(ns + 1) * sizeof(int32_t)), *by = malloc((size_t)(ns + 1) * sizeof(int32_t));
        int m = step_map_tokens(tend, (int)n, ends, ns, tk, by);
        CHECK(m >= 1 && m <= ns);
        CHECK(tk[m - 1] == (int)n - 1 && by[m - 1] == (int)strlen(texts[k]));
        for (int s = 0; s < m; s++) {
            /* the end token holds the step's last byte */
            CHECK(off[2 * tk[s]] < (size_t)by[s] && (size_t)by[s] <= off[2 * tk[s] + 1]);
            if (s > 0) CHECK(tk[s] > tk[s - 1]);
        }
        free(ids), free(off), free(ends), free(starts), free(tend), free(tk), free(by);
    }
    printf("test_rl_format: %d tokens mixing newlines with other text seen\n", merged_seen);
    tokenizer_free(tok);
}

int main(void) {
    test_prm_format();
    test_qwen_step_ends();
    return check_report("test_rl_format");
}
