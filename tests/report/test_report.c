/* test_report.c - the HTML report on hand-made runs (tests/report/fixture.c):
 * the charts carry one series per variant with the seed band, monitor
 * warnings are marked where they fired, the rollout view and the spec are
 * there, hostile prompts, responses, variant names and spec values come out
 * escaped, and nothing points outside the file. With an argument it also
 * writes the page there (tests/report/chromium.sh renders it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/report.h"
#include "tests/check.h"
#include "tests/report/fixture.h"
#include "util/fs.h"

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* The text of the <figure> whose caption starts with `title`, or NULL. */
static char *figure(const char *page, const char *title) {
    char key[256];
    snprintf(key, sizeof key, "<figcaption>%s", title);
    const char *a = strstr(page, key);
    if (!a) return NULL;
    const char *e = strstr(a, "</figure>");
    return e ? strndup(a, (size_t)(e - a)) : NULL;
}

int main(int argc, char **argv) {
    char tmpl[] = "/tmp/pure_report_XXXXXX";
    char *tmp = mkdtemp(tmpl);
    CHECK(tmp != NULL);
    char path[512];
    /* variant "min" with two seeds (the monitor fires in seed 2, iteration 1), variant "<b>sum</b>" with one */
    FixtureRun runs[3] = {{3, 1, "min", 0.2, 0.1, 0.5, -1}, {3, 2, "min", 0.3, 0.1, 0.6, 1}, {3, 1, "sum", 0.1, 0.0, 0.4, -1}};
    const char *names[3] = {"min-seed1", "min-seed2", "sum-seed1"};
    PureErr err = {0};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, names[i]);
        CHECK(fixture_write(path, &runs[i], NULL) == 0);
        /* a resolved spec with a hostile value */
        char *spec = fs_join(path, "spec.yaml");
        const char *text = "description: \"</pre><script>alert('spec')</script>\"\nseed: 1\n";
        CHECK(fs_write_atomic(spec, text, strlen(text), &err) == 0);
        free(spec);
    }
    RunSet set = {0};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, names[i]);
        CHECK(runset_add(&set, path, &err) == 0);
    }
    snprintf(path, sizeof path, "<b>sum</b>=%s/%s", tmp, names[2]);
    CHECK(runset_add(&set, path, &err) == 0);
    ReportOpts o = {"Report <i>test</i>", 2};
    char *page = report_html(&set, &o, &err);
    CHECK(page != NULL);
    if (!page) return check_report("test_report");

    /* self-contained: a CSP forbidding the network, no external references */
    CHECK(strstr(page, "default-src 'none'") != NULL);
    CHECK(strstr(page, "http://") == NULL && strstr(page, "https://") == NULL);
    CHECK(strstr(page, " src=\"") == NULL && strstr(page, "url(") == NULL);
    /* escaped: the fixture's hostile problem and response, the variant name, the title and the spec value */
    CHECK(count(page, "<script") == 1); /* only the page's own script */
    CHECK(strstr(page, "<img") == NULL);
    CHECK(strstr(page, "<b>sum</b>") == NULL && strstr(page, "&lt;b&gt;sum&lt;/b&gt;") != NULL);
    CHECK(strstr(page, "<i>test</i>") == NULL && strstr(page, "Report &lt;i&gt;test&lt;/i&gt;") != NULL);
    CHECK(strstr(page, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") != NULL);
    CHECK(strstr(page, "&lt;/pre&gt;&lt;script&gt;alert(&#39;spec&#39;)") != NULL);
    CHECK(strstr(page, "&lt;img src=x onerror=alert(1)&gt;") != NULL);
    CHECK(strchr(page, '\x1b') == NULL); /* terminal escapes dropped */
    CHECK(strstr(page, "\xef\xbf\xbd\xef\xbf\xbd ok") != NULL); /* invalid UTF-8 as U+FFFD */

    /* charts: accuracy with both variants, a band for the two-seed variant only, the monitor mark */
    char *acc = figure(page, "Greedy accuracy (eval)");
    CHECK(acc != NULL);
    if (acc) {
        CHECK(count(acc, "<path class=\"series\"") == 2);
        CHECK(strstr(acc, "data-points=\"3\" data-series=\"min\"") != NULL);
        CHECK(strstr(acc, "data-series=\"&lt;b&gt;sum&lt;/b&gt;\"") != NULL);
        CHECK(count(acc, "<path class=\"band\"") == 1);
        CHECK(count(acc, "<line class=\"mark\"") == 1);
        CHECK(strstr(acc, "min seed 2") == NULL); /* plain directories: the label is the directory */
        CHECK(strstr(acc, "min-seed2: eval[1] monitor warning: steps_explode") != NULL);
        /* mean of the seeds at iteration 0 is (0.2 + 0.3) / 2 */
        CHECK(strstr(acc, "min, iteration 0: 0.25<") != NULL);
        CHECK(strstr(acc, "min, iteration 2: 0.45<") != NULL);
    }
    free(acc);
    char *rew = figure(page, "Process reward of the rollouts (prm)");
    CHECK(rew && strstr(rew, "min, iteration 1: 0.54<") != NULL); /* (0.49 + 0.59) / 2 */
    free(rew);
    /* the fixture has no optimize or verify stage metrics: no empty charts */
    char *kl = figure(page, "KL to the reference"), *vr = figure(page, "Verifiable reward");
    CHECK(kl == NULL && vr == NULL);
    free(kl);
    free(vr);
    CHECK(count(page, "<figure class=\"chart\">") == 5);
    /* summary table, rollouts (2 iterations per variant: 0 and 2), flagged response, spec and provenance */
    CHECK(strstr(page, "<th>final_eval.accuracy</th>") != NULL);
    CHECK(strstr(page, "0.45 &plusmn; 0.0707") != NULL);
    CHECK(count(page, "<summary>iteration 0</summary>") == 2 && count(page, "<summary>iteration 2</summary>") == 2);
    CHECK(count(page, "<summary>iteration 1</summary>") == 0);
    CHECK(strstr(page, "sample (first stored), best advantage: iteration 2, response #0") != NULL);
    CHECK(strstr(page, "worst advantage: iteration 2, response #3") != NULL);
    CHECK(strstr(page, "<li class=\"min\"><span class=\"score\"") != NULL);
    CHECK(count(page, "[wrong but reinforced]") >= 4);
    CHECK(strstr(page, "<h2 id=\"provenance\">") != NULL);
    CHECK(count(page, "<pre class=\"spec\">description:") == 3);

    if (argc > 1) {
        CHECK(report_write(&set, &o, argv[1], &err) == 0);
        printf("wrote %s\n", argv[1]);
    }
    free(page);
    runset_free(&set);
    CHECK(runset_add(&set, "/nonexistent", &err) == -1);
    CHECK(report_html(&set, &o, &err) == NULL && strstr(err.msg, "no runs") != NULL);
    runset_free(&set);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
    return check_report("test_report");
}
