/* test_compare.c - `pure compare`'s table on hand-made runs whose final
 * accuracies are known: variants from directory names and from a sweep file,
 * mean and sample sd against hand-computed values, deltas, the JSON and CSV
 * forms read back, and the errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/compare.h"
#include "tests/check.h"
#include "tests/report/fixture.h"
#include "util/fs.h"

/* noinline: gcc otherwise warns that the memstream buffer dangles */
__attribute__((noinline)) static char *capture(const CmpTable *t, int csv) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (csv) compare_csv(f, t);
    else compare_print(f, t);
    fclose(f);
    return buf;
}

int main(void) {
    char tmpl[] = "/tmp/pure_compare_XXXXXX";
    char *tmp = mkdtemp(tmpl);
    CHECK(tmp != NULL);
    char path[512];
    /* min: final accuracy acc0 + 0.1 * 2 = 0.4, 0.5, 0.6; sum: acc0 + 0.05 * 2 = 0.2, 0.25 */
    double min0[3] = {0.2, 0.3, 0.4}, sum0[2] = {0.1, 0.15};
    for (int s = 0; s < 3; s++) {
        FixtureRun fr = {3, s + 1, "min", min0[s], 0.1, 0.5, -1};
        snprintf(path, sizeof path, "%s/min-seed%d", tmp, s + 1);
        CHECK(fixture_write(path, &fr, NULL) == 0);
    }
    for (int s = 0; s < 2; s++) {
        FixtureRun fr = {3, s + 1, "sum", sum0[s], 0.05, 0.4, -1};
        snprintf(path, sizeof path, "%s/sum_s%d", tmp, s + 1);
        CHECK(fixture_write(path, &fr, NULL) == 0);
    }
    PureErr err = {0};
    RunSet set = {0};
    const char *dirs[] = {"min-seed1", "min-seed2", "min-seed3", "sum_s1", "sum_s2"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, dirs[i]);
        CHECK(runset_add(&set, path, &err) == 0);
    }
    CHECK(set.nvariants == 2);
    CHECK_STR(set.variants[0], "min");
    CHECK_STR(set.variants[1], "sum");
    CHECK(set.runs[2].seed == 3);

    char **dm;
    int ndm = compare_default_metrics(&set, &dm);
    CHECK(ndm == 2); /* the fixture's final eval has accuracy and steps */
    CHECK(ndm > 0 && !strcmp(dm[0], "final_eval.accuracy"));
    CmpTable t;
    CHECK(compare_build(&set, (const char *const *)dm, ndm, NULL, &t, &err) == 0);
    CHECK(t.baseline == 0);
    CHECK(t.runs[0] == 3 && t.runs[1] == 2);
    CHECK_NEAR(t.cells[0].mean, 0.5, 1e-12);
    CHECK_NEAR(t.cells[0].sd, 0.1, 1e-12);
    CHECK_NEAR(t.cells[ndm].mean, 0.225, 1e-12);
    CHECK_NEAR(t.cells[ndm].sd, sqrt(2 * 0.025 * 0.025), 1e-12);
    CHECK_NEAR(t.cells[ndm].delta, -0.275, 1e-12);
    CHECK(t.cells[0].has_delta && fabs(t.cells[0].delta) < 1e-15);
    char *txt = capture(&t, 0);
    CHECK(strstr(txt, "min      3      0.5 \xc2\xb1 0.1") != NULL);
    CHECK(strstr(txt, "-0.275") != NULL);
    free(txt);
    char *csv = capture(&t, 1);
    CHECK(strstr(csv, "variant,runs,metric,n,mean,sd,delta\n") == csv);
    const char *sum_row = csv ? strstr(csv, "\nsum,2,final_eval.accuracy,2,") : NULL;
    double mean = 0, sd = 0, delta = 0;
    CHECK(sum_row && sscanf(sum_row + strlen("\nsum,2,final_eval.accuracy,2,"), "%lf,%lf,%lf", &mean, &sd, &delta) == 3);
    CHECK_NEAR(mean, 0.225, 1e-15);
    CHECK_NEAR(sd, sqrt(2 * 0.025 * 0.025), 1e-15);
    CHECK_NEAR(delta, -0.275, 1e-15);
    CHECK(strstr(csv, "\nmin,3,final_eval.accuracy,3,") != NULL);
    free(csv);
    char *js = compare_json(&t);
    cJSON *j = cJSON_Parse(js);
    CHECK(j != NULL);
    const cJSON *v1 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "variants"), 1);
    const cJSON *acc = cJSON_GetObjectItem(cJSON_GetObjectItem(v1, "metrics"), "final_eval.accuracy");
    CHECK_NEAR(cJSON_GetObjectItem(acc, "mean")->valuedouble, 0.225, 1e-12);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(acc, "values")) == 2);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "baseline")), "min");
    cJSON_Delete(j);
    free(js);
    compare_free(&t);

    /* loop metrics: last iteration, or @N; the baseline by name */
    const char *m2[] = {"prm.step_reward", "eval.accuracy@0"};
    CHECK(compare_build(&set, m2, 2, "sum", &t, &err) == 0);
    CHECK(t.baseline == 1);
    CHECK_NEAR(t.cells[0].mean, 0.5 - 0.02, 1e-12);   /* reward0 - 0.01 * (last iteration 2) */
    CHECK_NEAR(t.cells[1].mean, 0.3, 1e-12);          /* mean of 0.2, 0.3, 0.4 */
    CHECK_NEAR(t.cells[0].delta, 0.1, 1e-12);         /* 0.48 - 0.38 */
    compare_free(&t);

    /* errors */
    const char *bad1[] = {"accuracy"}, *bad2[] = {"final_eval.nope"}, *bad3[] = {"eval.accuracy@x"};
    CHECK(compare_build(&set, bad1, 1, NULL, &t, &err) == -1);
    CHECK(strstr(err.msg, "expected STAGE.KEY") != NULL);
    CHECK(compare_build(&set, bad2, 1, NULL, &t, &err) == -1);
    CHECK(strstr(err.msg, "metric 'final_eval.nope': no run has it") != NULL);
    CHECK(compare_build(&set, bad3, 1, NULL, &t, &err) == -1);
    CHECK(strstr(err.msg, "iteration number") != NULL);
    CHECK(compare_build(&set, m2, 1, "max", &t, &err) == -1);
    CHECK(strstr(err.msg, "baseline 'max' is not one of the variants (min, sum)") != NULL);
    for (int i = 0; i < ndm; i++) free(dm[i]);
    free(dm);
    runset_free(&set);

    /* explicit names, and a sweep directory: variants and seeds from sweep.json, one plan file each */
    snprintf(path, sizeof path, "best=%s/min-seed2", tmp);
    CHECK(runset_add(&set, path, &err) == 0);
    CHECK_STR(set.variants[0], "best");
    runset_free(&set);
    char *sw = fs_join(tmp, "sweep");
    const char *sweep_json =
        "{\"baseline\": \"rule=sum\", \"runs\": [{\"variant\": \"rule=min\", \"seed\": 1, \"plan\": \"plans/0.json\"},"
        "{\"variant\": \"rule=sum\", \"seed\": 1, \"plan\": \"plans/1.json\"}]}";
    char *plans = fs_join(sw, "plans"), *p0 = fs_join(plans, "0.json"), *p1 = fs_join(plans, "1.json");
    CHECK(fs_mkdir_p(plans, &err) == 0);
    FixtureRun fa = {2, 1, "min", 0.5, 0.1, 0.5, -1}, fb = {2, 1, "sum", 0.3, 0.0, 0.5, -1};
    CHECK(fixture_write(sw, &fa, p0) == 0);
    CHECK(fixture_write(sw, &fb, p1) == 0);
    char *sj = fs_join(sw, "sweep.json");
    CHECK(fs_write_atomic(sj, sweep_json, strlen(sweep_json), &err) == 0);
    CHECK(runset_add(&set, sw, &err) == 0);
    CHECK(set.n == 2 && set.nvariants == 2);
    CHECK_STR(set.baseline, "rule=sum");
    const char *m3[] = {"final_eval.accuracy"};
    CHECK(compare_build(&set, m3, 1, NULL, &t, &err) == 0);
    CHECK(t.baseline == 1);
    CHECK_NEAR(t.cells[0].mean, 0.6, 1e-12);
    CHECK_NEAR(t.cells[1].mean, 0.3, 1e-12);
    CHECK_NEAR(t.cells[0].delta, 0.3, 1e-12);
    compare_free(&t);
    runset_free(&set);
    const char *broken = "{\"runs\": [{\"variant\": \"x\"}]}";
    CHECK(fs_write_atomic(sj, broken, strlen(broken), &err) == 0);
    CHECK(runset_add(&set, sw, &err) == -1);
    CHECK(strstr(err.msg, "sweep.json: a run without \"variant\" and \"plan\" strings") != NULL);
    runset_free(&set);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
    free(sj);
    free(p0);
    free(p1);
    free(plans);
    free(sw);
    return check_report("test_compare");
}
