/* test_data_sources.c - the data stage's loaders on every real file in ../shared/data (row counts and
 * references as /work/shared/README.md states them), seeded shuffle/limit/split/reference selection, the toy
 * split, the artifact layout, and bad inputs with clear messages. */
#include <stdlib.h>
#include <unistd.h>
#include "stages/common/toy.h"
#include "stages/data/prepare.h"
#include "tests/check.h"
#include "util/fs.h"

static char tmpdir[] = "/tmp/pure_test_data_XXXXXX";

static char *write_tmp(const char *name, const char *text) {
    char *path = fs_join(tmpdir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static int64_t count_given(const DataSet *d) {
    int64_t k = 0;
    for (int64_t i = 0; i < d->n; i++) k += d->rows[i].answer_given;
    return k;
}

static void test_real_sources(const char *data_dir) {
    /* math_train: ref_answer, or `answer` where ref_answer is "null"; 2 rows have neither */
    static const struct { const char *source; int64_t n, no_reference; const char *first_reference; } want[] = {
        {"math500", 500, 0, "\\left( 3, \\frac{\\pi}{2} \\right)"}, {"minerva_math", 272, 0, NULL},
        {"olympiadbench", 675, 0, "2"}, {"aime24", 30, 0, "204"}, {"amc23", 40, 0, "27"}, {"gsm8k", 1319, 0, "18"},
        {"math_train", 8523, 2, "118"}};
    DataFields f = {"problem", "answer", "solution"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        PureErr err = {0};
        DataSet d = {0};
        char *path = data_default_path(data_dir, want[i].source);
        int rc = data_load(want[i].source, path, &f, &d, &err);
        CHECK(rc == 0);
        if (rc) fprintf(stderr, "  %s: %s\n", want[i].source, err.msg);
        CHECK(d.n == want[i].n);
        int64_t empty = 0;
        for (int64_t k = 0; k < d.n; k++) {
            empty += !d.rows[k].reference[0];
            CHECK(d.rows[k].id == k);
            CHECK(d.rows[k].problem[0] != 0);
        }
        printf("%-14s %5lld rows, %lld without a reference\n", want[i].source, (long long)d.n, (long long)empty);
        CHECK(empty == want[i].no_reference);
        if (d.n && want[i].first_reference) CHECK_STR(d.rows[0].reference, want[i].first_reference);
        if (d.n) CHECK_STR(d.rows[0].benchmark, want[i].source);
        if (!strcmp(want[i].source, "math_train") && d.n) {
            CHECK(count_given(&d) == 879); /* the file's 10% with a non-"null" answer */
            CHECK(d.rows[0].answer_given == 0);
            CHECK_STR(d.rows[36].reference, "28"); /* ref_answer "null", answer "28" */
            CHECK(d.rows[36].answer_given == 1);
            CHECK_STR(d.rows[5054].reference, "");
        }
        if (!strcmp(want[i].source, "gsm8k") && d.n) {
            CHECK(strstr(d.rows[0].solution, "####") == NULL);
            CHECK(strstr(d.rows[0].solution, "Janet sells") == d.rows[0].solution);
        }
        if (!strcmp(want[i].source, "minerva_math") && d.n) CHECK(d.rows[0].solution[0] != 0);
        free(path);
        dataset_free(&d);
    }
}

static void prepare_ok(const DataOptions *o, DataSplit *train, DataSplit *test) {
    PureErr err = {0};
    DataSplit dev;
    int rc = data_prepare(o, train, test, &dev, NULL, &err);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "  data_prepare: %s\n", err.msg);
    CHECK(dev.rows.n == 0 || o->n_dev > 0);
    data_split_free(&dev);
}

static int same_order(const DataSplit *a, const DataSplit *b) {
    if (a->rows.n != b->rows.n) return 0;
    for (int64_t i = 0; i < a->rows.n; i++)
        if (a->rows.rows[i].id != b->rows.rows[i].id || strcmp(a->rows.rows[i].benchmark, b->rows.rows[i].benchmark))
            return 0;
    return 1;
}

static void test_prepare_real(const char *data_dir) {
    DataOptions o;
    data_options_default(&o);
    o.data_dir = data_dir;
    o.seed = 11;
    /* evaluation sets: benchmarks concatenated, all rows test, the method's template */
    const char *const srcs[] = {"math500", "amc23", "aime24"};
    o.sources = srcs;
    o.n_sources = 3;
    DataSplit tr, te, tr2, te2;
    prepare_ok(&o, &tr, &te);
    CHECK(tr.rows.n == 0 && te.rows.n == 570);
    int per[3] = {0};
    for (int64_t i = 0; i < te.rows.n; i++)
        for (int k = 0; k < 3; k++) per[k] += !strcmp(te.rows.rows[i].benchmark, srcs[k]);
    CHECK(per[0] == 500 && per[1] == 40 && per[2] == 30);
    /* the official template: real newlines inside the quotes, not a backslash and an n */
    CHECK(te.rows.n && strstr(te.prompts[0], "Please reason step by step with steps separated by \"\n\n\", and") != NULL);
    CHECK(te.rows.n && strstr(te.prompts[0], "separated by \"\\n") == NULL);
    CHECK(te.rows.n && strncmp(te.prompts[0], te.rows.rows[0].problem, strlen(te.rows.rows[0].problem)) == 0);
    for (int64_t i = 0; i < te.rows.n; i++) CHECK(te.has_reference[i] == 1);
    /* the same seed gives the same order; another seed another; limit keeps a seeded subset per source */
    prepare_ok(&o, &tr2, &te2);
    CHECK(same_order(&te, &te2));
    data_split_free(&tr2), data_split_free(&te2);
    o.seed = 12;
    prepare_ok(&o, &tr2, &te2);
    CHECK(!same_order(&te, &te2));
    data_split_free(&tr2), data_split_free(&te2);
    o.limit = 5;
    prepare_ok(&o, &tr2, &te2);
    CHECK(te2.rows.n == 15);
    data_split_free(&tr2), data_split_free(&te2);
    o.shuffle = 0;
    o.limit = 0;
    prepare_ok(&o, &tr2, &te2);
    for (int64_t i = 0; i < 500 && i < te2.rows.n; i++) CHECK(te2.rows.rows[i].id == i); /* file order */
    data_split_free(&tr2), data_split_free(&te2);
    data_split_free(&tr), data_split_free(&te);

    /* the training file: a held-out test split and the reference selections */
    data_options_default(&o);
    o.source = "math_train";
    o.data_dir = data_dir;
    o.seed = 5;
    o.test_size = 100;
    o.reference_fraction = 0.1;
    prepare_ok(&o, &tr, &te);
    CHECK(tr.rows.n == 8423 && te.rows.n == 100);
    int64_t with_ref = 0;
    for (int64_t i = 0; i < tr.rows.n; i++) with_ref += tr.has_reference[i];
    int64_t no_ref = 0;
    for (int64_t i = 0; i < tr.rows.n; i++) no_ref += !tr.rows.rows[i].reference[0];
    CHECK(with_ref <= 842 && with_ref >= 842 - no_ref); /* round(0.1 * 8423), less rows without a reference */
    prepare_ok(&o, &tr2, &te2);
    CHECK(same_order(&tr, &tr2) && memcmp(tr.has_reference, tr2.has_reference, (size_t)tr.rows.n) == 0);
    data_split_free(&tr2), data_split_free(&te2);
    o.reference_from_answer_field = 1;
    prepare_ok(&o, &tr2, &te2);
    with_ref = 0;
    for (int64_t i = 0; i < tr2.rows.n; i++) {
        with_ref += tr2.has_reference[i];
        CHECK(tr2.has_reference[i] == tr2.rows.rows[i].answer_given);
    }
    CHECK(with_ref + count_given(&te2.rows) == 879);
    data_split_free(&tr2), data_split_free(&te2);
    data_split_free(&tr), data_split_free(&te);
    o.reference_from_answer_field = 0;
    o.test_size = -1;
    o.test_fraction = 0.25;
    prepare_ok(&o, &tr, &te);
    CHECK(te.rows.n == 2131 && tr.rows.n == 8523 - 2131);
    data_split_free(&tr), data_split_free(&te);
}

static void test_toy_split(void) {
    DataOptions o;
    data_options_default(&o);
    o.seed = 3;
    o.n_train = 500;
    o.n_test = 200;
    o.reference_fraction = 0.1;
    DataSplit tr, te, tr2, te2;
    prepare_ok(&o, &tr, &te);
    CHECK(tr.rows.n == 500 && te.rows.n == 200);
    for (int64_t i = 0; i < te.rows.n; i++) {
        CHECK(te.has_reference[i] == 1);
        for (int64_t j = 0; j < tr.rows.n; j++) CHECK(strcmp(te.rows.rows[i].problem, tr.rows.rows[j].problem) != 0);
    }
    int64_t with_ref = 0;
    for (int64_t i = 0; i < tr.rows.n; i++) with_ref += tr.has_reference[i];
    CHECK(with_ref == 50);
    CHECK(tr.rows.n && !strcmp(tr.rows.rows[0].benchmark, "toy"));
    /* the toy prompt is the problem and a step break; references are the answers */
    ToyProblem p;
    CHECK(toy_problem_parse(tr.rows.rows[0].problem, &p) == 0);
    char ref[32], prompt[300];
    snprintf(ref, sizeof ref, "%d", p.answer);
    snprintf(prompt, sizeof prompt, "%s\n\n", p.text);
    CHECK_STR(tr.rows.rows[0].reference, ref);
    CHECK_STR(tr.prompts[0], prompt);
    CHECK(strstr(tr.rows.rows[0].solution, "\\boxed{") != NULL);
    prepare_ok(&o, &tr2, &te2);
    for (int64_t i = 0; i < tr.rows.n; i++) {
        CHECK_STR(tr.rows.rows[i].problem, tr2.rows.rows[i].problem);
        CHECK_STR(tr.rows.rows[i].solution, tr2.rows.rows[i].solution);
    }
    data_split_free(&tr2), data_split_free(&te2);
    /* a tiny task cannot supply many new test problems: a clear error */
    o.toy.max_operand = 1;
    o.toy.min_ops = o.toy.max_ops = 1;
    PureErr err = {0};
    DataSplit dv2;
    CHECK(data_prepare(&o, &tr2, &te2, &dv2, NULL, &err) < 0);
    CHECK(strstr(err.msg, "distinct test problems") != NULL);
    data_split_free(&tr2), data_split_free(&te2), data_split_free(&dv2);
    /* a user template */
    data_options_default(&o);
    o.n_train = 3;
    o.n_test = 1;
    o.template_ = "Q: {problem} A:";
    prepare_ok(&o, &tr2, &te2);
    char want[300];
    snprintf(want, sizeof want, "Q: %s A:", tr2.rows.rows[0].problem);
    CHECK_STR(tr2.prompts[0], want);

    /* the artifact: every column of the prompts layout, read back */
    char *h5 = fs_join(tmpdir, "train.h5");
    Artifact *a = artifact_create(h5, &err);
    CHECK(a && data_split_write(a, &tr, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    a = artifact_open(h5, &err);
    CHECK(a != NULL);
    if (a) {
        int64_t n = 0, dims[ARTIFACT_MAX_DIMS];
        int64_t *ids = artifact_read(a, "id", DT_I64, 1, dims, &err);
        CHECK(ids && dims[0] == 500 && ids[7] == tr.rows.rows[7].id);
        uint8_t *hr = artifact_read(a, "has_reference", DT_U8, 1, dims, &err);
        CHECK(hr && memcmp(hr, tr.has_reference, 500) == 0);
        static const char *const cols[] = {"benchmark", "problem", "prompt", "reference", "solution"};
        for (int c = 0; c < 5; c++) {
            char **s = artifact_read_strings(a, cols[c], &n, &err);
            CHECK(s && n == 500);
            const char *want_s = c == 0 ? "toy" : c == 1 ? tr.rows.rows[9].problem : c == 2 ? tr.prompts[9]
                               : c == 3 ? tr.rows.rows[9].reference : tr.rows.rows[9].solution;
            if (s) CHECK_STR(s[9], want_s);
            artifact_strings_free(s, n);
        }
        free(ids);
        free(hr);
        artifact_close(a, NULL);
    }
    /* an empty split is a valid artifact with zero rows */
    char *h5e = fs_join(tmpdir, "empty.h5");
    DataSplit empty = {0};
    a = artifact_create(h5e, &err);
    CHECK(a && data_split_write(a, &empty, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    free(h5);
    free(h5e);
    data_split_free(&tr2), data_split_free(&te2);
    data_split_free(&tr), data_split_free(&te);
}

/* A loader error must contain every fragment in want (NULL-terminated). */
static void expect_error(const char *source, const char *path, const DataFields *f, const char *const *want) {
    PureErr err = {0};
    DataSet d = {0};
    CHECK(data_load(source, path, f, &d, &err) < 0);
    for (int i = 0; want[i]; i++) {
        CHECK(strstr(err.msg, want[i]) != NULL);
        if (!strstr(err.msg, want[i])) fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err.msg, want[i]);
    }
    dataset_free(&d);
}

static void test_bad_inputs(void) {
    DataFields f = {"problem", "answer", "solution"};
    expect_error("jsonl", "/nonexistent/x.jsonl", &f, (const char *[]){"/nonexistent/x.jsonl", "no such file", NULL});
    char *bad = write_tmp("bad.jsonl", "{\"problem\": \"1+1\", \"answer\": \"2\"}\n{\"problem\": \"2+2\", \"answer\": 4\n");
    expect_error("jsonl", bad, &f, (const char *[]){"bad.jsonl:2:", "invalid JSON", NULL});
    char *miss = write_tmp("miss.jsonl", "{\"problem\": \"a\", \"answer\": \"1\"}\n\n{\"question\": \"b\", \"answer\": \"2\"}\n");
    expect_error("jsonl", miss, &f, (const char *[]){"miss.jsonl:3", "missing field 'problem'", NULL});
    char *noans = write_tmp("noans.jsonl", "{\"problem\": \"a\", \"solution\": \"so \\\\boxed{3}\"}\n");
    expect_error("jsonl", noans, &f, (const char *[]){"noans.jsonl:1", "missing field 'answer'", NULL});
    char *gsm = write_tmp("gsm.jsonl", "{\"question\": \"a\", \"answer\": \"no hashes here\"}\n");
    expect_error("gsm8k", gsm, &f, (const char *[]){"gsm.jsonl:1", "'####'", NULL});
    char *arr = write_tmp("train.json", "{\"question\": \"a\"}");
    expect_error("math_train", arr, &f, (const char *[]){"train.json", "expected a JSON array", NULL});
    char *notobj = write_tmp("n.jsonl", "{\"problem\": \"a\", \"answer\": \"1\"}\n[1, 2]\n");
    expect_error("jsonl", notobj, &f, (const char *[]){"n.jsonl:2", "expected a JSON object", NULL});
    expect_error("nosuch", notobj, &f, (const char *[]){"unknown data source 'nosuch'", NULL});

    /* field mapping: answer from the last \boxed{} of the solution when answer_field is "" */
    DataFields g = {"q", "", "sol"};
    char *mapped = write_tmp("mapped.jsonl", "{\"q\": \"what?\", \"sol\": \"first \\\\boxed{1} then \\\\boxed{\\\\frac{1}{2}}\"}\n"
                                             "{\"q\": \"num\", \"sol\": \"none\"}\n");
    PureErr err = {0};
    DataSet d = {0};
    CHECK(data_load("jsonl", mapped, &g, &d, &err) == 0);
    CHECK(d.n == 2);
    if (d.n == 2) {
        CHECK_STR(d.rows[0].reference, "\\frac{1}{2}");
        CHECK_STR(d.rows[1].reference, "");
        CHECK_STR(d.rows[0].benchmark, "mapped");
    }
    dataset_free(&d);
    /* numbers and arrays as answers */
    DataFields h = {"problem", "answer", ""};
    char *nums = write_tmp("nums.jsonl", "{\"problem\": \"a\", \"answer\": 27.0}\n{\"problem\": \"b\", \"answer\": [\"x\", \"y\"]}\n"
                                         "{\"problem\": \"c\", \"answer\": 0.25}\n");
    CHECK(data_load("jsonl", nums, &h, &d, &err) == 0);
    if (d.n == 3) {
        CHECK_STR(d.rows[0].reference, "27");
        CHECK_STR(d.rows[1].reference, "x");
        CHECK_STR(d.rows[2].reference, "0.25");
    }
    dataset_free(&d);
    /* a custom file holding one JSON array instead of lines */
    char *array = write_tmp("array.json", "  [{\"problem\": \"p0\", \"answer\": \"1\"},\n {\"problem\": \"p1\", \"answer\": 2}]\n");
    CHECK(data_load("jsonl", array, &f, &d, &err) == 0);
    CHECK(d.n == 2);
    if (d.n == 2) CHECK(!strcmp(d.rows[1].problem, "p1") && !strcmp(d.rows[1].reference, "2") && d.rows[1].id == 1);
    dataset_free(&d);
    char *array_bad = write_tmp("array_bad.json", "[{\"problem\": \"p0\", \"answer\": \"1\"}, {\"answer\": \"2\"}]");
    expect_error("jsonl", array_bad, &f, (const char *[]){"array_bad.json: element 1", "missing field 'problem'", NULL});
    free(array), free(array_bad);
    /* data_prepare passes the loader's message through, and names a missing path */
    DataOptions o;
    data_options_default(&o);
    o.source = "jsonl";
    o.path = miss;
    DataSplit tr, te, dv;
    CHECK(data_prepare(&o, &tr, &te, &dv, NULL, &err) < 0 && strstr(err.msg, "missing field 'problem'"));
    data_split_free(&tr), data_split_free(&te), data_split_free(&dv);
    o.path = "";
    CHECK(data_prepare(&o, &tr, &te, &dv, NULL, &err) < 0 && strstr(err.msg, "set `path`"));
    data_split_free(&tr), data_split_free(&te), data_split_free(&dv);
    free(bad), free(miss), free(noans), free(gsm), free(arr), free(notobj), free(mapped), free(nums);
}

/* A dev split is new problems for the toy task (in neither train nor test) and leaves train and test exactly as
 * they were; for files it takes rows from the start of train. */
static void test_dev_split(const char *data_dir) {
    DataOptions o;
    data_options_default(&o);
    o.seed = 5;
    o.n_train = 300;
    o.n_test = 100;
    DataSplit tr, te, dv, tr0, te0, dv0;
    PureErr err = {0};
    CHECK(data_prepare(&o, &tr0, &te0, &dv0, NULL, &err) == 0 && dv0.rows.n == 0);
    o.n_dev = 80;
    CHECK(data_prepare(&o, &tr, &te, &dv, NULL, &err) == 0 && dv.rows.n == 80);
    CHECK(tr.rows.n == tr0.rows.n && te.rows.n == te0.rows.n);
    for (int64_t i = 0; i < tr.rows.n; i++) CHECK(!strcmp(tr.rows.rows[i].problem, tr0.rows.rows[i].problem));
    for (int64_t i = 0; i < te.rows.n; i++) CHECK(!strcmp(te.prompts[i], te0.prompts[i]));
    for (int64_t i = 0; i < dv.rows.n; i++) {
        CHECK(dv.rows.rows[i].solution[0] != 0 && dv.rows.rows[i].reference[0] != 0);
        for (int64_t j = 0; j < tr.rows.n; j++) CHECK(strcmp(dv.rows.rows[i].problem, tr.rows.rows[j].problem) != 0);
        for (int64_t j = 0; j < te.rows.n; j++) CHECK(strcmp(dv.rows.rows[i].problem, te.rows.rows[j].problem) != 0);
        for (int64_t j = 0; j < i; j++) CHECK(strcmp(dv.rows.rows[i].problem, dv.rows.rows[j].problem) != 0);
    }
    data_split_free(&tr), data_split_free(&te), data_split_free(&dv);
    data_split_free(&tr0), data_split_free(&te0), data_split_free(&dv0);
    if (!data_dir) return;
    data_options_default(&o);
    o.data_dir = data_dir;
    o.source = "gsm8k";
    o.test_size = 20;
    o.seed = 2;
    CHECK(data_prepare(&o, &tr0, &te0, &dv0, NULL, &err) == 0);
    o.n_dev = 30;
    CHECK(data_prepare(&o, &tr, &te, &dv, NULL, &err) == 0);
    CHECK(dv.rows.n == 30 && te.rows.n == 20 && tr.rows.n == tr0.rows.n - 30);
    for (int64_t i = 0; i < 30 && i < dv.rows.n; i++) CHECK(!strcmp(dv.rows.rows[i].problem, tr0.rows.rows[i].problem));
    for (int64_t i = 0; i < tr.rows.n; i++) CHECK(!strcmp(tr.rows.rows[i].problem, tr0.rows.rows[i + 30].problem));
    data_split_free(&tr), data_split_free(&te), data_split_free(&dv);
    data_split_free(&tr0), data_split_free(&te0), data_split_free(&dv0);
}

static int in_split(const DataSplit *s, const char *problem) {
    for (int64_t j = 0; j < s->rows.n; j++)
        if (!strcmp(s->rows.rows[j].problem, problem)) return 1;
    return 0;
}

/* The extra pool (a verifier's training problems) is new toy problems in none of train, test and dev, all with
 * their reference, and asking for it leaves the other three exactly as they were; too many is an error. */
static void test_extra_split(void) {
    DataOptions o;
    data_options_default(&o);
    o.seed = 9;
    o.n_train = 200;
    o.n_test = 50;
    o.n_dev = 30;
    DataSplit tr, te, dv, ex, tr0, te0, dv0;
    PureErr err = {0};
    CHECK(data_prepare(&o, &tr0, &te0, &dv0, NULL, &err) == 0);
    o.n_extra = 400;
    CHECK(data_prepare(&o, &tr, &te, &dv, &ex, &err) == 0 && ex.rows.n == 400);
    CHECK(tr.rows.n == tr0.rows.n && te.rows.n == te0.rows.n && dv.rows.n == dv0.rows.n);
    for (int64_t i = 0; i < tr.rows.n; i++) CHECK(!strcmp(tr.prompts[i], tr0.prompts[i]));
    for (int64_t i = 0; i < te.rows.n; i++) CHECK(!strcmp(te.prompts[i], te0.prompts[i]));
    for (int64_t i = 0; i < dv.rows.n; i++) CHECK(!strcmp(dv.prompts[i], dv0.prompts[i]));
    int64_t bad = 0;
    for (int64_t i = 0; i < ex.rows.n; i++) {
        const char *p = ex.rows.rows[i].problem;
        bad += in_split(&tr, p) || in_split(&te, p) || in_split(&dv, p) || !ex.has_reference[i] ||
               !ex.rows.rows[i].solution[0];
        for (int64_t j = 0; j < i; j++) bad += !strcmp(p, ex.rows.rows[j].problem);
    }
    CHECK(bad == 0);
    /* extra_error_rate 0: the same extra problems, every demonstration error-free (checked by the exact checker),
       and the other splits' demonstrations unchanged (some of them still with slips) */
    DataSplit tr2, te2, dv2, ex2;
    o.extra_error_rate = 0;
    CHECK(data_prepare(&o, &tr2, &te2, &dv2, &ex2, &err) == 0 && ex2.rows.n == ex.rows.n);
    ToyCheckOptions co;
    toy_check_options_default(&co);
    co.require_progress = 1;
    int64_t same = 0, clean2 = 0, clean = 0, train_same = 0;
    for (int64_t i = 0; i < ex.rows.n; i++) {
        same += !strcmp(ex.rows.rows[i].problem, ex2.rows.rows[i].problem);
        float r[16];
        int n = toy_check_steps(ex2.rows.rows[i].problem, ex2.rows.rows[i].solution, &co, r, 16), ok = n > 0;
        for (int s = 0; s < n && s < 16; s++) ok &= r[s] > 0;
        clean2 += ok;
        n = toy_check_steps(ex.rows.rows[i].problem, ex.rows.rows[i].solution, &co, r, 16), ok = n > 0;
        for (int s = 0; s < n && s < 16; s++) ok &= r[s] > 0;
        clean += ok;
    }
    for (int64_t i = 0; i < tr.rows.n; i++) train_same += !strcmp(tr.rows.rows[i].solution, tr2.rows.rows[i].solution);
    CHECK(same == ex.rows.n && clean2 == ex.rows.n && clean < ex.rows.n * 9 / 10 && train_same == tr.rows.n);
    data_split_free(&tr2), data_split_free(&te2), data_split_free(&dv2), data_split_free(&ex2);
    o.extra_error_rate = -1;
    data_split_free(&tr), data_split_free(&te), data_split_free(&dv), data_split_free(&ex);
    data_split_free(&tr0), data_split_free(&te0), data_split_free(&dv0);
    /* a task with few distinct problems cannot give that many new ones */
    o.toy.max_operand = 2;
    o.toy.min_ops = o.toy.max_ops = 1;
    o.n_train = 4, o.n_test = 2, o.n_dev = 0, o.n_extra = 100;
    CHECK(data_prepare(&o, &tr, &te, &dv, &ex, &err) < 0 && strstr(err.msg, "n_extra=100"));
    data_split_free(&tr), data_split_free(&te), data_split_free(&dv), data_split_free(&ex);
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 1;
    char *data_dir = fs_join(PURE_SHARED_DIR, "data");
    test_toy_split();
    test_bad_inputs();
    test_extra_split();
    if (fs_is_dir(data_dir)) {
        test_real_sources(data_dir);
        test_prepare_real(data_dir);
        test_dev_split(data_dir);
    } else {
        test_dev_split(NULL);
        printf("no %s: real sources not checked\n", data_dir);
    }
    free(data_dir);
    PureErr err = {0};
    fs_remove_all(tmpdir, &err);
    return check_report("test_data_sources");
}
