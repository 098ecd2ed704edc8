/* test_rollview.c - the rollout view on a hand-made run (tests/report/fixture.c):
 * the artifacts it follows, the values it shows, sorting, filtering, flags,
 * the printed text (min step marked, hostile text escaped) and the errors
 * for a missing iteration, stage or dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/rollview.h"
#include "storage/artifact.h"
#include "tests/check.h"
#include "tests/report/fixture.h"
#include "util/fs.h"

static char *print_view(const RollView *v, const int *idx, int n, int color) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rollview_print(f, v, idx, n, n, color);
    fclose(f);
    return buf;
}

static void check_order(const RollView *v, RvSort s, RvFilter f, int limit, const int *want, int nwant) {
    int *idx, matched;
    int n = rollview_select(v, s, f, limit, &idx, &matched);
    CHECK(n == nwant);
    for (int i = 0; i < n && i < nwant; i++) CHECK(idx[i] == want[i]);
    free(idx);
}

int main(void) {
    char tmpl[] = "/tmp/pure_rollview_XXXXXX";
    char *tmp = mkdtemp(tmpl);
    CHECK(tmp != NULL);
    char *root = fs_join(tmp, "run");
    FixtureRun fr = {3, 1, "min", 0.2, 0.1, 0.5, -1};
    CHECK(fixture_write(root, &fr, NULL) == 0);

    PureErr err = {0};
    RunView rv;
    CHECK(runview_open(root, NULL, &rv, &err) == 0);
    CHECK(rv.nrun == 1 + 3 * 5 + 1);
    CHECK(runview_last_iteration(&rv) == 2);

    RollView v;
    CHECK(rollview_load(&rv, -1, NULL, &v, &err) == 0);
    CHECK(v.iteration == 2); /* the default is the last iteration */
    CHECK_STR(v.rule, "min");
    CHECK_STR(v.prm_mode, "oracle");
    CHECK_STR(v.verify_stage, "verify"); /* found through the rollouts it graded */
    CHECK(v.ro.n == 4);
    /* first-token advantage (scaled by 1 + iteration) and return */
    CHECK_NEAR(v.score[0], 1.5, 1e-6);
    CHECK_NEAR(v.score[3], -1.35, 1e-6);
    CHECK_NEAR(v.total[1], 0.9, 1e-6);
    int want_min[4] = {1, 2, 0, 0};
    for (int i = 0; i < 4; i++) CHECK(v.min_step[i] == want_min[i]);
    CHECK(v.flags[0] == 0);
    CHECK(v.flags[1] == (RV_FLAG_WRONG_REINFORCED | RV_FLAG_REPEATED_STEP));
    CHECK(v.flags[2] == 0); /* wrong but pushed down */
    CHECK(v.flags[3] == 0); /* no reference: neither right nor wrong */
    size_t tl;
    const char *t = rollview_step_text(&v, 0, 1, &tl);
    CHECK(t && tl == 8 && !memcmp(t, "Step B\n\n", 8));
    CHECK(rollview_step_start(&v, 0, 2) == 4);

    int adv_order[] = {0, 1, 2, 3}, reward_order[] = {1, 2, 0, 3}, length_order[] = {2, 0, 1, 3};
    check_order(&v, RV_SORT_ADVANTAGE, RV_FILTER_NONE, 0, adv_order, 4);
    check_order(&v, RV_SORT_REWARD, RV_FILTER_NONE, 0, reward_order, 4);
    check_order(&v, RV_SORT_LENGTH, RV_FILTER_NONE, 2, length_order, 2);
    int wrong[] = {1, 2}, flagged[] = {1}, wrong_by_reward[] = {1, 2};
    check_order(&v, RV_SORT_NONE, RV_FILTER_WRONG, 0, wrong, 2);
    check_order(&v, RV_SORT_NONE, RV_FILTER_FLAGGED, 0, flagged, 1);
    check_order(&v, RV_SORT_REWARD, RV_FILTER_WRONG, 0, wrong_by_reward, 2);

    /* the printed view: min marked on the right step, returns at step starts, hostile text escaped */
    int all[] = {0, 1, 2, 3};
    char *out = print_view(&v, all, 4, 0);
    CHECK(strstr(out, "step 2   prm -0.4000  return +0.1200  advantage +1.5000  <- min") != NULL);
    CHECK(strstr(out, "step 1   prm +0.9000  return +0.1000  advantage +1.5000\n") != NULL);
    CHECK(strstr(out, "[flagged: wrong but reinforced repeats a step]") != NULL);
    CHECK(strstr(out, "verify:  wrong  answer \"7\"  reference \"5\"") != NULL);
    CHECK(strstr(out, "no reference") != NULL);
    CHECK(strchr(out, '\x1b') == NULL);          /* no raw escape from stored text, no colour */
    CHECK(strstr(out, "\\x1b[2J") != NULL);      /* shown escaped instead */
    CHECK(strstr(out, "\\xff\\xfe ok") != NULL); /* invalid UTF-8 shown as bytes */
    free(out);
    out = print_view(&v, all, 4, 1);
    CHECK(strstr(out, "\033[1;33m") != NULL); /* colour when asked */
    CHECK(strstr(out, "\033[2J") == NULL);    /* but never the stored escape */
    free(out);
    rollview_free(&v);

    /* an earlier iteration, and errors */
    CHECK(rollview_load(&rv, 0, "credit", &v, &err) == 0);
    CHECK_NEAR(v.score[0], 0.5, 1e-6);
    rollview_free(&v);
    CHECK(rollview_load(&rv, 9, NULL, &v, &err) == -1);
    CHECK(strstr(err.msg, "no committed credit stage run in iteration 9 (iterations with one: 0-2)") != NULL);
    CHECK(rollview_load(&rv, -1, "credit2", &v, &err) == -1);
    CHECK(strstr(err.msg, "no committed credit stage 'credit2'") != NULL);
    runview_free(&rv);

    /* a dataset missing from a committed artifact: named with its file */
    char *adv = NULL;
    {
        CHECK(runview_open(root, NULL, &rv, &err) == 0);
        const RvInst *c = runview_get(&rv, "credit", 1);
        CHECK(c != NULL);
        adv = c ? runview_output(c, "advantages", &err) : NULL;
        runview_free(&rv);
    }
    CHECK(adv != NULL);
    Artifact *a = adv ? artifact_create(adv, &err) : NULL; /* rewritten without 'advantages' */
    int64_t n = 4, off[5] = {0, 6, 11, 18, 20};
    float z[20] = {0};
    CHECK(a && artifact_write_ragged(a, "returns", DT_F32, n, off, z, &err) == 0);
    artifact_close(a, &err);
    CHECK(runview_open(root, NULL, &rv, &err) == 0);
    CHECK(rollview_load(&rv, 1, NULL, &v, &err) == -1);
    CHECK(strstr(err.msg, "advantages.h5: missing ragged group 'advantages'") != NULL);
    fprintf(stderr, "message for a missing dataset: %s\n", err.msg);
    runview_free(&rv);
    free(adv);

    /* a PRM mode attribute with a terminal escape is printed escaped too */
    {
        CHECK(runview_open(root, NULL, &rv, &err) == 0);
        const RvInst *p0 = runview_get(&rv, "prm", 0);
        char *rw = p0 ? runview_output(p0, "rewards", &err) : NULL;
        runview_free(&rv);
        Artifact *ra = rw ? artifact_create(rw, &err) : NULL;
        int64_t soff[5] = {0, 3, 6, 7, 8};
        float sr[8] = {0.9f, -0.4f, 0.5f, 0.2f, 0.2f, 0.1f, 0.3f, -0.7f};
        CHECK(ra && artifact_write_ragged(ra, "step_rewards", DT_F32, 4, soff, sr, &err) == 0 &&
              artifact_set_attr_str(ra, "/", "mode", "\x1b]0;owned\x07", &err) == 0);
        artifact_close(ra, &err);
        free(rw);
        CHECK(runview_open(root, NULL, &rv, &err) == 0);
        CHECK(rollview_load(&rv, 0, NULL, &v, &err) == 0);
        char *o2 = print_view(&v, all, 4, 0);
        CHECK(strchr(o2, '\x1b') == NULL && strstr(o2, "(mode \\x1b]0;owned\\x07)") != NULL);
        free(o2);
        rollview_free(&v);
        runview_free(&rv);
    }
    /* a done record whose fingerprint is not hex is refused, naming the file */
    {
        char *bad = fs_join(root, "stages/data"), cmd[700];
        snprintf(cmd, sizeof cmd, "sed -i 's/\"fingerprint\":\t\"[0-9a-f]\\{8\\}/\"fingerprint\":\t\"<script>/' %s/*/done.json", bad);
        CHECK(system(cmd) == 0);
        CHECK(runview_open(root, NULL, &rv, &err) == -1);
        CHECK(strstr(err.msg, "done.json: not a done record (expected a 64-hex-digit fingerprint") != NULL);
        free(bad);
    }
    CHECK(runview_open("/nonexistent/run", NULL, &rv, &err) == -1);
    CHECK(strstr(err.msg, "no such run directory") != NULL);
    CHECK(runview_open(tmp, NULL, &rv, &err) == -1);
    CHECK(strstr(err.msg, "not a run directory") != NULL);

    /* a second variant in the same directory, with a plan file each: each
       view sees its own stage runs only */
    char *plan_a = fs_join(tmp, "a.json"), *plan_b = fs_join(tmp, "b.json");
    char *root2 = fs_join(tmp, "shared");
    FixtureRun fa = {2, 1, "min", 0.2, 0.1, 0.5, -1}, fb = {3, 1, "sum", 0.1, 0.0, 0.5, -1};
    CHECK(fixture_write(root2, &fa, plan_a) == 0);
    CHECK(fixture_write(root2, &fb, plan_b) == 0);
    CHECK(runview_open(root2, plan_a, &rv, &err) == 0);
    CHECK(runview_last_iteration(&rv) == 1);
    CHECK(rollview_load(&rv, -1, NULL, &v, &err) == 0);
    CHECK_STR(v.rule, "min");
    rollview_free(&v);
    CHECK(cJSON_GetArraySize(rv.metrics) == 2 * 4 + 1); /* rollout, prm, credit, eval per iteration + final */
    runview_free(&rv);
    CHECK(runview_open(root2, NULL, &rv, &err) == 0); /* no plan: the newest commits, those of the second */
    CHECK(rollview_load(&rv, -1, NULL, &v, &err) == 0);
    CHECK_STR(v.rule, "sum");
    CHECK(v.iteration == 2);
    rollview_free(&v);
    runview_free(&rv);

    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
    free(plan_a);
    free(plan_b);
    free(root2);
    free(root);
    return check_report("test_rollview");
}
