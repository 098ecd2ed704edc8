/* test_data_filter.c - the data stage's prompt-length filter (max_prompt_tokens, verl's filter_prompts):
 * 1. on a byte-level tokenizer, where a prompt's token count is its byte count (counted here with strlen):
 *    rows whose templated prompt has more than the limit are dropped before the limit and the split, the
 *    kept ones keep their order, the count of dropped rows is reported, and a model folder works as the
 *    tokenizer path; a missing tokenizer is a clear error;
 * 2. on the real MATH training file with the Qwen tokenizer and the method's template: the 1024-token
 *    limit drops the 8 prompts of 1047..1674 tokens (docs/fidelity.md prompt-filter), none of them under
 *    the limit (skipped when ../shared is absent). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "stages/common/lm.h"
#include "stages/data/prepare.h"
#include "tests/check.h"
#include "tokenizer/tokenizer.h"
#include "util/fs.h"

static char tmpdir[] = "/tmp/pure_test_data_filter_XXXXXX";

static void test_bytelevel(void) {
    PureErr err = {0};
    const char *specials[] = {"<|endoftext|>"};
    CHECK(tokenizer_write_bytelevel(tmpdir, specials, 1, "<|endoftext|>", "<|endoftext|>", &err) == 0);
    /* problems of 3..12 bytes; template "Q: {problem}" adds 3 */
    const char *problems[] = {"abc", "abcdefghijkl", "abcdef", "abcdefghi", "ab cd e", "xyzxyzxyzx"};
    int n = 6;
    char *path = fs_join(tmpdir, "rows.jsonl");
    FILE *f = fopen(path, "w");
    for (int i = 0; i < n; i++) fprintf(f, "{\"problem\": \"%s\", \"answer\": \"%d\"}\n", problems[i], i);
    fclose(f);
    char *tj = fs_join(tmpdir, "tokenizer.json");
    for (int limit = 5; limit <= 16; limit++) {
        for (int use_dir = 0; use_dir < 2; use_dir++) {
            DataOptions o;
            data_options_default(&o);
            o.source = "jsonl";
            o.path = path;
            o.template_ = "Q: {problem}";
            o.shuffle = 0;
            o.max_prompt_tokens = limit;
            o.tokenizer = use_dir ? tmpdir : tj;
            DataSplit tr, te, dv;
            int rc = data_prepare(&o, &tr, &te, &dv, NULL, &err);
            CHECK(rc == 0);
            if (rc) {
                fprintf(stderr, "  %s\n", err.msg);
                continue;
            }
            int64_t k = 0, dropped = 0;
            for (int i = 0; i < n; i++) {
                if ((int)strlen(problems[i]) + 3 > limit) {
                    dropped++;
                    continue;
                }
                CHECK(k < tr.rows.n && strcmp(tr.rows.rows[k].problem, problems[i]) == 0);
                k++;
            }
            CHECK(tr.rows.n == k && tr.dropped_long == dropped);
            data_split_free(&tr), data_split_free(&te), data_split_free(&dv);
        }
    }
    /* the filter comes before `limit`: the first 2 of the 4 rows that fit (limit first would keep 1) */
    DataOptions o;
    data_options_default(&o);
    o.source = "jsonl", o.path = path, o.template_ = "Q: {problem}", o.shuffle = 0;
    o.max_prompt_tokens = 12, o.tokenizer = tj, o.limit = 2;
    DataSplit tr, te, dv;
    CHECK(data_prepare(&o, &tr, &te, &dv, NULL, &err) == 0);
    CHECK(tr.rows.n == 2 && tr.dropped_long == 2 && !strcmp(tr.rows.rows[1].problem, "abcdef"));
    data_split_free(&tr), data_split_free(&te), data_split_free(&dv);
    char *nothing = fs_join(tmpdir, "missing");
    o.tokenizer = nothing;
    CHECK(data_prepare(&o, &tr, &te, &dv, NULL, &err) < 0 && strstr(err.msg, "parameter 'tokenizer'") &&
          strstr(err.msg, "missing"));
    free(nothing), free(tj), free(path);
}

static void test_math_train(void) {
    char *tj = fs_join(PURE_SHARED_DIR, "tokenizers/qwen/tokenizer.json");
    char *data = fs_join(PURE_SHARED_DIR, "data");
    if (!fs_exists(tj) || !fs_is_dir(data)) {
        printf("test_data_filter: ../shared not available, the MATH check is skipped\n");
        free(tj), free(data);
        return;
    }
    DataOptions o;
    data_options_default(&o);
    o.source = "math_train";
    o.data_dir = data;
    o.max_prompt_tokens = 1024;
    o.tokenizer = tj;
    DataSplit tr, te, dv;
    PureErr err = {0};
    CHECK(data_prepare(&o, &tr, &te, &dv, NULL, &err) == 0);
    printf("test_data_filter: math_train, %lld rows kept, %lld dropped\n", (long long)tr.rows.n,
           (long long)tr.dropped_long);
    CHECK(tr.dropped_long == 8 && tr.rows.n == 8523 - 8);
    /* every kept prompt fits, as the rollout encodes it */
    Tokenizer *tok = tokenizer_load(tj, &err);
    int longest = 0;
    for (int64_t i = 0; tok && i < tr.rows.n; i += 97) {
        int32_t *ids = NULL;
        int n = 0;
        CHECK(policy_encode_prompt(tok, tr.prompts[i], 0, &ids, &n, &err) == 0);
        if (n > longest) longest = n;
        free(ids);
    }
    CHECK(longest > 0 && longest <= 1024);
    tokenizer_free(tok);
    data_split_free(&tr), data_split_free(&te), data_split_free(&dv);
    free(tj), free(data);
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 1;
    test_bytelevel();
    test_math_train();
    PureErr err;
    fs_remove_all(tmpdir, &err);
    return check_report("test_data_filter");
}
