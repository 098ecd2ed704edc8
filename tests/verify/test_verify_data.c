/* test_verify_data.c - the verifier on the real reference answers of ../shared/data:
 *   - MATH-500: the last \boxed{} of each solution equals the `answer` field (two spellings of one answer);
 *   - every reference of every source equals itself (reflexivity through normalization and parsing);
 *   - references of different problems are rarely judged equal (only where the values really coincide). */
#include <stdlib.h>
#include "stages/data/loaders.h"
#include "verifier/verify.h"
#include "tests/check.h"
#include "util/fs.h"

/* Same value by plain string comparison after a crude strip, or by the verifier: used to count pairs of
   different problems that the verifier calls equal although their texts differ. */
static void check_source(const char *data_dir, const char *source, int64_t *pairs, int64_t *pair_equal) {
    DataFields f = {"problem", "answer", "solution"};
    DataSet d = {0};
    PureErr err = {0};
    char *path = data_default_path(data_dir, source);
    CHECK(data_load(source, path, &f, &d, &err) == 0);
    free(path);
    int64_t self_fail = 0;
    for (int64_t i = 0; i < d.n; i++) {
        const char *r = d.rows[i].reference;
        if (!r[0]) continue;
        /* itself, its normalized spelling, and boxed inside a sentence */
        char *norm = verify_normalize(r);
        size_t len = strlen(r) + 64;
        char *resp = malloc(len);
        snprintf(resp, len, "So the final answer is $\\boxed{%s}$.", r);
        int ok = verify_equal(r, r) && verify_equal(norm, r) && verify_equal(r, norm) && verify_grade(resp, r, NULL);
        free(norm);
        free(resp);
        if (!ok) {
            self_fail++;
            if (self_fail <= 5) fprintf(stderr, "  %s[%lld]: reference \"%s\" not equal to itself\n", source, (long long)i, r);
        }
        /* the neighbour's answer: equal only when the normalized texts agree or the numbers coincide */
        if (i + 1 < d.n && d.rows[i + 1].reference[0]) {
            (*pairs)++;
            int eq = verify_equal(r, d.rows[i + 1].reference);
            *pair_equal += eq;
            if (eq && getenv("PURE_SHOW_PAIRS")) printf("  equal: \"%s\" ~ \"%s\"\n", r, d.rows[i + 1].reference);
        }
    }
    printf("%-14s %5lld references, %lld not equal to themselves (as is, normalized, or boxed in a response)\n", source, (long long)d.n, (long long)self_fail);
    CHECK(self_fail == 0);
    dataset_free(&d);
}

int main(void) {
    char *data_dir = fs_join(PURE_SHARED_DIR, "data");
    if (!fs_is_dir(data_dir)) {
        printf("no %s: skipped\n", data_dir);
        free(data_dir);
        return 77;
    }
    /* MATH-500: boxed answer of the solution vs the answer field */
    DataFields f = {"problem", "", "solution"}; /* reference from the solution's last \boxed{} */
    DataFields g = {"problem", "answer", "solution"};
    DataSet boxed = {0}, given = {0};
    PureErr err = {0};
    char *path = data_default_path(data_dir, "math500");
    CHECK(data_load("jsonl", path, &f, &boxed, &err) == 0);
    CHECK(data_load("math500", path, &g, &given, &err) == 0);
    int64_t agree = 0, n = boxed.n < given.n ? boxed.n : given.n;
    for (int64_t i = 0; i < n; i++) {
        int eq = verify_equal(boxed.rows[i].reference, given.rows[i].reference);
        agree += eq;
        if (!eq) fprintf(stderr, "  math500[%lld]: boxed \"%s\" vs answer \"%s\"\n", (long long)i, boxed.rows[i].reference,
                         given.rows[i].reference);
    }
    printf("math500: %lld of %lld solution boxes equal the answer field\n", (long long)agree, (long long)n);
    CHECK(n == 500 && agree == n);
    /* grading a whole solution against the answer field gives the same result */
    int64_t graded = 0;
    for (int64_t i = 0; i < n; i++) graded += verify_grade(given.rows[i].solution, given.rows[i].reference, NULL);
    CHECK(graded == agree);
    dataset_free(&boxed);
    dataset_free(&given);
    free(path);

    int64_t pairs = 0, pair_equal = 0;
    static const char *const sources[] = {"math500", "minerva_math", "olympiadbench", "aime24", "amc23", "gsm8k", "math_train"};
    for (int i = 0; i < 7; i++) check_source(data_dir, sources[i], &pairs, &pair_equal);
    printf("neighbouring problems: %lld of %lld reference pairs judged equal\n", (long long)pair_equal, (long long)pairs);
    /* answers of unrelated problems coincide sometimes (small integers); far more would mean a lax verifier */
    CHECK(pairs > 10000 && pair_equal < pairs / 20);
    free(data_dir);
    return check_report("test_verify_data");
}
